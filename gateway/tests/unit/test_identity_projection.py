"""Who the gateway refuses: the identity projection (registry snapshot + identity.* events, by version) and the
unverified reading of a token's claims by the API routing."""

from __future__ import annotations

import base64
import itertools

import orjson
from govdata_gateway.projection import IdentityProjection, Projection
from govdata_gateway.routing import unverified_claims
from govdata_shared.contracts import identity, validated_data
from govdata_shared.events import new_event

SNAPSHOT = {
    "departments": [
        {"code": "YC-MZ", "disabled": False, "version": 1},
        {"code": "YC-GA", "disabled": False, "version": 1},
    ],
    "systems": [{"id": "mz-dibao", "dept": "YC-MZ", "disabled": False, "version": 1}],
    "clients": [
        {"client_id": "mz-dibao-app", "dept": "YC-MZ", "system": "mz-dibao", "disabled": False, "version": 1},
        {"client_id": "mz-head", "dept": "YC-MZ", "system": None, "disabled": False, "version": 1},
        {"client_id": "ga-system", "dept": "YC-GA", "system": None, "disabled": True, "version": 2},
        {"client_id": "citizen-1", "dept": None, "system": None, "disabled": False, "version": 1},
    ],
    "users": [
        {"username": "zhangmin", "dept": "YC-MZ", "disabled": False, "version": 1},
        {"username": "wangjg", "dept": None, "disabled": False, "version": 1},
    ],
}


def event(event_type: str, data: dict, version: int):
    kind = event_type.split(".")[1]
    ident = data.get("code") or data.get("system_id") or data.get("client_id") or data.get("username")
    return new_event(
        event_type,
        f"{kind}:{ident}",
        validated_data(event_type, data),
        version=version,
        actor="t",
        dept=None,
        source="g",
    )


def client(client_id: str, disabled: bool, version: int, **kw):
    data = {"client_id": client_id, "roles": ["dept_operator"], "disabled": disabled, "dept": "YC-MZ", **kw}
    return event(identity.CLIENT_DISABLED if disabled else identity.CLIENT_UPDATED, data, version)


def loaded() -> IdentityProjection:
    projection = IdentityProjection()
    projection.load(SNAPSHOT)
    return projection


def test_the_snapshot_names_the_disabled_clients_and_nothing_is_refused_for_the_others():
    projection = loaded()
    assert projection.disabled_clients == {"ga-system"} and projection.disabled_users == set()
    assert projection.refusal({"sub": "ga-system", "client_id": "ga-system"}) == "client_disabled"
    assert projection.refusal({"sub": "mz-dibao-app", "client_id": "mz-dibao-app"}) is None


def test_a_client_of_a_disabled_system_or_department_counts_as_disabled_and_so_does_its_staff():
    projection = loaded()
    projection.apply(
        event(identity.SYSTEM_DISABLED, {"system_id": "mz-dibao", "dept": "YC-MZ", "name": "低保", "disabled": True}, 2)
    )
    assert projection.disabled_clients == {"ga-system", "mz-dibao-app"}
    projection.apply(event(identity.DEPARTMENT_DISABLED, {"code": "YC-MZ", "name": "民政局", "disabled": True}, 2))
    assert projection.disabled_clients == {"ga-system", "mz-dibao-app", "mz-head"}
    assert projection.disabled_users == {"zhangmin"}
    projection.apply(event(identity.DEPARTMENT_UPDATED, {"code": "YC-MZ", "name": "民政局", "disabled": False}, 3))
    assert projection.disabled_clients == {"ga-system", "mz-dibao-app"}  # its system is still disabled


def test_events_apply_by_version_so_the_order_of_arrival_does_not_matter():
    events = [client("mz-head", True, 2), client("mz-head", False, 3), client("mz-head", True, 4)]
    for order in itertools.permutations(events):
        projection = loaded()
        outcomes = [projection.apply(e) for e in (*order, *order)]
        assert "mz-head" in projection.disabled_clients, order
        assert outcomes.count("applied") <= 3 and outcomes[-3:] == ["stale"] * 3


def test_an_event_not_newer_than_the_snapshot_is_stale():
    projection = loaded()
    assert projection.apply(client("ga-system", False, 2)) == "stale"
    assert "ga-system" in projection.disabled_clients
    assert projection.apply(client("new-app", True, 1)) == "applied"  # unknown until now
    assert "new-app" in projection.disabled_clients


def test_a_person_is_refused_by_the_username_in_sub_whatever_client_carried_the_token():
    projection = loaded()
    projection.apply(
        event(
            identity.USER_DISABLED,
            {"username": "zhangmin", "dept": "YC-MZ", "roles": ["dept_operator"], "disabled": True},
            2,
        )
    )
    assert projection.refusal({"sub": "zhangmin", "client_id": "portal"}) == "user_disabled"
    assert projection.refusal({"sub": "wangjg", "client_id": "portal"}) is None
    assert projection.refusal({"sub": "zhangmin"}) == "user_disabled"
    assert projection.refusal({"sub": 12, "client_id": ["x"]}) is None  # malformed claims refuse nothing here


def test_the_projection_passes_identity_events_on_and_ignores_other_kinds():
    projection = Projection()
    projection.identity.load(SNAPSHOT)
    assert projection.apply(client("mz-head", True, 2)) == "applied"
    assert projection.apply(client("mz-head", True, 2)) == "stale"
    assert "mz-head" in projection.identity.disabled_clients
    assert (
        IdentityProjection().apply(event(identity.USER_CREATED, {"username": "u", "roles": [], "disabled": False}, 1))
        == "applied"
    )


def _jwt(claims: object) -> str:
    payload = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"


def test_the_routing_reads_a_bearer_token_s_claims_without_verifying_and_tolerates_garbage():
    assert unverified_claims("Bearer " + _jwt({"sub": "zhangmin", "client_id": "portal"})) == {
        "sub": "zhangmin",
        "client_id": "portal",
    }
    assert unverified_claims("bearer  " + _jwt({"sub": "x"})) == {"sub": "x"}
    for header in (None, "", "Basic YTpi", "Bearer", "Bearer a.b", "Bearer a.!!!.c", "Bearer " + _jwt([1, 2])):
        assert unverified_claims(header) is None, header
    assert unverified_claims("Bearer a." + base64.urlsafe_b64encode(b"\xff\xfe").decode() + ".c") is None
