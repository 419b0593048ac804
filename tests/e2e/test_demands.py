"""The demand list (需求清单, 第十二条) through the gateway, as departmental systems and the bureau drive it: a
department names the department expected to supply the data, the bureau reviews (routes it elsewhere, or rejects
it, saying why), the supplier answers, and only the bureau closes it — the requesting department cannot close its
own demand. Each step reaches the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from govdata_local.flows import Dept, eventually, now_iso

DEMANDS = "/api/catalog/demands"


@pytest.fixture(scope="module")
def depts(platform):
    clients = {"mz": "mz-system", "ga": "ga-system", "sj": "sj-system", "bureau": "bureau", "auditor": "auditor"}
    return {name: Dept(platform, client) for name, client in clients.items()}


def _record(requester: Dept, supplier_dept: str) -> str:
    body = {
        "title": "市场主体登记信息",
        "description": "办理最低生活保障审批时核对申请人名下的企业和个体工商户。",
        "supplier_dept": supplier_dept,
    }
    recorded = requester.post(DEMANDS, body)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["status"] == "submitted" and recorded.json()["supplier_dept"] == supplier_dept
    return recorded.json()["id"]


def _trail_types(auditor: Dept, since: str, demand_id: str) -> list[str]:
    response = auditor.get("/api/audit/events", **{"from": since, "size": 200})
    assert response.status_code == 200, response.text
    return sorted(e["type"] for e in response.json()["items"] if e["subject"] == demand_id)


def test_a_demand_routed_by_the_bureau_is_answered_by_the_new_supplier_and_closed_by_the_bureau(depts):
    mz, ga, sj, bureau = depts["mz"], depts["ga"], depts["sj"], depts["bureau"]
    since = now_iso()
    demand_id = _record(mz, "YC-GA")
    path = f"{DEMANDS}/{demand_id}"

    own = mz.post(f"{path}/meet")
    assert own.status_code == 403 and own.json()["code"] == "bureau_role_required", own.text

    routed = bureau.post(
        f"{path}/review", {"decision": "route", "supplier_dept": "YC-SJ", "reason": "企业登记数据由市场监管局提供"}
    )
    assert routed.status_code == 200, routed.text
    assert (routed.json()["status"], routed.json()["supplier_dept"], routed.json()["routed_from"]) == (
        "accepted",
        "YC-SJ",
        "YC-GA",
    )

    provide_by = (date.today() + timedelta(days=30)).isoformat()
    refused = ga.post(f"{path}/answer", {"answer": "will_provide", "provide_by": provide_by})
    assert refused.status_code == 403 and refused.json()["code"] == "not_supplier", refused.text
    promised = sj.post(f"{path}/answer", {"answer": "will_provide", "provide_by": provide_by})
    assert promised.status_code == 200, promised.text
    assert promised.json()["status"] == "promised" and promised.json()["provide_by"] == provide_by
    assert demand_id in [d["id"] for d in sj.get(DEMANDS, role="supplier").json()]

    met = bureau.post(f"{path}/meet")
    assert met.status_code == 200 and met.json()["status"] == "met", met.text
    assert mz.get(path).json()["met_by"] == "bureau"

    expected = sorted(f"catalog.demand.{step}" for step in ("recorded", "reviewed", "answered", "met"))
    eventually(lambda: _trail_types(depts["auditor"], since, demand_id) == expected, 30, "the demand's audit trail")


def test_a_demand_the_bureau_rejects_carries_its_reason_and_takes_no_answer(depts):
    mz, ga, bureau = depts["mz"], depts["ga"], depts["bureau"]
    demand_id = _record(mz, "YC-GA")
    path = f"{DEMANDS}/{demand_id}"

    unexplained = bureau.post(f"{path}/review", {"decision": "reject"})
    assert unexplained.status_code == 422, unexplained.text
    assert (unexplained.json()["field"], unexplained.json()["rule"]) == ("reason", "required_on_reject")
    reason = "该数据已在目录中无条件共享，可直接申请"
    rejected = bureau.post(f"{path}/review", {"decision": "reject", "reason": reason})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text

    late = ga.post(f"{path}/answer", {"answer": "cannot_provide", "reason": "不适用"})
    assert late.status_code == 409 and late.json()["code"] == "invalid_demand_transition", late.text
    seen = {d["id"]: d for d in mz.get(DEMANDS, role="requester", status="rejected").json()}
    assert seen[demand_id]["review_reason"] == reason
