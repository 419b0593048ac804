"""The gateway's upstream guard with a real aiohttp connector and a real server: the resolver keeps only allowed
addresses of a DNS answer (so a name re-pointed at cloud metadata or loopback is refused at connect time), and IP
literals — which aiohttp's connector never resolves — are judged by `literal_refusal`."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from govdata_gateway.upstream_guard import GuardedResolver, UpstreamGuard, UpstreamRefused, refused_by_allow_list
from govdata_shared.upstream import UpstreamPolicy

LOOPBACK = UpstreamPolicy.parse("127.0.0.0/8")
EXTRANET = UpstreamPolicy.parse("10.0.0.0/8")


class ZoneFile(AbstractResolver):
    """A DNS server's answers, changeable between calls (as an attacker re-points a name)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
async def provider() -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield str(runner.addresses[0][1]), seen
    finally:
        await runner.cleanup()


async def test_the_resolver_keeps_only_allowed_addresses() -> None:
    zone = ZoneFile({"ga.example": ["169.254.169.254", "127.0.0.1", "::ffff:169.254.169.254", "0.0.0.0"]})
    kept = await GuardedResolver(LOOPBACK, zone).resolve("ga.example", 80)
    assert [r["host"] for r in kept] == ["127.0.0.1"]
    zone.answers["ga.example"] = ["169.254.169.254", "10.1.2.3"]
    with pytest.raises(UpstreamRefused) as refused:
        await GuardedResolver(LOOPBACK, zone).resolve("ga.example", 80)
    assert isinstance(refused.value, OSError)
    assert {r.rule for r in refused.value.refusals} == {"address_always_refused", "outside_allowed_networks"}
    with pytest.raises(OSError) as unknown:  # a name that does not resolve stays an ordinary DNS failure
        await GuardedResolver(LOOPBACK, zone).resolve("nowhere.example", 80)
    assert not isinstance(unknown.value, UpstreamRefused)


async def test_a_re_pointed_name_is_refused_at_connect_time_and_nothing_is_sent(provider) -> None:
    port, seen = provider
    zone = ZoneFile({"ga.example": ["127.0.0.1"]})
    # No DNS cache here, so the second call resolves again (the data plane caches answers for 300 s, only the
    # allowed addresses of an answer; a refusal is never cached).
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(LOOPBACK, zone), use_dns_cache=False, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(f"http://ga.example:{port}/records") as resp:
            assert resp.status == 200
        zone.answers["ga.example"] = ["169.254.169.254"]  # DNS rebinding towards cloud metadata
        with pytest.raises(aiohttp.ClientConnectorDNSError) as caught:
            async with http.get(f"http://ga.example:{port}/records"):
                pass
    assert refused_by_allow_list(caught.value)
    assert seen == ["/records"]


async def test_ip_literals_bypass_the_resolver_so_the_handler_judges_them(provider) -> None:
    port, seen = provider
    zone = ZoneFile({})
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(EXTRANET, zone))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(f"http://127.0.0.1:{port}/literal") as resp,
    ):
        assert resp.status == 200  # aiohttp connected without asking the resolver ...
    assert zone.asked == [] and seen == ["/literal"]
    guard = UpstreamGuard(EXTRANET)  # ... which is why the data plane asks this first
    assert guard.literal_refusal(f"http://127.0.0.1:{port}").rule == "outside_allowed_networks"
    assert guard.literal_refusal("http://[fe80::1]:8080/x").rule == "address_always_refused"
    assert guard.literal_refusal("http://10.1.2.3:8080/population") is None
    assert guard.literal_refusal("http://ga.example:8080") is None  # names: the resolver's job
    assert guard.literal_refusal("http://10.1.2.3:8080/population") is None  # cached


async def test_a_refused_name_is_not_an_ordinary_connection_error() -> None:
    error = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("x", 80, False, True, None, None, None), OSError(111, "refused")
    )
    assert not refused_by_allow_list(error)
    assert not refused_by_allow_list(RuntimeError("x"))
