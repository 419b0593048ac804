"""Share requests on the two paths of 第二十九条, with their deadlines and deciders."""

from __future__ import annotations

import pytest
from govdata_shared.contracts import EVENT_CONTRACTS


async def test_unconditional_request_is_reviewed_by_the_platform_in_three_working_days(sharing):
    request = await sharing.request("mz", "res-pop")
    # Thursday 2026-11-26 + 3 working days → Tuesday 2026-12-01 (第二十九条(一)).
    assert request["status"] == "platform_review" and request["deadline"] == "2026-12-01"
    assert request["provider_dept"] == "YC-GA" and request["path"] == "unconditional"

    provider_try = await sharing.post(f"/requests/{request['id']}/approve", "ga")
    assert provider_try.status_code == 403  # the platform decides this stage, not the provider
    approved = await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    assert approved.json()["status"] == "granted" and approved.json()["grant_id"]
    grant = (await sharing.get(f"/grants/{approved.json()['grant_id']}", "mz")).json()
    assert grant["status"] == "active" and grant["holder_dept"] == "YC-MZ" and grant["items"] == ["id_number", "name"]
    assert grant["valid_from"] == "2026-12-01" and grant["valid_to"] == "2027-11-30"


async def test_conditional_request_needs_provider_approval_before_delivery(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    # 5 working days for the provider (第二十九条(二)): → Thursday 2026-12-03.
    assert request["status"] == "provider_review" and request["deadline"] == "2026-12-03"
    assert (await sharing.post(f"/requests/{request['id']}/approve", "bureau")).status_code == 403
    # A department that is no party to the request does not even see it.
    assert (await sharing.post(f"/requests/{request['id']}/approve", "ga")).status_code == 404

    sharing.clock.advance(days=1)  # the provider approves on Friday 2026-11-27
    delivery = await sharing.post(f"/requests/{request['id']}/approve", "mz")
    assert delivery.json()["status"] == "delivery"
    assert delivery.json()["deadline"] == "2026-12-02"  # 3 working days from the approval
    assert (await sharing.post(f"/requests/{request['id']}/approve", "mz")).status_code == 403
    granted = await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    assert granted.json()["status"] == "granted"
    assert [(d["stage"], d["decision"], d["on_time"]) for d in granted.json()["decisions"]] == [
        ("provider_review", "approve", True),
        ("delivery", "approve", True),
    ]


async def test_rejection_without_reason_is_refused(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    no_reason = await sharing.post(f"/requests/{request['id']}/reject", "mz", {})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert no_reason.json()["errors"][0]["rule"] == "required_on_reject"
    rejected = await sharing.post(f"/requests/{request['id']}/reject", "mz", {"reason": "申请用途与婚姻状况无关"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["rejected_stage"] == "provider_review"
    assert (await sharing.post(f"/requests/{request['id']}/approve", "mz")).status_code == 409


async def test_none_shared_resource_cannot_be_requested(sharing):
    response = await sharing.post(
        "/requests",
        "mz",
        {
            "resource_id": "res-secret",
            "items": ["name"],
            "purpose": "核验",
            "duty_basis": "职责",
            "system": "系统",
            "valid_from": "2026-12-01",
            "valid_to": "2027-06-30",
        },
    )
    assert response.status_code == 409
    assert response.json()["code"] == "resource_not_shared"
    assert response.json()["rule"] == "none_shared_not_requestable"


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"items": ["id_number", "salary"]}, "items[1]", "item_of_resource"),
        ({"items": ["name", "name"]}, "items", "unique_items"),
        ({"valid_to": "2027-12-01"}, "valid_to", "at_most_one_year"),
        ({"valid_from": "2026-12-10", "valid_to": "2026-12-09"}, "valid_to", "after_valid_from"),
        ({"valid_from": "2026-01-01", "valid_to": "2026-06-30"}, "valid_to", "not_in_past"),
        ({"items": []}, "items", "too_short"),
        ({"purpose": ""}, "purpose", "string_too_short"),
    ],
)
async def test_bad_requests_name_field_and_rule(sharing, changes, field, rule):
    body = {
        "resource_id": "res-pop",
        "items": ["id_number"],
        "purpose": "核验",
        "duty_basis": "职责",
        "system": "系统",
        "valid_from": "2026-12-01",
        "valid_to": "2027-06-30",
        **changes,
    }
    response = await sharing.post("/requests", "mz", body)
    assert response.status_code == 422, response.text
    assert (field, rule) in {(e["field"], e["rule"]) for e in response.json()["errors"]}


async def test_unknown_and_own_resources_are_refused(sharing):
    unknown = await sharing.post(
        "/requests",
        "mz",
        {
            "resource_id": "res-none",
            "items": ["x"],
            "purpose": "p",
            "duty_basis": "d",
            "system": "s",
            "valid_from": "2026-12-01",
            "valid_to": "2027-06-30",
        },
    )
    assert unknown.status_code == 404
    own = await sharing.post(
        "/requests",
        "ga",
        {
            "resource_id": "res-pop",
            "items": ["name"],
            "purpose": "p",
            "duty_basis": "d",
            "system": "s",
            "valid_from": "2026-12-01",
            "valid_to": "2027-06-30",
        },
    )
    assert own.status_code == 409 and own.json()["code"] == "own_resource"


