"""Filing a correction request (第十九条): who may file for whom, identifier validation, routing to the provider,
the 10-working-day deadline, and who sees what (full identifiers only for the subject and the provider)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from govdata_shared.contracts.catalog import RESOURCE_RETIRED, RESOURCE_SUBMITTED
from govdata_shared.logs import JsonFormatter, PlainFormatter
from govdata_shared.testing import COMPANY, OTHER_PERSON, PERSON, PILOT_COMPANY

POPULATION, MARRIAGE, LICENCES = "res-population", "res-marriage", "res-licences"


async def test_citizen_files_for_themselves_and_the_request_goes_to_the_provider(verification):
    created = await verification.file("citizen")
    assert created["status"] == "open"
    assert created["provider_dept"] == "YC-GA" and created["resource_name"] == "户籍人口基本信息"
    assert created["subject_id"] == PERSON and created["subject_id_masked"] is False
    # Received Thursday 2026-11-26; 10 working days later is Thursday 2026-12-10.
    assert created["received_on"] == "2026-11-26"
    assert created["deadline"] == "2026-12-10" and created["deadline_estimated"] is False
    assert created["applicant_kind"] == "citizen" and created["applicant_dept"] is None


async def test_a_citizen_cannot_file_for_another_persons_identifier(verification):
    refused = await verification.file("citizen", expect=403, subject_id=OTHER_PERSON)
    assert refused["code"] == "not_own_subject" and refused["field"] == "subject_id"
    assert OTHER_PERSON not in str(refused)
    assert await verification.events() == []


@pytest.mark.backends("postgres", "sqlite")  # JSON columns
async def test_the_items_and_values_in_question_are_kept_as_filed(verification):
    claimed = {"household_address": "伊川县城关镇人民路12号", "name": "张三"}
    created = await verification.file("citizen", items=["household_address", "name"], claimed_values=claimed)
    kept = (await verification.get(f"/corrections/{created['id']}", "ga")).json()
    assert kept["items"] == ["household_address", "name"] and kept["claimed_values"] == claimed
    assert kept == created


async def test_own_identifier_is_compared_normalised(verification):
    created = await verification.file("citizen", subject_id=" 34052419800101001x ")
    assert created["subject_id"] == PERSON


async def test_a_company_files_for_its_own_credit_code_only(verification):
    body = {"resource_id": LICENCES, "subject_type": "org", "items": ["address"], "claimed_values": {}}
    created = await verification.file("company", subject_id=COMPANY, **body)
    assert created["provider_dept"] == "YC-SCJ" and created["subject_id_check_failed"] is False
    await verification.file("company", expect=403, subject_id=PILOT_COMPANY, **body)


async def test_a_department_may_file_for_anyone(verification):
    created = await verification.file("rs", subject_id=OTHER_PERSON)
    assert created["applicant_kind"] == "department" and created["applicant_dept"] == "YC-RS"
    assert created["subject_id"] == OTHER_PERSON  # the applicant department sees what it filed


async def test_bureau_and_auditor_cannot_file(verification):
    refused = await verification.file("bureau", expect=403)
    assert refused["code"] == "applicant_role_required"


@pytest.mark.parametrize(
    ("subject_type", "subject_id", "rule"),
    [
        ("person", "340524198001010010", "check_digit"),  # last character should be X
        ("person", "340524198013010013", "birth_date"),  # month 13
        ("person", "3405241980010100", "length"),
        ("org", "91350100M0001TGQX", "length"),
        ("org", "91350100M0001TGQXO", "charset"),
    ],
)
async def test_invalid_identifiers_are_422_naming_the_field_and_the_rule(verification, subject_type, subject_id, rule):
    refused = await verification.file("ga", expect=422, subject_type=subject_type, subject_id=subject_id)
    assert refused["code"] == "validation_failed"
    assert refused["field"] == "subject_id" and refused["rule"] == rule
    assert refused["errors"] == [{"field": "subject_id", "rule": rule, "detail": refused["errors"][0]["detail"]}]
    assert await verification.events() == []


async def test_pilot_region_credit_code_is_accepted_with_its_flag(verification):
    created = await verification.file(
        "pilot-company",
        resource_id=LICENCES,
        subject_type="org",
        subject_id=PILOT_COMPANY,
        items=["legal_rep"],
        claimed_values={"legal_rep": "王五"},
    )
    assert created["subject_id"] == PILOT_COMPANY
    assert created["subject_id_check_failed"] is True
    submitted = (await verification.events(created["id"]))[0]
    assert submitted["data"]["subject_id_check_failed"] is True


async def test_unknown_and_retired_resources_are_refused_clearly(verification):
    unknown = await verification.file("citizen", expect=404, resource_id="res-nowhere")
    assert unknown["code"] == "resource_unknown" and unknown["field"] == "resource_id"
    await verification.apply(
        verification.catalog_event(MARRIAGE, event_type=RESOURCE_RETIRED, version=3, status="retired")
    )
    retired = await verification.file("citizen", expect=409, resource_id=MARRIAGE, items=["marriage_status"])
    assert retired["code"] == "resource_retired"


async def test_items_in_question_must_be_items_of_the_resource(verification):
    refused = await verification.file("citizen", expect=422, items=["household_address", "salary"], claimed_values={})
    assert refused["field"] == "items[1]" and refused["rule"] == "unknown_item"
    assert refused["errors"][0]["item"] == "salary" and "salary" in refused["detail"]
    refused = await verification.file("citizen", expect=422, items=["name"], claimed_values={"gender": "女"})
    assert refused["field"] == "claimed_values.gender" and refused["rule"] == "not_in_items"
    refused = await verification.file("citizen", expect=422, items=[])
    assert refused["field"] == "items"


async def test_a_request_filed_on_christmas_eve_2026_skips_new_years_day_and_is_estimated(verification):
    verification.clock.set(datetime(2026, 12, 24, 3, 0, tzinfo=UTC))
    created = await verification.file("citizen")
    # 12/25, 12/28, 12/29, 12/30, 12/31, (2027-01-01 never a workday), 1/4, 1/5, 1/6, 1/7, 1/8.
    assert created["received_on"] == "2026-12-24"
    assert created["deadline"] == "2027-01-08" and created["deadline_estimated"] is True


async def test_receipt_date_is_the_date_in_shanghai(verification):
    # 2026-11-26 17:30 UTC is already Friday 2026-11-27 01:30 in Shanghai.
    verification.clock.set(datetime(2026, 11, 26, 17, 30, tzinfo=UTC))
    created = await verification.file("citizen")
    assert created["received_on"] == "2026-11-27" and created["deadline"] == "2026-12-11"


async def test_bureau_sees_the_identifier_masked_the_subject_and_provider_see_it_in_full(verification):
    created = await verification.file("rs", subject_id=PERSON, description=f"申请人身份证号 {PERSON}，地址有误")
    path = f"/corrections/{created['id']}"
    for who in ("citizen", "ga", "ga-head", "rs"):
        seen = (await verification.get(path, who)).json()
        assert seen["subject_id"] == PERSON and seen["subject_id_masked"] is False, who
        assert PERSON in seen["description"]
    for who in ("bureau", "auditor"):
        response = await verification.get(path, who)
        assert response.status_code == 200
        assert PERSON not in response.text, who
        seen = response.json()
        assert seen["subject_id"] == "3405**********001X" and seen["subject_id_masked"] is True
        assert "3405**********001X" in seen["description"]


async def test_others_do_not_see_a_request_at_all(verification):
    created = await verification.file("citizen")
    for who in ("mz", "other-citizen", "company"):
        response = await verification.get(f"/corrections/{created['id']}", who)
        assert response.status_code == 404, who
        assert response.json()["code"] == "correction_not_found"


async def test_each_sees_the_list_of_its_own_scope(verification):
    by_citizen = await verification.file("citizen")
    by_rs = await verification.file("rs", subject_id=OTHER_PERSON)
    about_marriage = await verification.file(
        "mz", resource_id=MARRIAGE, subject_id=OTHER_PERSON, items=["marriage_status"], claimed_values={}
    )

    async def ids(who: str, **params) -> set[str]:
        response = await verification.get("/corrections", who, **params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await ids("ga") == {by_citizen["id"], by_rs["id"]}  # provider of POPULATION
    assert await ids("mz") == {about_marriage["id"]}  # provider and applicant
    assert await ids("rs") == {by_rs["id"]}  # applicant department
    assert await ids("citizen") == {by_citizen["id"]}
    assert await ids("other-citizen") == {by_rs["id"], about_marriage["id"]}  # the subject of both
    assert await ids("bureau") == {by_citizen["id"], by_rs["id"], about_marriage["id"]}
    assert await ids("auditor", resource_id=MARRIAGE) == {about_marriage["id"]}
    assert await ids("bureau", status="resolved") == set()
    listed = (await verification.get("/corrections", "bureau")).json()
    assert listed["total"] == 3
    assert all(item["subject_id_masked"] for item in listed["items"])
    assert not any(raw in str(listed) for raw in (PERSON, OTHER_PERSON))


async def test_a_page_of_requests_is_read_in_the_same_queries_whatever_its_length(verification):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    async def queries_for_a_page() -> tuple[int, int]:
        statements.clear()
        sa.event.listen(verification.db.engine.sync_engine, "before_cursor_execute", record)
        try:
            response = await verification.get("/corrections", "bureau")
        finally:
            sa.event.remove(verification.db.engine.sync_engine, "before_cursor_execute", record)
        assert response.status_code == 200
        return len(statements), response.json()["total"]

    await verification.file("citizen")
    one = await queries_for_a_page()
    for _ in range(4):
        await verification.file("rs", subject_id=OTHER_PERSON)
    # the total, the page with names and evidence counts (the data version the kept pages go by is read on the
    # driver's connection, unseen here)
    assert one == (2, 1)
    assert await queries_for_a_page() == (2, 5)
    assert await queries_for_a_page() == (0, 5), "unchanged data: the page kept"


async def test_request_body_is_checked_field_by_field(verification):
    refused = await verification.file("citizen", expect=422, subject_type="robot")
    assert refused["field"] == "subject_type"
    refused = await verification.file("citizen", expect=422, description="   ")
    assert refused["field"] == "description"
    response = await verification.client.post(
        "/api/verification/corrections", content=b"{not json", headers=verification.as_("citizen")
    )
    assert response.status_code == 422


async def test_resource_must_be_published_before_corrections(verification):
    draft = verification.catalog_event(POPULATION, event_type=RESOURCE_SUBMITTED, version=1, status="submitted")
    draft = draft.model_copy(update={"data": {**draft.data, "resource_id": "res-draft"}, "subject": "res-draft"})
    await verification.apply(draft)
    refused = await verification.file("citizen", expect=404, resource_id="res-draft")
    assert refused["code"] == "resource_unknown"


async def test_no_unmasked_identifier_reaches_a_log_line(verification, caplog):
    caplog.set_level(logging.DEBUG)
    created = await verification.file("citizen")
    await verification.get(f"/corrections/{created['id']}", "citizen")
    await verification.get("/active", "rs", subject_id=PERSON, resource_id=POPULATION)
    await verification.file("rs", expect=422, subject_id="340524198001010010")
    await verification.file("citizen", expect=403, subject_id=OTHER_PERSON)
    assert caplog.records
    for formatter in (JsonFormatter("verification-svc"), PlainFormatter("%(name)s %(message)s")):
        written = "\n".join(formatter.format(record) for record in caplog.records)
        for raw_id in (*verification.RAW_IDS, "340524198001010010"):
            assert raw_id not in written and raw_id.lower() not in written
