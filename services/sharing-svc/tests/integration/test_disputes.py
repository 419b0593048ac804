"""共享异议 (第二十七条): a department disputes a resource's sharing; the bureau resolves it with the provider."""

from __future__ import annotations

from datetime import UTC, datetime


async def test_disputes_are_opened_by_departments_and_resolved_by_the_bureau(sharing):
    opened = await sharing.post(
        "/disputes", "mz", {"resource_id": "res-secret", "reason": "低保审核需要该数据，认为不应列为不予共享"}
    )
    assert opened.status_code == 201 and opened.json()["provider_dept"] == "YC-GA"
    assert opened.json()["status"] == "open" and opened.json()["requester_dept"] == "YC-MZ"
    provider_try = await sharing.post(f"/disputes/{opened.json()['id']}/resolve", "ga", {"resolution": "x"})
    assert provider_try.status_code == 403 and provider_try.json()["code"] == "bureau_role_required"
    assert provider_try.json()["detail"] == "共享异议由县政务服务和大数据管理局会同提供部门处理"
    resolved = await sharing.post(
        f"/disputes/{opened.json()['id']}/resolve", "bureau", {"resolution": "经会同公安局协调，调整为有条件共享"}
    )
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolution"].startswith("经会同")
    again = await sharing.post(f"/disputes/{opened.json()['id']}/resolve", "bureau", {"resolution": "again"})
    assert again.status_code == 409 and again.json()["code"] == "dispute_resolved"
    assert [d["id"] for d in (await sharing.get("/disputes", "ga")).json()] == [opened.json()["id"]]
    assert [d["id"] for d in (await sharing.get("/disputes", "mz", status="resolved")).json()] == [opened.json()["id"]]
    assert (await sharing.get("/disputes", "mz", status="open")).json() == []
    assert (await sharing.get("/disputes", "rs")).json() == []
    assert len((await sharing.get("/disputes", "auditor")).json()) == 1
    events = await sharing.events(opened.json()["id"])
    assert [(e["type"], e["version"], e["data"]["status"], e["dept"]) for e in events] == [
        ("sharing.dispute.opened", 1, "open", "YC-MZ"),
        ("sharing.dispute.resolved", 2, "resolved", "YC-MZ"),
    ]


async def test_a_dispute_may_name_only_the_departments_own_request_for_that_resource(sharing):
    own = await sharing.request("mz", "res-pop")
    other = await sharing.request("rs", "res-pop")
    named = await sharing.post("/disputes", "mz", {"resource_id": "res-pop", "request_id": own["id"], "reason": "r"})
    assert named.status_code == 201 and named.json()["request_id"] == own["id"]
    wrong_resource = await sharing.post(
        "/disputes", "mz", {"resource_id": "res-secret", "request_id": own["id"], "reason": "r"}
    )
    assert wrong_resource.status_code == 422 and wrong_resource.json()["rule"] == "own_request_for_resource"
    as_provider = await sharing.post(
        "/disputes", "ga", {"resource_id": "res-pop", "request_id": own["id"], "reason": "r"}
    )
    assert as_provider.status_code == 422 and as_provider.json()["field"] == "request_id"
    unseen = await sharing.post("/disputes", "mz", {"resource_id": "res-pop", "request_id": other["id"], "reason": "r"})
    assert unseen.status_code == 404 and unseen.json()["code"] == "request_not_found"