async def test_retired_resource_cannot_be_requested_and_stale_events_change_nothing(sharing):
    retired = sharing.resource_event(
        "res-pop",
        provider="YC-GA",
        sharing_type="unconditional",
        version=5,
        event_type="catalog.resource.retired",
        status="retired",
    )
    await sharing.catalog(retired)
    # A late, older "published" event of the same resource must not bring it back.
    await sharing.catalog(sharing.resource_event("res-pop", provider="YC-GA", sharing_type="unconditional", version=4))
    response = await sharing.post(
        "/requests",
        "mz",
        {
            "resource_id": "res-pop",
            "items": ["name"],
            "purpose": "p",
            "duty_basis": "d",
            "system": "s",
            "valid_from": "2026-12-01",
            "valid_to": "2027-06-30",
        },
    )
    assert response.status_code == 409 and response.json()["code"] == "resource_retired"


async def test_request_events_follow_the_contract(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    await sharing.post(f"/requests/{request['id']}/approve", "mz")
    await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    events = await sharing.events(request["id"])
    assert [(e["type"], e["version"]) for e in events] == [
        ("sharing.request.submitted", 1),
        ("sharing.request.approved", 2),
        ("sharing.request.approved", 3),
    ]
    assert [e["data"]["stage"] for e in events[1:]] == ["provider_review", "delivery"]
    assert events[2]["data"]["next_status"] == "granted" and events[2]["data"]["grant_id"]
    for event in events:
        EVENT_CONTRACTS[event["type"]].model_validate(event["data"])
    grant_events = await sharing.events(events[2]["data"]["grant_id"])
    assert [e["type"] for e in grant_events] == ["sharing.grant.created"]
    assert grant_events[0]["data"]["items"] == ["marriage_status"] and grant_events[0]["dept"] == "YC-MZ"


async def test_parties_see_requests_others_do_not(sharing):
    request = await sharing.request("mz", "res-pop")
    assert (await sharing.get(f"/requests/{request['id']}", "ga")).status_code == 200
    assert (await sharing.get(f"/requests/{request['id']}", "rs")).status_code == 404
    assert [r["id"] for r in (await sharing.get("/requests", "ga", role="provider")).json()] == [request["id"]]
    assert (await sharing.get("/requests", "rs", role="requester")).json() == []
    assert (await sharing.get("/requests", "mz", role="platform")).status_code == 403
    assert len((await sharing.get("/requests", "bureau", role="platform", status="platform_review")).json()) == 1


async def test_overdue_stage_is_listed_and_emitted_once(sharing):
    from sharing_svc.scheduled import run_checks

    request = await sharing.request("mz", "res-pop")
    sharing.clock.advance(days=6)  # Wednesday 2026-12-02: the platform review was due 12-01
    overdue = (await sharing.get("/overdue", "bureau")).json()
    assert [(o["request_id"], o["stage"], o["responsible_dept"], o["days_overdue"]) for o in overdue] == [
        (request["id"], "platform_review", "YC-ZSJ", 1)
    ]
    assert (await run_checks(sharing.app))["overdue"] == 1
    assert (await run_checks(sharing.app))["overdue"] == 0
    emitted = [e for e in await sharing.events(request["id"]) if e["type"] == "sharing.request.overdue"]
    assert len(emitted) == 1 and emitted[0]["data"]["deadline"] == "2026-12-01"
    late = await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    assert late.json()["decisions"][0]["on_time"] is False


async def test_attachment_keeps_size_and_sha256_and_refuses_other_types(sharing):
    import hashlib

    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    pdf = b"%PDF-1.7\n" + "伊川县政务数据共享需求单".encode() * 100
    response = await sharing.client.put(
        f"/api/sharing/requests/{request['id']}/attachment",
        files={"file": ("需求单.pdf", pdf, "application/pdf")},
        headers=sharing.as_("rs"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["attachment"] == {
        "name": "需求单.pdf",
        "size": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
    }
    provider_view = await sharing.client.get(
        f"/api/sharing/requests/{request['id']}/attachment", headers=sharing.as_("mz")
    )
    assert provider_view.content == pdf
    exe = await sharing.client.put(
        f"/api/sharing/requests/{request['id']}/attachment",
        files={"file": ("x.exe", b"MZ\x90\x00", "application/pdf")},
        headers=sharing.as_("rs"),
    )
    assert exe.status_code == 415
    big = await sharing.client.put(
        f"/api/sharing/requests/{request['id']}/attachment",
        files={"file": ("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), "application/pdf")},
        headers=sharing.as_("rs"),
    )
    assert big.status_code == 413
    other = await sharing.client.put(
        f"/api/sharing/requests/{request['id']}/attachment",
        files={"file": ("a.pdf", pdf, "application/pdf")},
        headers=sharing.as_("mz"),
    )
    assert other.status_code == 403


async def test_disputes_are_opened_by_departments_and_resolved_by_the_bureau(sharing):
    opened = await sharing.post(
        "/disputes", "mz", {"resource_id": "res-secret", "reason": "低保审核需要该数据，认为不应列为不予共享"}
    )
    assert opened.status_code == 201 and opened.json()["provider_dept"] == "YC-GA"
    assert (
        await sharing.post(f"/disputes/{opened.json()['id']}/resolve", "ga", {"resolution": "x"})
    ).status_code == 403
    resolved = await sharing.post(
        f"/disputes/{opened.json()['id']}/resolve", "bureau", {"resolution": "经会同公安局协调，调整为有条件共享"}
    )
    assert resolved.json()["status"] == "resolved"
    assert (
        await sharing.post(f"/disputes/{opened.json()['id']}/resolve", "bureau", {"resolution": "again"})
    ).status_code == 409
    assert [d["id"] for d in (await sharing.get("/disputes", "ga")).json()] == [opened.json()["id"]]
    assert (await sharing.get("/disputes", "rs")).json() == []
