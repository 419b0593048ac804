"""Steps opened and closed from the other services' events: each kind waits for the right people with the right
deadline and article, and a repeated or late event changes nothing (aggregate version)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from govdata_shared.contracts.catalog import (
    DEMAND_RECORDED,
    DEMAND_REVIEWED,
    RESOURCE_SUBMITTED,
    UPDATE_TRIGGER_RECORDED,
)
from govdata_shared.contracts.identity import DEPARTMENT_CREATED
from govdata_shared.contracts.sharing import DISPUTE_ANSWERED, DISPUTE_OPENED, DISPUTE_RESOLVED
from govdata_shared.contracts.verification import REQUEST_EXTENDED, REQUEST_RESOLVED, REQUEST_SUBMITTED
from govdata_shared.testing import PERSON
from sharing_svc.events import dispute_payload
from sharing_svc.models import Dispute
from verification_svc.events import request_payload
from verification_svc.models import CorrectionRequest

MONDAY = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def kinds(items: list[dict]) -> list[str]:
    return [item["kind"] for item in items]


async def test_a_late_or_repeated_event_does_not_reopen_a_decided_stage(notify):
    request = notify.conditional_request()
    first = notify.submitted(request)
    decided = notify.provider_approved(request, MONDAY)

    await notify.apply(decided)  # the approval overtook the submission
    await notify.apply(first, decided)
    assert await notify.todo("ga") == []
    assert kinds(await notify.todo("bureau")) == ["delivery"]


async def test_a_batch_holding_a_whole_request_leaves_only_what_waits_after_it(notify):
    request = notify.conditional_request()
    await notify.apply_batch(
        notify.resource_event(), notify.submitted(request), notify.provider_approved(request, MONDAY)
    )
    assert await notify.todo("ga") == []
    (delivery,) = await notify.todo("bureau")
    assert delivery["title"] == "共享申请「户籍人口基本信息」的平台交付"


async def test_a_citizens_correction_waits_for_the_providers_operators_and_head(notify):
    """第十九条: the provider answers in 10 working days; its head may extend once — the step moves with the
    deadline. The events name no person behind a correction, so the citizen's own list stays empty."""
    correction = CorrectionRequest(
        id="cor-1",
        resource_id="res-population",
        provider_dept="YC-GA",
        subject_type="person",
        subject_id=PERSON,
        items=["household_address"],
        applicant_kind="citizen",
        applicant_dept=None,
        status="open",
        received_on=date(2026, 11, 30),
        deadline=date(2026, 12, 14),
        deadline_estimated=False,
        version=1,
    )
    at = notify.morning
    opened = notify.event(REQUEST_SUBMITTED, "cor-1", request_payload(correction), version=1, at=MONDAY, dept="YC-GA")
    await notify.apply(notify.resource_event(), opened)

    for who in ("ga", "ga-head"):
        (item,) = await notify.todo(who)
        assert (item["kind"], item["article"], item["deadline"], item["link"]) == (
            "correction",
            "第十九条",
            "2026-12-14",
            "/corrections/cor-1",
        )
        assert item["title"] == "「户籍人口基本信息」数据校核申请的办理"
    assert await notify.todo("citizen") == []
    assert PERSON not in str(await notify.todo("ga"))

    await notify.check(date(2026, 12, 11))  # Friday before the Monday deadline
    correction.status, correction.deadline, correction.version = "extended", date(2026, 12, 28), 2
    extended = notify.event(
        REQUEST_EXTENDED,
        "cor-1",
        request_payload(
            correction, days=10, reason="需调取档案", previous_deadline=date(2026, 12, 14), approved_by="ga-head"
        ),
        version=2,
        at=at(date(2026, 12, 11)),
        dept="YC-GA",
    )
    await notify.apply(extended)
    (item,) = await notify.todo("ga-head")
    assert item["deadline"] == "2026-12-28"
    await notify.check(date(2026, 12, 15))  # past the first deadline, not the extended one: no 通报
    await notify.check(date(2026, 12, 25))  # the Friday before the new one: reminded again
    assert [m["deadline"] for m in (await notify.messages("ga"))["items"]] == ["2026-12-28", "2026-12-14"]
    assert {m["kind"] for m in (await notify.messages("ga"))["items"]} == {"reminder"}

    correction.status, correction.version = "resolved", 3
    resolved = notify.event(
        REQUEST_RESOLVED,
        "cor-1",
        request_payload(
            correction,
            outcome="corrected",
            corrected_items=["household_address"],
            resolved_on=date(2026, 12, 25),
            on_time=True,
            working_days_taken=19,
            extended=True,
        ),
        version=3,
        at=at(date(2026, 12, 25)),
        dept="YC-GA",
    )
    await notify.apply(resolved)
    assert await notify.todo("ga") == [] and await notify.todo("ga-head") == []


