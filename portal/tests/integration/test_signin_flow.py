"""Signing in to the portal for real: the gateway (identity, people's sign-in and API routing, on the registry's
migrated Postgres database) and verification-svc (over HTTP, verifying the gateway's tokens by its JWKS) serve on
ports of their own; the portal runs in-process behind a browser, and a second browser session speaks to the
gateway's login page. Redirects are followed by hand, so each hop is seen: the portal's address space is the
public origin, and what the gateway would serve there (/auth/…) is sent to the gateway.

Time is moved with injected clocks (the portal's and the gateway's), never slept."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
import yaml
from aiohttp import web
from govdata_gateway import passwords
from govdata_gateway.identity import setup_identity
from govdata_gateway.middleware import request_context
from govdata_gateway.routing import setup_routing
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin.views import setup_signin
from govdata_portal.session import SESSION_COOKIE
from govdata_shared.service import create_service_app
from govdata_shared.settings import Settings
from govdata_shared.testing import PERSON, MovableClock
from verification_svc.main import SPEC as VERIFICATION

from portal.tests.harness import (
    CALLBACK,
    PORTAL_SECRET,
    PUBLIC,
    Portal,
    portal_settings,
    publish_marriage_resource,
    running_portal,
)

ISSUER = "urn:yichuan:govdata:gateway"
AUDIENCE = "govdata-api"
PASSWORDS = {"zhangmin": "Zhang#2026min", "wangjg": "Wang#2026jg"}
MARRIAGE = "res-marriage"


@pytest.fixture(scope="session")
def secret_hashes() -> dict[str, str]:
    """argon2id hashes made once per session, so each gateway started here seeds its registry without hashing."""
    return {name: passwords.hash_secret(secret) for name, secret in {**PASSWORDS, "portal": PORTAL_SECRET}.items()}


def clients_file(tmp_path: Path, hashes: dict[str, str]) -> Path:
    entries: dict[str, Any] = {
        "departments": [{"code": "YC-MZ", "name": "伊川县民政局"}],
        "clients": [
            {
                "client_id": "portal",
                "client_secret_hash": hashes["portal"],
                "name": "共享平台门户",
                "roles": [],
                "redirect_uris": [CALLBACK],
            }
        ],
        "users": [
            {
                "username": "zhangmin",
                "password_hash": hashes["zhangmin"],
                "name": "张敏",
                "dept": "YC-MZ",
                "roles": ["dept_operator"],
            },
            {
                "username": "wangjg",
                "password_hash": hashes["wangjg"],
                "name": "王建国",
                "roles": ["citizen"],
                "subject_id": PERSON,
            },
        ],
    }
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[str]:
    """An ASGI app on a loopback port, with its lifespan, as uvicorn runs it in production."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Browser:
    """One person's browser: the portal (in-process, on the public origin) and the gateway's login page (over
    HTTP, its Secure cookie sent as over HTTPS)."""

    def __init__(self, portal: Portal, gateway_url: str) -> None:
        self.portal = portal
        self.gateway_url = gateway_url
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[gateway_url])
        self.gateway = aiohttp.ClientSession(cookie_jar=jar)

    async def open(self, location: str) -> httpx.Response:
        """Follow a redirect the portal gave: within the portal, or to the gateway's pages on the same origin."""
        assert location.startswith("/") or location.startswith(PUBLIC + "/"), location
        return await self.portal.browser.get(location.removeprefix(PUBLIC))

    async def sign_in(self, username: str, start: str = "/") -> httpx.Response:
        """From a page of the portal to the login page and back; the answer of the page the person asked for."""
        to_signin = await self.portal.browser.get(start)
        assert to_signin.status_code == 303 and to_signin.headers["Location"].startswith("/signin"), to_signin.text
        to_gateway = await self.open(to_signin.headers["Location"])
        assert to_gateway.status_code == 302
        authorize = to_gateway.headers["Location"]
        assert authorize.startswith(PUBLIC + "/auth/authorize?"), authorize
        login = await self.gateway.get(self.gateway_url + authorize.removeprefix(PUBLIC), allow_redirects=False)
        html = await login.text()
        assert login.status == 200 and "共享平台门户" in html, html
        pending = re.search(r'name="pending" value="([^"]+)"', html).group(1)
        answer = await self.gateway.post(
            self.gateway_url + "/auth/login",
            data={"pending": pending, "username": username, "password": PASSWORDS[username]},
            allow_redirects=False,
        )
        assert answer.status == 302, await answer.text()
        callback = answer.headers["Location"]
        assert callback.startswith(CALLBACK + "?code="), callback
        landed = await self.open(callback)
        assert landed.status_code == 303, landed.text
        self.set_cookie = landed.headers.get_list("Set-Cookie")
        return await self.open(landed.headers["Location"])

    async def close(self) -> None:
        await self.gateway.close()


