"""Authorization before validation on the gateway's own write routes (`/api/identity`, issue 13): a caller whose
role may not use one gets 403 whatever the body, without a token 401; only the bureau is told what is wrong with a
body (422 naming it).

The table lists every write route of registry/api.py; a new one fails until it is added."""

from __future__ import annotations

import aiohttp
import pytest
from govdata_gateway.clients import Client
from govdata_gateway.identity import TOKEN_ISSUER
from govdata_gateway.registry.api import PREFIX, ROUTES

NOT_JSON = b'{"code": "YC-'
# write route → whether it reads a body
WRITES = {
    ("POST", "/departments"): True,
    ("POST", "/systems"): True,
    ("POST", "/clients"): True,
    ("POST", "/clients/{client_id}/rotate-secret"): False,
    ("POST", "/clients/{client_id}/disable"): False,
    ("POST", "/users"): True,
    ("POST", "/users/{username}/disable"): False,
    ("POST", "/users/{username}/reset-password"): False,
}


def test_every_write_route_is_in_the_table() -> None:
    assert {(method, path) for method, path, *_ in ROUTES if method != "GET"} == set(WRITES)


@pytest.mark.parametrize(("method", "path"), sorted(WRITES))
async def test_the_role_is_checked_before_the_body(platform, method, path) -> None:
    gw = await platform.start_gateway()
    resp = await gw.token("mz-system")
    citizen_resp = await gw.token("citizen-1")
    operator, citizen = (await resp.json())["access_token"], (await citizen_resp.json())["access_token"]
    bureau = (
        gw.app[TOKEN_ISSUER]
        .issue(Client(client_id="bureau-test", dept="YC-ZSJ", roles=frozenset({"bureau_admin"})))
        .access_token
    )
    url = f"{gw.url}{PREFIX}{path.replace('{client_id}', 'nobody').replace('{username}', 'nobody')}"
    json_header = {"Content-Type": "application/json"}

    async def send(token: str | None, body: bytes) -> aiohttp.ClientResponse:
        headers = {**json_header, **({"Authorization": f"Bearer {token}"} if token else {})}
        return await platform.http.request(method, url, data=body, headers=headers)

    for token in (operator, citizen):
        for body in (b'{"code": 1, "roles": "all"}', b"[]", NOT_JSON, b""):
            problem = await platform.expect_problem(await send(token, body), 403, "forbidden_role")
            assert "field" not in problem and "errors" not in problem
    await platform.expect_problem(await send(None, NOT_JSON), 401, "unauthenticated")
    if WRITES[(method, path)]:
        for body in (b"[]", NOT_JSON):
            problem = await platform.expect_problem(await send(bureau, body), 422, "validation_failed")
            assert problem["field"] == "body"
