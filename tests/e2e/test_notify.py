"""待办 end to end (issue 15): a department's system files a conditional request through the gateway, notify-svc
learns of it from sharing-svc's events over the real broker, and the provider's client finds it in its
`GET /api/notify/todo` — with its 第二十九条 deadline — until it decides; other departments never see it."""

from __future__ import annotations

from govdata_local.flows import Dept, apply, eventually, publish


def _todo(dept: Dept, request_id: str) -> list[dict]:
    response = dept.get("/api/notify/todo")
    assert response.status_code == 200, response.text
    return [item for item in response.json()["items"] if item["id"] == request_id]


def test_a_conditional_request_is_in_the_providers_todo_until_it_decides(platform):
    ga, mz, rs, bureau = (Dept(platform, c) for c in ("ga-system", "mz-system", "rs-system", "bureau"))
    assistance = publish(platform, mz, bureau, "最低生活保障对象信息", "202004/916001")
    filed = apply(ga, assistance["id"], ["id_number", "name"])
    assert filed.status_code == 201 and filed.json()["status"] == "provider_review", filed.text
    request = filed.json()

    eventually(lambda: _todo(mz, request["id"]), timeout=15, what="the request in the provider's 待办")
    (item,) = _todo(mz, request["id"])
    assert (item["kind"], item["article"]) == ("provider_review", "第二十九条")
    assert item["link"] == f"/requests/{request['id']}"
    assert item["deadline"] == request["deadline"] and item["overdue"] is False
    assert item["title"] == "共享申请「最低生活保障对象信息」的提供方审批"
    assert _todo(ga, request["id"]) == [] and _todo(rs, request["id"]) == []  # the requester, and a bystander

    refused = mz.post(f"/api/sharing/requests/{request['id']}/reject", {"reason": "申请用途与履职依据不符"})
    assert refused.status_code == 200, refused.text
    eventually(lambda: not _todo(mz, request["id"]), timeout=15, what="the decided request leaving the 待办")
    assert _todo(bureau, request["id"]) == []  # rejected: no delivery follows
