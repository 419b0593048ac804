"""The gateway's token endpoint and JWKS over real HTTP, on the identity registry's migrated database, verified
with the services' own verifier."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from govdata_gateway import passwords
from govdata_gateway.identity import (
    REGISTRY,
    SIGNING_KEY,
    TOKEN_ISSUER,
    IssuedToken,
    register_scope_handler,
    setup_identity,
)
from govdata_gateway.keys import SigningKey, SigningKeyError, rsa_thumbprint
from govdata_gateway.settings import GatewaySettings
from govdata_shared.auth import JWKSKeySet, StaticKeySet, TokenVerifier
from govdata_shared.errors import PROBLEM_JSON, Problem

from gateway.tests.seeds import place_signing_key

ISSUER = "urn:yichuan:govdata:gateway"
AUDIENCE = "govdata-api"
SPECIAL_SECRET = "p@ss:wörd+1 x&y=%"

CLIENTS: dict[str, Any] = {
    "departments": [
        {"code": "YC-GA", "name": "伊川县公安局"},
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
    ],
    "clients": [
        {"client_id": "ga-system", "client_secret": "s-ga-system", "dept": "YC-GA", "roles": ["dept_operator"]},
        {"client_id": "ga-head", "client_secret": "s-ga-head", "dept": "YC-GA", "roles": ["dept_head"]},
        {"client_id": "bureau", "client_secret": "s-bureau", "dept": "YC-ZSJ", "roles": ["bureau_admin"]},
        {"client_id": "special", "client_secret": SPECIAL_SECRET, "dept": "YC-GA", "roles": ["dept_operator"]},
        {
            "client_id": "citizen-1",
            "client_secret": "s-citizen",
            "roles": ["citizen"],
            "subject_id": "34052419800101001X",
        },
    ],
}


# --------------------------------------------------------------------------------------------- helpers


def write_clients(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def gateway_settings(tmp_path: Path, clients_file: Path | None, database_url: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "migrate_on_start": False,
        "govdata_data_dir": tmp_path / "data",
        "govdata_clients_file": clients_file,
        "govdata_jwt_key_file": None,
        "govdata_jwt_generate_key": True,
        "govdata_jwt_issuer": ISSUER,
        "govdata_jwt_audience": AUDIENCE,
        "govdata_token_ttl_seconds": 900,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@asynccontextmanager
async def running_gateway(settings: GatewaySettings, app: web.Application | None = None) -> AsyncIterator[TestClient]:
    app = app if app is not None else web.Application()
    setup_identity(app, settings, relay=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def db_url(migrated, backend, tmp_path: Path) -> str:
    """The registry's database, migrated and empty."""
    return await migrated.fresh("govdata_gateway", backend, tmp_path)


@pytest.fixture
async def gw(tmp_path: Path, db_url: str) -> AsyncIterator[TestClient]:
    settings = gateway_settings(tmp_path, write_clients(tmp_path / "clients.yaml", CLIENTS), db_url)
    place_signing_key(settings.signing_key_path())  # made once per process; generating one is tested below
    async with running_gateway(settings) as client:
        yield client


def jwks_verifier(client: TestClient) -> TokenVerifier:
    """How a service verifies: the gateway's JWKS fetched over HTTP."""
    keyset = JWKSKeySet(str(client.make_url("/.well-known/jwks.json")), cache_seconds=300)
    return TokenVerifier(keyset, issuer=ISSUER, audience=AUDIENCE)


def form(client_id: str | None = None, secret: str | None = None, **extra: str) -> dict[str, str]:
    data = {"grant_type": "client_credentials", **extra}
    if client_id is not None:
        data["client_id"] = client_id
    if secret is not None:
        data["client_secret"] = secret
    return {k: v for k, v in data.items() if v is not None}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == PROBLEM_JSON
    body = await resp.json(content_type=None)
    assert body["code"] == code and body["status"] == status and body["detail"], body
    return body


# --------------------------------------------------------------------------------------------- token endpoint


