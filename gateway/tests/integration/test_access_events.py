"""Access records: one per data call, allowed or denied, sent in batches as access.records events and read back
from the real broker; what the spool does while the broker cannot be reached and across restarts."""

from __future__ import annotations

import asyncio
from typing import Any

from govdata_gateway.accesslog import AccessLog, SpoolLocked
from govdata_gateway.settings import GatewaySettings
from govdata_local.broker import LocalBroker
from govdata_shared.contracts import parse_data
from govdata_shared.contracts.access import ACCESS_RECORDS, DENIAL_REASONS
from govdata_shared.contracts.sharing import GRANT_SUSPENDED
from govdata_shared.testing import read_topic

ACCESS = "govdata.access.v1"


async def _records(broker: str, **match: Any) -> list[dict[str, Any]]:
    """Every access record on the topic whose fields equal `match`, in the order sent."""
    out = []
    for event in await read_topic(broker, ACCESS):
        if event.type == ACCESS_RECORDS:
            parse_data(event)  # each batch keeps to the contract
            out.extend(r for r in event.data["records"] if all(r.get(k) == v for k, v in match.items()))
    return out


async def _wait_records(platform, count: int, **match: Any) -> list[dict[str, Any]]:
    async def enough() -> bool:
        return len(await _records(platform.broker, **match)) >= count

    await platform.until(enough, timeout=15, interval=0.2)
    return await _records(platform.broker, **match)


