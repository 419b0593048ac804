"""Usage (aggregated) and denials as events on govdata.access.v1, read back from the real broker; and what
happens to them while the broker cannot be reached."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from govdata_gateway.settings import GatewaySettings
from govdata_gateway.usage import AccessEvents
from govdata_local.broker import LocalBroker
from govdata_shared.contracts import parse_data
from govdata_shared.contracts.access import ACCESS_DENIED, ACCESS_USAGE, DENIAL_REASONS
from govdata_shared.contracts.sharing import GRANT_SUSPENDED
from govdata_shared.events import Event
from govdata_shared.testing import read_topic

ACCESS = "govdata.access.v1"


async def _events(broker: str, event_type: str, **match: str) -> list[Event]:
    return [
        e
        for e in await read_topic(broker, ACCESS)
        if e.type == event_type and all(e.data.get(k) == v for k, v in match.items())
    ]


async def test_n_calls_are_one_usage_event_with_calls_n_flushed_on_shutdown(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway(usage_flush_seconds=60)
    token = await gw.grant_token(gid)
    for _ in range(7):
        assert await gw.status(token, rid, "/population/persons/p1") == 200
    assert gw.plane.events.pending_calls(gid) == 7
    assert await _events(platform.broker, ACCESS_USAGE, grant_id=gid) == []  # not one event per call
    await gw.stop()
    platform.gateways.remove(gw)

    events = await _events(platform.broker, ACCESS_USAGE, grant_id=gid)
    assert len(events) == 1
    event = events[0]
    usage = parse_data(event)
    assert usage.calls == 7
    assert (usage.holder_dept, usage.provider_dept, usage.resource_id) == (
        platform.HOLDER,
        platform.PROVIDER,
        rid,
    )
    assert usage.window_start <= usage.last_used_at <= usage.window_end
    assert event.source == "/govdata/gateway" and event.subject == gid and event.dept == platform.HOLDER


async def test_usage_is_reported_every_window(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway(usage_flush_seconds=0.3)
    token = await gw.grant_token(gid)
    for _ in range(5):
        assert await gw.status(token, rid, "/population/list") == 200

    async def reported() -> bool:
        events = await _events(platform.broker, ACCESS_USAGE, grant_id=gid)
        return sum(e.data["calls"] for e in events) == 5

    await platform.until(reported, timeout=10, interval=0.2)
    # Refused calls are not usage.
    assert await gw.status(token, rid, "/population/admin") == 403
    await asyncio.sleep(0.8)
    events = await _events(platform.broker, ACCESS_USAGE, grant_id=gid)
    assert sum(e.data["calls"] for e in events) == 5


async def test_every_denial_is_an_event(platform) -> None:
    rid, gid, data = await platform.setup(rate_limit=1)
    other, _ = platform.new_ids()
    platform.add_resource(other)
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/population/persons/p1") == 200
    assert await gw.status(token, rid, "/population/persons/p1") == 429  # rate_limited
    assert await gw.status(token, other, "/population/persons/p1") == 403  # wrong_resource
    assert await gw.status(token, rid, "/admin/users") == 403  # outside_interface
    assert await gw.status(None, rid, "/population/persons/p1") == 401  # missing_token
    assert await gw.status("garbage.token.here", rid, "/population/persons/p1") == 401  # invalid_token
    meta = await platform.events.grant(GRANT_SUSPENDED, {**data, "status": "suspended"}, 2)
    await gw.caught_up(meta)
    assert await gw.status(token, rid, "/population/persons/p1") == 403  # grant_not_active

    expected = {
        ("rate_limited", 429, rid),
        ("wrong_resource", 403, other),
        ("outside_interface", 403, rid),
        ("missing_token", 401, rid),
        ("invalid_token", 401, rid),
        ("grant_not_active", 403, rid),
    }

    async def all_there() -> bool:
        events = await read_topic(platform.broker, ACCESS)
        mine = [e for e in events if e.type == ACCESS_DENIED and e.data["resource_id"] in (rid, other)]
        return {(e.data["reason"], e.data["status"], e.data["resource_id"]) for e in mine} >= expected

    await platform.until(all_there, timeout=10, interval=0.2)
    events = [e for e in await read_topic(platform.broker, ACCESS) if e.type == ACCESS_DENIED]
    by_reason = {e.data["reason"]: e for e in events if e.data["resource_id"] in (rid, other)}
    assert set(by_reason) <= set(DENIAL_REASONS)
    suspended = parse_data(by_reason["grant_not_active"])
    assert (suspended.grant_id, suspended.holder_dept, suspended.provider_dept, suspended.client_id) == (
        gid,
        platform.HOLDER,
        platform.PROVIDER,
        "mz-system",
    )
    assert suspended.method == "GET" and suspended.path == f"/data/{rid}/population/persons/p1"
    wrong = parse_data(by_reason["wrong_resource"])
    assert wrong.grant_id == gid and wrong.client_id == "mz-system"
    anonymous = parse_data(by_reason["missing_token"])
    assert anonymous.grant_id is None and anonymous.client_id is None


async def test_identifiers_in_denied_paths_are_masked(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/admin/410329198503120015") == 403

    async def masked() -> bool:
        events = await _events(platform.broker, ACCESS_DENIED, resource_id=rid)
        return bool(events) and all("410329198503120015" not in e.to_json().decode() for e in events)

    await platform.until(masked, timeout=10, interval=0.2)


async def test_broker_outage_never_fails_recording_and_events_arrive_once_it_is_back(tmp_path) -> None:
    port = LocalBroker().port  # a free port with no broker yet
    settings = GatewaySettings(
        kafka_bootstrap_servers=f"127.0.0.1:{port}",
        usage_flush_seconds=0.2,
        access_event_buffer_max=50,
        govdata_data_dir=tmp_path,
        log_json=False,
    )
    events = AccessEvents(settings)
    events.start()
    try:
        for n in range(60):  # more than the buffer holds
            events.record_denial("missing_token", 401, f"res-outage-{n}", "GET", "/data/x/y")
        events.record_call("grt-outage", "YC-MZ", "YC-GA", "res-outage", None)
        await asyncio.sleep(0.6)  # a window closes while the broker is away
        assert events.buffered == 50 and events.dropped >= 10
        with LocalBroker(port=port) as broker:

            async def delivered() -> bool:
                return events.buffered == 0

            await _until(delivered, 40)
            topic = await read_topic(broker.bootstrap_servers, ACCESS)
            usage = [e for e in topic if e.type == ACCESS_USAGE]
            assert [e.data["calls"] for e in usage] == [1]
            denied = [e.data["resource_id"] for e in topic if e.type == ACCESS_DENIED]
            # The newest kept (the window's usage event took one place), each sent once.
            assert len(denied) == len(set(denied)) and set(denied) == {f"res-outage-{n}" for n in range(11, 60)}
            await events.stop()
    finally:
        await events.stop()


async def _until(check, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.1)


def test_unknown_denial_reason_is_a_programming_error(tmp_path) -> None:
    events = AccessEvents(GatewaySettings(govdata_data_dir=tmp_path))
    try:
        events.record_denial("because", 403, "r", "GET", "/")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown reason accepted")
    assert timedelta(seconds=events.flush_seconds) == timedelta(seconds=5)


async def test_data_calls_keep_working_while_access_events_cannot_be_sent(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway(usage_flush_seconds=0.2)
    token = await gw.grant_token(gid)
    events = gw.plane.events
    # The broker for access events goes away (the projection's consumer is not affected here).
    events.settings = events.settings.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{platform.free_port()}"}
    )
    await events._close_producer()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(10):
        assert await gw.status(token, rid, "/population/persons/p1") == 200
        assert await gw.status(token, rid, "/admin/x") == 403
    assert loop.time() - started < 5  # no call waited for Kafka
    await asyncio.sleep(0.5)
    assert events.buffered >= 10  # denials and the usage window wait for the broker
