"""The demand list (需求清单, 第十二条): a demand names the department expected to supply it; the bureau reviews it
(accept, route, reject with a reason); the supplier answers (will provide by a date, or cannot and why); only the
bureau closes it as met — the requesting department cannot close its own demand."""

from __future__ import annotations

from datetime import timedelta

import pytest

both_backends = pytest.mark.backends("postgres", "sqlite")

MARRIAGE_DATA = {"title": "婚姻登记信息", "description": "办理低保审核时核验婚姻状况", "supplier_dept": "YC-GA"}


def holds(actual: dict, **expected) -> bool:
    return expected.items() <= actual.items()


def refusal(response, status: int) -> tuple[str, str | None, str | None]:
    assert response.status_code == status, response.text
    problem = response.json()
    return problem["code"], problem.get("field"), problem.get("rule")


async def test_a_demand_is_reviewed_by_the_bureau_answered_by_its_supplier_and_closed_by_the_bureau(catalog):
    recorded = await catalog.post("/demands", "mz", MARRIAGE_DATA)
    assert recorded.status_code == 201, recorded.text
    demand = recorded.json()
    assert (demand["dept"], demand["supplier_dept"], demand["status"]) == ("YC-MZ", "YC-GA", "submitted")
    path = f"/demands/{demand['id']}"

    # The requesting department cannot close its own demand; nobody answers before the bureau has reviewed it.
    assert refusal(await catalog.post(f"{path}/meet", "mz", {}), 403)[0] == "bureau_role_required"
    assert refusal(await catalog.post(f"{path}/meet", "mz-head"), 403)[0] == "bureau_role_required"
    early = await catalog.post(f"{path}/answer", "ga", {"answer": "will_provide", "provide_by": "2026-12-31"})
    assert refusal(early, 409) == ("invalid_demand_transition", None, "review_first")
    assert refusal(await catalog.post(f"{path}/meet", "bureau"), 409)[2] == "review_first"
    assert refusal(await catalog.post(f"{path}/review", "ga", {"decision": "accept"}), 403)[0] == "bureau_role_required"

    # The bureau routes it to the department that holds the data, saying why.
    route = {"decision": "route", "supplier_dept": "YC-RS"}
    assert refusal(await catalog.post(f"{path}/review", "bureau", route), 422)[1:] == ("reason", "required_on_route")
    blank = {**route, "reason": "   "}
    assert refusal(await catalog.post(f"{path}/review", "bureau", blank), 422)[1:] == ("reason", "required_on_route")
    for supplier, rule in (("YC-MZ", "not_own_department"), ("YC-GA", "different_supplier"), ("", "required_on_route")):
        wrong = {**route, "supplier_dept": supplier, "reason": "x"}
        assert refusal(await catalog.post(f"{path}/review", "bureau", wrong), 422)[1:] == ("supplier_dept", rule)
    reason = "婚姻登记由人社局共享库统一提供"
    routed = await catalog.post(f"{path}/review", "bureau", {**route, "reason": reason})
    assert routed.status_code == 200, routed.text
    assert holds(
        routed.json(),
        status="accepted",
        supplier_dept="YC-RS",
        routed_from="YC-GA",
        review_decision="route",
        review_reason=reason,
        reviewed_by="bureau",
    )
    again = await catalog.post(f"{path}/review", "bureau", {"decision": "accept"})
    assert refusal(again, 409) == ("invalid_demand_transition", None, "demand_status")

    # Only the department it is now addressed to answers: not the one it was routed from, nor the requester.
    will = {"answer": "will_provide", "provide_by": "2026-12-31"}
    assert refusal(await catalog.post(f"{path}/answer", "ga", will), 403)[0] == "not_supplier"
    assert refusal(await catalog.post(f"{path}/answer", "mz", will), 403)[0] == "not_supplier"
    assert refusal(await catalog.post(f"{path}/answer", "bureau", will), 403)[0] == "department_role_required"
    assert (await catalog.post(f"{path}/answer", "scj", will)).status_code == 404  # not a party: not there
    undated = await catalog.post(f"{path}/answer", "rs", {"answer": "will_provide"})
    assert refusal(undated, 422)[1:] == ("provide_by", "required_on_will_provide")
    yesterday = (catalog.clock() - timedelta(days=1)).date().isoformat()
    past = await catalog.post(f"{path}/answer", "rs", {**will, "provide_by": yesterday})
    assert refusal(past, 422)[1:] == ("provide_by", "not_in_past")
    promised = await catalog.post(f"{path}/answer", "rs", will)
    assert promised.status_code == 200, promised.text
    assert promised.json()["status"] == "promised" and promised.json()["provide_by"] == "2026-12-31"

    # The supplier may change its answer until the demand is met; "cannot" says why, and blocks closing it.
    cannot = await catalog.post(f"{path}/answer", "rs", {"answer": "cannot_provide", "reason": " "})
    assert refusal(cannot, 422)[1:] == ("reason", "required_on_cannot_provide")
    cannot = await catalog.post(f"{path}/answer", "rs-head", {"answer": "cannot_provide", "reason": "系统尚未建成"})
    assert cannot.json()["status"] == "cannot_provide" and cannot.json()["provide_by"] is None
    assert cannot.json()["answer_reason"] == "系统尚未建成" and cannot.json()["answered_by"] == "rs-head"
    assert refusal(await catalog.post(f"{path}/meet", "bureau"), 409)[2] == "supplier_cannot_provide"
    assert (await catalog.post(f"{path}/answer", "rs", will)).json()["status"] == "promised"

    # Met by a published resource of the supplier, never by another department's.
    population = await catalog.publish("ga", catalog.POPULATION)
    marriage = await catalog.publish("rs", catalog.MARRIAGE)
    others = await catalog.post(f"{path}/meet", "bureau", {"resource_id": population["id"]})
    assert refusal(others, 422)[1:] == ("resource_id", "supplier_published_resource")
    met = await catalog.post(f"{path}/meet", "bureau", {"resource_id": marriage["id"]})
    assert met.status_code == 200, met.text
    assert holds(met.json(), status="met", met_by="bureau", resource_id=marriage["id"])
    assert refusal(await catalog.post(f"{path}/meet", "bureau"), 409)[2] == "demand_status"
    assert refusal(await catalog.post(f"{path}/answer", "rs", will), 409)[2] == "demand_status"

    trail = await catalog.events(demand["id"])
    assert [(e["type"].rsplit(".", 1)[1], e["version"], e["dept"]) for e in trail] == [
        ("recorded", 1, "YC-MZ"),
        ("reviewed", 2, "YC-MZ"),
        ("answered", 3, "YC-RS"),
        ("answered", 4, "YC-RS"),
        ("answered", 5, "YC-RS"),
        ("met", 6, "YC-MZ"),
    ]
    assert holds(trail[1]["data"], dept="YC-MZ", supplier_dept="YC-RS", routed_from="YC-GA", review_reason=reason)
    assert trail[3]["data"]["answer"] == "cannot_provide" and trail[3]["data"]["answer_reason"] == "系统尚未建成"