async def test_form_auth_issues_token_that_verifies_through_jwks(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-system"))
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 900, "api")

    caller = await jwks_verifier(gw).verify(body["access_token"])
    assert (caller.sub, caller.client_id, caller.dept, caller.roles) == (
        "ga-system",
        "ga-system",
        "YC-GA",
        {"dept_operator"},
    )
    assert caller.subject_id is None and caller.scope == "api"
    claims = caller.claims
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] - time.time()) < 5
    assert len(caller.token_id or "") == 36


async def test_each_token_has_its_own_jti(gw: TestClient) -> None:
    tokens = []
    for _ in range(3):
        resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-system"))
        tokens.append((await resp.json())["access_token"])
    verifier = jwks_verifier(gw)
    jtis = {(await verifier.verify(t)).token_id for t in tokens}
    assert len(jtis) == 3


async def test_basic_auth_issues_token_with_url_decoded_credentials(gw: TestClient) -> None:
    resp = await gw.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers=basic("special", SPECIAL_SECRET)
    )
    assert resp.status == 200, await resp.text()
    caller = await jwks_verifier(gw).verify((await resp.json())["access_token"])
    assert caller.sub == "special"


async def test_citizen_token_carries_subject_not_dept(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("citizen-1", "s-citizen"))
    caller = await jwks_verifier(gw).verify((await resp.json())["access_token"])
    assert (caller.dept, caller.subject_id, caller.roles) == (None, "34052419800101001X", {"citizen"})
    assert "dept" not in caller.claims


