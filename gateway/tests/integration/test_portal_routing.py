"""The gateway serves the portal: every path it does not own goes to `PORTAL_URL`, over real HTTP.

A small aiohttp server on a loopback port stands in for the portal (it records what it receives and answers as a
server-rendered site does: pages, redirects, cookies, form posts); the real gateway app (`create_app`) is served on
a port of its own. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from govdata_gateway.app import create_app
from govdata_gateway.settings import GatewaySettings
from govdata_shared.errors import PROBLEM_JSON
from multidict import CIMultiDict
from yarl import URL

pytestmark = pytest.mark.backends("sqlite")  # the registry is not what these tests are about

CLIENTS = """
departments: [{code: YC-GA, name: 伊川县公安局}]
clients: [{client_id: ga-system, client_secret: s-ga-system, dept: YC-GA, roles: [dept_operator]}]
"""
SERVICES = ("catalog", "sharing", "verification", "audit", "notify")
UPSTREAM_TIMEOUT = 0.5
AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
HOME_PAGE = '<!DOCTYPE html><html lang="zh-CN"><title>首页</title><h1>首页</h1><p>待办 3 项</p></html>'
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Seen:
    method: str
    raw_path: str
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class Stub:
    """A portal (or a service) standing in on a loopback port; it records every request it gets."""

    name: str
    url: str = ""
    runner: web.AppRunner | None = None
    seen: list[Seen] = field(default_factory=list)
    ready_status: int = 200
    release: asyncio.Event = field(default_factory=asyncio.Event)
    stream_go: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last(self) -> Seen:
        assert self.seen, f"{self.name} received no request"
        return self.seen[-1]


def portal_app(stub: Stub) -> web.Application:
    async def readyz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, status=stub.ready_status)

    async def anything(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        stub.seen.append(Seen(request.method, request.raw_path, CIMultiDict(request.headers), body))
        path = request.path
        if path == "/":
            response = web.Response(text=HOME_PAGE, content_type="text/html", charset="utf-8")
            response.headers["Content-Security-Policy"] = "default-src 'none'"
            response.headers["Cache-Control"] = "no-store"
            return response
        if path == "/catalog":  # not signed in: off to the sign-in, as the portal does
            return web.Response(status=302, headers={"Location": "/signin?next=%2Fcatalog"})
        if path == "/signin/callback":
            response = web.HTTPSeeOther("/")
            response.set_cookie("govdata_portal", "sealed-session", httponly=True, secure=True, samesite="Lax")
            raise response
        if path == "/signout" and request.method == "POST":
            response = web.HTTPSeeOther("/signed-out")
            response.del_cookie("govdata_portal")
            raise response
        if path == "/export":
            response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write("名称,提供部门\n".encode())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stub.stream_go.wait(), 5)
            await response.write("户籍人口基本信息,伊川县公安局\n".encode())
            await response.write_eof()
            return response
        if path == "/slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stub.release.wait(), UPSTREAM_TIMEOUT * 6)
            return web.Response(text="late")
        return web.json_response(
            {"method": request.method, "raw_path": request.raw_path, "body": body.decode("utf-8", "replace")},
            headers={"X-Portal": "yes"},
        )

    app = web.Application()
    app.router.add_get("/readyz", readyz)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


def service_app(stub: Stub) -> web.Application:
    async def readyz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def anything(request: web.Request) -> web.Response:
        stub.seen.append(Seen(request.method, request.raw_path, CIMultiDict(request.headers), await request.read()))
        return web.json_response({"service": stub.name})

    app = web.Application()
    app.router.add_get("/readyz", readyz)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def stubs() -> AsyncIterator[dict[str, Stub]]:
    found = {name: Stub(name) for name in (*SERVICES, "portal")}
    try:
        for name, stub in found.items():
            stub.runner, stub.url = await serve(portal_app(stub) if name == "portal" else service_app(stub))
        yield found
    finally:
        for stub in found.values():
            stub.release.set()
            stub.stream_go.set()
        for stub in found.values():
            if stub.runner is not None:
                await stub.runner.cleanup()


@dataclass
class Gateway:
    url: str

    def __call__(self, target: str) -> URL:
        return URL(self.url + target, encoded=True)


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start_gateway(tmp_path: Path, stubs: dict[str, Stub], migrated, backend: str) -> AsyncIterator[StartGateway]:
    runners: list[web.AppRunner] = []
    database_url = await migrated.fresh("govdata_gateway", backend, tmp_path)
    clients_file = tmp_path / "clients.yaml"
    clients_file.write_text(CLIENTS, encoding="utf-8")

    async def start(**overrides: Any) -> Gateway:
        values: dict[str, Any] = {
            "database_url": database_url,
            "migrate_on_start": False,
            "govdata_data_dir": tmp_path,
            "govdata_clients_file": clients_file,
            "upstream_timeout_seconds": UPSTREAM_TIMEOUT,
            "upstream_connect_timeout_seconds": 1.0,
            **{f"{name}_url": stub.url for name, stub in stubs.items()},
        }
        values.update(overrides)
        runner, url = await serve(create_app(GatewaySettings(**values)))
        runners.append(runner)
        return Gateway(url)

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def gw(start_gateway: StartGateway) -> Gateway:
    return await start_gateway()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        skip_auto_headers=AUTO_HEADERS, auto_decompress=False, timeout=aiohttp.ClientTimeout(total=20)
    ) as session:
        yield session


async def expect_problem(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    body = await resp.read()
    assert resp.status == status, body
    assert resp.content_type == PROBLEM_JSON, (resp.headers.get("Content-Type"), body)
    problem = json.loads(body)
    assert problem["status"] == status and problem["code"] == code and problem["detail"], problem
    return problem


# --------------------------------------------------------------------------------------------- pass-through


async def test_home_page_comes_from_the_portal_with_its_headers(
    gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]
) -> None:
    async with http.get(gw("/"), headers={"Accept": "text/html", "X-Request-ID": "rid-home"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert (await resp.read()).decode("utf-8") == HOME_PAGE
        assert resp.headers["Content-Security-Policy"] == "default-src 'none'"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers.getall("X-Request-ID") == ["rid-home"]
    seen = stubs["portal"].last
    assert (seen.method, seen.raw_path) == ("GET", "/")
    assert seen.headers["X-Request-ID"] == "rid-home"
    assert all(not stubs[name].seen for name in SERVICES)


@pytest.mark.parametrize(
    "target",
    [
        "/catalog/res-1?q=%E4%BA%BA%E5%8F%A3&page=2",
        "/static/portal.css",
        "/%E6%95%B0%E6%8D%AE%E7%9B%AE%E5%BD%95/a%2Fb?x=%3D",
        "/apis/x",  # only whole first segments are the gateway's
        "/authority",
        "/datasets",
    ],
)
async def test_portal_paths_arrive_unchanged(
    gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub], target: str
) -> None:
    async with http.get(gw(target)) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["X-Portal"] == "yes"
        assert (await resp.json())["raw_path"] == target
    assert stubs["portal"].last.raw_path == target


async def test_redirects_and_cookies_of_the_portal_reach_the_browser(
    gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]
) -> None:
    async with http.get(gw("/catalog"), allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"] == "/signin?next=%2Fcatalog"
    async with http.get(gw("/signin/callback?code=abc&state=xyz"), allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/"
        (cookie,) = resp.headers.getall("Set-Cookie")
        assert cookie.startswith("govdata_portal=sealed-session;")
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert stubs["portal"].last.raw_path == "/signin/callback?code=abc&state=xyz"


async def test_form_post_reaches_the_portal_with_cookie_and_body(
    gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]
) -> None:
    form = b"csrf=t0k3n&note=%E9%80%80%E5%87%BA"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "govdata_portal=sealed-session",
        "Origin": "http://127.0.0.1:8000",
    }
    async with http.post(gw("/signout"), data=form, headers=headers, allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/signed-out"
        assert "govdata_portal=" in resp.headers["Set-Cookie"]
    seen = stubs["portal"].last
    assert (seen.method, seen.body) == ("POST", form)
    assert seen.headers["Cookie"] == "govdata_portal=sealed-session"
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen.headers["Origin"] == "http://127.0.0.1:8000"


async def test_portal_sees_forwarded_headers_and_no_hop_by_hop_ones(
    gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]
) -> None:
    headers = {
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "connection-specific",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Host": "evil.example",
        "Accept-Language": "zh-CN",
    }
    async with http.get(gw("/profile"), headers=headers) as resp:
        assert resp.status == 200
    seen = stubs["portal"].last.headers
    for hop in ("X-Hop", "Keep-Alive", "Proxy-Authorization"):
        assert hop not in seen, hop
    assert seen["Accept-Language"] == "zh-CN"
    assert seen.getall("X-Forwarded-For") == ["203.0.113.7, 127.0.0.1"]
    assert seen.getall("X-Forwarded-Proto") == ["http"]
    assert seen.getall("X-Forwarded-Host") == [URL(gw.url).authority]
    assert seen["Host"] == URL(stubs["portal"].url).authority
    assert HEX32.match(seen["X-Request-ID"])


async def test_portal_response_is_streamed(gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]) -> None:
    first_line = "名称,提供部门\n".encode()
    async with http.get(gw("/export")) as resp:
        assert resp.status == 200
        first = b""
        while len(first) < len(first_line):
            # The portal holds the rest back until told: only an unbuffered gateway gets the first line here.
            first += await asyncio.wait_for(resp.content.readany(), 3)
        assert first == first_line
        stubs["portal"].stream_go.set()
        rest = await asyncio.wait_for(resp.read(), 3)
    assert (first + rest).decode() == "名称,提供部门\n户籍人口基本信息,伊川县公安局\n"


# --------------------------------------------------------------------------------------------- the gateway's own


@pytest.mark.parametrize(
    "target",
    ["/api", "/api/", "/auth", "/auth/nope", "/healthz/extra", "/readyz/x", "/metrics/x", "/.well-known/x", "/data"],
)
async def test_paths_of_the_gateway_never_reach_the_portal(
    gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub], target: str
) -> None:
    async with http.get(gw(target)) as resp:
        await expect_problem(resp, 404, "not_found")
    assert not stubs["portal"].seen


async def test_wrong_method_on_a_gateway_path_stays_405(
    gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]
) -> None:
    async with http.post(gw("/healthz")) as resp:
        await expect_problem(resp, 405, "method_not_allowed")
    async with http.get(gw("/auth/token")) as resp:
        await expect_problem(resp, 405, "method_not_allowed")
        assert resp.headers["Allow"] == "POST"
    async with http.get(gw("/api/catalog/resources")) as resp:
        assert (await resp.json())["service"] == "catalog"
    assert not stubs["portal"].seen


# --------------------------------------------------------------------------------------------- failures


async def test_portal_down_is_a_chinese_503_page_for_browsers_and_a_problem_otherwise(
    start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gw = await start_gateway(portal_url=f"http://127.0.0.1:{free_port()}")
    async with http.get(gw("/catalog"), headers={"Accept": "text/html,application/xhtml+xml;q=0.9"}) as resp:
        page = (await resp.read()).decode("utf-8")
        assert resp.status == 503
        assert resp.content_type == "text/html"
        assert resp.headers["Retry-After"].isdigit()
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Cache-Control"] == "no-store"
    assert '<html lang="zh-CN">' in page and "门户暂时无法访问" in page
    async with http.get(gw("/")) as resp:
        problem = await expect_problem(resp, 503, "portal_unavailable")
        assert "门户" in problem["detail"]
        assert resp.headers["Retry-After"].isdigit()
    async with http.get(gw("/.well-known/jwks.json")) as resp:  # the API is not the portal
        assert resp.status == 200


async def test_silent_portal_is_504(gw: Gateway, http: aiohttp.ClientSession) -> None:
    async with http.get(gw("/slow")) as resp:
        await expect_problem(resp, 504, "upstream_timeout")
    async with http.get(gw("/")) as resp:
        assert resp.status == 200


async def test_without_a_portal_url_the_gateway_serves_no_portal(
    start_gateway: StartGateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]
) -> None:
    gw = await start_gateway(portal_url="")
    async with http.get(gw("/")) as resp:
        await expect_problem(resp, 404, "not_found")
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 200
        assert set((await resp.json())["services"]) == set(SERVICES)
    assert not stubs["portal"].seen


# --------------------------------------------------------------------------------------------- health


async def test_healthz_reports_the_portal(gw: Gateway, http: aiohttp.ClientSession, stubs: dict[str, Stub]) -> None:
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "services": {**dict.fromkeys(SERVICES, "ok"), "portal": "ok"}}
    stubs["portal"].ready_status = 503
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 503
        body = await resp.json(content_type=None)
    assert body["status"] == "unavailable"
    assert body["services"] == {**dict.fromkeys(SERVICES, "ok"), "portal": "unavailable"}


async def test_healthz_names_a_portal_that_is_not_listening(
    start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gw = await start_gateway(portal_url=f"http://127.0.0.1:{free_port()}")
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 503
        assert (await resp.json(content_type=None))["services"]["portal"] == "unavailable"