async def test_disputes_need_a_known_resource_and_a_department(sharing):
    unknown = await sharing.post("/disputes", "mz", {"resource_id": "res-none", "reason": "r"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "resource_unknown"
    assert unknown.json()["detail"] == "目录中没有资源 res-none"
    bureau = await sharing.post("/disputes", "bureau", {"resource_id": "res-secret", "reason": "r"})
    assert bureau.status_code == 403 and bureau.json()["code"] == "department_role_required"
    citizen = await sharing.get("/disputes", "citizen")
    assert citizen.status_code == 403 and citizen.json()["code"] == "department_role_required"
    missing = await sharing.post("/disputes/dsp-none/resolve", "bureau", {"resolution": "x"})
    assert missing.status_code == 404 and missing.json()["code"] == "dispute_not_found"
    bad_status = await sharing.get("/disputes", "mz", status="closed")
    assert bad_status.status_code == 422 and bad_status.json()["field"] == "status"


async def test_the_provider_answers_and_the_bureau_decides_within_ten_working_days_across_a_holiday(sharing):
    """第二十七条: the bureau coordinates with the provider. Opened Monday 2026-09-28, the decision is due ten working
    days later across National Day (10/1–10/7 off, Saturday 10/10 worked): Friday 2026-10-16."""
    sharing.clock.set(datetime(2026, 9, 28, 2, 0, tzinfo=UTC))
    opened = (
        await sharing.post("/disputes", "mz", {"resource_id": "res-secret", "reason": "低保审核需要该数据"})
    ).json()
    assert (opened["deadline"], opened["deadline_estimated"]) == ("2026-10-16", False)

    stranger = await sharing.post(f"/disputes/{opened['id']}/answer", "rs", {"answer": "与我无关"})
    assert stranger.status_code == 404  # not a party: it does not even learn the dispute exists
    requester = await sharing.post(f"/disputes/{opened['id']}/answer", "mz", {"answer": "自己答复"})
    assert requester.status_code == 403 and requester.json()["code"] == "not_provider"
    answered = await sharing.post(
        f"/disputes/{opened['id']}/answer", "ga", {"answer": "该数据含涉密户籍信息，仅可提供核验结果"}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["provider_answer"].startswith("该数据含涉密") and answered.json()["status"] == "open"

    no_type = await sharing.post(
        f"/disputes/{opened['id']}/resolve",
        "bureau",
        {"resolution": "改为有条件共享", "outcome": "sharing_change_ordered"},
    )
    assert no_type.status_code == 422 and no_type.json()["errors"][0]["field"] == "ordered_sharing_type"
    resolved = await sharing.post(
        f"/disputes/{opened['id']}/resolve",
        "bureau",
        {
            "resolution": "经会同公安局协调，改为有条件共享",
            "outcome": "sharing_change_ordered",
            "ordered_sharing_type": "conditional",
        },
    )
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["outcome"], resolved.json()["ordered_sharing_type"]) == (
        "sharing_change_ordered",
        "conditional",
    )
    events = await sharing.events(opened["id"])
    assert [e["type"] for e in events] == [
        "sharing.dispute.opened",
        "sharing.dispute.answered",
        "sharing.dispute.resolved",
    ]
    # Both parties are named in every step, so each is told.
    assert all((e["data"]["requester_dept"], e["data"]["provider_dept"]) == ("YC-MZ", "YC-GA") for e in events)


async def test_a_decision_may_order_the_refused_request_granted(sharing):
    request = await sharing.request("mz", "res-pop", items=["id_number", "name"])
    rejected = await sharing.post(f"/requests/{request['id']}/reject", "bureau", {"reason": "用途不明确"})
    assert rejected.json()["status"] == "rejected"
    about_resource = (await sharing.post("/disputes", "mz", {"resource_id": "res-pop", "reason": "r"})).json()
    refused = await sharing.post(
        f"/disputes/{about_resource['id']}/resolve", "bureau", {"resolution": "予以授权", "outcome": "grant_ordered"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "no_refused_request"

    dispute = (
        await sharing.post(
            "/disputes",
            "mz",
            {"resource_id": "res-pop", "request_id": request["id"], "reason": "用途为低保资格核验，有文件依据"},
        )
    ).json()
    decided = await sharing.post(
        f"/disputes/{dispute['id']}/resolve", "bureau", {"resolution": "依据充分，予以授权", "outcome": "grant_ordered"}
    )
    assert decided.status_code == 200, decided.text
    grant_id = decided.json()["grant_id"]
    grant = (await sharing.get(f"/grants/{grant_id}", "mz")).json()
    assert (grant["holder_dept"], grant["items"], grant["status"]) == ("YC-MZ", ["id_number", "name"], "active")
    after = (await sharing.get(f"/requests/{request['id']}", "mz")).json()
    assert (after["status"], after["grant_id"]) == ("granted", grant_id)
