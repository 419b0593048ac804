"""Authorization before validation (issue 13): on every route that changes the catalog, a caller whose role may
not use it gets 403 whatever the body — malformed, not JSON at all, or none — and never a 422 explaining the
schema; a caller whose role may gets the 422 naming the field.

The table lists every write route; a new one fails `test_every_write_route_is_in_the_table` until it is added
with its role gate."""

from __future__ import annotations

import pytest
from govdata_shared.testing import Gate, check_authorization_first, write_routes

P = "/api/catalog"
DEPARTMENT = "department_role_required"
BUREAU = "bureau_role_required"

GATES = {
    ("POST", f"{P}/resources"): Gate("citizen", "ga", DEPARTMENT, {"category": "everything"}, "category"),
    ("PATCH", f"{P}/resources/{{resource_id}}"): Gate("bureau", "ga", DEPARTMENT, {"category": "x"}, "category"),
    ("POST", f"{P}/resources/{{resource_id}}/submit"): Gate("citizen", "ga", DEPARTMENT),
    ("POST", f"{P}/resources/{{resource_id}}/review"): Gate("ga", "bureau", BUREAU, {"decision": "maybe"}, "decision"),
    ("POST", f"{P}/resources/{{resource_id}}/revisions"): Gate("auditor", "ga", DEPARTMENT, {"format": "x"}, "format"),
    ("POST", f"{P}/resources/{{resource_id}}/retire"): Gate("citizen", "ga", DEPARTMENT, {"reason": ["x"]}, "reason"),
    ("POST", f"{P}/resources/{{resource_id}}/refreshes"): Gate(
        "bureau", "ga", DEPARTMENT, {"record_count": -1}, "record_count"
    ),
    ("POST", f"{P}/authority-overlaps"): Gate("ga", "bureau", BUREAU, {"item_code": "name", "reason": "r"}, "dept"),
    ("POST", f"{P}/triggers"): Gate("city", "ga", DEPARTMENT, {"kind": "whim"}, "kind"),  # the bureau may too
    ("POST", f"{P}/departments/{{dept}}/responsibilities"): Gate(
        "ga", "bureau", BUREAU, {"resource_code": "10100/1", "title": "人口", "update_cycle": "daily"}, "resource_code"
    ),
    ("POST", f"{P}/responsibilities/{{entry_id}}/withdraw"): Gate(
        "auditor", "bureau", BUREAU, {"reason": ""}, "reason"
    ),
    ("POST", f"{P}/demands"): Gate("citizen", "mz", DEPARTMENT, {"description": "需要户籍数据"}, "title"),
    ("POST", f"{P}/demands/{{demand_id}}/review"): Gate("mz", "bureau", BUREAU, {"decision": "close"}, "decision"),
    ("POST", f"{P}/demands/{{demand_id}}/answer"): Gate("bureau", "ga", DEPARTMENT, {"answer": "maybe"}, "answer"),
    # 第十二条: the requesting department cannot close its own demand.
    ("POST", f"{P}/demands/{{demand_id}}/meet"): Gate("mz", "bureau", BUREAU, {"resource_id": ["x"]}, "resource_id"),
}


def test_every_write_route_is_in_the_table(catalog) -> None:
    assert write_routes(catalog.app) == set(GATES)


@pytest.mark.parametrize(("method", "path"), sorted(GATES, key=lambda route: route[1]))
async def test_the_role_is_checked_before_the_body(catalog, method, path) -> None:
    await check_authorization_first(catalog.client, catalog.tokens, method, path, GATES[(method, path)])
    assert await catalog.events() == []


async def test_a_citizen_posting_a_malformed_resource_learns_nothing_of_the_schema(catalog) -> None:
    refused = await catalog.post("/resources", "citizen", {"code": 1, "items": "everything"})
    assert refused.status_code == 403 and refused.json()["code"] == DEPARTMENT
    assert "items" not in refused.text and "code:" not in refused.json()["detail"]
    described = await catalog.post("/resources", "ga", {"code": 1, "items": "everything"})
    assert described.status_code == 422
    assert {"code", "items"} <= {e["field"] for e in described.json()["errors"]}
