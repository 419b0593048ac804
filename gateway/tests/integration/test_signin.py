"""People's sign-in at the gateway over real HTTP, on the registry's migrated Postgres database: the authorization
code flow with PKCE as the portal drives it (login page, one-time code, token exchange, rotating refresh tokens,
logout), and the 等保 2.0 third-level rules (lockout per account and address, a new password after a reset, a
second factor for bureau admins and auditors, idle-out). Time is moved with an injected clock, never slept."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import orjson
import pyotp
import pytest
import sqlalchemy as sa
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from govdata_gateway import passwords
from govdata_gateway.identity import CLOCK, REGISTRY, setup_identity
from govdata_gateway.middleware import request_context
from govdata_gateway.registry import admin
from govdata_gateway.registry.models import Person
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin.models import SigninSession
from govdata_gateway.signin.views import setup_signin
from govdata_shared.auth import Caller, JWKSKeySet, TokenVerifier
from govdata_shared.errors import PROBLEM_JSON
from govdata_shared.outbox import outbox_table
from govdata_shared.testing import MovableClock, caller_of

from gateway.tests.seeds import hashed, place_signing_key

ISSUER = "urn:yichuan:govdata:gateway"
AUDIENCE = "govdata-api"
CALLBACK = "https://portal.yichuan.gov.cn/auth/callback"


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


PORTAL = basic("portal", "s-portal")
PASSWORDS = {"zhangmin": "Zhang#2026min", "wangjg": "Wang#2026jg", "lina": "Bureau#2026zsj", "shenji": "Audit#2026sj"}
CITIZEN_ID = "34052419800101001X"

# `make run` keeps the registry in SQLite, production in Postgres: sign-in must hold on both.
pytestmark = pytest.mark.backends("postgres", "sqlite")

CLIENTS: dict[str, Any] = {
    "departments": [
        {"code": "YC-MZ", "name": "伊川县民政局"},
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
    ],
    "clients": [
        {
            "client_id": "portal",
            "client_secret": "s-portal",
            "name": "政务大数据平台门户",
            "roles": [],
            "redirect_uris": [CALLBACK, "http://127.0.0.1:8000/auth/callback"],
        },
        {"client_id": "mz-system", "client_secret": "s-mz-system", "dept": "YC-MZ", "roles": ["dept_operator"]},
    ],
    "users": [
        {
            "username": "zhangmin",
            "password": PASSWORDS["zhangmin"],
            "name": "张敏",
            "dept": "YC-MZ",
            "roles": ["dept_operator"],
        },
        {
            "username": "wangjg",
            "password": PASSWORDS["wangjg"],
            "name": "王建国",
            "roles": ["citizen"],
            "subject_id": CITIZEN_ID,
        },
        {
            "username": "lina",
            "password": PASSWORDS["lina"],
            "name": "李娜",
            "dept": "YC-ZSJ",
            "roles": ["bureau_admin"],
        },
    ],
}


# --------------------------------------------------------------------------------------------- harness


def pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), computed here independently of the gateway's code."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def pending_of(html: str) -> str:
    match = re.search(r'name="pending" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


class Browser:
    """A person's browser: its own cookie jar (which treats the test server as a secure origin, so the Secure
    cookie is sent as over HTTPS), optionally connecting from another loopback address."""

    def __init__(self, base: str, source: str = "127.0.0.1") -> None:
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base])
        self.base = base
        self.http = aiohttp.ClientSession(
            cookie_jar=jar, connector=aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        )

    async def close(self) -> None:
        await self.http.close()

    async def authorize(self, **overrides: str | None) -> tuple[aiohttp.ClientResponse, str, str]:
        """Open the login page as the portal sends people to it; (response, its text, code_verifier)."""
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": "portal",
            "redirect_uri": CALLBACK,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "st-" + secrets.token_hex(4),
        }
        params.update(overrides)
        params = {k: v for k, v in params.items() if v is not None}
        resp = await self.http.get(self.base + "/auth/authorize", params=params, allow_redirects=False)
        return resp, await resp.text(), verifier

    async def post(self, pending: str, **fields: str) -> tuple[aiohttp.ClientResponse, str]:
        resp = await self.http.post(
            self.base + "/auth/login", data={"pending": pending, **fields}, allow_redirects=False
        )
        return resp, await resp.text()

    async def follow(self, resp: aiohttp.ClientResponse) -> tuple[aiohttp.ClientResponse, str]:
        assert resp.status == 303, await resp.text()
        page = await self.http.get(self.base + resp.headers["Location"], allow_redirects=False)
        return page, await page.text()

    async def password_step(self, username: str, password: str) -> tuple[aiohttp.ClientResponse, str, str, str]:
        """Open the login page and submit the password; (response, text, pending id, code_verifier)."""
        resp, html, verifier = await self.authorize()
        assert resp.status == 200, html
        pending = pending_of(html)
        resp, text = await self.post(pending, username=username, password=password)
        return resp, text, pending, verifier

    async def sign_in(self, username: str, password: str | None = None) -> tuple[str, str]:
        """The whole login for a person who owes no further step; (code, code_verifier)."""
        resp, text, _, verifier = await self.password_step(username, password or PASSWORDS[username])
        return code_of(resp, text), verifier


def code_of(resp: aiohttp.ClientResponse, text: str = "") -> str:
    assert resp.status == 302, text
    location = resp.headers["Location"]
    assert location.startswith(CALLBACK + "?"), location
    params = query_of(location)
    assert params["state"].startswith("st-") and "error" not in params, params
    return params["code"]


@asynccontextmanager
async def gateway_app(settings: GatewaySettings, clock: MovableClock) -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=[request_context])
    setup_identity(app, settings, relay=False, clock=clock)
    setup_signin(app, settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url(""))])
    async with TestClient(server, cookie_jar=jar) as client:
        yield client


def settings_for(tmp_path: Path, db_url: str, **overrides: Any) -> GatewaySettings:
    clients_file = tmp_path / "clients.yaml"
    clients_file.write_text(yaml.safe_dump(hashed(CLIENTS), allow_unicode=True), encoding="utf-8")
    values: dict[str, Any] = {
        "database_url": db_url,
        "migrate_on_start": False,
        "govdata_data_dir": tmp_path / "data",
        "govdata_clients_file": clients_file,
        "govdata_jwt_issuer": ISSUER,
        "govdata_jwt_audience": AUDIENCE,
        "log_json": False,
        **overrides,
    }
    settings = GatewaySettings(**values)
    if not {"govdata_jwt_key_file", "govdata_jwt_generate_key"} & overrides.keys():
        place_signing_key(settings.signing_key_path())  # made once per process (gateway/tests/seeds.py)
    return settings


@pytest.fixture
async def db_url(migrated, backend, tmp_path: Path) -> str:
    return await migrated.fresh("govdata_gateway", backend, tmp_path)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def gw(tmp_path: Path, db_url: str, clock: MovableClock) -> AsyncIterator[TestClient]:
    async with gateway_app(settings_for(tmp_path, db_url), clock) as client:
        yield client


@pytest.fixture
async def browsers(gw: TestClient) -> AsyncIterator[Any]:
    """browsers(source="127.0.0.1") → a new Browser; all closed at the end."""
    opened: list[Browser] = []

    def make(source: str = "127.0.0.1") -> Browser:
        browser = Browser(str(gw.make_url("")).rstrip("/"), source)
        opened.append(browser)
        return browser

    yield make
    for browser in opened:
        await browser.close()


async def exchange(gw: TestClient, code: str, verifier: str, **overrides: str) -> aiohttp.ClientResponse:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    data.update(overrides)
    return await gw.post("/auth/token", data=data, headers=PORTAL)


async def refresh(gw: TestClient, refresh_token: str) -> aiohttp.ClientResponse:
    return await gw.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}, headers=PORTAL
    )


async def tokens(gw: TestClient, code: str, verifier: str) -> dict[str, Any]:
    resp = await exchange(gw, code, verifier)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    return await resp.json()


async def verify(gw: TestClient, access_token: str) -> Caller:
    """As a service verifies: the gateway's JWKS over HTTP."""
    keyset = JWKSKeySet(str(gw.make_url("/.well-known/jwks.json")), cache_seconds=300)
    return await TokenVerifier(keyset, issuer=ISSUER, audience=AUDIENCE).verify(access_token)


