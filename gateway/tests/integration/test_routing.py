"""The gateway's `/api/<service>/...` routing, `/healthz` and the metrics, over real HTTP, as a client sees them.

Small aiohttp servers on loopback ports stand in for catalog, sharing, verification, audit and notify; the real
gateway app (`create_app`) is served on a port of its own. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import socket
import time
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

SERVICES = ("catalog", "sharing", "verification", "audit", "notify")
# Routing needs no particular client: one department and one client keep the registry's seeding short.
CLIENTS = """
departments: [{code: YC-GA, name: 伊川县公安局}]
clients: [{client_id: ga-system, client_secret: s-ga-system, dept: YC-GA, roles: [dept_operator]}]
"""
UPSTREAM_TIMEOUT = 0.5
# Headers an aiohttp client adds on its own; the test client leaves them out so what the upstream sees is
# exactly what the test sent plus what the gateway adds.
AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
CHINESE_JSON = json.dumps(
    {
        "名称": "伊川县常住人口信息",
        "提供部门": "伊川县公安局",
        "说明": "按乡镇（街道）汇总，含“引号”与 emoji 🙂",
        "数量": 12,
    },
    ensure_ascii=False,
).encode("utf-8")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


# --------------------------------------------------------------------------------------------- upstreams


@dataclass
class Seen:
    """One request as an upstream received it."""

    method: str
    raw_path: str
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class Upstream:
    name: str
    url: str = ""
    runner: web.AppRunner | None = None
    seen: list[Seen] = field(default_factory=list)
    ready_status: int = 200
    ready_hangs: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)  # frees hanging handlers at teardown
    stream_go: asyncio.Event = field(default_factory=asyncio.Event)
    second_chunk_sent: bool = False

    @property
    def last(self) -> Seen:
        assert self.seen, f"{self.name} received no request"
        return self.seen[-1]

    async def hang(self, seconds: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), seconds)


def upstream_app(up: Upstream) -> web.Application:
    async def readyz(request: web.Request) -> web.Response:
        if up.ready_hangs:
            await up.hang()
        return web.json_response({"status": "ok" if up.ready_status == 200 else "unavailable"}, status=up.ready_status)

    async def anything(request: web.Request) -> web.StreamResponse:
        """Every other path: what to do comes in the `X-Test-Action` header, so the path itself is free."""
        action = request.headers.get("X-Test-Action", "echo")
        digest, size, chunks = hashlib.sha256(), 0, []
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            size += len(chunk)
            chunks.append(chunk)
        body = b"".join(chunks)
        up.seen.append(Seen(request.method, request.raw_path, CIMultiDict(request.headers), body))
        rid = request.headers.get("X-Request-ID", "")

        if action == "echo":
            status = int(request.headers.get("X-Test-Status", "200"))
            headers = CIMultiDict(
                {"X-Upstream": up.name, "X-Custom-Header": "custom value; with=params", "X-Request-ID": rid}
            )
            headers.add("Set-Cookie", "session=abc123; Path=/; HttpOnly")
            headers.add("Set-Cookie", "lang=zh-CN; Path=/; SameSite=Lax")
            headers.add("X-Multi", "one")
            headers.add("X-Multi", "two")
            if status in (204, 304):
                headers["ETag"] = '"v1"'
                return web.Response(status=status, headers=headers)
            echo = {
                "service": up.name,
                "method": request.method,
                "raw_path": request.raw_path,
                "body_sha256": digest.hexdigest(),
                "body_length": size,
            }
            return web.json_response(echo, status=status, headers=headers)
        if action == "chinese":
            content_type = request.headers.get("Content-Type", "application/json; charset=utf-8")
            payload = body if request.method == "POST" else CHINESE_JSON
            return web.Response(body=payload, headers={"Content-Type": content_type})
        if action in ("stream", "trickle", "break", "stall"):
            response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(b"first-chunk|")
            if action == "stream":
                try:
                    await asyncio.wait_for(up.stream_go.wait(), 5)
                except TimeoutError:
                    await response.write(b"upstream gave up waiting")
                up.second_chunk_sent = True
                await response.write(b"second-chunk")
            elif action == "trickle":
                for i in range(8):
                    await asyncio.sleep(UPSTREAM_TIMEOUT * 0.3)
                    await response.write(f"part-{i}|".encode())
            elif action == "break":
                assert request.transport is not None
                request.transport.close()
                return response
            else:  # stall: longer than the gateway's timeout without a byte
                await up.hang(UPSTREAM_TIMEOUT * 6)
            with contextlib.suppress(ConnectionError):  # the gateway gave up on us (stall), as it should
                await response.write_eof()
            return response
        if action == "slow":
            await up.hang(UPSTREAM_TIMEOUT * 6)
            return web.json_response({"late": True})
        raise AssertionError(f"unknown test action {action}")

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
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def upstreams() -> AsyncIterator[dict[str, Upstream]]:
    ups = {name: Upstream(name) for name in SERVICES}
    try:
        for up in ups.values():
            up.runner, up.url = await serve(upstream_app(up))
        yield ups
    finally:
        for up in ups.values():
            up.release.set()
            up.stream_go.set()
        for up in ups.values():
            if up.runner is not None:
                await up.runner.cleanup()


@dataclass
class Gateway:
    url: str
    settings: GatewaySettings

    def __call__(self, target: str) -> URL:
        """The gateway URL of a raw, already-encoded request target: sent exactly as written."""
        return URL(self.url + target, encoded=True)


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start_gateway(
    tmp_path: Path, upstreams: dict[str, Upstream], migrated, backend: str
) -> AsyncIterator[StartGateway]:
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
            "portal_url": "",  # no portal behind this gateway: test_portal_routing.py serves one
            **{f"{name}_url": up.url for name, up in upstreams.items()},
        }
        values.update(overrides)
        settings = GatewaySettings(**values)
        runner, url = await serve(create_app(settings))
        runners.append(runner)
        return Gateway(url, settings)

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
    assert problem["status"] == status and problem["code"] == code, problem
    assert problem["type"].endswith(code) and problem["title"] and problem["detail"], problem
    assert resp.headers.get("X-Request-ID"), "problems carry the request id too"
    return problem


async def still_serving(http: aiohttp.ClientSession, gw: Gateway, service: str = "sharing") -> None:
    async with http.get(gw(f"/api/{service}/ping")) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["service"] == service


# --------------------------------------------------------------------------------------------- pass-through


@pytest.mark.parametrize(
    ("method", "status"),
    [("GET", 200), ("POST", 201), ("PUT", 200), ("PATCH", 202), ("DELETE", 200), ("POST", 409), ("GET", 503)],
)
async def test_status_headers_and_body_pass_through(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream], method: str, status: int
) -> None:
    sent = f"{method} body".encode() if method in ("POST", "PUT", "PATCH") else None
    headers = {"X-Test-Status": str(status)}
    if sent is not None:
        headers["Content-Type"] = "text/plain; charset=utf-8"
    async with http.request(method, gw("/api/catalog/resources/42"), data=sent, headers=headers) as resp:
        raw = await resp.read()
        assert resp.status == status, raw
        # The upstream's own body, untouched, even for its errors (the gateway only wraps its own failures).
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        body = json.loads(raw)
        assert resp.headers["Content-Length"] == str(len(raw))
        assert resp.headers["X-Upstream"] == "catalog"
        assert resp.headers["X-Custom-Header"] == "custom value; with=params"
        assert resp.headers.getall("Set-Cookie") == [
            "session=abc123; Path=/; HttpOnly",
            "lang=zh-CN; Path=/; SameSite=Lax",
        ]
        assert resp.headers.getall("X-Multi") == ["one", "two"]
        assert len(resp.headers.getall("X-Request-ID")) == 1
    assert body["service"] == "catalog" and body["method"] == method
    assert body["raw_path"] == "/api/catalog/resources/42"
    expected = sent or b""
    assert (body["body_length"], body["body_sha256"]) == (len(expected), hashlib.sha256(expected).hexdigest())
    seen = upstreams["catalog"].last
    assert (seen.method, seen.body) == (method, expected)
    if sent is not None:
        assert seen.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert all(not up.seen for name, up in upstreams.items() if name != "catalog")


@pytest.mark.parametrize("status", [204, 304])
async def test_bodiless_statuses_pass_through(gw: Gateway, http: aiohttp.ClientSession, status: int) -> None:
    method = "DELETE" if status == 204 else "GET"
    headers = {"X-Test-Status": str(status)}
    async with http.request(method, gw("/api/audit/things/1"), headers=headers) as resp:
        assert resp.status == status
        assert await resp.read() == b""
        assert resp.headers["ETag"] == '"v1"'
        assert resp.headers.getall("Set-Cookie")[1] == "lang=zh-CN; Path=/; SameSite=Lax"
    await still_serving(http, gw, "audit")


async def test_head_passes_through_without_body(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    async with http.head(gw("/api/catalog/resources")) as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) > 100  # the length the GET body would have
        assert resp.headers["X-Upstream"] == "catalog"
        assert await resp.read() == b""
    assert upstreams["catalog"].last.method == "HEAD"
    await still_serving(http, gw, "catalog")


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_gets_its_own_traffic(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream], service: str
) -> None:
    async with http.get(gw(f"/api/{service}/whoami")) as resp:
        assert resp.status == 200
        assert resp.headers["X-Upstream"] == service
    assert [s.raw_path for s in upstreams[service].seen] == [f"/api/{service}/whoami"]
    assert sum(len(up.seen) for up in upstreams.values()) == 1


@pytest.mark.parametrize(
    ("service", "target"),
    [
        ("catalog", "/api/catalog/resources?name=%E4%BC%8A%E5%B7%9D%E5%8E%BF%E4%BA%BA%E5%8F%A3&page=2&size=20"),
        ("catalog", "/api/catalog/resources/%E4%BA%BA%E5%8F%A3%E5%BA%93/items"),
        ("sharing", "/api/sharing/a%2Fb/c%20d/100%25/%7Euser/%e4%bd%a0?q=a+b&q=c%26d&empty=&flag&x=%3D%3F%23"),
        ("verification", "/api/verification"),
        ("verification", "/api/verification?only=query"),
        ("audit", "/api/audit/"),
        ("audit", "/api/audit/events/;matrix=1/a:b@c!$'()*,?from=2026-01-01T00:00:00%2B08:00&x=~"),
        ("catalog", "/api/catalog/a/%2E%2E/b/./c?dots=..%2F.."),
    ],
)
async def test_path_and_query_arrive_unchanged(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream], service: str, target: str
) -> None:
    async with http.get(gw(target)) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["raw_path"] == target
    assert upstreams[service].last.raw_path == target


async def test_request_headers_arrive_but_hop_by_hop_ones_do_not(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    headers = CIMultiDict(
        {
            "Authorization": "Bearer eyJ.test.token",
            "X-Dept": "YC-GA",
            "Accept-Language": "zh-CN,zh;q=0.9",
            "Cookie": "a=1; b=2",
            "If-None-Match": '"v0"',
            "Connection": "keep-alive, X-Hop-Named",
            "X-Hop-Named": "named in Connection, so connection-specific",
            "Keep-Alive": "timeout=5, max=100",
            "TE": "trailers",
            "Upgrade": "h2c",
            "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
            "Proxy-Connection": "keep-alive",
            "X-Forwarded-Proto": "https",  # a client cannot claim these
            "X-Forwarded-Host": "evil.example",
        }
    )
    headers.add("X-Multi", "first")
    headers.add("X-Multi", "second")
    async with http.get(gw("/api/catalog/whoami"), headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    seen = upstreams["catalog"].last.headers
    assert seen["Authorization"] == "Bearer eyJ.test.token"
    assert seen["X-Dept"] == "YC-GA"
    assert seen["Accept-Language"] == "zh-CN,zh;q=0.9"
    assert seen["Cookie"] == "a=1; b=2"
    assert seen["If-None-Match"] == '"v0"'
    assert seen.getall("X-Multi") == ["first", "second"]
    for hop in ("Keep-Alive", "TE", "Upgrade", "Proxy-Authorization", "Proxy-Connection", "X-Hop-Named"):
        assert hop not in seen, hop
    assert "x-hop-named" not in seen.get("Connection", "").lower()
    # Nothing the client did not send appears, apart from what the gateway adds on purpose.
    for auto in AUTO_HEADERS:
        assert auto not in seen, auto
    gw_host = URL(gw.url).authority
    assert seen["Host"] == URL(upstreams["catalog"].url).authority
    assert seen.getall("X-Forwarded-For") == ["127.0.0.1"]
    assert seen.getall("X-Forwarded-Proto") == ["http"]
    assert seen.getall("X-Forwarded-Host") == [gw_host]
    assert HEX32.match(seen["X-Request-ID"])


async def test_forwarded_for_appends_the_peer(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    async with http.get(gw("/api/sharing/x"), headers={"X-Forwarded-For": "203.0.113.7"}) as resp:
        assert resp.status == 200
    assert upstreams["sharing"].last.headers.getall("X-Forwarded-For") == ["203.0.113.7, 127.0.0.1"]


@pytest.mark.parametrize("incoming", ["req-20260101.abc:01_X", "a", "0" * 128, "3f2c9d1e-77aa-4c1b-9e0f-123456789abc"])
async def test_safe_request_id_is_kept_and_echoed(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream], incoming: str
) -> None:
    async with http.get(gw("/api/verification/x"), headers={"X-Request-ID": incoming}) as resp:
        assert resp.status == 200
        assert resp.headers.getall("X-Request-ID") == [incoming]
    assert upstreams["verification"].last.headers.getall("X-Request-ID") == [incoming]


@pytest.mark.parametrize("incoming", [None, "has spaces in it", "x" * 300, "", "semi;colon", "slash/id", "ünïcode"])
async def test_unsafe_or_missing_request_id_is_replaced(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream], incoming: str | None
) -> None:
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    async with http.get(gw("/api/verification/x"), headers=headers) as resp:
        assert resp.status == 200
        echoed = resp.headers.getall("X-Request-ID")
    assert len(echoed) == 1 and HEX32.match(echoed[0]), echoed
    assert upstreams["verification"].last.headers.getall("X-Request-ID") == echoed


async def test_gateway_own_responses_echo_the_request_id(gw: Gateway, http: aiohttp.ClientSession) -> None:
    async with http.get(gw("/no/such/page"), headers={"X-Request-ID": "rid-404"}) as resp:
        await expect_problem(resp, 404, "not_found")
        assert resp.headers["X-Request-ID"] == "rid-404"
    # (Not /readyz: it is 503 until the data plane's projections are bootstrapped, and no broker runs here.)
    async with http.get(gw("/.well-known/jwks.json"), headers={"X-Request-ID": "rid-ready"}) as resp:
        assert resp.status == 200 and resp.headers["X-Request-ID"] == "rid-ready"


async def test_chinese_json_passes_through_byte_exact(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    async with http.get(gw("/api/catalog/resources/1"), headers={"X-Test-Action": "chinese"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        assert await resp.read() == CHINESE_JSON
    posted = json.dumps(
        {"申请事由": "办理低保复核", "申请部门": "伊川县民政局", "字段": ["姓名", "身份证号"]}, ensure_ascii=False
    )
    headers = {"X-Test-Action": "chinese", "Content-Type": "application/json; charset=utf-8"}
    async with http.post(gw("/api/sharing/requests"), data=posted.encode("utf-8"), headers=headers) as resp:
        assert resp.status == 200
        assert await resp.read() == posted.encode("utf-8")
        assert json.loads(await resp.read())["申请部门"] == "伊川县民政局"
    assert upstreams["sharing"].last.body == posted.encode("utf-8")


# --------------------------------------------------------------------------------------------- streaming


async def test_large_upload_reaches_the_upstream_intact(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    blob = os.urandom(8 * 1024 * 1024)
    expected = hashlib.sha256(blob).hexdigest()
    headers = {"Content-Type": "application/octet-stream"}
    async with http.post(gw("/api/verification/uploads"), data=blob, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    assert (body["body_length"], body["body_sha256"]) == (len(blob), expected)
    seen = upstreams["verification"].last
    assert seen.headers["Content-Length"] == str(len(blob))  # a declared length is kept, not re-chunked

    async def chunks() -> AsyncIterator[bytes]:
        view = memoryview(blob)
        for start in range(0, len(blob), 300_000):
            yield bytes(view[start : start + 300_000])

    async with http.put(gw("/api/verification/uploads/2"), data=chunks(), headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    assert (body["body_length"], body["body_sha256"]) == (len(blob), expected)
    assert upstreams["verification"].last.headers["Transfer-Encoding"] == "chunked"


async def test_streaming_response_arrives_chunk_by_chunk(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    up = upstreams["audit"]
    async with http.get(gw("/api/audit/export"), headers={"X-Test-Action": "stream"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/octet-stream"
        first = b""
        while len(first) < len(b"first-chunk|"):
            # The upstream holds the rest back until we say so: only an unbuffered gateway gets us here.
            first += await asyncio.wait_for(resp.content.readany(), 3)
        assert first == b"first-chunk|"
        assert not up.second_chunk_sent
        up.stream_go.set()
        rest = await asyncio.wait_for(resp.read(), 3)
    assert first + rest == b"first-chunk|second-chunk"
    assert up.second_chunk_sent


async def test_long_stream_is_not_cut_by_the_upstream_timeout(gw: Gateway, http: aiohttp.ClientSession) -> None:
    # Eight parts over ~1.2 s, each within the 0.5 s timeout: an active stream may outlast the timeout.
    started = time.monotonic()
    async with http.get(gw("/api/catalog/export"), headers={"X-Test-Action": "trickle"}) as resp:
        assert resp.status == 200
        body = await resp.read()
    assert time.monotonic() - started > UPSTREAM_TIMEOUT * 2
    assert body == b"first-chunk|" + b"".join(f"part-{i}|".encode() for i in range(8))


@pytest.mark.parametrize("action", ["break", "stall"])
async def test_upstream_failing_mid_stream_is_not_passed_off_as_complete(
    gw: Gateway, http: aiohttp.ClientSession, action: str
) -> None:
    async with http.get(gw("/api/catalog/export"), headers={"X-Test-Action": action}) as resp:
        assert resp.status == 200  # already sent when the upstream failed
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(resp.read(), 5)
    await still_serving(http, gw, "catalog")


# --------------------------------------------------------------------------------------------- failures


async def test_unreachable_service_is_502_and_the_gateway_keeps_serving(
    start_gateway: StartGateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    gw = await start_gateway(catalog_url=f"http://127.0.0.1:{free_port()}")
    for method in ("GET", "POST"):
        async with http.request(method, gw("/api/catalog/resources"), data=b"{}" if method == "POST" else None) as resp:
            problem = await expect_problem(resp, 502, "upstream_unavailable")
            assert "catalog" in problem["detail"]
    await still_serving(http, gw, "sharing")


async def test_slow_service_is_504_and_the_gateway_keeps_serving(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    started = time.monotonic()
    async with http.get(gw("/api/audit/report"), headers={"X-Test-Action": "slow"}) as resp:
        problem = await expect_problem(resp, 504, "upstream_timeout")
    assert UPSTREAM_TIMEOUT * 0.9 <= time.monotonic() - started < UPSTREAM_TIMEOUT + 1.5
    assert "audit" in problem["detail"]
    await still_serving(http, gw, "audit")
    await still_serving(http, gw, "catalog")


async def test_unknown_service_is_404(gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]) -> None:
    for target in ("/api/nosuch/resources", "/api/nosuch", "/api/catalogue/x"):
        async with http.get(gw(target)) as resp:
            await expect_problem(resp, 404, "unknown_service")
    assert all(not up.seen for up in upstreams.values())


@pytest.mark.parametrize("target", ["/nope", "/api", "/api/", "/auth", "/healthz/extra", "/"])
async def test_unknown_gateway_path_is_404(gw: Gateway, http: aiohttp.ClientSession, target: str) -> None:
    async with http.get(gw(target)) as resp:
        await expect_problem(resp, 404, "not_found")


async def test_wrong_method_is_405_problem_with_allow(gw: Gateway, http: aiohttp.ClientSession) -> None:
    async with http.get(gw("/auth/token")) as resp:
        await expect_problem(resp, 405, "method_not_allowed")
        assert resp.headers["Allow"] == "POST"
    async with http.post(gw("/healthz")) as resp:
        await expect_problem(resp, 405, "method_not_allowed")
        assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
    async with http.delete(gw("/.well-known/jwks.json")) as resp:
        await expect_problem(resp, 405, "method_not_allowed")


async def test_body_over_the_limit_is_413(
    start_gateway: StartGateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    gw = await start_gateway(max_request_body_bytes=1024)
    up = upstreams["catalog"]

    # Declared too large: refused before anything reaches the service.
    async with http.post(gw("/api/catalog/resources"), data=b"x" * 2048) as resp:
        problem = await expect_problem(resp, 413, "payload_too_large")
        assert problem["detail"]
    assert not up.seen

    # Streamed (chunked, no length) past the limit: cut off and refused as well.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b"y" * 256

    async with http.put(gw("/api/catalog/resources/1"), data=chunks()) as resp:
        await expect_problem(resp, 413, "payload_too_large")

    # At the limit exactly: fine, by either framing.
    async with http.post(gw("/api/catalog/resources"), data=b"z" * 1024) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["body_length"] == 1024

    async def small() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"w" * 256

    async with http.post(gw("/api/catalog/resources"), data=small()) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["body_length"] == 1024
    assert all(len(s.body) <= 1024 for s in up.seen)
    await still_serving(http, gw, "catalog")


async def test_expect_continue_is_refused_early_when_declared_too_large(
    start_gateway: StartGateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    gw = await start_gateway(max_request_body_bytes=1024)
    async with http.post(gw("/api/catalog/resources"), data=b"x" * 4096, expect100=True) as resp:
        await expect_problem(resp, 413, "payload_too_large")
    assert not upstreams["catalog"].seen
    async with http.post(gw("/api/catalog/resources"), data=b"x" * 1000, expect100=True) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["body_length"] == 1000
    await still_serving(http, gw, "catalog")


async def test_token_endpoint_still_works_with_a_small_body_limit(
    start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gw = await start_gateway(max_request_body_bytes=1024)
    form = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "wrong"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(gw("/auth/token"), data=form, headers=headers) as resp:
        await expect_problem(resp, 401, "invalid_client")


# --------------------------------------------------------------------------------------------- health, metrics


async def test_healthz_all_ok(gw: Gateway, http: aiohttp.ClientSession) -> None:
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.json() == {
            "status": "ok",
            "services": {"catalog": "ok", "sharing": "ok", "verification": "ok", "audit": "ok", "notify": "ok"},
        }


async def test_healthz_names_a_service_whose_readyz_fails(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    upstreams["sharing"].ready_status = 503
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 503
        body = await resp.json(content_type=None)
    assert body["status"] != "ok"
    assert body["services"] == {**dict.fromkeys(SERVICES, "ok"), "sharing": "unavailable"}
    upstreams["sharing"].ready_status = 200
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 200


async def test_healthz_names_a_service_that_is_not_listening(
    start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gw = await start_gateway(verification_url=f"http://127.0.0.1:{free_port()}")
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 503
        body = await resp.json(content_type=None)
    assert body["services"] == {**dict.fromkeys(SERVICES, "ok"), "verification": "unavailable"}


async def test_healthz_counts_a_hanging_readyz_as_unavailable_quickly(
    gw: Gateway, http: aiohttp.ClientSession, upstreams: dict[str, Upstream]
) -> None:
    upstreams["audit"].ready_hangs = True
    started = time.monotonic()
    async with http.get(gw("/healthz")) as resp:
        assert resp.status == 503
        body = await resp.json(content_type=None)
    assert time.monotonic() - started < 3.0
    assert body["services"] == {**dict.fromkeys(SERVICES, "ok"), "audit": "unavailable"}


async def test_metrics_are_prometheus_text(gw: Gateway, http: aiohttp.ClientSession) -> None:
    """On the metrics listener (GATEWAY_METRICS_PORT), never on the public port (issue 13)."""
    from govdata_gateway.health import start_metrics_listener

    async with http.get(gw("/api/catalog/resources")) as resp:
        assert resp.status == 200
    async with http.get(gw("/metrics")) as resp:
        assert resp.status == 404
    runner = await start_metrics_listener("127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        async with http.get(f"http://{host}:{port}/metrics") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/plain"
            text = await resp.text()
    finally:
        await runner.cleanup()
    assert "# TYPE govdata_gateway_requests_total counter" in text
    assert re.search(r'govdata_gateway_requests_total\{area="api_catalog",method="GET",status="200"\} [1-9]', text)
    assert "govdata_gateway_request_duration_seconds_bucket" in text
