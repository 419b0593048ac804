"""Authorization before validation (issue 13): on every route that changes sharing's records, a caller whose role
may not use it gets 403 whatever the body — malformed, not JSON at all, a broken upload, or none — and never a 422
explaining the schema; a caller whose role may gets the 422 naming the field.

The table lists every write route; a new one fails `test_every_write_route_is_in_the_table` until it is added
with its role gate."""

from __future__ import annotations

import pytest
from govdata_shared.testing import Gate, check_authorization_first, write_routes

P = "/api/sharing"
DEPARTMENT = "department_role_required"
DECIDER = "decider_role_required"
GRANT_CHANGER = "not_provider"
REASON = {"reason": ["超范围使用"]}

GATES = {
    ("POST", f"{P}/requests"): Gate("bureau", "mz", DEPARTMENT, {"resource_id": "res-pop", "items": []}, "items"),
    ("POST", f"{P}/requests/{{request_id}}/approve"): Gate("citizen", "ga", DECIDER, {"items": "all"}, "items"),
    ("POST", f"{P}/requests/{{request_id}}/reject"): Gate("auditor", "bureau", DECIDER, REASON, "reason"),
    ("PUT", f"{P}/requests/{{request_id}}/attachment"): Gate("citizen", "mz", DEPARTMENT, field="file", multipart=True),
    ("POST", f"{P}/grants/{{grant_id}}/suspend"): Gate("auditor", "ga", GRANT_CHANGER, REASON, "reason"),
    ("POST", f"{P}/grants/{{grant_id}}/resume"): Gate("citizen", "ga", GRANT_CHANGER, REASON, "reason"),
    ("POST", f"{P}/grants/{{grant_id}}/terminate"): Gate("city", "bureau", GRANT_CHANGER, REASON, "reason"),
    ("POST", f"{P}/grants/{{grant_id}}/revoke-inactive"): Gate("citizen", "ga", GRANT_CHANGER),
    ("POST", f"{P}/disputes"): Gate("bureau", "mz", DEPARTMENT, {"resource_id": "res-pop"}, "reason"),
    ("POST", f"{P}/disputes/{{dispute_id}}/answer"): Gate("bureau", "ga", DEPARTMENT, {"answerx": "x"}, "answer"),
    ("POST", f"{P}/disputes/{{dispute_id}}/resolve"): Gate(
        "ga", "bureau", "bureau_role_required", {"resolution": 1}, "resolution"
    ),
}


def test_every_write_route_is_in_the_table(sharing) -> None:
    assert write_routes(sharing.app) == set(GATES)


@pytest.mark.parametrize(("method", "path"), sorted(GATES, key=lambda route: route[1]))
async def test_the_role_is_checked_before_the_body(sharing, method, path) -> None:
    await check_authorization_first(sharing.client, sharing.tokens, method, path, GATES[(method, path)])
    assert await sharing.events() == []


async def test_a_wrong_role_learns_neither_the_schema_nor_whether_a_grant_is_in_use(sharing) -> None:
    """Before: a citizen asking to revoke a grant was told 409 `grant_in_use` (the grant exists and is used)."""
    grant = await sharing.granted()
    refused = await sharing.post(f"/grants/{grant['id']}/revoke-inactive", "citizen")
    assert refused.status_code == 403 and refused.json()["code"] == GRANT_CHANGER
    in_use = await sharing.post(f"/grants/{grant['id']}/revoke-inactive", "ga")
    assert in_use.status_code == 409 and in_use.json()["code"] == "grant_in_use"
