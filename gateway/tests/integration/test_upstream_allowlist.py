"""The gateway never connects outside GOVDATA_UPSTREAM_ALLOWED_NETWORKS (API.md "Data plane"), whatever the
catalog accepted: a name is judged by the addresses it resolves to at connection time, an IP literal before any
connection; a refused call is 502 `upstream_not_allowed` and the provider's system receives nothing. And since
catalog events no longer carry the interface's address, the gateway reads it from catalog-svc when a resource is
published — data calls follow a revision that moves the provider's system."""

from __future__ import annotations

from aiohttp import web
from govdata_shared.contracts.catalog import RESOURCE_PUBLISHED
from govdata_shared.contracts.sharing import GRANT_SUSPENDED
from govdata_shared.testing import read_topic

PERSON = "/population/persons/p1"
LOOPBACK_OUTSIDE = "10.0.0.0/8,59.207.0.0/16"  # an extranet list: the test's provider (loopback) is outside it


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def _refused(platform, gw, token: str, rid: str) -> dict:
    async with gw.call(token, rid, PERSON) as resp:
        body = await platform.expect_problem(resp, 502, "upstream_not_allowed")
    # The caller is not the provider: the refusal never says where the provider's system is.
    text = str(body)
    assert "127.0.0.1" not in text and "localhost" not in text and str(_port(platform.provider.url)) not in text
    return body


async def test_a_name_resolving_to_a_refused_address_is_refused_at_connect_time(platform) -> None:
    """The catalog allowed the name (its own list had loopback); the gateway's list does not: DNS says loopback."""
    rid, gid, _ = await platform.setup(base_url=f"http://localhost:{_port(platform.provider.url)}")
    gw = await platform.start_gateway(govdata_upstream_allowed_networks=LOOPBACK_OUTSIDE)
    token = await gw.grant_token(gid)
    for _ in range(2):  # and again: a refusal is not cached as an address
        await _refused(platform, gw, token, rid)
    assert platform.provider.seen == []


async def test_an_ip_literal_outside_the_list_is_refused_before_connecting(platform) -> None:
    rid, gid, _ = await platform.setup()  # http://127.0.0.1:<port>
    gw = await platform.start_gateway(govdata_upstream_allowed_networks=LOOPBACK_OUTSIDE)
    token = await gw.grant_token(gid)
    await _refused(platform, gw, token, rid)
    assert platform.provider.seen == []


async def test_link_local_and_unspecified_literals_are_refused_even_when_the_list_allows_everything(platform) -> None:
    gw_args = {"govdata_upstream_allowed_networks": "0.0.0.0/0,::/0"}
    resources = []
    for base_url in ("http://169.254.169.254", "http://0.0.0.0:80", "http://[::ffff:169.254.169.254]"):
        rid, gid, _ = await platform.setup(base_url=base_url)
        resources.append((rid, gid))
    gw = await platform.start_gateway(**gw_args)
    for rid, gid in resources:
        token = await gw.grant_token(gid)
        async with gw.call(token, rid, PERSON) as resp:
            await platform.expect_problem(resp, 502, "upstream_not_allowed")


async def test_allowed_names_and_literals_are_forwarded(platform) -> None:
    """The default list (loopback, as `make run`): both the name and the literal reach the provider."""
    named, named_grant, _ = await platform.setup(base_url=f"http://localhost:{_port(platform.provider.url)}")
    literal, literal_grant, _ = await platform.setup()
    gw = await platform.start_gateway()
    for rid, gid in ((named, named_grant), (literal, literal_grant)):
        token = await gw.grant_token(gid)
        async with gw.call(token, rid, PERSON) as resp:
            assert resp.status == 200, await resp.text()
            assert set(await resp.json()) == set(platform.GRANTED)
    assert len(platform.provider.seen) == 2


async def test_a_revision_moving_the_provider_system_is_followed_without_the_address_on_the_bus(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, PERSON) == 200
    assert len(platform.provider.seen) == 1

    moved = type(platform.provider)()  # the department's new system, elsewhere
    runner = web.AppRunner(moved.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        moved.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        revision = platform.resource_event_data(rid, platform.interface(base_url=moved.url), revision=2)
        meta = await platform.events.resource(RESOURCE_PUBLISHED, revision, 4)
        await gw.caught_up(meta)  # the feed has fetched the entry by then
        assert await gw.status(token, rid, PERSON) == 200
        assert len(moved.seen) == 1 and len(platform.provider.seen) == 1
        assert f"/api/catalog/internal/interfaces/{rid}" in platform.snapshots.calls
    finally:
        await runner.cleanup()

    published = [e for e in await read_topic(platform.broker, "govdata.catalog.v1") if e.subject == rid]
    assert published and all("base_url" not in str(e.data) and moved.url not in str(e.data) for e in published)
    assert all("credential_ref" not in str(e.data) for e in published)


async def test_a_resource_published_later_is_served_once_its_entry_is_fetched_with_retries(platform) -> None:
    await platform.setup()
    gw = await platform.start_gateway()
    new_rid, _ = platform.new_ids()
    platform.snapshots.fail_next = 3  # catalog-svc answers 503 a few times: the feed retries
    meta = await platform.events.resource(
        RESOURCE_PUBLISHED, platform.resource_event_data(new_rid, platform.interface()), 1
    )
    await gw.caught_up(meta, timeout=15)
    assert new_rid in gw.plane.projection.resources
    assert gw.plane.projection.resources[new_rid].interface.base_url == platform.provider.url
    assert platform.snapshots.fail_next == 0


async def test_grant_events_are_applied_while_an_entry_cannot_be_fetched(platform) -> None:
    """A fetch waiting for catalog-svc does not hold the consumer: a suspension still takes effect at once."""
    rid, gid, data = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    new_rid, _ = platform.new_ids()
    platform.snapshots.fail_next = 10_000  # catalog-svc unreachable for the entry
    await platform.events.resource(RESOURCE_PUBLISHED, platform.resource_event_data(new_rid, platform.interface()), 1)
    await platform.events.grant(GRANT_SUSPENDED, {**data, "status": "suspended"}, 2)

    async def suspended() -> bool:
        return await gw.status(token, rid, PERSON) == 403

    took = await platform.until(suspended, timeout=5, interval=0.01)
    assert took < 2
    assert new_rid not in gw.plane.projection.resources
    platform.snapshots.fail_next = 0
    await platform.until(lambda: _has(gw, new_rid), timeout=15)


async def _has(gw, rid: str) -> bool:
    return rid in gw.plane.projection.resources
