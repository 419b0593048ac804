"""Share requests on the two paths of 第二十九条, with their deadlines and deciders; the views of requests, the
stages past their deadlines and the sealed 需求单."""

from __future__ import annotations

import hashlib

import pytest
from govdata_shared.contracts import EVENT_CONTRACTS
from sharing_svc.scheduled import run_checks


async def test_unconditional_request_is_reviewed_by_the_platform_in_three_working_days(sharing):
    request = await sharing.request("mz", "res-pop")
    # Thursday 2026-11-26 + 3 working days → Tuesday 2026-12-01 (第二十九条(一)).
    assert request["status"] == "platform_review" and request["deadline"] == "2026-12-01"
    assert request["provider_dept"] == "YC-GA" and request["path"] == "unconditional"
    assert request["resource_name"] == "资源res-pop" and request["decisions"] == []
    assert request["requester_system"] == "mz-dibao"

    provider_try = await sharing.post(f"/requests/{request['id']}/approve", "ga")
    assert provider_try.status_code == 403  # the platform decides this stage, not the provider
    assert provider_try.json()["code"] == "bureau_role_required"
    assert provider_try.json()["detail"] == "平台审核由县政务服务和大数据管理局办理"
    approved = await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    assert approved.json()["status"] == "granted" and approved.json()["grant_id"]
    assert approved.json()["deadline"] is None
    grant = (await sharing.get(f"/grants/{approved.json()['grant_id']}", "mz")).json()
    assert grant["status"] == "active" and grant["holder_dept"] == "YC-MZ" and grant["items"] == ["id_number", "name"]
    assert grant["holder_system"] == "mz-dibao"  # 第二十九条: granted to the system the request named
    assert grant["valid_from"] == "2026-12-01" and grant["valid_to"] == "2027-11-30"