class SignedInPlatform:
    def __init__(self, gateway_url: str, verification_url: str, gateway_clock: MovableClock, portal: Portal) -> None:
        self.gateway_url = gateway_url
        self.verification_url = verification_url
        self.gateway_clock = gateway_clock
        self.portal = portal

    async def refresh(self, refresh_token: str) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(
                self.gateway_url + "/auth/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=("portal", PORTAL_SECRET),
            )

    async def file_correction(self, access_token: str) -> dict[str, Any]:
        """A citizen's 校核 about their own marriage record, filed through the gateway with their token."""
        body = {
            "resource_id": MARRIAGE,
            "subject_type": "person",
            "subject_id": PERSON,
            "items": ["marriage_status"],
            "claimed_values": {"marriage_status": "未婚"},
            "description": "本人未登记结婚，平台显示已婚。",
        }
        async with httpx.AsyncClient() as http:
            resp = await http.post(
                self.gateway_url + "/api/verification/corrections",
                json=body,
                headers={"Authorization": f"Bearer {access_token}"},
            )
        assert resp.status_code == 201, resp.text
        return resp.json()


@pytest.fixture
async def platform(migrated, tmp_path: Path, secret_hashes: dict[str, str]) -> AsyncIterator[SignedInPlatform]:
    verification_port = free_port()
    gateway_clock = MovableClock()
    settings = GatewaySettings(
        database_url=await migrated.fresh("govdata_gateway", "postgres", tmp_path),
        migrate_on_start=False,
        govdata_data_dir=tmp_path / "gateway-data",
        govdata_clients_file=clients_file(tmp_path, secret_hashes),
        govdata_jwt_issuer=ISSUER,
        govdata_jwt_audience=AUDIENCE,
        log_json=False,
    )
    app = web.Application(middlewares=[request_context])
    setup_identity(app, settings, relay=False, clock=gateway_clock)
    setup_signin(app, settings)
    # catalog-svc is not started: its port answers nothing, as when the service is down.
    services = {"verification": f"http://127.0.0.1:{verification_port}", "catalog": f"http://127.0.0.1:{free_port()}"}
    setup_routing(app, services, 3, 30)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    gateway_url = f"http://{host}:{port}"

    verification = create_service_app(
        VERIFICATION,
        Settings(
            service_name="verification",
            database_url=await migrated.fresh("verification_svc", "postgres", tmp_path),
            migrate_on_start=False,
            govdata_jwks_url=gateway_url + "/.well-known/jwks.json",
            govdata_jwt_issuer=ISSUER,
            govdata_jwt_audience=AUDIENCE,
            log_json=False,
        ),
        broker=False,
    )
    try:
        async with serving(verification, verification_port) as verification_url:
            await publish_marriage_resource(verification)
            async with running_portal(portal_settings(tmp_path, gateway_url)) as portal:
                yield SignedInPlatform(gateway_url, verification_url, gateway_clock, portal)
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser(platform: SignedInPlatform) -> AsyncIterator[Browser]:
    opened = Browser(platform.portal, platform.gateway_url)
    yield opened
    await opened.close()


def todo_rows(html: str) -> list[str]:
    section = html.split('id="todo-title"')[1]
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


# --------------------------------------------------------------------------------------------- signing in


async def test_signing_in_goes_through_the_gateways_login_page_back_to_the_page_asked_for(
    platform: SignedInPlatform, browser: Browser
) -> None:
    page = await browser.sign_in("wangjg", start="/catalog?q=%E4%BA%BA%E5%8F%A3")
    # Back where the person was going; catalog-svc is down here, which the page says in Chinese.
    assert str(page.request.url) == PUBLIC + "/catalog?q=%E4%BA%BA%E5%8F%A3"
    assert page.status_code == 502 and "服务暂不可用" in page.text and "王建国" in page.text
    (cookie,) = [c for c in browser.set_cookie if c.startswith(SESSION_COOKIE + "=")]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert len(cookie) < 4000, len(cookie)  # browsers drop larger cookies
    session = platform.portal.session()
    assert (session.sub, session.name, session.dept, session.roles) == ("wangjg", "王建国", None, ("citizen",))

    await platform.file_correction(session.access_token)
    home = await browser.open("/")
    assert home.status_code == 200, home.text
    html = home.text
    assert "王建国" in html and "公民或企业" in html and "退出" in html
    assert "数据目录" in html and "接口文档" not in html  # a citizen has no use for the interface docs
    (row,) = todo_rows(html)
    assert "我的校核申请" in row and "婚姻登记信息" in row and "YC-MZ 办理" in row and "还剩 10 个工作日" in row


