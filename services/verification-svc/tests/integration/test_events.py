"""Contract of the events verification-svc publishes: each step of a request is an event that matches its
contract, carries what audit-svc needs for the supervision figures, and never an unmasked identifier."""

from __future__ import annotations

from datetime import UTC, datetime

from govdata_shared.contracts import EVENT_CONTRACTS
from govdata_shared.contracts.verification import (
    REQUEST_EXTENDED,
    REQUEST_OVERDUE,
    REQUEST_RESOLVED,
    REQUEST_SUBMITTED,
    RequestExtendedData,
    RequestOverdueData,
    RequestResolvedData,
    RequestSubmittedData,
)
from govdata_shared.events import Event
from govdata_shared.testing import PILOT_COMPANY
from verification_svc.scheduled import check_overdue

LICENCES = "res-licences"


async def every_kind_of_event(verification) -> tuple[dict, dict, dict]:
    """A request extended then resolved, one resolved at once, one left to go overdue."""
    extended = await verification.file("citizen")
    await verification.post(f"/corrections/{extended['id']}/extend", "ga-head", {"days": 2, "reason": "调档核对"})
    company = await verification.file(
        "pilot-company",
        resource_id=LICENCES,
        subject_type="org",
        subject_id=PILOT_COMPANY,
        items=["address"],
        claimed_values={"address": "伊川县产业集聚区"},
        description=f"本单位统一社会信用代码 {PILOT_COMPANY}，住所登记有误",
    )
    forgotten = await verification.file("rs", subject_id="11010519491231002X")
    verification.clock.set(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    await verification.post(
        f"/corrections/{extended['id']}/resolve",
        "ga",
        {"outcome": "corrected", "corrected_values": {"household_address": "伊川县城关镇人民路12号"}},
    )
    await verification.post(
        f"/corrections/{company['id']}/resolve", "scj", {"outcome": "no_error", "note": f"{PILOT_COMPANY} 登记无误"}
    )
    verification.clock.set(datetime(2026, 12, 11, 2, 0, tzinfo=UTC))
    assert await check_overdue(verification.app) == 1
    return extended, company, forgotten


async def test_each_step_is_an_event_matching_its_contract_with_a_growing_version(verification):
    extended, company, forgotten = await every_kind_of_event(verification)
    events = await verification.events()
    assert {e["type"] for e in events} == {REQUEST_SUBMITTED, REQUEST_EXTENDED, REQUEST_RESOLVED, REQUEST_OVERDUE}
    for raw in events:
        event = Event.model_validate(raw)
        assert event.source == "/govdata/verification-svc"
        EVENT_CONTRACTS[event.type].model_validate(event.data)
    by_request = {
        r["id"]: [(e["type"], e["version"]) for e in await verification.events(r["id"])]
        for r in (extended, company, forgotten)
    }
    assert by_request == {
        extended["id"]: [(REQUEST_SUBMITTED, 1), (REQUEST_EXTENDED, 2), (REQUEST_RESOLVED, 3)],
        company["id"]: [(REQUEST_SUBMITTED, 1), (REQUEST_RESOLVED, 2)],
        forgotten["id"]: [(REQUEST_SUBMITTED, 1), (REQUEST_OVERDUE, 2)],
    }


async def test_no_unmasked_identifier_appears_in_any_emitted_event(verification):
    await every_kind_of_event(verification)
    outbox = await verification.raw_outbox()
    assert len(outbox) == 7
    for row in outbox:
        for raw_id in verification.RAW_IDS:
            assert raw_id not in row and raw_id.lower() not in row
    events = await verification.events()
    assert {e["data"]["subject_id"] for e in events} == {
        "3405**********001X",
        "9135**********GQXM",
        "1101**********002X",
    }
    # Free text and values stay in the service.
    assert not any("description" in e["data"] or "claimed_values" in e["data"] for e in events)
    assert not any("伊川县城关镇人民路12号" in str(e) for e in events)


async def test_submitted_event_routes_to_the_provider_with_the_deadline(verification):
    created = await verification.file("citizen")
    [raw] = await verification.events(created["id"])
    assert raw["subject"] == created["id"] and raw["dept"] == "YC-GA" and raw["actor"] == "citizen-1"
    data = RequestSubmittedData.model_validate(raw["data"])
    assert data.request_id == created["id"] and data.resource_id == "res-population"
    assert data.provider_dept == "YC-GA" and data.subject_type == "person"
    assert data.applicant_kind == "citizen" and data.items == ["household_address"]
    assert str(data.received_on) == "2026-11-26" and str(data.deadline) == "2026-12-10"
    assert data.deadline_estimated is False and data.status == "open"


async def test_extended_event_carries_days_reason_and_both_deadlines(verification):
    created = await verification.file("citizen")
    await verification.post(f"/corrections/{created['id']}/extend", "ga-head", {"days": 2, "reason": "调档核对"})
    raw = (await verification.events(created["id"]))[-1]
    data = RequestExtendedData.model_validate(raw["data"])
    assert (data.days, data.reason, data.approved_by) == (2, "调档核对", "ga-head")
    assert str(data.previous_deadline) == "2026-12-10" and str(data.deadline) == "2026-12-14"
    assert data.status == "extended"


async def test_resolved_event_says_on_time_and_working_days_taken(verification):
    extended, company, _ = await every_kind_of_event(verification)
    fixed = RequestResolvedData.model_validate((await verification.events(extended["id"]))[-1]["data"])
    assert fixed.outcome == "corrected" and fixed.corrected_items == ["household_address"]
    assert str(fixed.resolved_on) == "2026-12-03" and fixed.on_time is True and fixed.extended is True
    assert fixed.working_days_taken == 5  # 11/27, 11/30, 12/1, 12/2, 12/3
    no_error = RequestResolvedData.model_validate((await verification.events(company["id"]))[-1]["data"])
    assert no_error.outcome == "no_error" and no_error.corrected_items == [] and no_error.extended is False
    assert no_error.subject_id_check_failed is True and no_error.provider_dept == "YC-SCJ"


async def test_overdue_event_names_the_missed_deadline(verification):
    *_, forgotten = await every_kind_of_event(verification)
    raw = (await verification.events(forgotten["id"]))[-1]
    data = RequestOverdueData.model_validate(raw["data"])
    assert str(data.deadline) == "2026-12-10" and str(data.detected_on) == "2026-12-11"
    assert data.provider_dept == "YC-GA" and data.applicant_dept == "YC-RS" and data.extended is False
    assert raw["actor"] == "system" and raw["dept"] == "YC-GA"
