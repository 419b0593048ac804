"""Authorization before validation (issue 13): on every route that changes a correction request, a caller whose
role may not use it gets 403 whatever the body — malformed, not JSON at all, a broken upload, or none — and never
a 422 explaining the schema; a caller whose role may gets the 422 naming the field.

The table lists every write route; a new one fails `test_every_write_route_is_in_the_table` until it is added
with its role gate."""

from __future__ import annotations

import pytest
from govdata_shared.testing import Gate, check_authorization_first, write_routes

P = "/api/verification"

GATES = {
    ("POST", f"{P}/corrections"): Gate(
        "bureau", "citizen", "applicant_role_required", {"subject_type": "robot"}, "subject_type"
    ),
    ("POST", f"{P}/corrections/{{request_id}}/extend"): Gate(
        "ga", "ga-head", "provider_head_required", {"days": 11, "reason": "案情复杂"}, "days"
    ),
    ("POST", f"{P}/corrections/{{request_id}}/resolve"): Gate(
        "citizen", "ga", "not_provider", {"outcome": "whatever"}, "outcome"
    ),
    ("POST", f"{P}/corrections/{{request_id}}/evidence"): Gate(
        "auditor", "citizen", "applicant_role_required", field="file", multipart=True
    ),
}


def test_every_write_route_is_in_the_table(verification) -> None:
    assert write_routes(verification.app) == set(GATES)


@pytest.mark.parametrize(("method", "path"), sorted(GATES, key=lambda route: route[1]))
async def test_the_role_is_checked_before_the_body(verification, method, path) -> None:
    await check_authorization_first(verification.client, verification.tokens, method, path, GATES[(method, path)])
    assert await verification.events() == []


async def test_a_citizen_cannot_resolve_even_a_request_it_cannot_see(verification) -> None:
    """Resolving is for the provider department's staff: a citizen gets 403 for any request, its own or not,
    existing or not — the role decides before the request is looked up."""
    created = await verification.file("rs", subject_id=verification.OTHER_PERSON)
    for request_id in (created["id"], "cr-none"):
        refused = await verification.post(f"/corrections/{request_id}/resolve", "citizen", {"outcome": "no_error"})
        assert refused.status_code == 403 and refused.json()["code"] == "not_provider"