async def problem(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == PROBLEM_JSON, text
    body = orjson.loads(text)
    assert body["code"] == code and body["detail"], body
    return body


async def client_token(gw: TestClient, secret: str, http: aiohttp.ClientSession | None = None, **headers: str):
    data = {"grant_type": "client_credentials", "client_id": "mz-system", "client_secret": secret}
    if http is None:
        return await gw.post("/auth/token", data=data, headers=headers)
    return await http.post(str(gw.make_url("/auth/token")), data=data, headers=headers)


async def person_row(gw: TestClient, username: str) -> Person:
    async with gw.app[REGISTRY].db.reading() as session:
        return await session.get(Person, username)


def totp_code(secret: str, clock: MovableClock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock() + timedelta(seconds=30 * steps))


# --------------------------------------------------------------------------------------------- the login page


async def test_login_page_has_labelled_fields_a_login_button_and_a_strict_csp(browsers) -> None:
    resp, html, _ = await browsers().authorize()
    assert resp.status == 200 and resp.content_type == "text/html"
    assert '<html lang="zh-CN">' in html
    assert '<label for="username">用户名</label>' in html and 'id="username"' in html
    assert '<label for="password">密码</label>' in html and 'type="password" id="password"' in html
    assert '<button type="submit">登录</button>' in html
    assert "政务大数据平台门户" in html  # the client's registered name, not an address
    assert "<script" not in html and "src=" not in html and "http://" not in html

    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert "unsafe-inline" not in csp and "script-src" not in csp
    nonce = re.search(r"style-src 'nonce-([^']+)'", csp).group(1)
    assert f'<style nonce="{nonce}">' in html
    assert "form-action 'self' https://portal.yichuan.gov.cn" in csp  # where the 302 after the form leads
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Cache-Control"] == "no-store"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie and "Path=/auth" in cookie


async def test_failed_sign_in_shows_an_error_summary_naming_the_field(browsers) -> None:
    browser = browsers()
    resp, html, _, _ = await browser.password_step("zhangmin", "not-her-password")
    assert resp.status == 401
    summary = re.search(r'<div class="error-summary".*?</div>', html).group(0)
    assert '<a href="#password">密码：用户名或密码错误' in summary
    assert 'id="password-error"' in html and 'aria-invalid="true"' in html
    assert 'value="zhangmin"' in html and "not-her-password" not in html
    assert "再输错 4 次" in html
    assert "登录后将返回“政务大数据平台门户”" in html  # the application by its name, also after a failure

    resp, html, _ = await browser.authorize()
    resp, html = await browser.post(pending_of(html), username="", password="")
    assert resp.status == 400
    assert '<a href="#username">用户名：请输入用户名</a>' in html and '<a href="#password">密码：请输入密码</a>' in html


async def test_a_form_posted_without_the_browser_that_opened_it_is_refused(gw: TestClient, browsers) -> None:
    _, html, _ = await browsers().authorize()
    pending = pending_of(html)
    # Another browser (no cookie of that page, as in a cross-site forged post) submits the right password.
    resp, html = await browsers().post(pending, username="zhangmin", password=PASSWORDS["zhangmin"])
    assert resp.status == 400 and "登录页面已失效" in html and "Location" not in resp.headers


async def test_a_login_page_left_open_too_long_expires(browsers, clock: MovableClock) -> None:
    browser = browsers()
    _, html, _ = await browser.authorize()
    clock.advance(minutes=10, seconds=1)
    resp, html = await browser.post(pending_of(html), username="zhangmin", password=PASSWORDS["zhangmin"])
    assert resp.status == 400 and "登录页面已失效" in html


# --------------------------------------------------------------------------------------------- code + PKCE


async def test_code_flow_with_pkce_gives_the_person_a_token_and_a_refresh_token(gw: TestClient, browsers) -> None:
    browser = browsers()
    resp, text, _, verifier = await browser.password_step("zhangmin", PASSWORDS["zhangmin"])
    assert resp.headers["Cache-Control"] == "no-store"
    code = code_of(resp, text)
    body = await tokens(gw, code, verifier)
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["refresh_expires_in"], body["scope"]) == (
        "Bearer",
        600,
        1800,
        "api",
    )
    caller = await verify(gw, body["access_token"])
    assert (caller.sub, caller.dept, caller.roles, caller.subject_id) == ("zhangmin", "YC-MZ", {"dept_operator"}, None)
    claims = caller.claims
    assert claims["name"] == "张敏" and claims["azp"] == "portal" and claims["amr"] == ["pwd"]
    assert claims["exp"] - claims["iat"] == 600 and claims["sid"]


