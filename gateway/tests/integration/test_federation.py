"""Sign-in through the province's 统一身份认证 (an external OpenID provider) over real HTTP: a real provider on its own
port (gateway/tests/oidc_provider.py), the gateway on the registry's migrated Postgres database, and a browser that
follows every redirect by hand — portal → gateway login page → provider → gateway callback → portal, which then
redeems OUR code as after a password. The registry decides who signs in; every ID token the provider spoils is
refused. Time is moved with the injected clock, never slept."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
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
from govdata_gateway.identity import REGISTRY, setup_identity
from govdata_gateway.middleware import request_context
from govdata_gateway.registry.models import Department, Person
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin.views import setup_signin
from govdata_shared.auth import Caller, JWKSKeySet, TokenVerifier
from govdata_shared.outbox import outbox_table
from govdata_shared.testing import OTHER_PERSON, PERSON, MovableClock

from gateway.tests.oidc_provider import REMOVE, OidcProvider, provider_key

ISSUER = "urn:yichuan:govdata:gateway"
AUDIENCE = "govdata-api"
CALLBACK = "https://portal.yichuan.gov.cn/auth/callback"
PORTAL = {"Authorization": "Basic " + base64.b64encode(b"portal:s-portal").decode()}
CLIENT_ID, CLIENT_SECRET = "yichuan-govdata", "provincial-secret-4d1f"

# Hashes made once, cheaply: these people never type a password here.
_HASH = passwords.pbkdf2_hash("Unused#2026pw", iterations=1000)

CLIENTS: dict[str, Any] = {
    "departments": [
        {"code": "YC-MZ", "name": "伊川县民政局"},
        {"code": "YC-GA", "name": "伊川县公安局"},
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
    ],
    "clients": [
        {
            "client_id": "portal",
            "client_secret_hash": passwords.pbkdf2_hash("s-portal", iterations=1000),
            "name": "政务大数据平台门户",
            "roles": [],
            "redirect_uris": [CALLBACK],
        },
    ],
    "users": [
        {"username": "zhangmin", "password_hash": _HASH, "name": "张敏", "dept": "YC-MZ", "roles": ["dept_operator"]},
        {"username": "lina", "password_hash": _HASH, "name": "李娜", "dept": "YC-ZSJ", "roles": ["bureau_admin"]},
        {"username": "wangjg", "password_hash": _HASH, "name": "王建国", "roles": ["citizen"], "subject_id": PERSON},
    ],
}

# The people as the provider knows them (claims of its ID tokens).
STAFF = {"sub": "hn-000731", "preferred_username": "zhangmin", "name": "张敏", "dept_code": "YC-MZ"}
ADMIN = {"sub": "hn-000732", "preferred_username": "lina", "name": "李娜", "dept_code": "YC-ZSJ"}
KNOWN_CITIZEN = {"sub": "hn-100001", "preferred_username": "u13803790001", "name": "王建国", "id_card": PERSON}
NEW_CITIZEN = {"sub": "hn-100002", "preferred_username": "u13903790002", "name": "赵磊", "id_card": OTHER_PERSON}


# --------------------------------------------------------------------------------------------- harness


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def settings_for(tmp_path: Path, db_url: str, **overrides: Any) -> GatewaySettings:
    clients_file = tmp_path / "clients.yaml"
    clients_file.write_text(yaml.safe_dump(CLIENTS, allow_unicode=True), encoding="utf-8")
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
    return GatewaySettings(**values)


def federated(provider: OidcProvider, port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "govdata_oidc_issuer": provider.issuer,
        "govdata_oidc_client_id": CLIENT_ID,
        "govdata_oidc_client_secret": CLIENT_SECRET,
        "govdata_oidc_redirect_uri": f"http://127.0.0.1:{port}/auth/federated/callback",
        "govdata_oidc_claim_dept": "dept_code",
        "govdata_oidc_claim_subject_id": "id_card",
        **overrides,
    }


@asynccontextmanager
async def gateway_app(settings: GatewaySettings, clock: MovableClock, port: int = 0) -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=[request_context])
    setup_identity(app, settings, relay=False, clock=clock)
    setup_signin(app, settings)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server(access_log=None)  # as `python -m govdata_gateway` runs: no address is logged whole
    async with TestClient(server) as client:
        yield client


@pytest.fixture
async def db_url(migrated, backend, tmp_path: Path) -> str:
    return await migrated.fresh("govdata_gateway", backend, tmp_path)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def provider() -> AsyncIterator[OidcProvider]:
    async with OidcProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as provider:
        provider.person = dict(STAFF)
        yield provider


@pytest.fixture
async def gw(tmp_path: Path, db_url: str, clock: MovableClock, provider: OidcProvider) -> AsyncIterator[TestClient]:
    port = free_port()
    provider.redirect_uris.append(f"http://127.0.0.1:{port}/auth/federated/callback")
    async with gateway_app(settings_for(tmp_path, db_url, **federated(provider, port)), clock, port) as client:
        yield client


class Browser:
    """A person's browser, going between the portal's gateway and the provider; its own cookie jar (which treats
    the gateway as a secure origin, so Secure cookies are sent as over HTTPS). Redirects are followed by hand."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[gateway])
        self.http = aiohttp.ClientSession(cookie_jar=jar)

    async def close(self) -> None:
        await self.http.close()

    async def get(self, url: str) -> tuple[aiohttp.ClientResponse, str]:
        resp = await self.http.get(url if url.startswith("http") else self.gateway + url, allow_redirects=False)
        return resp, await resp.text()

    async def login_page(self) -> tuple[str, str, str]:
        """The portal sends the browser to /auth/authorize; (the login page, the portal's verifier and state)."""
        verifier, challenge = pkce()
        state = "st-" + secrets.token_hex(4)
        params = {
            "response_type": "code",
            "client_id": "portal",
            "redirect_uri": CALLBACK,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        }
        resp = await self.http.get(self.gateway + "/auth/authorize", params=params, allow_redirects=False)
        html = await resp.text()
        assert resp.status == 200, html
        return html, verifier, state

    async def to_provider(self) -> tuple[str, str, str]:
        """Open the login page and take its 统一身份认证 link; (the provider's answer: the callback address, the
        portal's verifier and state)."""
        html, verifier, state = await self.login_page()
        link = re.search(r'<a class="button-secondary" id="federated" href="([^"]+)">', html)
        assert link, html
        resp, text = await self.get(link.group(1).replace("&amp;", "&"))
        assert resp.status == 302, text
        at_provider, text = await self.get(resp.headers["Location"])
        assert at_provider.status == 302, text
        return at_provider.headers["Location"], verifier, state

    async def sign_in(self) -> tuple[aiohttp.ClientResponse, str, str, str]:
        """The whole round trip up to the gateway's answer to the provider's callback; (that answer, its text, the
        portal's verifier and state)."""
        callback, verifier, state = await self.to_provider()
        resp, text = await self.get(callback)
        return resp, text, verifier, state


