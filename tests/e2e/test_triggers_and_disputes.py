"""第十四条 update triggers and 第二十七条 disputes end to end, as departmental systems and the bureau drive them
through the gateway: the bureau records that a law touching one of 公安局's resources changed, the ten working days
run on the county's calendar across National Day, and only a submission of that resource answers it; 民政局
disputes the refusal of its request, 公安局 answers, and the bureau orders the grant, which both parties read."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from govdata_local.flows import Dept, apply, eventually, publish
from govdata_shared.workdays import SHANGHAI, is_workday


@pytest.fixture(scope="module")
def world(platform):
    ga, mz, bureau = (Dept(platform, c) for c in ("ga-system", "mz-system", "bureau"))
    return {
        "ga": ga,
        "mz": mz,
        "bureau": bureau,
        "citizen": Dept(platform, "citizen-1"),
        "id_card": publish(platform, ga, bureau, "居民身份证信息", "101002/914001"),
        "births": publish(platform, ga, bureau, "出生户口登记信息", "101007/914002"),
    }


def _trigger(reader: Dept, trigger_id: str) -> dict:
    (found,) = [t for t in reader.get("/api/catalog/triggers").json() if t["id"] == trigger_id]
    return found


def _submit_revision(dept: Dept, resource_id: str) -> None:
    revised = dept.post(f"/api/catalog/resources/{resource_id}/revisions", {"summary": "按修订后的规定更新。"})
    assert revised.status_code == 201, revised.text
    submitted = dept.post(f"/api/catalog/resources/{resource_id}/submit")
    assert submitted.status_code == 200, submitted.text


def test_a_trigger_is_due_ten_working_days_across_national_day_and_answered_only_by_its_resource(world):
    ga, bureau, id_card, births = world["ga"], world["bureau"], world["id_card"], world["births"]
    fields = {"kind": "law_changed", "occurred_on": "2026-09-28", "description": "《居民身份证法》配套规定修订"}

    for_another = ga.post("/api/catalog/triggers", fields | {"dept": "YC-MZ"})
    assert for_another.status_code == 422 and for_another.json()["errors"][0]["rule"] == "own_department"
    citizen = world["citizen"].post("/api/catalog/triggers", fields | {"dept": "YC-GA"})
    assert citizen.status_code == 403 and citizen.json()["code"] == "department_role_required", citizen.text

    recorded = bureau.post("/api/catalog/triggers", fields | {"dept": "YC-GA", "resource_ids": [id_card["id"]]})
    assert recorded.status_code == 201, recorded.text
    trigger = recorded.json()
    # Monday 2026-09-28 + 10 working days: 9/29, 9/30, (10/1–10/7 National Day off), 10/8, 10/9, 10/10 (make-up
    # Saturday), 10/12 … 10/16. Counting weekdays alone would give Monday 10/12; the holiday pushes it to Friday.
    assert not is_workday(date(2026, 10, 1)) and is_workday(date(2026, 10, 10))
    assert (trigger["dept"], trigger["submit_deadline"], trigger["submit_deadline_estimated"]) == (
        "YC-GA",
        "2026-10-16",
        False,
    )
    assert trigger["id"] not in {t["id"] for t in world["mz"].get("/api/catalog/triggers").json()}

    _submit_revision(ga, births["id"])  # another resource of the department: no answer to this trigger
    held = _trigger(ga, trigger["id"])
    assert held["submitted_at"] is None and held["answered_ids"] == []

    _submit_revision(ga, id_card["id"])
    answered = _trigger(bureau, trigger["id"])
    assert answered["answered_ids"] == [id_card["id"]] and answered["submitted_at"] is not None
    assert answered["submitted_version"] == 2 and answered["review_deadline"] is not None


def test_a_dispute_is_answered_by_the_provider_and_the_bureau_orders_the_refused_grant(platform, world):
    ga, mz, bureau = world["ga"], world["mz"], world["bureau"]
    rid = world["id_card"]["id"]
    request = apply(mz, rid, ["id_number", "name"])
    assert request.status_code == 201 and request.json()["status"] == "platform_review", request.text
    request_id = request.json()["id"]
    rejected = bureau.post(f"/api/sharing/requests/{request_id}/reject", {"reason": "履职依据不充分"})
    assert rejected.json()["status"] == "rejected", rejected.text

    opened = mz.post(
        "/api/sharing/disputes",
        {"resource_id": rid, "request_id": request_id, "reason": "低保审核须核验身份，依据《社会救助暂行办法》"},
    )
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert (dispute["requester_dept"], dispute["provider_dept"], dispute["status"]) == ("YC-MZ", "YC-GA", "open")
    # The bureau decides within ten working days of the day the dispute was raised (today, in Yichuan): whatever
    # holiday lies between, the deadline is the tenth working day after it.
    opened_on = datetime.fromisoformat(dispute["created_at"]).astimezone(SHANGHAI).date()
    deadline = date.fromisoformat(dispute["deadline"])
    between = [opened_on + timedelta(days=n) for n in range(1, (deadline - opened_on).days + 1)]
    assert sum(is_workday(d) for d in between) == 10 and is_workday(deadline)

    path = f"/api/sharing/disputes/{dispute['id']}"
    by_requester = mz.post(f"{path}/answer", {"answer": "自己答复"})
    assert by_requester.status_code == 403 and by_requester.json()["code"] == "not_provider"
    answered = ga.post(f"{path}/answer", {"answer": "同意按原申请提供身份核验所需的两项"})
    assert answered.status_code == 200 and answered.json()["status"] == "open", answered.text
    by_provider = ga.post(f"{path}/resolve", {"resolution": "自行办结", "outcome": "dismissed"})
    assert by_provider.status_code == 403 and by_provider.json()["code"] == "bureau_role_required"

    decided = bureau.post(f"{path}/resolve", {"resolution": "会同公安局协调，予以授权", "outcome": "grant_ordered"})
    assert decided.status_code == 200, decided.text
    grant_id = decided.json()["grant_id"]
    for party in (mz, ga):
        (seen,) = [d for d in party.get("/api/sharing/disputes").json() if d["id"] == dispute["id"]]
        assert (seen["status"], seen["outcome"], seen["grant_id"]) == ("resolved", "grant_ordered", grant_id)
        assert seen["provider_answer"].startswith("同意按原申请") and seen["resolution"].startswith("会同公安局")
    grant = mz.get(f"/api/sharing/grants/{grant_id}").json()
    assert (grant["holder_dept"], grant["items"], grant["status"]) == ("YC-MZ", ["id_number", "name"], "active")
    assert mz.get(f"/api/sharing/requests/{request_id}").json()["status"] == "granted"
    # The ordered grant reaches the gateway by event: 民政局's system gets its grant token.
    eventually(lambda: mz.grant_token(grant_id).status_code == 200, 10.0, "the gateway knowing the ordered grant")