async def test_conditional_request_needs_provider_approval_before_delivery(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    # 5 working days for the provider (第二十九条(二)): → Thursday 2026-12-03.
    assert request["status"] == "provider_review" and request["deadline"] == "2026-12-03"
    bureau_try = await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    assert bureau_try.status_code == 403 and bureau_try.json()["code"] == "not_provider"
    # A department that is no party to the request does not even see it.
    stranger = await sharing.post(f"/requests/{request['id']}/approve", "ga")
    assert stranger.status_code == 404 and stranger.json()["code"] == "request_not_found"

    sharing.clock.advance(days=1)  # the provider approves on Friday 2026-11-27, on the sealed 需求单
    await sharing.attach(request["id"], "rs")
    delivery = await sharing.post(f"/requests/{request['id']}/approve", "mz")
    assert delivery.json()["status"] == "delivery" and delivery.json()["approved_items"] == ["marriage_status"]
    assert delivery.json()["deadline"] == "2026-12-02"  # 3 working days from the approval
    provider_again = await sharing.post(f"/requests/{request['id']}/approve", "mz")
    assert provider_again.status_code == 403 and provider_again.json()["code"] == "bureau_role_required"
    assert provider_again.json()["detail"] == "平台交付由县政务服务和大数据管理局办理"
    granted = await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    assert granted.json()["status"] == "granted"
    assert [(d["stage"], d["decision"], d["decided_dept"], d["on_time"]) for d in granted.json()["decisions"]] == [
        ("provider_review", "approve", "YC-MZ", True),
        ("delivery", "approve", "YC-ZSJ", True),
    ]


async def test_a_provider_may_approve_fewer_items_and_the_grant_carries_only_those(sharing):
    """API.md: a provider may approve a subset of the requested items (第二十九条(二)); the grant carries only
    those. The bureau's delivery passes them on and names none itself."""
    items = ["id_number", "marriage_status", "registered_on"]
    request = await sharing.request("rs", "res-marriage", items=items)
    assert request["approved_items"] is None
    await sharing.attach(request["id"], "rs")
    chosen = ["registered_on", "id_number"]  # kept in the order requested
    delivery = await sharing.post(
        f"/requests/{request['id']}/approve", "mz", {"items": chosen, "reason": "婚姻状况需当事人授权，不予提供"}
    )
    assert delivery.status_code == 200, delivery.text
    assert delivery.json()["status"] == "delivery" and delivery.json()["items"] == items
    assert delivery.json()["approved_items"] == ["id_number", "registered_on"]
    assert (await sharing.get(f"/requests/{request['id']}", "rs")).json()["approved_items"] == [
        "id_number",
        "registered_on",
    ]
    (approved,) = [e for e in await sharing.events(request["id"]) if e["type"] == "sharing.request.approved"]
    assert approved["data"]["approved_items"] == ["id_number", "registered_on"]

    # The bureau's delivery cannot change the items, even to what the provider agreed to.
    bureau_items = await sharing.post(f"/requests/{request['id']}/approve", "bureau", {"items": ["id_number"]})
    assert bureau_items.status_code == 422 and bureau_items.json()["code"] == "items_not_allowed"
    assert (bureau_items.json()["field"], bureau_items.json()["rule"]) == ("items", "items_not_allowed")
    assert bureau_items.json()["detail"] == "平台交付不能指定信息项：只有提供部门审批时可以只同意部分信息项"
    assert (await sharing.get(f"/requests/{request['id']}", "bureau")).json()["status"] == "delivery"

    granted = await sharing.post(f"/requests/{request['id']}/approve", "bureau", {})  # an empty body is no choice
    assert granted.json()["status"] == "granted", granted.text
    grant = (await sharing.get(f"/grants/{granted.json()['grant_id']}", "rs")).json()
    assert grant["items"] == ["id_number", "registered_on"]
    (created,) = await sharing.events(grant["id"])
    assert created["data"]["items"] == ["id_number", "registered_on"]  # what the gateway filters the data by


async def test_a_provider_agrees_only_to_requested_items_and_at_least_one(sharing):
    request = await sharing.request("rs", "res-marriage", items=["id_number", "marriage_status"])
    await sharing.attach(request["id"], "rs")
    url = f"/requests/{request['id']}/approve"
    for items, rule, detail in (
        (["registered_on"], "requested_item", "registered_on 不是本申请所申请的信息项"),  # the resource's, not asked
        (["id_number", "salary"], "requested_item", "salary 不是本申请所申请的信息项"),
        ([], "at_least_one_item", "至少同意一项信息项；全部不同意请驳回并说明具体理由"),
        (["id_number", "id_number"], "unique_items", "信息项重复"),
    ):
        refused = await sharing.post(url, "mz", {"items": items})
        assert refused.status_code == 422, (items, refused.text)
        assert refused.json()["errors"] == [{"field": "items", "rule": rule, "detail": detail}], items
    unknown_field = await sharing.post(url, "mz", {"items": ["id_number"], "fields": ["x"]})
    assert unknown_field.status_code == 422 and unknown_field.json()["errors"][0]["field"] == "fields"
    unchanged = (await sharing.get(f"/requests/{request['id']}", "mz")).json()
    assert (unchanged["status"], unchanged["approved_items"], unchanged["decisions"]) == ("provider_review", None, [])
    assert [e["type"] for e in await sharing.events(request["id"])] == ["sharing.request.submitted"]


async def test_a_provider_cannot_approve_without_the_sealed_form(sharing):
    """第二十九条(二): the requester submits the sealed 需求单 with its request; the provider approves on it."""
    request = await sharing.request("rs", "res-marriage", items=["id_number", "marriage_status"])
    for body in (None, {"items": ["marriage_status"]}):
        refused = await sharing.post(f"/requests/{request['id']}/approve", "mz", body)
        assert refused.status_code == 409 and refused.json()["code"] == "attachment_required", refused.text
        assert refused.json()["rule"] == "attachment_required" and "需求单" in refused.json()["detail"]
    unchanged = (await sharing.get(f"/requests/{request['id']}", "mz")).json()
    assert (unchanged["status"], unchanged["deadline"], unchanged["approved_items"]) == (
        "provider_review",
        "2026-12-03",
        None,
    )
    assert unchanged["decisions"] == [] and unchanged["attachment"] is None
    assert [(e["type"], e["version"]) for e in await sharing.events(request["id"])] == [
        ("sharing.request.submitted", 1)
    ]

    await sharing.attach(request["id"], "rs")
    # Items left out are refused, and a refusal states its reasons (第二十九条(二)).
    unexplained = await sharing.post(f"/requests/{request['id']}/approve", "mz", {"items": ["marriage_status"]})
    assert unexplained.status_code == 422, unexplained.text
    (error,) = unexplained.json()["errors"]
    assert (error["field"], error["rule"]) == ("reason", "reason_required_for_refused_items")
    assert "id_number" in error["detail"]
    reason = "身份证号由申请部门自有系统核验，本次不予提供"
    approved = await sharing.post(
        f"/requests/{request['id']}/approve", "mz", {"items": ["marriage_status"], "reason": reason}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "delivery" and approved.json()["approved_items"] == ["marriage_status"]
    (decision,) = approved.json()["decisions"]
    assert (decision["decision"], decision["refused_items"], decision["reason"]) == ("approve", ["id_number"], reason)
    event = (await sharing.events(request["id"]))[-1]
    assert event["type"] == "sharing.request.approved"
    assert (event["data"]["refused_items"], event["data"]["reason"]) == (["id_number"], reason)


async def test_the_platform_review_grants_every_requested_item_and_takes_no_items(sharing):
    request = await sharing.request("mz", "res-pop", items=["id_number", "name", "gender"])
    narrowed = await sharing.post(f"/requests/{request['id']}/approve", "bureau", {"items": ["name"]})
    assert narrowed.status_code == 422 and narrowed.json()["code"] == "items_not_allowed"
    assert narrowed.json()["detail"].startswith("平台审核不能指定信息项")
    assert (await sharing.get(f"/requests/{request['id']}", "mz")).json()["decisions"] == []
    granted = (await sharing.post(f"/requests/{request['id']}/approve", "bureau")).json()
    assert granted["approved_items"] == ["id_number", "name", "gender"]  # no 需求单 needed on this path
    grant = (await sharing.get(f"/grants/{granted['grant_id']}", "mz")).json()
    assert grant["items"] == ["id_number", "name", "gender"]


async def test_rejection_without_reason_is_refused(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    no_reason = await sharing.post(f"/requests/{request['id']}/reject", "mz", {})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert no_reason.json()["errors"][0]["rule"] == "required_on_reject"
    rejected = await sharing.post(f"/requests/{request['id']}/reject", "mz", {"reason": "申请用途与婚姻状况无关"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["rejected_stage"] == "provider_review"
    assert rejected.json()["reject_reason"] == "申请用途与婚姻状况无关" and rejected.json()["deadline"] is None
    assert [(d["decision"], d["reason"]) for d in rejected.json()["decisions"]] == [
        ("reject", "申请用途与婚姻状况无关")
    ]
    decided = await sharing.post(f"/requests/{request['id']}/approve", "mz")
    assert decided.status_code == 409 and decided.json()["code"] == "request_decided"
    assert decided.json()["status_now"] == "rejected"


async def test_none_shared_resource_cannot_be_requested(sharing):
    response = await sharing.post("/requests", "mz", sharing.request_body("res-secret", items=["name"]))
    assert response.status_code == 409
    assert response.json()["code"] == "resource_not_shared"
    assert response.json()["rule"] == "none_shared_not_requestable"
    assert response.json()["dispute_url"] == "/api/sharing/disputes"


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
    body = sharing.request_body(**{"items": ["id_number"], "valid_to": "2027-06-30", **changes})
    response = await sharing.post("/requests", "mz", body)
    assert response.status_code == 422, response.text
    assert (field, rule) in {(e["field"], e["rule"]) for e in response.json()["errors"]}


async def test_unknown_and_own_resources_are_refused(sharing):
    unknown = await sharing.post("/requests", "mz", sharing.request_body("res-none", items=["x"]))
    assert unknown.status_code == 404 and unknown.json()["code"] == "resource_unknown"
    assert unknown.json()["field"] == "resource_id" and unknown.json()["rule"] == "published_resource"
    own = await sharing.post("/requests", "ga", sharing.request_body("res-pop", "ga", items=["name"]))
    assert own.status_code == 409 and own.json()["code"] == "own_resource"


async def test_only_department_staff_file_requests(sharing):
    for who in ("bureau", "auditor", "citizen"):
        response = await sharing.post("/requests", who, sharing.request_body(who=who))
        assert response.status_code == 403 and response.json()["code"] == "department_role_required", who
    assert await sharing.events() == []


async def test_request_events_follow_the_contract(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    await sharing.attach(request["id"], "rs")
    await sharing.post(f"/requests/{request['id']}/approve", "mz")
    await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    events = await sharing.events(request["id"])
    assert [(e["type"], e["version"]) for e in events] == [
        ("sharing.request.submitted", 1),
        ("sharing.request.approved", 2),
        ("sharing.request.approved", 3),
    ]
    assert events[0]["data"]["status"] == "provider_review" and events[0]["data"]["deadline"] == "2026-12-03"
    assert [e["data"]["stage"] for e in events[1:]] == ["provider_review", "delivery"]
    assert events[1]["data"]["next_status"] == "delivery" and events[1]["data"]["next_deadline"] == "2026-12-01"
    assert events[2]["data"]["next_status"] == "granted" and events[2]["data"]["grant_id"]
    assert [e["data"]["approved_items"] for e in events[1:]] == [["marriage_status"], ["marriage_status"]]
    for event in events:
        EVENT_CONTRACTS[event["type"]].model_validate(event["data"])
    grant_events = await sharing.events(events[2]["data"]["grant_id"])
    assert [e["type"] for e in grant_events] == ["sharing.grant.created"]
    assert grant_events[0]["data"]["items"] == ["marriage_status"] and grant_events[0]["dept"] == "YC-MZ"


async def test_rejection_event_names_the_stage_and_the_reason(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    await sharing.post(f"/requests/{request['id']}/reject", "mz", {"reason": "用途不符"})
    rejected = (await sharing.events(request["id"]))[-1]
    assert rejected["type"] == "sharing.request.rejected" and rejected["dept"] == "YC-RS"
    assert {k: rejected["data"][k] for k in ("stage", "decided_by_dept", "next_status", "reason", "grant_id")} == {
        "stage": "provider_review",
        "decided_by_dept": "YC-MZ",
        "next_status": "rejected",
        "reason": "用途不符",
        "grant_id": None,
    }


async def test_parties_see_requests_others_do_not(sharing):
    request = await sharing.request("mz", "res-pop")
    assert (await sharing.get(f"/requests/{request['id']}", "ga")).status_code == 200
    hidden = await sharing.get(f"/requests/{request['id']}", "rs")
    assert hidden.status_code == 404 and hidden.json()["code"] == "request_not_found"
    assert (await sharing.get(f"/requests/{request['id']}", "auditor")).status_code == 200
    assert [r["id"] for r in (await sharing.get("/requests", "ga", role="provider")).json()] == [request["id"]]
    assert (await sharing.get("/requests", "ga", role="requester")).json() == []
    assert [r["id"] for r in (await sharing.get("/requests", "mz")).json()] == [request["id"]]
    assert (await sharing.get("/requests", "rs", role="requester")).json() == []
    platform = await sharing.get("/requests", "mz", role="platform")
    assert platform.status_code == 403 and platform.json()["code"] == "bureau_role_required"
    assert len((await sharing.get("/requests", "bureau", role="platform", status="platform_review")).json()) == 1
    assert [r["id"] for r in (await sharing.get("/requests", "auditor")).json()] == [request["id"]]
    assert (await sharing.get("/requests", "bureau", status="granted")).json() == []
    as_department = await sharing.get("/requests", "bureau", role="provider")
    assert as_department.status_code == 403 and as_department.json()["code"] == "department_role_required"
    citizen = await sharing.get("/requests", "citizen")
    assert citizen.status_code == 403 and citizen.json()["code"] == "department_role_required"


async def test_a_list_page_names_each_resource_in_one_query(sharing):
    first = await sharing.request("mz", "res-pop")
    with sharing.statements() as one_row:
        page = (await sharing.get("/requests", "bureau")).json()
    assert [(r["id"], r["resource_name"], r["decisions"]) for r in page] == [(first["id"], "资源res-pop", [])]
    sharing.clock.advance(minutes=1)
    second = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    sharing.clock.advance(minutes=1)
    third = await sharing.request("rs", "res-pop")
    with sharing.statements() as three_rows:
        page = (await sharing.get("/requests", "bureau")).json()
    assert [(r["id"], r["resource_name"]) for r in page] == [
        (third["id"], "资源res-pop"),
        (second["id"], "资源res-marriage"),
        (first["id"], "资源res-pop"),
    ]
    # the page itself (the data version the kept pages go by is read on the driver's connection, unseen here)
    assert len(three_rows) == len(one_row) == 1, three_rows


async def test_overdue_stage_is_listed_and_emitted_once(sharing):
    request = await sharing.request("mz", "res-pop")
    sharing.clock.advance(days=6)  # Wednesday 2026-12-02: the platform review was due 12-01
    overdue = (await sharing.get("/overdue", "bureau")).json()
    assert [(o["request_id"], o["stage"], o["responsible_dept"], o["days_overdue"]) for o in overdue] == [
        (request["id"], "platform_review", "YC-ZSJ", 1)
    ]
    assert overdue[0]["deadline"] == "2026-12-01" and overdue[0]["estimated"] is False
    assert [o["request_id"] for o in (await sharing.get("/overdue", "mz")).json()] == [request["id"]]
    assert [o["request_id"] for o in (await sharing.get("/overdue", "ga")).json()] == [request["id"]]
    assert (await sharing.get("/overdue", "rs")).json() == []
    citizen = await sharing.get("/overdue", "citizen")
    assert citizen.status_code == 403 and citizen.json()["code"] == "department_role_required"
    assert (await run_checks(sharing.app))["overdue"] == 1
    assert (await run_checks(sharing.app))["overdue"] == 0
    emitted = [e for e in await sharing.events(request["id"]) if e["type"] == "sharing.request.overdue"]
    assert len(emitted) == 1 and emitted[0]["data"]["deadline"] == "2026-12-01"
    assert emitted[0]["data"]["responsible_dept"] == "YC-ZSJ" and emitted[0]["actor"] == "system"
    late = await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    assert late.json()["decisions"][0]["on_time"] is False


async def test_a_provider_stage_past_its_deadline_is_the_providers_to_answer(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    sharing.clock.advance(days=8)  # Friday 2026-12-04: the provider's decision was due 12-03
    overdue = (await sharing.get("/overdue", "mz")).json()
    assert [(o["request_id"], o["stage"], o["responsible_dept"]) for o in overdue] == [
        (request["id"], "provider_review", "YC-MZ")
    ]
    assert (await sharing.get("/overdue", "ga")).json() == []


@pytest.mark.backends("postgres", "sqlite")
async def test_attachment_keeps_size_and_sha256_and_refuses_other_types(sharing):
    request = await sharing.request("rs", "res-marriage", items=["marriage_status"])
    url = f"/api/sharing/requests/{request['id']}/attachment"
    none_yet = await sharing.client.get(url, headers=sharing.as_("mz"))
    assert none_yet.status_code == 404 and none_yet.json()["code"] == "attachment_not_found"
    pdf = b"%PDF-1.7\n" + "伊川县政务数据共享需求单".encode() * 100
    response = await sharing.client.put(
        url, files={"file": ("需求单.pdf", pdf, "application/pdf")}, headers=sharing.as_("rs")
    )
    assert response.status_code == 200, response.text
    assert response.json()["attachment"] == {
        "name": "需求单.pdf",
        "size": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
    }
    provider_view = await sharing.client.get(url, headers=sharing.as_("mz"))
    assert provider_view.content == pdf
    assert provider_view.headers["content-type"] == "application/pdf"
    assert provider_view.headers["x-content-sha256"] == hashlib.sha256(pdf).hexdigest()
    assert (await sharing.client.get(url, headers=sharing.as_("ga"))).status_code == 404

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # every byte value survives the round trip
    replaced = await sharing.client.put(url, files={"file": ("scan.png", png, "image/png")}, headers=sharing.as_("rs"))
    assert replaced.json()["attachment"]["sha256"] == hashlib.sha256(png).hexdigest()
    again = await sharing.client.get(url, headers=sharing.as_("bureau"))
    assert again.content == png and again.headers["content-type"] == "image/png"

    exe = await sharing.client.put(
        url, files={"file": ("x.exe", b"MZ\x90\x00", "application/pdf")}, headers=sharing.as_("rs")
    )
    assert exe.status_code == 415 and exe.json()["code"] == "attachment_type"
    big = await sharing.client.put(
        url,
        files={"file": ("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), "application/pdf")},
        headers=sharing.as_("rs"),
    )
    assert big.status_code == 413  # the body limit of every service answers before the attachment rule can
    other = await sharing.client.put(url, files={"file": ("a.pdf", pdf, "application/pdf")}, headers=sharing.as_("mz"))
    assert other.status_code == 403 and other.json()["code"] == "not_requester"
    stranger = await sharing.client.put(
        url, files={"file": ("a.pdf", pdf, "application/pdf")}, headers=sharing.as_("ga")
    )
    assert stranger.status_code == 404


async def test_no_attachment_once_the_request_is_decided(sharing):
    request = await sharing.request("mz", "res-pop")
    await sharing.post(f"/requests/{request['id']}/approve", "bureau")
    late = await sharing.client.put(
        f"/api/sharing/requests/{request['id']}/attachment",
        files={"file": ("a.pdf", b"%PDF-1.7", "application/pdf")},
        headers=sharing.as_("mz"),
    )
    assert late.status_code == 409 and late.json()["code"] == "request_decided"


async def test_a_resource_provided_only_in_part_sends_a_request_for_a_conditional_item_down_the_conditional_path(
    sharing,
):
    """第二十四条 仅能够部分提供: an unconditional resource whose 婚姻状况 is shared on conditions and whose 宗教信仰
    is not shared. Its unconditional items go to the platform's review; asking for the conditional item too sends
    the request to the provider first (第二十九条(二)); the none-shared item cannot be asked for."""
    await sharing.catalog(
        sharing.resource_event(
            "res-partial",
            provider="YC-GA",
            sharing_type="unconditional",
            items=("id_number", "name", "marriage_status", "religion"),
            item_types={"marriage_status": "conditional", "religion": "none"},
        )
    )
    plain = await sharing.request("mz", "res-partial", items=["id_number", "name"])
    assert (plain["path"], plain["status"]) == ("unconditional", "platform_review")
    partial = await sharing.request("rs", "res-partial", items=["name", "marriage_status"])
    assert (partial["path"], partial["status"]) == ("conditional", "provider_review")
    refused = await sharing.post("/requests", "mz", sharing.request_body("res-partial", items=["name", "religion"]))
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert (error["field"], error["rule"]) == ("items[1]", "item_not_shared")