@pytest.fixture
async def browsers(gw: TestClient) -> AsyncIterator[Any]:
    opened: list[Browser] = []

    def make() -> Browser:
        browser = Browser(str(gw.make_url("")).rstrip("/"))
        opened.append(browser)
        return browser

    yield make
    for browser in opened:
        await browser.close()


def code_for_portal(resp: aiohttp.ClientResponse, text: str, state: str) -> str:
    assert resp.status == 302, text
    location = resp.headers["Location"]
    assert location.startswith(CALLBACK + "?"), location
    params = query_of(location)
    assert params["state"] == state and "error" not in params, params
    return params["code"]


async def caller_of(gw: TestClient, code: str, verifier: str) -> Caller:
    """The portal redeems the code as after a password login; the person's token, verified as a service does."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    resp = await gw.post("/auth/token", data=data, headers=PORTAL)
    assert resp.status == 200, await resp.text()
    keys = JWKSKeySet(str(gw.make_url("/.well-known/jwks.json")))
    return await TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE).verify((await resp.json())["access_token"])


def refused(resp: aiohttp.ClientResponse, text: str, status: int, words: str) -> None:
    assert resp.status == status, text
    assert resp.content_type == "text/html" and words in text, text
    assert "Location" not in resp.headers
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def signed_up(gw: TestClient) -> list[tuple[str, str]]:
    """identity.user.* events staged after the seeding's (event type, payload)."""
    async with gw.app[REGISTRY].db.reading() as session:
        rows = await session.execute(
            sa.select(outbox_table.c.event_type, outbox_table.c.payload)
            .where(outbox_table.c.key.like("user:%"))
            .order_by(outbox_table.c.seq)
        )
        return [(r.event_type, r.payload) for r in rows][len(CLIENTS["users"]) :]


async def set_disabled(gw: TestClient, model: type, key: str) -> None:
    async with gw.app[REGISTRY].db.session() as session:  # as the bureau's disable (/api/identity) leaves it
        (await session.get(model, key)).disabled = True


# --------------------------------------------------------------------------------------------- the login page