async def test_a_citizen_token_carries_the_subject_id_and_no_department(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("wangjg")
    caller = await verify(gw, (await tokens(gw, code, verifier))["access_token"])
    assert (caller.sub, caller.roles, caller.subject_id) == ("wangjg", {"citizen"}, CITIZEN_ID)
    assert "dept" not in caller.claims and caller.claims["name"] == "王建国"


async def test_wrong_code_verifier_is_refused(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    other_verifier, _ = pkce()
    body = await problem(await exchange(gw, code, other_verifier), 400, "invalid_grant")
    assert body["error"] == "invalid_grant" and body["reason"] == "pkce_mismatch"
    body = await problem(await exchange(gw, code, "too-short"), 400, "invalid_request")
    assert body["field"] == "code_verifier"
    # Only whoever holds the verifier redeems the code: the portal still can.
    assert (await exchange(gw, code, verifier)).status == 200


async def test_a_code_is_good_once_and_a_replay_revokes_what_it_bought(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    first = await tokens(gw, code, verifier)
    body = await problem(await exchange(gw, code, verifier), 400, "invalid_grant")
    assert body["reason"] == "code_reused"
    body = await problem(await refresh(gw, first["refresh_token"]), 400, "invalid_grant")
    assert body["reason"] == "session_ended"


async def test_a_code_expires_after_sixty_seconds(gw: TestClient, browsers, clock: MovableClock) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    clock.advance(seconds=61)
    body = await problem(await exchange(gw, code, verifier), 400, "invalid_grant")
    assert body["reason"] == "invalid_code"


async def test_a_code_is_bound_to_its_client_and_redirect_uri(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    other_uri = "http://127.0.0.1:8000/auth/callback"  # registered too, but not the one the code was issued for
    body = await problem(await exchange(gw, code, verifier, redirect_uri=other_uri), 400, "invalid_grant")
    assert body["reason"] == "code_mismatch"
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    resp = await gw.post("/auth/token", data=data, headers=basic("mz-system", "s-mz-system"))
    assert (await problem(resp, 400, "invalid_grant"))["reason"] == "code_mismatch"
    resp = await gw.post("/auth/token", data=data, headers=basic("portal", "wrong"))
    await problem(resp, 401, "invalid_client")


async def test_a_foreign_redirect_uri_gets_an_error_page_and_no_redirect(browsers) -> None:
    browser = browsers()
    for overrides in (
        {"redirect_uri": "https://attacker.example/cb"},
        {"redirect_uri": CALLBACK + "/more"},  # exact match only, no prefixes
        {"redirect_uri": CALLBACK + "?next=https://attacker.example"},
        {"redirect_uri": None},
        {"client_id": "no-such-client"},
        {"client_id": "mz-system"},  # a machine client registered no redirect URI
    ):
        resp, html, _ = await browser.authorize(**overrides)
        assert resp.status == 400, overrides
        assert "Location" not in resp.headers and "attacker" not in html
        assert "回调地址（redirect_uri）" in html and resp.content_type == "text/html"
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_plain_or_missing_pkce_is_refused_back_to_the_client(browsers) -> None:
    browser = browsers()
    verifier, _ = pkce()
    cases = [
        ({"code_challenge": verifier, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ]
    for overrides, error in cases:
        resp, _, _ = await browser.authorize(state="st-x", **overrides)
        assert resp.status == 302, overrides
        params = query_of(resp.headers["Location"])
        assert resp.headers["Location"].startswith(CALLBACK + "?")
        assert params["error"] == error and params["state"] == "st-x" and "code" not in params, overrides


# --------------------------------------------------------------------------------------------- refresh, idle, logout


async def test_refresh_tokens_rotate_and_a_replay_revokes_the_whole_family(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    first = await tokens(gw, code, verifier)
    sid = (await verify(gw, first["access_token"])).claims["sid"]

    resp = await refresh(gw, first["refresh_token"])
    assert resp.status == 200, await resp.text()
    second = await resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await verify(gw, second["access_token"])).claims["sid"] == sid
    third = await (await refresh(gw, second["refresh_token"])).json()

    body = await problem(await refresh(gw, first["refresh_token"]), 400, "invalid_grant")  # a stolen old one
    assert body["reason"] == "refresh_token_reused"
    body = await problem(await refresh(gw, third["refresh_token"]), 400, "invalid_grant")  # the newest is dead too
    assert body["reason"] == "session_ended"


async def test_a_refresh_token_is_the_portals_alone(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    first = await tokens(gw, code, verifier)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    resp = await gw.post("/auth/token", data=data, headers=basic("mz-system", "s-mz-system"))
    assert (await problem(resp, 400, "invalid_grant"))["reason"] == "invalid_refresh_token"
    assert (await refresh(gw, first["refresh_token"])).status == 200


async def test_a_sign_in_idles_out_after_thirty_minutes_unused(gw: TestClient, browsers, clock: MovableClock) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    current = (await tokens(gw, code, verifier))["refresh_token"]
    for _ in range(3):  # in use: each refresh keeps it alive
        clock.advance(minutes=29)
        resp = await refresh(gw, current)
        assert resp.status == 200, await resp.text()
        current = (await resp.json())["refresh_token"]
    clock.advance(minutes=30)
    body = await problem(await refresh(gw, current), 400, "invalid_grant")
    assert body["reason"] == "idle_timeout"
    assert (await problem(await refresh(gw, current), 400, "invalid_grant"))["reason"] == "session_ended"


async def test_logout_with_the_access_token_ends_the_sign_in(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    first = await tokens(gw, code, verifier)
    other_code, other_verifier = await browsers().sign_in("zhangmin")  # the same person in another browser
    other = await tokens(gw, other_code, other_verifier)

    resp = await gw.post("/auth/logout", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert resp.status == 204
    assert (await problem(await refresh(gw, first["refresh_token"]), 400, "invalid_grant"))["reason"] == "session_ended"
    assert (await refresh(gw, other["refresh_token"])).status == 200  # only that sign-in ended


async def test_logout_with_a_refresh_token_ends_the_sign_in(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("wangjg")
    first = await tokens(gw, code, verifier)
    second = await (await refresh(gw, first["refresh_token"])).json()
    resp = await gw.post("/auth/logout", data={"refresh_token": first["refresh_token"]})  # any of the family
    assert resp.status == 204
    assert (await problem(await refresh(gw, second["refresh_token"]), 400, "invalid_grant"))[
        "reason"
    ] == "session_ended"
    assert (await gw.post("/auth/logout", data={"refresh_token": "unknown"})).status == 204  # RFC 7009 §2.2


async def test_logout_needs_a_person_token(gw: TestClient) -> None:
    await problem(await gw.post("/auth/logout", data={}), 400, "invalid_request")
    await problem(await gw.post("/auth/logout", headers={"Authorization": "Bearer not-a-token"}), 401, "invalid_token")
    machine = await (await client_token(gw, "s-mz-system")).json()
    resp = await gw.post("/auth/logout", headers={"Authorization": f"Bearer {machine['access_token']}"})
    await problem(resp, 400, "not_a_signin_token")


async def test_a_disabled_person_can_neither_sign_in_nor_refresh(gw: TestClient, browsers) -> None:
    code, verifier = await browsers().sign_in("zhangmin")
    first = await tokens(gw, code, verifier)
    async with gw.app[REGISTRY].db.session() as session:  # as the bureau's disable (/api/identity) leaves it
        (await session.get(Person, "zhangmin")).disabled = True
    assert (await problem(await refresh(gw, first["refresh_token"]), 400, "invalid_grant"))["reason"] == "user_disabled"
    resp, html, _, _ = await browsers().password_step("zhangmin", PASSWORDS["zhangmin"])
    assert resp.status == 401 and "用户名或密码错误" in html  # answered as for anyone unknown


async def test_the_bureaus_reset_or_disable_ends_the_persons_open_sign_ins(gw: TestClient, browsers) -> None:
    db, now = gw.app[REGISTRY].db, gw.app[CLOCK]()
    bureau = caller_of("bureau")
    zhang = await tokens(gw, *(await browsers().sign_in("zhangmin")))
    wang = await tokens(gw, *(await browsers().sign_in("wangjg")))

    answer = await admin.reset_password(db, username="zhangmin", caller=bureau, now=now)
    assert answer["must_change_password"]
    refused = await problem(await refresh(gw, zhang["refresh_token"]), 400, "invalid_grant")
    assert refused["reason"] == "session_ended"
    rotated = await refresh(gw, wang["refresh_token"])  # another person's sign-in is untouched
    assert rotated.status == 200

    await admin.disable_user(db, username="wangjg", caller=bureau, now=now)
    async with db.reading() as session:
        ended = (await session.execute(sa.select(SigninSession.username, SigninSession.revoked_reason))).all()
    assert sorted(ended) == [("wangjg", "user_disabled"), ("zhangmin", "password_reset")]
    await problem(await refresh(gw, (await rotated.json())["refresh_token"]), 400, "invalid_grant")


# --------------------------------------------------------------------------------------------- lockout


async def test_five_failures_lock_the_account_at_that_address_for_fifteen_minutes(
    gw: TestClient, browsers, clock: MovableClock
) -> None:
    here = browsers()
    for attempt in range(1, 5):
        resp, html, _, _ = await here.password_step("zhangmin", f"Wrong#{attempt}pass")
        assert resp.status == 401 and f"再输错 {5 - attempt} 次" in html
    resp, html, _, _ = await here.password_step("zhangmin", "Wrong#5pass")
    assert resp.status == 429 and resp.headers["Retry-After"] == "900"
    assert "登录失败次数过多" in html and "北京时间" in html

    # Locked here: the right password does not help now.
    resp, html, _, _ = await here.password_step("zhangmin", PASSWORDS["zhangmin"])
    assert resp.status == 429 and int(resp.headers["Retry-After"]) <= 900 and "Location" not in resp.headers

    # The owner from another address is not locked out by a stranger's failures.
    elsewhere = browsers("127.0.0.2")
    code, verifier = await elsewhere.sign_in("zhangmin")
    assert (await exchange(gw, code, verifier)).status == 200

    clock.advance(minutes=14, seconds=59)
    resp, _, _, _ = await here.password_step("zhangmin", PASSWORDS["zhangmin"])
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    code, verifier = await here.sign_in("zhangmin")
    assert (await exchange(gw, code, verifier)).status == 200


async def test_an_unknown_username_is_answered_and_locked_like_a_known_one(browsers) -> None:
    browser = browsers()
    for username in ("zhangmin", "nobody"):
        statuses = []
        for _ in range(5):
            resp, html, _, _ = await browser.password_step(username, "Wrong#pass1")
            statuses.append(resp.status)
            assert "用户名或密码错误" in html or "登录失败次数过多" in html
        assert statuses == [401, 401, 401, 401, 429], username


async def test_failed_sign_ins_are_counted_across_replicas(tmp_path: Path, db_url: str, clock: MovableClock) -> None:
    settings = settings_for(tmp_path, db_url)
    async with gateway_app(settings, clock) as one, gateway_app(settings, clock) as two:
        for gw in (one, two, one, two):
            await problem(await client_token(gw, "wrong"), 401, "invalid_client")
        await problem(await client_token(one, "wrong"), 429, "too_many_failed_attempts")
        await problem(await client_token(two, "s-mz-system"), 429, "too_many_failed_attempts")


# --------------------------------------------------------------------------------------------- client_credentials


async def test_client_secret_failures_are_throttled_per_client_and_address(gw: TestClient, clock: MovableClock) -> None:
    for _ in range(4):
        await problem(await client_token(gw, "wrong"), 401, "invalid_client")
    resp = await client_token(gw, "wrong")
    body = await problem(resp, 429, "too_many_failed_attempts")
    assert resp.headers["Retry-After"] == "900" and body["retry_after"] == 900 and "北京时间" in body["detail"]
    await problem(await client_token(gw, "s-mz-system"), 429, "too_many_failed_attempts")

    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as elsewhere:
        resp = await client_token(gw, "s-mz-system", elsewhere)
        assert resp.status == 200, await resp.text()

    clock.advance(minutes=15)
    assert (await client_token(gw, "s-mz-system")).status == 200
    # A success forgets the failures: four more do not lock.
    for _ in range(4):
        await problem(await client_token(gw, "wrong"), 401, "invalid_client")
    assert (await client_token(gw, "s-mz-system")).status == 200


async def test_an_unknown_client_is_throttled_alike_and_still_costs_no_hashing(gw: TestClient) -> None:
    registry = gw.app[REGISTRY]
    before = registry.hash_verifications
    data = {"grant_type": "client_credentials", "client_id": "no-such-client", "client_secret": "x"}
    statuses = [(await gw.post("/auth/token", data=data)).status for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]
    assert registry.hash_verifications == before


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    tmp_path: Path, db_url: str, clock: MovableClock
) -> None:
    behind_proxy = settings_for(tmp_path, db_url, auth_trusted_proxies="127.0.0.1, 10.0.0.0/8")
    async with gateway_app(behind_proxy, clock) as gw:
        stranger = {"X-Forwarded-For": "203.0.113.7, 10.1.2.3"}  # the client, then an inner proxy
        for _ in range(5):
            await client_token(gw, "wrong", **stranger)
        await problem(await client_token(gw, "s-mz-system", **stranger), 429, "too_many_failed_attempts")
        assert (await client_token(gw, "s-mz-system", **{"X-Forwarded-For": "198.51.100.9"})).status == 200
        assert (await client_token(gw, "s-mz-system")).status == 200  # the proxy's own address is not locked

    async with gateway_app(settings_for(tmp_path, db_url, auth_trusted_proxies=""), clock) as gw:
        # Without a trusted proxy the header is the caller's word: rotating it escapes nothing.
        for i in range(5):
            await client_token(gw, "wrong", **{"X-Forwarded-For": f"192.0.2.{i}"})
        resp = await client_token(gw, "s-mz-system", **{"X-Forwarded-For": "192.0.2.99"})
        await problem(resp, 429, "too_many_failed_attempts")


# --------------------------------------------------------------------------------------------- new password


async def test_after_a_reset_the_person_sets_a_new_password_before_any_code(gw: TestClient, browsers) -> None:
    temporary = "Temp#2026reset"
    async with gw.app[REGISTRY].db.session() as session:  # as the bureau's reset-password leaves the entry
        person = await session.get(Person, "zhangmin")
        person.password_hash = passwords.hash_secret(temporary)
        person.must_change_password = True
    browser = browsers()
    resp, _, pending, verifier = await browser.password_step("zhangmin", temporary)
    assert "Location" in resp.headers and "code=" not in resp.headers["Location"]
    page, html = await browser.follow(resp)
    assert page.status == 200 and page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert (
        '<label for="new_password">新密码</label>' in html
        and '<label for="new_password_confirm">确认新密码</label>' in html
    )

    for new, confirm, field, message in (
        ("short1A", "short1A", "new_password", "至少 8 位"),
        ("alllowercase", "alllowercase", "new_password", "至少三类"),
        ("Zhangmin#2026", "Zhangmin#2026", "new_password", "不能包含用户名"),
        (temporary, temporary, "new_password", "不能与原密码相同"),
        ("Fresh#2026pw", "Fresh#2026pX", "new_password_confirm", "两次输入的新密码不一致"),
    ):
        resp, html = await browser.post(pending, new_password=new, new_password_confirm=confirm)
        assert resp.status == 422, new
        summary = re.search(r'<div class="error-summary".*?</div>', html).group(0)
        assert f'href="#{field}"' in summary and message in summary, (new, summary)
    assert (await person_row(gw, "zhangmin")).must_change_password

    resp, html = await browser.post(pending, new_password="Fresh#2026pw", new_password_confirm="Fresh#2026pw")
    caller = await verify(gw, (await tokens(gw, code_of(resp, html), verifier))["access_token"])
    assert caller.sub == "zhangmin"
    row = await person_row(gw, "zhangmin")
    assert not row.must_change_password and row.password_changed_at is not None

    async with gw.app[REGISTRY].db.reading() as session:
        staged = (
            await session.execute(
                sa.select(outbox_table.c.event_type, outbox_table.c.payload).where(
                    outbox_table.c.key == "user:zhangmin"
                )
            )
        ).all()
    changed = orjson.loads(staged[-1].payload)
    assert staged[-1].event_type == "identity.user.updated" and changed["actor"] == "zhangmin"
    assert changed["data"]["must_change_password"] is False
    assert "Fresh#2026pw" not in staged[-1].payload and "argon2" not in staged[-1].payload

    resp, _, _, _ = await browsers().password_step("zhangmin", temporary)
    assert resp.status == 401
    code, verifier = await browsers().sign_in("zhangmin", "Fresh#2026pw")  # straight through now
    assert (await exchange(gw, code, verifier)).status == 200


# --------------------------------------------------------------------------------------------- second factor


async def test_a_bureau_admin_enrols_a_second_factor_and_then_always_needs_it(
    gw: TestClient, browsers, clock: MovableClock
) -> None:
    browser = browsers()
    resp, _, pending, verifier = await browser.password_step("lina", PASSWORDS["lina"])
    page, html = await browser.follow(resp)
    assert page.status == 200 and "绑定双因素认证" in html and '<label for="code">动态验证码</label>' in html
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    uri = re.search(r'id="totp-uri">([^<]+)<', html).group(1).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "lina" in uri
    assert (await person_row(gw, "lina")).totp_secret is None  # bound only once a code proves it

    window = {totp_code(secret, clock, s) for s in (-1, 0, 1)}
    wrong = next(c for c in (totp_code(secret, clock, 20), "000000", "123456") if c not in window)
    resp, html = await browser.post(pending, code=wrong)
    assert resp.status == 401 and '<a href="#code">动态验证码：动态验证码错误' in html

    resp, html = await browser.post(pending, code=totp_code(secret, clock))
    caller = await verify(gw, (await tokens(gw, code_of(resp, html), verifier))["access_token"])
    assert caller.roles == {"bureau_admin"} and caller.claims["amr"] == ["pwd", "otp"]
    assert (await person_row(gw, "lina")).totp_secret == secret

    # The next sign-in asks for a code and shows no secret; a code already used does not work twice.
    resp, _, pending, verifier = await browser.password_step("lina", PASSWORDS["lina"])
    page, html = await browser.follow(resp)
    assert "双因素认证" in html and secret not in html and "otpauth" not in html
    resp, html = await browser.post(pending, code=totp_code(secret, clock))
    assert resp.status == 401
    clock.advance(seconds=30)
    resp, html = await browser.post(pending, code=totp_code(secret, clock))
    assert (await exchange(gw, code_of(resp, html), verifier)).status == 200


async def test_wrong_second_factor_codes_count_towards_the_lockout(
    gw: TestClient, browsers, clock: MovableClock
) -> None:
    browser = browsers()
    resp, _, pending, _ = await browser.password_step("lina", PASSWORDS["lina"])
    _, html = await browser.follow(resp)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    window = {totp_code(secret, clock, s) for s in (-1, 0, 1)}
    wrong = next(c for c in (totp_code(secret, clock, 20), "000000", "123456") if c not in window)
    statuses = [(await browser.post(pending, code=wrong))[0].status for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    resp, html = await browser.post(pending, code=totp_code(secret, clock))
    assert resp.status == 429 and "登录失败次数过多" in html  # the right code does not help while locked
