"""Operational endpoints off the public port (issue 13): Prometheus metrics on a listener of their own, nothing on
the public port that describes the platform's internals — from the side of a caller who can reach only that port.

The platform around the gateway (provider, snapshot endpoints standing in for the services) is in conftest.py.
"""

from __future__ import annotations

import asyncio
import re
import signal

import aiohttp
import pytest
from govdata_gateway.clients import Client
from govdata_gateway.health import start_metrics_listener
from govdata_gateway.identity import TOKEN_ISSUER


async def test_metrics_are_not_served_on_the_public_port(platform) -> None:
    gw = await platform.start_gateway()
    for method in ("GET", "HEAD", "POST"):
        async with platform.http.request(method, f"{gw.url}/metrics") as resp:
            body = await resp.read()
            assert resp.status == 404, (method, body)
            assert b"govdata_gateway" not in body and b"python_gc" not in body
    for path in ("/metrics", "/metrics/", "/metrics?name[]=govdata_gateway_requests_total"):
        body = await platform.expect_problem(await platform.http.get(f"{gw.url}{path}"), 404, "not_found")
        assert "govdata" not in body["detail"]


async def test_the_metrics_listener_serves_the_gateways_metrics_and_stops(platform) -> None:
    gw = await platform.start_gateway()
    async with platform.http.get(f"{gw.url}/api/identity/me") as resp:  # something to count
        assert resp.status == 401
    runner = await start_metrics_listener("127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        async with platform.http.get(f"http://{host}:{port}/metrics") as resp:
            text = await resp.text()
            assert resp.status == 200 and resp.content_type == "text/plain"
        assert 'govdata_gateway_requests_total{area="api_identity",method="GET",status="401"}' in text
        assert "govdata_gateway_request_duration_seconds_bucket" in text
        async with platform.http.get(f"http://{host}:{port}/healthz") as resp:
            assert resp.status == 404  # the listener serves metrics and nothing else
    finally:
        await runner.cleanup()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with platform.http.get(f"http://{host}:{port}/metrics"):
            pass


def gateway_token(gw) -> str:
    """A token of the gateway itself (role `gateway`), the one its projections present to the services."""
    me = Client(client_id="gateway", dept=None, roles=frozenset({"gateway"}), name="平台网关")
    return gw.app[TOKEN_ISSUER].issue(me).access_token


@pytest.mark.parametrize(
    "path",
    [
        "/api/catalog/internal/interfaces",
        "/api/sharing/internal/grants",
        "/api/catalog/%69nternal/interfaces",  # percent-encoded: the service would decode it
        "/api/catalog/internal%2Finterfaces",
        "/api/catalog//internal/interfaces",
        "/api/catalog/./internal/interfaces",
        "/api/catalog/resources/../internal/interfaces",
        "/api/catalog/../../metrics",  # a service's own /metrics, by dot segments
        "/api/catalog/%2e%2e/%2e%2e/metrics",
    ],
)
async def test_the_services_internal_routes_are_not_reachable_through_the_gateway(platform, path) -> None:
    """The snapshot routes are for the gateway's own projections, which call the services directly: from outside
    they do not exist, even with a token that carries the gateway's role."""
    gw = await platform.start_gateway()
    # The projection's own fetches of one resource's entry (for catalog events of other tests on this broker) may
    # come at any time: every other call to the services counts.
    entry = re.compile(r"/api/catalog/internal/interfaces/res-[0-9a-f]+")

    def reached() -> int:
        return sum(1 for call in platform.snapshots.calls if not entry.fullmatch(call))

    seen = reached()
    url = aiohttp.client.URL(f"{gw.url}{path}", encoded=True)
    for headers in ({}, {"Authorization": f"Bearer {gateway_token(gw)}"}):
        async with platform.http.get(url, headers=headers) as resp:
            text = await resp.text()
            assert resp.status == 404, (path, text)
            assert resp.content_type == "application/problem+json"
            assert "interface" not in text and "grant_id" not in text
    assert reached() == seen, "the request reached a service"
    # The same token and route are what the projections use, straight at the service: it is there.
    async with platform.http.get(
        f"{platform.snapshots.url}/api/catalog/internal/interfaces",
        headers={"Authorization": f"Bearer {gateway_token(gw)}"},
    ) as resp:
        assert resp.status == 200


async def test_public_answers_name_no_server_software(platform) -> None:
    """Neither the gateway's own aiohttp nor a service's server (proxied) shows its name or version."""
    gw = await platform.start_gateway()
    for path in ("/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/api/catalog/resources", "/nowhere"):
        async with platform.http.get(f"{gw.url}{path}") as resp:
            await resp.read()
            assert resp.headers.getall("Server") == ["govdata-gateway"], (path, resp.headers.getall("Server"))


async def test_healthz_keeps_its_documented_shape(platform) -> None:
    """API.md "Running": `{status, services:{catalog, sharing, verification, audit, notify}}` (and the portal, when the
    gateway serves one) — names and states only."""
    gw = await platform.start_gateway()
    async with platform.http.get(f"{gw.url}/healthz") as resp:
        body = await resp.json()
    assert set(body) == {"status", "services"}
    assert set(body["services"]) - {"portal"} == {"catalog", "sharing", "verification", "audit", "notify"}
    assert set(body["services"].values()) <= {"ok", "unavailable"}
    assert "http" not in str(body)  # no service addresses


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_gateway_process_serves_metrics_apart_and_stops_them_on_sigterm(platform) -> None:
    """`python -m govdata_gateway`, as make run and the pods start it: metrics on GATEWAY_METRICS_PORT, a 404 for
    /metrics on GATEWAY_PORT, and on SIGTERM both listeners close and the process exits 0."""
    public, metrics = free_port(), free_port()
    env = platform.process_env(
        "process-data",
        GATEWAY_PORT=str(public),
        GATEWAY_METRICS_HOST="127.0.0.1",
        GATEWAY_METRICS_PORT=str(metrics),
        GATEWAY_WORKERS="1",
    )
    process, log_file = await platform.gateway_process(env, "gateway-process.log")
    try:

        async def answers() -> bool:
            try:
                async with platform.http.get(f"http://127.0.0.1:{metrics}/metrics") as resp:
                    return resp.status == 200 and "govdata_gateway_" in await resp.text()
            except aiohttp.ClientConnectionError:
                assert process.returncode is None, log_file.read_text()
                return False

        await platform.until(answers, timeout=30, interval=0.1)

        async def public_up() -> bool:
            try:
                async with platform.http.get(f"http://127.0.0.1:{public}/metrics") as resp:
                    return resp.status == 404
            except aiohttp.ClientConnectionError:
                return False

        await platform.until(public_up, timeout=30, interval=0.1)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 20)
        output = log_file.read_text()
        assert code == 0, output
        assert "Traceback" not in output, output
        for port in (public, metrics):
            with pytest.raises(aiohttp.ClientConnectionError):
                async with platform.http.get(f"http://127.0.0.1:{port}/metrics"):
                    pass
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/identity/users?dept=YC-GA%00", "dept"),
        ("/auth/authorize?response_type=code&client_id=portal%00", "client_id"),
        ("/auth/login?pending=%00", "pending"),
        ("/api/catalog/resources/res-%00", "path"),
    ],
)
async def test_a_nul_character_in_the_path_or_query_of_the_gateways_own_routes_is_a_422(platform, path, field):
    """A %00 reaching a sign-in lookup or a registry query was a 500 on Postgres; it is refused at the gateway,
    naming the parameter, before any handler or service sees it."""
    gw = await platform.start_gateway()
    seen = len(platform.snapshots.calls)
    url = aiohttp.client.URL(f"{gw.url}{path}", encoded=True)
    async with platform.http.get(url, allow_redirects=False) as resp:
        body = await resp.json(content_type=None)
        assert resp.status == 422, body
        assert resp.content_type == "application/problem+json"
        assert (body["field"], body["rule"]) == (field, "no_nul_character")
    assert len(platform.snapshots.calls) == seen