@both_backends
async def test_a_department_sees_the_demands_it_made_and_those_addressed_to_it(catalog):
    for body, rule in (
        ({**MARRIAGE_DATA, "supplier_dept": "YC-MZ"}, "not_own_department"),
        ({**MARRIAGE_DATA, "supplier_dept": "公安局"}, "department_code"),
        ({key: v for key, v in MARRIAGE_DATA.items() if key != "supplier_dept"}, "missing"),
        ({**MARRIAGE_DATA, "supplier_dept": "Y" * 33}, "string_too_long"),
    ):
        assert refusal(await catalog.post("/demands", "mz", body), 422)[1:] == ("supplier_dept", rule)
    assert refusal(await catalog.post("/demands", "mz", {**MARRIAGE_DATA, "title": ""}), 422)[1] == "title"
    assert refusal(await catalog.post("/demands", "bureau", MARRIAGE_DATA), 403)[0] == "department_role_required"

    to_ga = (await catalog.post("/demands", "mz", MARRIAGE_DATA)).json()
    catalog.clock.advance(minutes=1)
    body = {"title": "社保参保信息", "description": "核对就业状态", "supplier_dept": "YC-RS"}
    from_ga = (await catalog.post("/demands", "ga", body)).json()
    elsewhere = (await catalog.post("/demands", "rs", {**body, "supplier_dept": "YC-MZ"})).json()

    # The bureau rejects with a reason; a rejected demand is answered by nobody.
    reject = f"/demands/{from_ga['id']}/review"
    assert refusal(await catalog.post(reject, "bureau", {"decision": "reject"}), 422)[1:] == (
        "reason",
        "required_on_reject",
    )
    misplaced = {"decision": "accept", "supplier_dept": "YC-SCJ"}
    assert refusal(await catalog.post(reject, "bureau", misplaced), 422)[1:] == ("supplier_dept", "only_on_route")
    rejected = await catalog.post(reject, "bureau", {"decision": "reject", "reason": "该数据已在目录中无条件共享"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["review_reason"] == "该数据已在目录中无条件共享"
    answer = {"answer": "cannot_provide", "reason": "不适用"}
    assert refusal(await catalog.post(f"/demands/{from_ga['id']}/answer", "rs", answer), 409)[2] == "demand_status"
    assert refusal(await catalog.post(f"/demands/{from_ga['id']}/meet", "bureau"), 409)[2] == "demand_status"

    async def ids(who: str, **params) -> list[str]:
        response = await catalog.get("/demands", who, **params)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()]

    assert await ids("ga") == [from_ga["id"], to_ga["id"]]  # newest first
    assert await ids("ga", role="requester") == [from_ga["id"]]
    assert await ids("ga", role="supplier") == [to_ga["id"]]
    assert await ids("ga", status="rejected") == [from_ga["id"]]
    assert await ids("scj") == []
    assert (await catalog.get(f"/demands/{to_ga['id']}", "scj")).status_code == 404
    assert (await catalog.get(f"/demands/{to_ga['id']}", "ga")).json()["title"] == "婚姻登记信息"
    assert set(await ids("bureau")) == set(await ids("auditor")) == {to_ga["id"], from_ga["id"], elsewhere["id"]}
    assert set(await ids("bureau", status="open")) == {to_ga["id"], elsewhere["id"]}
    assert (await catalog.get("/demands", "citizen")).status_code == 403
    assert (await catalog.get("/demands", "ga", status="closed")).status_code == 422