async def test_the_login_page_offers_the_provincial_sign_in_only_when_it_is_configured(
    gw: TestClient, browsers, tmp_path: Path, db_url: str, clock: MovableClock
) -> None:
    html, _, _ = await browsers().login_page()
    assert re.search(
        r'<a class="button-secondary" id="federated" href="/auth/federated\?pending=[^"]+">统一身份认证登录</a>', html
    )
    assert '<button type="submit">登录</button>' in html  # the password form stays

    async with gateway_app(settings_for(tmp_path, db_url), clock) as plain:
        browser = Browser(str(plain.make_url("")).rstrip("/"))
        try:
            html, _, _ = await browser.login_page()
            assert "统一身份认证" not in html and "/auth/federated" not in html
            assert (await browser.get("/auth/federated?pending=x"))[0].status == 404
        finally:
            await browser.close()


def test_an_incomplete_provider_configuration_stops_the_gateway_at_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "sqlite+aiosqlite://", govdata_oidc_issuer="https://sso.henan.gov.cn")
    app = web.Application()
    setup_identity(app, settings, relay=False)
    with pytest.raises(ValueError, match="GOVDATA_OIDC_CLIENT_ID"):
        setup_signin(app, settings)


# --------------------------------------------------------------------------------------------- who signs in


async def test_a_staff_member_signs_in_through_the_provider_and_the_portal_gets_our_code(
    gw: TestClient, browsers, provider: OidcProvider
) -> None:
    browser = browsers()
    resp, text, verifier, state = await browser.sign_in()
    assert resp.headers["Cache-Control"] == "no-store"
    caller = await caller_of(gw, code_for_portal(resp, text, state), verifier)
    assert (caller.sub, caller.dept, caller.roles) == ("zhangmin", "YC-MZ", {"dept_operator"})
    assert caller.claims["amr"] == ["fed"] and caller.claims["azp"] == "portal" and caller.claims["name"] == "张敏"

    # What the gateway asked of the provider: a code, with state, nonce and PKCE S256, for its registered callback.
    asked = provider.authorization_requests[-1]
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["scope"].split() == ["openid", "profile"]
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 43 and len(asked["nonce"]) >= 43 and asked["state"] != state
    # The code redeemed with client_secret_basic (never in the form) and the PKCE verifier.
    sent = provider.token_requests[-1]
    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert sent["authorization"] == expected and "client_secret" not in sent and sent["code_verifier"]

    # Discovery and keys are kept: a second sign-in fetches neither again.
    resp, text, verifier, state = await browsers().sign_in()
    assert (await caller_of(gw, code_for_portal(resp, text, state), verifier)).sub == "zhangmin"
    assert (provider.discovery_requests, provider.jwks_requests) == (1, 1)


# `make run` keeps the registry in SQLite: signing a citizen up must work there too.
@pytest.mark.backends("postgres", "sqlite")
async def test_a_citizen_new_to_the_registry_is_created_by_the_id_card_number_which_stays_masked(
    gw: TestClient, browsers, provider: OidcProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # LOG_LEVEL's default: what production writes
    provider.person = dict(NEW_CITIZEN)
    resp, text, verifier, state = await browsers().sign_in()
    caller = await caller_of(gw, code_for_portal(resp, text, state), verifier)
    assert caller.roles == {"citizen"} and caller.subject_id == OTHER_PERSON and caller.dept is None
    assert caller.sub.startswith("fed-") and OTHER_PERSON not in caller.sub and caller.claims["name"] == "赵磊"

    async with gw.app[REGISTRY].db.reading() as session:
        row = await session.get(Person, caller.sub)
    assert (row.roles, row.subject_id, row.dept, row.must_change_password) == (["citizen"], OTHER_PERSON, None, False)
    assert not passwords.verify_secret("", row.password_hash)  # no password: the provider is the way in

    events = await signed_up(gw)
    created = [orjson.loads(payload) for _, payload in events]
    assert [(e["type"], e["data"]["username"]) for e in created] == [("identity.user.created", caller.sub)]
    assert created[0]["data"]["subject_id"] == "1101**********002X" and created[0]["data"]["roles"] == ["citizen"]
    assert all(OTHER_PERSON not in payload for _, payload in events)
    assert OTHER_PERSON not in caplog.text and any("signed in" in r.getMessage() for r in caplog.records)

    # The next sign-in finds the same entry: nothing created twice.
    resp, text, verifier, state = await browsers().sign_in()
    assert (await caller_of(gw, code_for_portal(resp, text, state), verifier)).sub == caller.sub
    assert len(await signed_up(gw)) == 1


async def test_a_registered_citizen_is_found_by_the_id_card_number(
    gw: TestClient, browsers, provider: OidcProvider
) -> None:
    provider.person = dict(KNOWN_CITIZEN)  # a provincial username the registry does not know
    resp, text, verifier, state = await browsers().sign_in()
    caller = await caller_of(gw, code_for_portal(resp, text, state), verifier)
    assert (caller.sub, caller.roles, caller.subject_id) == ("wangjg", {"citizen"}, PERSON)
    assert await signed_up(gw) == []


async def test_a_bureau_admin_still_owes_the_second_factor_after_the_provider(
    gw: TestClient, browsers, provider: OidcProvider, clock: MovableClock
) -> None:
    provider.person = dict(ADMIN)
    browser = browsers()
    resp, html, verifier, state = await browser.sign_in()
    # Shown at once: a redirect would reach the login page without its SameSite=Strict cookie.
    assert resp.status == 200 and "绑定双因素认证" in html and '<label for="code">动态验证码</label>' in html
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    pending = re.search(r'name="pending" value="([^"]+)"', html).group(1)
    resp = await browser.http.post(
        browser.gateway + "/auth/login",
        data={"pending": pending, "code": pyotp.TOTP(secret).at(clock())},
        allow_redirects=False,
    )
    caller = await caller_of(gw, code_for_portal(resp, await resp.text(), state), verifier)
    assert caller.sub == "lina" and caller.claims["amr"] == ["fed", "otp"]


# --------------------------------------------------------------------------------------------- refused by the registry


async def test_someone_the_registry_does_not_know_is_refused(gw: TestClient, browsers, provider: OidcProvider) -> None:
    provider.person = {"sub": "hn-999", "preferred_username": "stranger", "name": "陌生人"}
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "未在伊川县政务大数据平台登记")
    provider.person = {**NEW_CITIZEN, "id_card": "410329199913320011"}  # not a valid number
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "身份证号无效")
    assert await signed_up(gw) == []


