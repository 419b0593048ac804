"""The data plane end to end over real HTTP and the real broker: grant tokens, `/data/...` authorization,
field filtering, upstream credentials, rate limits and how grant changes reach the very next call.

The platform around the gateway (provider, snapshot endpoints, events) is in conftest.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import orjson
from govdata_gateway.dataplane import filter_document, upstream_path
from govdata_shared.auth import StaticKeySet, TokenVerifier
from govdata_shared.contracts.catalog import RESOURCE_PUBLISHED, RESOURCE_RETIRED
from govdata_shared.contracts.sharing import GRANT_RESUMED, GRANT_SUSPENDED, GRANT_TERMINATED
from govdata_shared.testing import TestTokens

# --------------------------------------------------------------------------------------------- grant tokens


async def test_grant_token_for_the_holder_department_names_grant_resource_and_items(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    resp = await gw.token("mz-system", f"grant:{gid}")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["scope"] == f"grant:{gid}" and body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 300
    verifier = TokenVerifier(StaticKeySet(platform.key.jwks()), issuer=platform.ISSUER, audience="govdata-data")
    caller = await verifier.verify(body["access_token"])
    claims = caller.claims
    assert claims["grant_id"] == gid and claims["resource_id"] == rid and claims["items"] == platform.GRANTED
    assert claims["holder_dept"] == claims["dept"] == platform.HOLDER
    assert claims["holder_system"] == claims["system"] == platform.HOLDER_SYSTEM
    assert claims["aud"] == "govdata-data" and claims["jti"] and claims["scope"] == f"grant:{gid}"


async def test_grant_token_only_for_a_client_of_the_holder_system(platform) -> None:
    """第二十九条: the grant is the system's, not the department's — other clients of YC-MZ get none."""
    _, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    other_system = await platform.expect_problem(await gw.token("mz-yanglao", f"grant:{gid}"), 403, "system_mismatch")
    no_system = await platform.expect_problem(await gw.token("mz-head", f"grant:{gid}"), 403, "system_mismatch")
    for body in (other_system, no_system):
        assert body["holder_system"] == platform.HOLDER_SYSTEM and body["field"] == "scope"
        assert body["error"] == "invalid_scope" and platform.HOLDER_SYSTEM in body["detail"]
    assert (await gw.token("mz-system", f"grant:{gid}")).status == 200


async def test_grant_token_refused_to_other_departments_and_for_unknown_grants_alike(platform) -> None:
    _, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    other = await platform.expect_problem(await gw.token("rs-system", f"grant:{gid}"), 403, "grant_not_held")
    provider = await platform.expect_problem(await gw.token("ga-system", f"grant:{gid}"), 403, "grant_not_held")
    citizen = await platform.expect_problem(await gw.token("citizen-1", f"grant:{gid}"), 403, "grant_not_held")
    unknown = await platform.expect_problem(await gw.token("mz-system", "grant:grt-nope"), 403, "grant_not_held")
    assert other["detail"] == provider["detail"] == citizen["detail"] == unknown["detail"]
    # A client of the holder department without the grant's system learns no more of an unknown grant.
    assert (await platform.expect_problem(await gw.token("mz-head", "grant:grt-nope"), 403, "grant_not_held"))[
        "detail"
    ] == unknown["detail"]


async def test_grant_token_only_while_active_and_in_window(platform) -> None:
    rid, gid, data = await platform.setup()
    _, late = platform.new_ids()
    _, early = platform.new_ids()
    _, over = platform.new_ids()
    today = platform.today()
    platform.add_grant(
        late, rid, valid_from=(today - timedelta(days=40)).isoformat(), valid_to=str(today - timedelta(1))
    )
    platform.add_grant(early, rid, valid_from=(today + timedelta(days=1)).isoformat())
    platform.add_grant(over, rid, status="terminated")
    gw = await platform.start_gateway()
    for grant_id in (late, early, over):
        await platform.expect_problem(await gw.token("mz-system", f"grant:{grant_id}"), 403, "grant_not_active")
    meta = await platform.events.grant(GRANT_SUSPENDED, {**data, "status": "suspended", "reason": "超范围使用"}, 2)
    await gw.caught_up(meta)
    body = await platform.expect_problem(await gw.token("mz-system", f"grant:{gid}"), 403, "grant_not_active")
    assert body["grant_status"] == "suspended"
    # A client of another system of the holder department is told the system is wrong, not the grant's state.
    mismatch = await platform.expect_problem(await gw.token("mz-yanglao", f"grant:{gid}"), 403, "system_mismatch")
    assert "grant_status" not in mismatch


async def test_grant_token_never_outlives_the_last_day_of_the_grant(platform) -> None:
    rid, _, _ = await platform.setup()
    _, gid = platform.new_ids()
    platform.add_grant(gid, rid, valid_to=platform.today().isoformat())
    gw = await platform.start_gateway(govdata_grant_token_ttl_seconds=10 * 86400)
    resp = await gw.token("mz-system", f"grant:{gid}")
    body = await resp.json()
    assert resp.status == 200, body
    # Seconds left until midnight in Shanghai, at most a day.
    tomorrow = platform.today() + timedelta(days=1)
    import datetime as dt

    from govdata_shared.workdays import SHANGHAI

    midnight = dt.datetime.combine(tomorrow, dt.time(0), SHANGHAI).timestamp()
    assert 0 < body["expires_in"] <= midnight - time.time() + 1


async def test_grant_token_is_not_an_api_token(platform) -> None:
    _, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    api = TokenVerifier(StaticKeySet(platform.key.jwks()), issuer=platform.ISSUER, audience=platform.API_AUDIENCE)
    try:
        await api.verify(token)
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "extra", {}).get("reason") == "wrong_audience"
    else:
        raise AssertionError("a service accepted a grant token")


# --------------------------------------------------------------------------------------------- filtering


async def test_object_keeps_only_granted_items(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        body = await resp.json()
    assert body == {"xm": "张伟", "xb": "男", "csrq": "1985-03-12"}


async def test_items_envelope_keeps_items_and_pagination_only(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/persons?page=2&xm=%E5%BC%A0") as resp:
        body = await resp.json()
    assert resp.status == 200
    assert set(body) == {"items", "total", "page", "size", "next"}
    assert body["items"] == [{k: p[k] for k in platform.GRANTED} for p in platform.PERSONS]
    assert (body["total"], body["page"], body["size"], body["next"]) == (3, 2, 20, None)
    assert platform.provider.seen[-1].raw_path == "/population/persons?page=2&xm=%E5%BC%A0"


async def test_list_keeps_granted_items_of_each_record_and_drops_non_records(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/list") as resp:
        body = await resp.json()
    assert body == [{k: p[k] for k in platform.GRANTED} for p in platform.PERSONS]


async def test_nested_values_of_granted_items_are_kept_whole(platform) -> None:
    rid, _, _ = await platform.setup()
    _, gid = platform.new_ids()
    platform.add_grant(gid, rid, items=["xm", "jhzk"])
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/persons/p2") as resp:
        assert await resp.json() == {"xm": "李娜", "jhzk": {"code": "10", "label": "未婚"}}


def test_filter_document_shapes() -> None:
    items = frozenset({"a"})
    assert filter_document({"a": 1, "b": 2}, items) == {"a": 1}
    assert filter_document([{"a": 1, "b": 2}, 3, "x", {"b": 1}], items) == [{"a": 1}, {}]
    envelope = {"items": [{"a": 1, "b": 2}], "total": 1, "next": {"cursor": "secret"}, "debug": "x"}
    assert filter_document(envelope, items) == {"items": [{"a": 1}], "total": 1}
    assert filter_document({"items": "not-a-list", "a": 5}, items) == {"a": 5}
    for scalar in ("x", 1, None, True):
        try:
            filter_document(scalar, items)
        except Exception as exc:  # noqa: BLE001
            assert type(exc).__name__ == "Unfilterable"
        else:
            raise AssertionError(f"{scalar!r} passed the filter")


def test_upstream_path_refuses_escapes() -> None:
    assert upstream_path("/population/persons/p1") == "/population/persons/p1"
    assert upstream_path("/population/%E5%BC%A0") == "/population/张"
    assert upstream_path("/population/.well-known") == "/population/.well-known"
    for raw in (
        "/population/persons/../../admin",
        "/population/%2e%2e/admin",
        "/population/persons%2F..%2Fadmin",
        "/population/./x",
        "/population\\admin",
        "/population/%5cadmin",
        "/population/%00",
        "/population/%ff",
    ):
        assert upstream_path(raw) is None, raw


async def test_post_body_reaches_the_upstream_and_the_answer_is_filtered(platform) -> None:
    rid, gid, _ = await platform.setup(methods=["GET", "POST"])
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/persons/query", "POST", json={"sfzh": "410329199211020028"}) as resp:
        assert resp.status == 200, await resp.text()
        assert await resp.json() == {"xm": "李娜", "xb": "女", "csrq": "1992-11-02"}
    seen = platform.provider.seen[-1]
    assert seen.method == "POST" and json.loads(seen.body) == {"sfzh": "410329199211020028"}
    assert seen.headers["Content-Type"].startswith("application/json")


# ----------------------------------------------------------------------------------- what reaches the upstream


async def test_client_authorization_never_reaches_the_upstream_but_the_credential_does(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    extra = {"Cookie": "holder=1", "X-Request-ID": "req-test-42", "X-Custom": "nope", "Proxy-Authorization": "x"}
    async with gw.call(token, rid, "/population/persons/p1", headers=extra) as resp:
        assert resp.status == 200
        assert resp.headers["X-Request-ID"] == "req-test-42"
    seen = platform.provider.seen[-1].headers
    assert token not in json.dumps(list(seen.items()))
    assert seen["Authorization"] == platform.CREDENTIAL["Authorization"]
    assert seen["X-Api-Key"] == platform.CREDENTIAL["X-Api-Key"]
    assert seen["X-Request-ID"] == "req-test-42"
    assert seen["X-Govdata-Grant-Id"] == gid and seen["X-Govdata-Holder-Dept"] == platform.HOLDER
    for header in ("Cookie", "X-Custom", "Proxy-Authorization"):
        assert header not in seen


async def test_unknown_credential_ref_means_no_credential(platform) -> None:
    rid, gid, _ = await platform.setup(credential_ref="not-configured")
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        assert resp.status == 200
    seen = platform.provider.seen[-1].headers
    assert "Authorization" not in seen and "X-Api-Key" not in seen


async def test_provider_cookies_do_not_ride_along_in_later_calls(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/misc/cookie") as resp:
        assert resp.status == 200 and "Set-Cookie" not in resp.headers
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        assert resp.status == 200
    assert "Cookie" not in platform.provider.seen[-1].headers


# --------------------------------------------------------------------------------------------- upstream answers


async def test_non_json_upstream_is_502_unfilterable(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    for kind in ("text", "scalar", "redirect"):
        async with gw.call(token, rid, f"/population/misc/{kind}") as resp:
            body = await platform.expect_problem(
                resp, 502, "upstream_error" if kind == "redirect" else "unfilterable_response"
            )
            assert "410329" not in json.dumps(body, ensure_ascii=False)


async def test_upstream_errors_keep_status_but_not_body(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/misc/error") as resp:
        body = await platform.expect_problem(resp, 500, "upstream_error")
    assert "张伟" not in json.dumps(body, ensure_ascii=False) and body["upstream_status"] == 500
    async with gw.call(token, rid, "/population/persons/nobody") as resp:
        await platform.expect_problem(resp, 404, "upstream_error")
    async with gw.call(token, rid, "/population/misc/busy") as resp:
        await platform.expect_problem(resp, 503, "upstream_error")
        assert resp.headers["Retry-After"] == "7"
    async with gw.call(token, rid, "/population/misc/empty") as resp:
        assert resp.status == 204 and await resp.read() == b""


async def test_unreachable_upstream_is_502(platform) -> None:
    rid, gid, _ = await platform.setup(base_url=f"http://127.0.0.1:{platform.free_port()}")
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 502, "upstream_unavailable")


# --------------------------------------------------------------------------------------------- refusals


async def test_token_for_resource_x_used_on_resource_y_is_403(platform) -> None:
    _rid, gid, _ = await platform.setup()
    other, _ = platform.new_ids()
    platform.add_resource(other)
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, other, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 403, "wrong_resource")
    assert not platform.provider.seen


async def test_path_outside_the_interface_and_wrong_method_are_403(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    for path in (
        "/population/admin",
        "/population/personsX",
        "/admin/users",
        "/",
        "/population/persons/../admin",
        "/population/persons/%2e%2e/admin",
        "/population/persons%2F..%2Fadmin",
    ):
        async with gw.call(token, rid, path) as resp:
            await platform.expect_problem(resp, 403, "outside_interface")
    async with gw.call(token, rid, "/population/persons/query", "POST", json={"sfzh": "x"}) as resp:
        body = await platform.expect_problem(resp, 403, "outside_interface")
        assert body["allowed_methods"] == ["GET"]
    assert not platform.provider.seen
    # The prefix itself and what continues it after '/' are fine.
    for path in ("/population/persons", "/population/persons/p1"):
        assert await gw.status(token, rid, path) == 200


async def test_other_methods_are_405(platform) -> None:
    rid, gid, _ = await platform.setup(methods=["GET", "POST", "DELETE"])
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    async with gw.call(token, rid, "/population/persons/p1", "DELETE") as resp:
        await platform.expect_problem(resp, 405, "method_not_allowed")


async def test_rate_limit_is_429_with_retry_after(platform) -> None:
    rid, gid, _ = await platform.setup(rate_limit=3)
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    statuses = [await gw.status(token, rid, "/population/persons/p1") for _ in range(3)]
    assert statuses == [200, 200, 200]
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
    assert len(platform.provider.seen) == 3
    await asyncio.sleep(0.4)  # 3 per second: a call is allowed again after a third of a second
    assert await gw.status(token, rid, "/population/persons/p1") == 200


async def test_no_token_is_401_with_bearer_challenge(platform) -> None:
    rid, _, _ = await platform.setup()
    gw = await platform.start_gateway()
    async with gw.call(None, rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 401, "unauthenticated")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    async with gw.call(None, rid, "/population/persons/p1", headers={"Authorization": "Basic eDp5"}) as resp:
        await platform.expect_problem(resp, 401, "unauthenticated")


# --------------------------------------------------------------------------------------------- attacks


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _grant_claims(platform, rid: str, gid: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": platform.ISSUER,
        "aud": "govdata-data",
        "sub": "mz-system",
        "client_id": "mz-system",
        "roles": ["dept_operator"],
        "dept": platform.HOLDER,
        "system": platform.HOLDER_SYSTEM,
        "holder_dept": platform.HOLDER,
        "holder_system": platform.HOLDER_SYSTEM,
        "scope": f"grant:{gid}",
        "grant_id": gid,
        "resource_id": rid,
        "items": platform.GRANTED,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "jti-1",
    }
    claims.update(overrides)
    return claims


async def test_forged_tokens_are_401(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    claims = _grant_claims(platform, rid, gid)
    # Signed with another key, claiming the gateway's kid.
    forger = TestTokens(issuer=platform.ISSUER, audience="govdata-data")
    forger.kid = platform.key.kid
    forged = forger.token(
        "mz-system",
        platform.HOLDER,
        ["dept_operator"],
        **{
            k: v
            for k, v in claims.items()
            if k not in {"sub", "dept", "roles", "iss", "aud", "iat", "nbf", "exp", "jti"}
        },
    )
    # alg none, and HS256 keyed with the public key.
    header = {"alg": "none", "kid": platform.key.kid, "typ": "JWT"}
    alg_none = f"{_b64(header)}.{_b64(claims)}."
    signing_input = f"{_b64({'alg': 'HS256', 'kid': platform.key.kid, 'typ': 'JWT'})}.{_b64(claims)}"
    mac = hmac.new(platform.key.public_key_pem(), signing_input.encode(), hashlib.sha256).digest()
    hs256 = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    for token, reason in (
        (forged, "bad_signature"),
        (alg_none, "algorithm_not_allowed"),
        (hs256, "algorithm_not_allowed"),
        ("not.a.jwt", "malformed"),
    ):
        async with gw.call(token, rid, "/population/persons/p1") as resp:
            body = await platform.expect_problem(resp, 401, "invalid_token")
            assert body["reason"] == reason, body
            assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert not platform.provider.seen


async def test_api_token_and_expired_grant_token_are_401(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    resp = await gw.token("mz-system")
    api_token = (await resp.json())["access_token"]
    async with gw.call(api_token, rid, "/population/persons/p1") as resp:
        body = await platform.expect_problem(resp, 401, "invalid_token")
        assert body["reason"] == "wrong_audience"
    # Signed by the gateway's own key, but expired (also within the verifier's clock-skew leeway).
    for age in (5, 3600):
        now = int(time.time())
        expired = platform.key.sign(
            _grant_claims(platform, rid, gid, iat=now - age - 300, nbf=now - age - 300, exp=now - age)
        )
        async with gw.call(expired, rid, "/population/persons/p1") as resp:
            body = await platform.expect_problem(resp, 401, "invalid_token")
            assert body["reason"] == "expired"
    # A data-audience token that is no grant token.
    not_grant = platform.key.sign(_grant_claims(platform, rid, gid, scope="api"))
    async with gw.call(not_grant, rid, "/population/persons/p1") as resp:
        body = await platform.expect_problem(resp, 401, "invalid_token")
        assert body["reason"] == "not_a_grant_token"
    assert not platform.provider.seen


async def test_token_of_another_department_for_the_grant_is_refused(platform) -> None:
    """A grant of department A used with a token of department B: even a validly signed one."""
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = platform.key.sign(
        _grant_claims(
            platform, rid, gid, dept=platform.OTHER, holder_dept=platform.OTHER, sub="rs-system", client_id="rs-system"
        )
    )
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 403, "grant_not_active")
    assert not platform.provider.seen


async def test_verified_tokens_are_cached_until_exp(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    calls = 0
    verify = gw.plane.verifier.verify

    async def counting(t):
        nonlocal calls
        calls += 1
        return await verify(t)

    gw.plane.verifier.verify = counting
    for _ in range(5):
        assert await gw.status(token, rid, "/population/persons/p1") == 200
    assert calls == 1 and len(gw.plane.tokens) == 1


# --------------------------------------------------------------------------------------------- grant changes


async def test_suspension_refuses_the_very_next_call_and_resume_allows_again(platform) -> None:
    rid, gid, data = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/population/persons/p1") == 200

    await platform.events.grant(GRANT_SUSPENDED, {**data, "status": "suspended", "reason": "发现超范围使用"}, 2)
    took = await platform.until(lambda: _refused(gw, token, rid), timeout=1.0, interval=0.005)
    assert took < 1.0
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        body = await platform.expect_problem(resp, 403, "grant_not_active")
        assert body["grant_status"] == "suspended"

    await platform.events.grant(GRANT_RESUMED, {**data, "status": "active"}, 3)
    await platform.until(lambda: _allowed(gw, token, rid), timeout=1.0, interval=0.005)

    await platform.events.grant(GRANT_TERMINATED, {**data, "status": "terminated", "reason": "终止"}, 4)
    await platform.until(lambda: _refused(gw, token, rid), timeout=1.0, interval=0.005)
    await platform.expect_problem(await gw.token("mz-system", f"grant:{gid}"), 403, "grant_not_active")


async def _refused(gw, token: str, rid: str) -> bool:
    return await gw.status(token, rid, "/population/persons/p1") == 403


async def _allowed(gw, token: str, rid: str) -> bool:
    return await gw.status(token, rid, "/population/persons/p1") == 200


async def test_window_that_has_ended_refuses_calls_with_a_valid_token(platform) -> None:
    rid, gid, data = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/population/persons/p1") == 200
    yesterday = (platform.today() - timedelta(days=1)).isoformat()
    meta = await platform.events.grant(GRANT_RESUMED, {**data, "valid_to": yesterday}, 2)
    await gw.caught_up(meta)
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 403, "outside_window")


async def test_retired_resource_refuses_calls_and_republished_interface_applies(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    narrowed = platform.resource_event_data(rid, platform.interface(path_prefixes=["/population/list"]), revision=2)
    meta = await platform.events.resource(RESOURCE_PUBLISHED, narrowed, 4)
    await gw.caught_up(meta)
    assert await gw.status(token, rid, "/population/persons/p1") == 403
    assert await gw.status(token, rid, "/population/list") == 200
    retired = platform.resource_event_data(rid, platform.interface(), status="retired", revision=2)
    meta = await platform.events.resource(RESOURCE_RETIRED, retired, 5)
    await gw.caught_up(meta)
    async with gw.call(token, rid, "/population/list") as resp:
        await platform.expect_problem(resp, 403, "outside_interface")