async def test_an_operator_signs_in_and_sees_the_departments_corrections(
    platform: SignedInPlatform, browser: Browser
) -> None:
    citizen = Browser(platform.portal, platform.gateway_url)  # the citizen files first, in a browser of their own
    try:
        await citizen.sign_in("wangjg")
        await platform.file_correction(platform.portal.session().access_token)
    finally:
        await citizen.close()
    platform.portal.browser.cookies.clear()

    html = (await browser.sign_in("zhangmin")).text
    assert "张敏" in html and "YC-MZ" in html and "部门经办人" in html and "接口文档" in html
    (row,) = todo_rows(html)
    assert "数据校核" in row and "婚姻登记信息" in row and "公民或企业申请" in row
    # sharing-svc does not run here: that list is named as unavailable, the rest of the page still works.
    assert "共享申请（提供方审批）" in html and "暂时无法读取" in html


# --------------------------------------------------------------------------------------------- tokens


async def test_a_page_fetched_after_the_access_token_lapsed_refreshes_it_first(
    platform: SignedInPlatform, browser: Browser
) -> None:
    await browser.sign_in("wangjg")
    before = platform.portal.session()
    await platform.file_correction(before.access_token)

    platform.portal.clock.advance(minutes=11)  # past the access token's 600 s
    home = await browser.open("/")
    assert home.status_code == 200 and len(todo_rows(home.text)) == 1, home.text
    after = platform.portal.session()
    assert after.access_token != before.access_token and after.refresh_token != before.refresh_token
    assert after.csrf == before.csrf and after.sub == "wangjg"
    assert after.expires_at == pytest.approx(platform.portal.clock().timestamp() + 600, abs=5)

    # The refresh token the page used is spent: the gateway saw it once.
    reused = await platform.refresh(before.refresh_token)
    assert reused.status_code == 400 and reused.json()["reason"] == "refresh_token_reused"


async def test_a_refused_refresh_sends_the_person_back_to_sign_in(platform: SignedInPlatform, browser: Browser) -> None:
    await browser.sign_in("wangjg")
    platform.gateway_clock.advance(minutes=31)  # the gateway idles the sign-in out after 30 minutes unused
    platform.portal.clock.advance(minutes=31)
    resp = await browser.open("/")
    assert resp.status_code == 303 and resp.headers["Location"] == "/signin"
    assert SESSION_COOKIE not in platform.portal.browser.cookies
    assert "王建国" not in resp.text


# --------------------------------------------------------------------------------------------- signing out


async def test_signing_out_ends_the_sign_in_at_the_gateway_and_no_page_shows_data_afterwards(
    platform: SignedInPlatform, browser: Browser
) -> None:
    home = await browser.sign_in("wangjg")
    session = platform.portal.session()
    await platform.file_correction(session.access_token)
    assert home.headers["Cache-Control"] == "no-store"
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    sealed = platform.portal.browser.cookies.get(SESSION_COOKIE)

    out = await platform.portal.browser.post("/signout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["Location"] == "/signed-out"
    assert SESSION_COOKIE not in platform.portal.browser.cookies
    refused = await platform.refresh(session.refresh_token)
    assert refused.status_code == 400 and refused.json()["reason"] == "session_ended"

    signed_out = await browser.open("/signed-out")
    assert signed_out.status_code == 200 and "您已安全退出" in signed_out.text
    assert "王建国" not in signed_out.text and "退出</button>" not in signed_out.text
    again = await browser.open("/")  # the back button reloads: no-store, and no session
    assert again.status_code == 303 and again.headers["Location"] == "/signin"

    # A copy of the old cookie is good only while its access token lasts; then its spent refresh token ends it.
    platform.portal.browser.cookies.set(SESSION_COOKIE, sealed)
    platform.portal.clock.advance(minutes=11)
    replayed = await browser.open("/")
    assert replayed.status_code == 303 and replayed.headers["Location"] == "/signin"
    assert "婚姻登记信息" not in replayed.text