async def test_a_department_the_registry_does_not_give_the_person_is_refused(browsers, provider: OidcProvider) -> None:
    provider.person = {**STAFF, "dept_code": "YC-GA"}
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "所属部门与本平台登记的不一致")
    # Without the department claim the name alone does not make a staff member (a citizen may share the name).
    provider.person = {k: v for k, v in STAFF.items() if k != "dept_code"}
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "所属部门与本平台登记的不一致")
    # A citizen's username with another 身份证号 is not that citizen.
    provider.person = {"sub": "hn-5", "preferred_username": "wangjg", "id_card": OTHER_PERSON}
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "身份证号与本平台登记的不一致")


async def test_a_disabled_person_or_department_stays_refused(gw: TestClient, browsers, provider: OidcProvider) -> None:
    await set_disabled(gw, Person, "zhangmin")
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "该用户已停用")

    provider.person = dict(ADMIN)
    await set_disabled(gw, Department, "YC-ZSJ")
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "该用户已停用")

    provider.person = dict(KNOWN_CITIZEN)
    await set_disabled(gw, Person, "wangjg")
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "该用户已停用")
    assert await signed_up(gw) == []  # not signed up anew under another name


# --------------------------------------------------------------------------------------------- refused ID tokens


def _forged_under_the_providers_kid(provider: OidcProvider) -> None:
    provider.sign_with = dataclasses.replace(provider_key("forger"), kid=provider.keys[0].kid)


# How a provider — or whoever stands in its place — may spoil the ID token, and the reason the gateway logs.
SPOILED: dict[str, tuple[Callable[[OidcProvider], None], str]] = {
    "a nonce of another request": (lambda p: p.tamper.update(nonce="n-" + secrets.token_urlsafe(32)), "nonce_mismatch"),
    "no nonce": (lambda p: p.tamper.update(nonce=REMOVE), "nonce_mismatch"),
    "another issuer": (lambda p: p.tamper.update(iss="https://sso.elsewhere.example"), "wrong_issuer"),
    "another audience": (lambda p: p.tamper.update(aud="some-other-client"), "wrong_audience"),
    "us among several audiences, without azp": (
        lambda p: p.tamper.update(aud=[CLIENT_ID, "some-other-client"]),
        "azp_mismatch",
    ),
    "expired": (lambda p: p.tamper.update(iat=int(p.clock()) - 400, exp=int(p.clock()) - 100), "expired"),
    "issued an hour ago": (lambda p: p.tamper.update(iat=int(p.clock()) - 3600), "issued_too_long_ago"),
    "no expiry": (lambda p: p.tamper.update(exp=REMOVE), "malformed_claims"),
    "no subject": (lambda p: p.tamper.update(sub=REMOVE), "missing_claim"),
    "signed by another key under the provider's kid": (_forged_under_the_providers_kid, "bad_signature"),
    "signed by a key the provider does not publish": (
        lambda p: setattr(p, "sign_with", provider_key("forger")),
        "unknown_key",
    ),
    "signed with HS256 and the client secret": (lambda p: setattr(p, "algorithm", "HS256"), "algorithm_not_allowed"),
    "not signed (alg none)": (lambda p: setattr(p, "algorithm", "none"), "algorithm_not_allowed"),
}