async def test_wrong_secret_is_401(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-head"))
    body = await problem(resp, 401, "invalid_client")
    assert body["error"] == "invalid_client"
    assert "WWW-Authenticate" not in resp.headers  # no Basic was used

    resp = await gw.post("/auth/token", data={"grant_type": "client_credentials"}, headers=basic("ga-system", "nope"))
    await problem(resp, 401, "invalid_client")
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


async def test_unknown_client_is_401_like_a_wrong_secret(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("no-such-client", "s-ga-system"))
    unknown = await problem(resp, 401, "invalid_client")
    resp = await gw.post("/auth/token", data=form("ga-system", "wrong"))
    wrong = await problem(resp, 401, "invalid_client")
    assert unknown == wrong


async def test_missing_credentials_is_401(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("ga-system"))
    await problem(resp, 401, "invalid_client")
    resp = await gw.post("/auth/token", data=form(), headers={"Authorization": "Bearer abc"})
    await problem(resp, 401, "invalid_client")
    resp = await gw.post("/auth/token", data=form(), headers={"Authorization": "Basic !!!notbase64"})
    await problem(resp, 401, "invalid_client")


async def test_missing_grant_type_is_400(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data={"client_id": "ga-system", "client_secret": "s-ga-system"})
    body = await problem(resp, 400, "invalid_request")
    assert body["field"] == "grant_type"


async def test_unsupported_grant_type_is_400(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-system", grant_type="password"))
    body = await problem(resp, 400, "unsupported_grant_type")
    assert body["error"] == "unsupported_grant_type"


async def test_grant_scope_is_400_invalid_scope_for_now(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-system", scope="grant:42"))
    body = await problem(resp, 400, "invalid_scope")
    assert "sharing" in body["detail"]


async def test_unknown_or_multiple_scopes_are_400(gw: TestClient) -> None:
    for scope in ("admin", "grant:", "api grant:1"):
        resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-system", scope=scope))
        await problem(resp, 400, "invalid_scope")
    resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-system", scope="api"))
    assert resp.status == 200


async def test_wrong_content_type_is_415(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", json=form("ga-system", "s-ga-system"))
    await problem(resp, 415, "unsupported_media_type")


async def test_repeated_parameter_and_two_auth_methods_are_400(gw: TestClient) -> None:
    body = "grant_type=client_credentials&client_id=ga-system&client_id=bureau&client_secret=s-bureau"
    resp = await gw.post("/auth/token", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    await problem(resp, 400, "invalid_request")
    resp = await gw.post("/auth/token", data=form(secret="s-ga-system"), headers=basic("ga-system", "s-ga-system"))
    await problem(resp, 400, "invalid_request")


async def test_oversized_request_is_413(gw: TestClient) -> None:
    resp = await gw.post("/auth/token", data=form("ga-system", "s-ga-system", padding="x" * 20_000))
    await problem(resp, 413, "payload_too_large")


async def test_scope_handler_table_is_extensible(tmp_path: Path, db_url: str) -> None:
    settings = gateway_settings(tmp_path, write_clients(tmp_path / "clients.yaml", CLIENTS), db_url)
    app = web.Application()
    setup_identity(app, settings, relay=False)

    async def grant_handler(request: web.Request, client: Any, scope: str) -> IssuedToken:
        grant_id = scope.removeprefix("grant:")
        if grant_id != "g-1":
            raise Problem(403, "grant_not_held", "该授权不属于本部门")
        return request.app[TOKEN_ISSUER].issue(
            client, scope=scope, ttl_seconds=120, extra_claims={"grant_id": grant_id, "items": ["name"]}
        )

    register_scope_handler(app, "grant:", grant_handler)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        resp = await client.post("/auth/token", data=form("ga-system", "s-ga-system", scope="grant:g-1"))
        body = await resp.json()
        assert (resp.status, body["scope"], body["expires_in"]) == (200, "grant:g-1", 120)
        caller = await jwks_verifier(client).verify(body["access_token"])
        assert caller.claims["grant_id"] == "g-1" and caller.scope == "grant:g-1"
        resp = await client.post("/auth/token", data=form("ga-system", "s-ga-system", scope="grant:g-2"))
        await problem(resp, 403, "grant_not_held")


async def test_secrets_never_reach_the_logs(gw: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await gw.post("/auth/token", data=form("ga-system", "s-ga-system"))
    await gw.post("/auth/token", data=form("ga-system", "wrong-secret-value"))
    await gw.post("/auth/token", data={"grant_type": "client_credentials"}, headers=basic("special", SPECIAL_SECRET))
    assert "token issued client_id=ga-system" in caplog.text
    assert "invalid_client client_id='ga-system'" in caplog.text
    for secret in ("s-ga-system", "wrong-secret-value", SPECIAL_SECRET, quote_plus(SPECIAL_SECRET)):
        assert secret not in caplog.text


# --------------------------------------------------------------------------------------------- hashed secrets


async def test_hashed_secrets_work_and_are_cached(tmp_path: Path, db_url: str) -> None:
    data = json.loads(json.dumps(CLIENTS))
    data["clients"].append(
        {
            "client_id": "hashed",
            "client_secret_hash": passwords.hash_secret("correct horse"),
            "dept": "YC-GA",
            "roles": ["dept_operator"],
        }
    )
    settings = gateway_settings(tmp_path, write_clients(tmp_path / "clients.yaml", data), db_url)
    async with running_gateway(settings) as gw:
        registry = gw.app[REGISTRY]
        for _ in range(3):
            resp = await gw.post("/auth/token", data=form("hashed", "correct horse"))
            assert resp.status == 200
        assert registry.hash_verifications == 1  # one argon2id run, then the cache

        # A wrong secret is never answered from the cache, and does not evict the right one.
        resp = await gw.post("/auth/token", data=form("hashed", "correct horse "))
        await problem(resp, 401, "invalid_client")
        assert registry.hash_verifications == 2
        resp = await gw.post("/auth/token", data=form("hashed", "correct horse"))
        assert resp.status == 200 and registry.hash_verifications == 2


# --------------------------------------------------------------------------------------------- keys


async def test_key_file_generated_once_with_mode_0600_and_reused(tmp_path: Path, db_url: str) -> None:
    clients_file = write_clients(tmp_path / "clients.yaml", CLIENTS)
    settings = gateway_settings(tmp_path, clients_file, db_url)
    key_path = settings.signing_key_path()
    assert not key_path.parent.exists()

    async with running_gateway(settings) as gw:
        first_kid = gw.app[SIGNING_KEY].kid
        token = (await (await gw.post("/auth/token", data=form("bureau", "s-bureau"))).json())["access_token"]
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert [p.name for p in key_path.parent.iterdir()] == [key_path.name]  # no temp files left
    first_pem = key_path.read_bytes()

    async with running_gateway(settings) as gw:  # restart
        assert gw.app[SIGNING_KEY].kid == first_kid
        assert key_path.read_bytes() == first_pem
        caller = await jwks_verifier(gw).verify(token)  # a token from before the restart still verifies
        assert caller.sub == "bureau"


async def test_jwks_document(gw: TestClient) -> None:
    resp = await gw.get("/.well-known/jwks.json")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    keys = (await resp.json())["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"], key["e"]) == ("RSA", "RS256", "sig", "AQAB")
    assert key["kid"] == rsa_thumbprint(key["e"], key["n"]) == gw.app[SIGNING_KEY].kid
    assert "d" not in key and "p" not in key


def test_kid_is_rfc7638_thumbprint() -> None:
    # The example of RFC 7638 §3.1.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB"
        "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8K"
        "JZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_x"
        "BniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    assert rsa_thumbprint("AQAB", n) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


async def test_rotation_publishes_previous_public_keys(tmp_path: Path, db_url: str) -> None:
    key_dir = tmp_path / "keys"
    old = SigningKey.load(key_dir / "old.pem", generate=True)
    old_token = old.sign(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "ga-system", "roles": ["dept_operator"], "exp": int(time.time()) + 300}
    )
    (key_dir / "old.pub.pem").write_bytes(old.public_key_pem())
    (key_dir / "old.pem").unlink()

    settings = gateway_settings(
        tmp_path,
        write_clients(tmp_path / "clients.yaml", CLIENTS),
        db_url,
        govdata_jwt_key_file=key_dir / "current.pem",
    )
    async with running_gateway(settings) as gw:
        current = gw.app[SIGNING_KEY]
        kids = [k["kid"] for k in (await (await gw.get("/.well-known/jwks.json")).json())["keys"]]
        assert kids == [current.kid, old.kid]
        verifier = jwks_verifier(gw)
        assert (await verifier.verify(old_token)).sub == "ga-system"
        new_token = await (await gw.post("/auth/token", data=form("ga-system", "s-ga-system"))).json()
        assert (await verifier.verify(new_token["access_token"])).sub == "ga-system"


def test_missing_key_without_generation_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "secret" / "signing.pem"
    with pytest.raises(SigningKeyError) as info:
        SigningKey.load(path, generate=False)
    assert str(path) in str(info.value) and "GOVDATA_JWT_KEY_FILE" in str(info.value)
    assert not path.parent.exists()

    settings = gateway_settings(
        tmp_path,
        write_clients(tmp_path / "clients.yaml", CLIENTS),
        "sqlite+aiosqlite:///unused.db",
        govdata_jwt_key_file=path,
        govdata_jwt_generate_key=False,
    )
    with pytest.raises(SigningKeyError):
        setup_identity(web.Application(), settings, relay=False)


async def test_signing_key_verifies_with_static_keyset(tmp_path: Path) -> None:
    key = SigningKey.load(tmp_path / "k.pem", generate=True)
    assert os.stat(tmp_path / "k.pem").st_mode & 0o077 == 0
    token = key.sign({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60})
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["kid"] == key.kid and header["alg"] == "RS256"
    verifier = TokenVerifier(StaticKeySet(key.jwks()), issuer=ISSUER, audience=AUDIENCE)
    assert (await verifier.verify(token)).sub == "x"


# --------------------------------------------------------------------------------------------- clients file


async def test_json_clients_file_works(tmp_path: Path, db_url: str) -> None:
    settings = gateway_settings(tmp_path, write_clients(tmp_path / "clients.json", CLIENTS), db_url)
    async with running_gateway(settings) as gw:
        resp = await gw.post("/auth/token", data=form("bureau", "s-bureau"))
        caller = await jwks_verifier(gw).verify((await resp.json())["access_token"])
        assert caller.is_bureau and caller.dept == "YC-ZSJ"


async def test_demo_clients_file_is_the_default(tmp_path: Path, db_url: str) -> None:
    async with running_gateway(gateway_settings(tmp_path, None, db_url)) as gw:
        resp = await gw.post("/auth/token", data=form("citizen-1", "demo-citizen-1"))
        caller = await jwks_verifier(gw).verify((await resp.json())["access_token"])
        assert caller.subject_id == "34052419800101001X"
        resp = await gw.post(
            "/auth/token", data={"grant_type": "client_credentials"}, headers=basic("ga-system", "demo-ga-system")
        )
        assert resp.status == 200