@pytest.mark.backends("postgres", "sqlite")
async def test_a_submission_waits_for_the_bureau_and_answers_the_departments_update_trigger(notify):
    """第十四条: the department applies for the update within 10 working days of a recorded change, the bureau
    reviews within 5; the department's submission of the named resource answers the trigger."""
    trigger = {
        "trigger_id": "trg-1",
        "dept": "YC-GA",
        "resource_id": "res-population",
        "kind": "law_changed",
        "occurred_on": date(2026, 11, 30),
        "submit_deadline": date(2026, 12, 14),
        "estimated": False,
    }
    await notify.apply(
        notify.resource_event(),
        notify.event(UPDATE_TRIGGER_RECORDED, "trg-1", trigger, version=1, at=MONDAY, dept="YC-GA"),
    )
    (item,) = await notify.todo("ga")
    assert (item["kind"], item["article"], item["deadline"], item["link"]) == (
        "update_submission",
        "第十四条",
        "2026-12-14",
        "/triggers",
    )
    assert item["title"] == "目录更新（法律法规修改：户籍人口基本信息）的更新申请"

    revision = notify.resource_event(
        event_type=RESOURCE_SUBMITTED,
        version=3,
        revision=2,
        at=notify.morning(date(2026, 12, 2)),
        review_deadline=date(2026, 12, 9),
    )
    await notify.apply(revision)
    assert await notify.todo("ga") == []
    (review,) = await notify.todo("bureau")
    assert (review["kind"], review["article"], review["deadline"], review["link"]) == (
        "resource_review",
        "第十四条",
        "2026-12-09",
        "/review/catalog/res-population",
    )
    assert review["party"] == "YC-GA"

    await notify.apply(notify.resource_event(version=4, revision=2, at=notify.morning(date(2026, 12, 3))))
    assert await notify.todo("bureau") == []


async def test_a_dispute_waits_for_the_providers_answer_and_the_bureaus_decision(notify):
    """第二十七条: the bureau settles it together with the provider department."""
    dispute = Dispute(
        id="dsp-1",
        requester_dept="YC-MZ",
        resource_id="res-population",
        provider_dept="YC-GA",
        reason="拒绝理由不成立",
        status="open",
        deadline=date(2026, 12, 14),
        version=1,
    )
    department = {"code": "YC-MZ", "name": "伊川县民政局", "disabled": False}
    await notify.apply(
        notify.resource_event(),
        notify.event(DEPARTMENT_CREATED, "department:YC-MZ", department, version=1, at=MONDAY, dept="YC-MZ"),
        notify.event(DISPUTE_OPENED, "dsp-1", dispute_payload(dispute), version=1, at=MONDAY, dept="YC-MZ"),
    )
    (answer,) = await notify.todo("ga")
    (decision,) = await notify.todo("bureau")
    assert (answer["kind"], decision["kind"]) == ("dispute_answer", "dispute_decision")
    assert answer["article"] == decision["article"] == "第二十七条"
    assert answer["party"] == "伊川县民政局" and decision["link"] == "/disputes/dsp-1"
    assert await notify.todo("mz") == []

    dispute.provider_answer, dispute.version = "该资源涉及国家秘密", 2
    answered = notify.event(DISPUTE_ANSWERED, "dsp-1", dispute_payload(dispute), version=2, at=MONDAY, dept="YC-MZ")
    dispute.status, dispute.outcome, dispute.resolution, dispute.version = "resolved", "dismissed", "维持", 3
    resolved = notify.event(DISPUTE_RESOLVED, "dsp-1", dispute_payload(dispute), version=3, at=MONDAY, dept="YC-MZ")
    await notify.apply(answered)
    assert await notify.todo("ga") == [] and kinds(await notify.todo("bureau")) == ["dispute_decision"]
    await notify.apply(resolved)
    assert await notify.todo("bureau") == []


async def test_a_demand_waits_for_the_bureau_then_the_supplier_without_a_deadline(notify):
    """第十二条: no term — listed after everything with a deadline, never reminded."""
    demand = {
        "demand_id": "dem-1",
        "dept": "YC-MZ",
        "supplier_dept": "YC-GA",
        "title": "低保对象户籍信息",
        "resource_id": None,
        "status": "submitted",
    }
    await notify.apply(
        notify.event(DEMAND_RECORDED, "dem-1", demand, version=1, at=MONDAY, dept="YC-MZ"),
        notify.resource_event(),
        notify.submitted(notify.conditional_request("req-9")),
    )
    (review,) = await notify.todo("bureau")
    assert (review["kind"], review["deadline"], review["working_days_left"], review["article"]) == (
        "demand_review",
        None,
        None,
        "第十二条",
    )
    accepted = {**demand, "status": "accepted", "review_decision": "accept"}
    await notify.apply(notify.event(DEMAND_REVIEWED, "dem-1", accepted, version=2, at=MONDAY, dept="YC-MZ"))
    assert await notify.todo("bureau") == []
    assert kinds(await notify.todo("ga")) == ["provider_review", "demand_answer"]  # the deadline first
    await notify.check(date(2026, 12, 30))
    assert [m["step_kind"] for m in (await notify.messages("ga"))["items"]] == ["provider_review"]