async def test_an_id_token_that_does_not_verify_is_refused(
    browsers, provider: OidcProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    resp, text, _, _ = await browsers().sign_in()  # untouched, it passes: each case below fails for its own fault
    assert resp.status == 302, text
    for case, (spoil, reason) in SPOILED.items():
        provider.tamper, provider.sign_with, provider.algorithm = {}, None, None
        spoil(provider)
        caplog.clear()
        resp, text, _, _ = await browsers().sign_in()
        assert resp.status == 400, (case, text)
        assert "统一身份认证登录失败" in text and "Location" not in resp.headers, case
        logged = [r.getMessage() for r in caplog.records if "federated sign-in refused" in r.getMessage()]
        assert logged and logged[0].startswith(f"federated sign-in refused: {reason} "), (case, logged)
        assert provider.token_requests[-1]["code"] not in caplog.text, case  # nothing of the exchange is logged


# --------------------------------------------------------------------------------------------- refused answers


async def test_a_callback_is_good_once_and_only_in_the_browser_that_left(
    gw: TestClient, browsers, provider: OidcProvider
) -> None:
    browser = browsers()
    callback, verifier, state = await browser.to_provider()
    # Another browser handed the address (a forged callback, to sign its victim in as the attacker): refused, and
    # the person's own callback still works.
    resp, text = await browsers().get(callback)
    refused(resp, text, 400, "不是由本浏览器发起的")
    resp, text = await browser.get(callback)
    assert (await caller_of(gw, code_for_portal(resp, text, state), verifier)).sub == "zhangmin"

    resp, text = await browser.get(callback)  # replayed
    refused(resp, text, 400, "无效或已使用过")
    assert len(provider.token_requests) == 1  # the replay never reached the provider
    resp, text = await browser.get("/auth/federated/callback?code=x&state=" + secrets.token_urlsafe(32))
    refused(resp, text, 400, "无效或已使用过")


async def test_a_person_who_declines_at_the_provider_is_told_so(browsers, provider: OidcProvider) -> None:
    provider.deny = "access_denied"
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 403, "取消了登录")
    assert provider.token_requests == []


async def test_an_answer_after_the_login_page_expired_is_refused(
    browsers, provider: OidcProvider, clock: MovableClock
) -> None:
    browser = browsers()
    callback, _, _ = await browser.to_provider()
    clock.advance(minutes=10, seconds=1)  # as long as a login page stays open
    resp, text = await browser.get(callback)
    refused(resp, text, 400, "已过期")
    assert provider.token_requests == []


async def test_a_provider_whose_discovery_names_another_issuer_is_not_used(browsers, provider: OidcProvider) -> None:
    provider.discovery_issuer = provider.issuer + "/other"
    browser = browsers()
    html, _, _ = await browser.login_page()
    link = re.search(r'id="federated" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    resp, text = await browser.get(link)
    refused(resp, text, 502, "暂时无法连接统一身份认证平台")
    assert provider.authorization_requests == []


async def test_a_provider_that_refuses_our_client_or_is_down_gets_an_error_page_not_a_500(
    browsers, provider: OidcProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    provider.client_secret = "rotated-at-the-province"  # and not yet here
    resp, text, _, _ = await browsers().sign_in()
    refused(resp, text, 400, "统一身份认证登录失败")
    assert "refused: token_request_refused:invalid_client " in caplog.text

    browser = browsers()
    callback, _, _ = await browser.to_provider()
    await provider.stop()
    resp, text = await browser.get(callback)
    refused(resp, text, 502, "暂时无法连接统一身份认证平台")


async def test_keys_the_provider_rotates_to_are_fetched_again(
    gw: TestClient, browsers, provider: OidcProvider, clock: MovableClock
) -> None:
    resp, _, _, _ = await browsers().sign_in()
    assert resp.status == 302 and provider.jwks_requests == 1
    provider.keys = [provider_key("prov-ec-2", "ES256")]  # a new key, and an elliptic one
    clock.advance(seconds=11)  # unknown kids fetch the keys again, at most every 10 s
    resp, text, verifier, state = await browsers().sign_in()
    assert (await caller_of(gw, code_for_portal(resp, text, state), verifier)).sub == "zhangmin"
    assert provider.jwks_requests == 2