async def test_each_call_is_one_record_and_calls_travel_in_batches(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    for _ in range(30):
        assert await gw.status(token, rid, "/population/persons/p1") == 200
    assert await gw.status(token, rid, "/population/persons?page=2") == 200

    records = await _wait_records(platform, 31, resource_id=rid)
    assert len(records) == 31 and len({r["id"] for r in records}) == 31
    one = records[0]
    assert (one["grant_id"], one["client_id"], one["system"]) == (gid, "mz-system", platform.HOLDER_SYSTEM)
    assert (one["holder_dept"], one["provider_dept"], one["method"]) == (platform.HOLDER, platform.PROVIDER, "GET")
    assert (one["status"], one["outcome"], one["records"]) == (200, "ok", 1)
    assert one["path"] == f"/data/{rid}/population/persons/p1"
    assert one["bytes"] > 0 and one["duration_ms"] > 0 and one["request_id"]
    listing = records[-1]
    assert listing["path"] == f"/data/{rid}/population/persons?page=2"
    assert listing["records"] == len(platform.PERSONS)
    batches = [
        e
        for e in await read_topic(platform.broker, ACCESS)
        if e.type == ACCESS_RECORDS and any(r["resource_id"] == rid for r in e.data["records"])
    ]
    assert len(batches) < 31  # many records per message, not a message per call
    assert all(e.subject == gw.plane.access.instance for e in batches)


async def test_every_denial_is_a_record(platform) -> None:
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

    records = await _wait_records(platform, 6, resource_id=rid)
    records += await _records(platform.broker, resource_id=other)
    by_outcome = {r["outcome"]: r for r in records}
    assert set(by_outcome) == {
        "ok",
        "rate_limited",
        "wrong_resource",
        "outside_interface",
        "missing_token",
        "invalid_token",
        "grant_not_active",
    }
    assert set(by_outcome) - {"ok"} <= set(DENIAL_REASONS)
    assert {r["status"] for r in records if r["outcome"] != "ok"} == {401, 403, 429}
    assert all(r["records"] == 0 for r in records if r["outcome"] != "ok")
    suspended = by_outcome["grant_not_active"]
    assert (suspended["grant_id"], suspended["holder_dept"], suspended["provider_dept"], suspended["client_id"]) == (
        gid,
        platform.HOLDER,
        platform.PROVIDER,
        "mz-system",
    )
    wrong = by_outcome["wrong_resource"]
    assert wrong["grant_id"] == gid and wrong["client_id"] == "mz-system" and wrong["resource_id"] == other
    anonymous = by_outcome["missing_token"]
    assert anonymous["grant_id"] is None and anonymous["client_id"] is None
    forged = by_outcome["invalid_token"]
    assert forged["client_id"] is None  # nothing an unverified token says is believed


async def test_identifiers_in_paths_and_queries_are_masked(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/admin/410329198503120015") == 403
    assert await gw.status(token, rid, "/population/persons?sfzh=410329198503120015&xydm=91410329MA47XXXX1X") == 200

    # In the resource segment and the request id too: both are the caller's words.
    async with gw.call(token, "410329198503120015", "/x", headers={"X-Request-ID": "91410329MA47XXXX1X"}) as resp:
        assert resp.status == 403

    records = await _wait_records(platform, 2, resource_id=rid)
    assert "410329198503120015" not in repr(records)
    everything = repr(await _records(platform.broker))
    assert "410329198503120015" not in everything and "91410329MA47XXXX1X" not in everything
    assert "4103**********0015" in everything
    assert records[0]["path"].startswith(f"/data/{rid}/admin/4103") and "*" in records[0]["path"]


async def test_records_wait_in_the_spool_while_the_broker_is_away_and_arrive_once(tmp_path) -> None:
    port = LocalBroker().port  # a free port with no broker yet
    settings = GatewaySettings(
        kafka_bootstrap_servers=f"127.0.0.1:{port}",
        gateway_access_flush_seconds=0.1,
        gateway_access_batch_max=7,
        govdata_data_dir=tmp_path,
        log_json=False,
    )
    log = AccessLog(settings)
    log.start()
    try:
        for n in range(50):
            assert log.record(_record(n))
        await asyncio.sleep(0.5)  # the sender tries and fails
        assert log.unsent_bytes > 0 and not log.refusing
        with LocalBroker(port=port) as broker:

            async def delivered() -> bool:
                return log.unsent_bytes == 0

            await _until(delivered, 40)
            ids = [r["id"] for e in await read_topic(broker.bootstrap_servers, ACCESS) for r in e.data["records"]]
            assert ids == [f"rec-{n:03d}" for n in range(50)]  # all, in order, once
            await log.stop()
    finally:
        await log.stop()


async def test_a_restarted_gateway_sends_what_an_earlier_run_left_in_the_spool(tmp_path, broker_bootstrap) -> None:
    dead = f"127.0.0.1:{LocalBroker().port}"
    first = AccessLog(GatewaySettings(kafka_bootstrap_servers=dead, govdata_data_dir=tmp_path, log_json=False))
    first.open()
    for n in range(20):
        assert first.record(_record(n, marker=str(tmp_path)))
    first.close()  # as a killed process leaves it: nothing sent, nothing checkpointed

    second = AccessLog(
        GatewaySettings(
            kafka_bootstrap_servers=broker_bootstrap,
            gateway_access_flush_seconds=0.1,
            govdata_data_dir=tmp_path,
            log_json=False,
        )
    )
    second.start()
    try:
        assert second.unsent_bytes > 0

        async def delivered() -> bool:
            return second.unsent_bytes == 0

        await _until(delivered, 20)
        sent = [
            r["id"]
            for e in await read_topic(broker_bootstrap, ACCESS)
            for r in e.data["records"]
            if r["path"] == str(tmp_path)
        ]
        assert sent == [f"rec-{n:03d}" for n in range(20)]
        spooled = sorted(p.name for p in second.dir.iterdir() if p.name.startswith("segment-"))
        assert len(spooled) == 1  # the earlier run's segment was deleted once sent
    finally:
        await second.stop()


def test_one_spool_belongs_to_one_gateway(tmp_path) -> None:
    settings = GatewaySettings(govdata_data_dir=tmp_path, log_json=False)
    first = AccessLog(settings)
    first.open()
    try:
        second = AccessLog(settings)
        try:
            second.open()
        except SpoolLocked as exc:
            assert "GATEWAY_ACCESS_SPOOL_DIR" in str(exc)
        else:
            raise AssertionError("a second gateway opened the same spool")
    finally:
        first.close()


async def test_calls_are_refused_not_served_unrecorded_once_the_spool_is_full(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway(gateway_access_spool_max_bytes=4000)
    token = await gw.grant_token(gid)
    access = gw.plane.access
    # The broker for access records goes away (the projection's consumer is not affected here).
    access.settings = access.settings.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{platform.free_port()}"}
    )
    await access._close_producer()
    served = 0
    statuses: list[int] = []
    for _ in range(40):
        async with gw.call(token, rid, "/population/persons/p1") as resp:
            statuses.append(resp.status)
            if resp.status == 503:
                body = await resp.json(content_type=None)
                assert body["code"] == "access_log_unavailable" and resp.headers["Retry-After"]
            else:
                served += 1
    assert served > 0 and statuses[-1] == 503
    upstream_calls = len(platform.provider.seen)
    assert await gw.status(token, rid, "/population/persons/p1") == 503
    assert len(platform.provider.seen) == upstream_calls  # refused before the provider is called
    async with platform.http.get(f"{gw.url}/readyz") as resp:  # out of the load balancer's rotation meanwhile
        assert resp.status == 503 and (await resp.json(content_type=None))["code"] == "access_log_unavailable"

    # The broker is back: the spool drains, calls are served again, and every served call has its record.
    access.settings = access.settings.model_copy(update={"kafka_bootstrap_servers": platform.broker})

    async def drained() -> bool:
        return access.unsent_bytes == 0

    await platform.until(drained, timeout=30, interval=0.2)
    assert await gw.status(token, rid, "/population/persons/p1") == 200
    assert await platform.ready(gw)
    records = await _wait_records(platform, served + 1, resource_id=rid, outcome="ok")
    assert len(records) == served + 1


def _record(n: int, marker: str = "/data/r/x") -> dict[str, Any]:
    return {
        "id": f"rec-{n:03d}",
        "time": "2026-12-03T01:00:00.000000Z",
        "grant_id": "grt-1",
        "client_id": "mz-system",
        "system": "mz-dibao",
        "holder_dept": "YC-MZ",
        "provider_dept": "YC-GA",
        "resource_id": "res-1",
        "method": "GET",
        "path": marker,
        "status": 200,
        "outcome": "ok",
        "records": 1,
        "bytes": 100,
        "duration_ms": 1.5,
        "request_id": f"req-{n}",
    }


async def _until(check, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.1)


async def test_worker_0_sends_what_workers_no_longer_started_left_in_their_spools(tmp_path, broker_bootstrap) -> None:
    """Three workers ran; the gateway comes back with two: worker 2's spool is sent by worker 0, worker 1's is left
    to worker 1."""
    dead = f"127.0.0.1:{LocalBroker().port}"
    for worker in (1, 2):
        settings = GatewaySettings(
            kafka_bootstrap_servers=dead, govdata_data_dir=tmp_path, gateway_workers=3, gateway_worker=worker
        )
        spool = AccessLog(settings)
        assert spool.dir == tmp_path / "gateway-access-spool" / f"worker-{worker}"
        spool.open()
        for n in range(10):
            assert spool.record(_record(n, marker=f"{tmp_path}/{worker}"))
        spool.close()  # killed: nothing sent

    settings = GatewaySettings(
        kafka_bootstrap_servers=broker_bootstrap,
        govdata_data_dir=tmp_path,
        gateway_workers=2,
        gateway_worker=0,
        log_json=False,
    )
    own = AccessLog(settings)
    assert own.dir == tmp_path / "gateway-access-spool"
    own.open()
    try:
        left = own.left_over()
        assert [spool.dir.name for spool in left] == ["worker-2"]
        assert AccessLog(settings.model_copy(update={"gateway_worker": 1})).left_over() == []  # worker 0's charge
        alone = AccessLog(settings.model_copy(update={"gateway_worker": None}))  # one process: every worker's
        assert [spool.dir.name for spool in alone.left_over()] == ["worker-1", "worker-2"]
        await asyncio.wait_for(left[0].drain(), 20)
        assert left[0].unsent_bytes == 0
        sent = [(r["path"], r["id"]) for e in await read_topic(broker_bootstrap, ACCESS) for r in e.data["records"]]
        assert [n for path, n in sent if path == f"{tmp_path}/2"] == [f"rec-{n:03d}" for n in range(10)]
        assert not [n for path, n in sent if path == f"{tmp_path}/1"]
        # Drained, its lock is released: the next start finds nothing left to send there.
        again = own.left_over()[0]
        again.open()
        assert again.unsent_bytes == 0
        again.close()
    finally:
        own.close()
