"""GATEWAY_WORKERS: `python -m govdata_gateway` as N processes on one port under a supervisor (workers.py), from the
side of callers and of Prometheus: calls spread over the workers, every call one access record, a grant's rate
limit held in total, one metrics endpoint for all, a worker that dies started again, SIGTERM stopping them all.

The platform around the gateway (provider, snapshot endpoints standing in for the services, broker, registry
database) is in conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
from govdata_gateway.workers import FAIL_FAST_SECONDS
from govdata_local.broker import free_port
from govdata_shared.contracts.access import ACCESS_RECORDS
from govdata_shared.testing import read_topic
from prometheus_client.parser import text_string_to_metric_families

ACCESS = "govdata.access.v1"


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def listeners(port: int) -> int:
    """Sockets listening on `port` (IPv4): one per worker that has bound it."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A")


def samples(text: str, name: str) -> dict[str, float]:
    """`name`'s values in a metrics text, by worker label."""
    return {
        sample.labels["worker"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_two_workers_share_the_port_the_records_the_rate_limit_and_stop_together(platform) -> None:
    rid, gid, _ = await platform.setup()
    limited_rid, limited_gid, _ = await platform.setup(rate_limit=10)
    public, metrics = free_port(), free_port()
    env = platform.process_env(
        "workers-data",
        GATEWAY_WORKERS="2",
        GATEWAY_PORT=str(public),
        GATEWAY_METRICS_HOST="127.0.0.1",
        GATEWAY_METRICS_PORT=str(metrics),
        MIGRATE_ON_START="true",  # the supervisor migrates once; the workers must not
        GATEWAY_ACCESS_FLUSH_SECONDS="0.2",
    )
    gateway = f"http://127.0.0.1:{public}"
    supervisor, log_file = await platform.gateway_process(env, "gateway-workers.log")
    # A connection of its own for each call, as many callers make them: the kernel spreads connections.
    fresh = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    try:

        async def ready() -> bool:
            assert supervisor.returncode is None, log_file.read_text()
            # A worker binds the port once its projection is ready (workers.serve_worker).
            if len(children(supervisor.pid)) != 2 or listeners(public) != 2:
                return False
            try:
                statuses = [(await fresh.get(f"{gateway}/readyz")).status for _ in range(8)]
            except aiohttp.ClientConnectionError:
                return False
            return statuses == [200] * 8

        await platform.until(ready, timeout=60, interval=0.2)
        workers, serving_since = children(supervisor.pid), time.monotonic()

        async def grant_token(grant_id: str) -> str:
            form = {
                "grant_type": "client_credentials",
                "client_id": "mz-system",
                "client_secret": platform.SECRETS["mz-system"],
                "scope": f"grant:{grant_id}",
            }
            async with fresh.post(f"{gateway}/auth/token", data=form) as resp:
                body = await resp.json()
                assert resp.status == 200, body
                return body["access_token"]

        async def call(token: str, resource_id: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            async with fresh.get(f"{gateway}/data/{resource_id}/population/persons/p1", headers=headers) as resp:
                body = await resp.read()
                assert resp.status in (200, 429), body
                return resp.status

        # 1. Calls spread over both workers; each is one access record, sent by the worker that served it.
        token = await grant_token(gid)
        assert [await call(token, rid) for _ in range(120)] == [200] * 120
        async with fresh.get(f"http://127.0.0.1:{metrics}/metrics") as resp:
            assert resp.status == 200
            written = samples(await resp.text(), "govdata_gateway_access_records_total")
        assert set(written) == {"0", "1"} and min(written.values()) > 0, written

        async def records() -> list[dict[str, Any]]:
            return [
                (event.subject, record)
                for event in await read_topic(platform.broker, ACCESS)
                if event.type == ACCESS_RECORDS
                for record in event.data["records"]
                if record["resource_id"] == rid
            ]

        async def all_recorded() -> bool:
            return len(await records()) >= 120

        await platform.until(all_recorded, timeout=20, interval=0.2)
        sent = await records()
        assert len(sent) == 120 and len({record["id"] for _, record in sent}) == 120
        assert len({instance for instance, _ in sent}) == 2  # two spools, one per worker
        assert (platform.tmp / "workers-data" / "gateway-access-spool" / "worker-1" / "instance").exists()

        # 2. A grant's rate limit (10 calls a second) holds for the two together, not 10 each.
        token = await grant_token(limited_gid)
        began = time.monotonic()
        statuses = [await call(token, limited_rid) for _ in range(60)]
        elapsed = time.monotonic() - began
        assert set(statuses) == {200, 429}, statuses
        assert statuses.count(200) <= 10 + 10 * elapsed + 1, (statuses.count(200), elapsed)

        # 3. A worker that dies after it has served a while is started again; the other serves meanwhile.
        await asyncio.sleep(max(0.0, serving_since + FAIL_FAST_SECONDS + 0.5 - time.monotonic()))
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)

        async def replaced() -> bool:
            now = children(supervisor.pid)
            return victim not in now and len(now) == 2 and await ready()

        await platform.until(replaced, timeout=30, interval=0.2)
        token = await grant_token(gid)
        assert [await call(token, rid) for _ in range(20)] == [200] * 20

        # 4. SIGTERM stops every worker and the supervisor, with exit code 0; both ports close.
        workers = children(supervisor.pid)
        supervisor.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(supervisor.wait(), 30)
        output = log_file.read_text()
        assert code == 0, output
        assert "Traceback" not in output, output
        assert not any(alive(pid) for pid in workers)
        for url in (f"{gateway}/readyz", f"http://127.0.0.1:{metrics}/metrics"):
            try:
                async with fresh.get(url):
                    raise AssertionError(f"{url} still answers")
            except aiohttp.ClientConnectionError:
                pass
    finally:
        await fresh.close()
        if supervisor.returncode is None:
            supervisor.kill()
            await supervisor.wait()


async def test_workers_end_with_a_supervisor_killed_outright(platform) -> None:
    """SIGKILL gives the supervisor no chance to stop its workers: they must end by themselves, not hold the port."""
    public = free_port()
    env = platform.process_env(
        "killed-data",
        GATEWAY_WORKERS="2",
        GATEWAY_PORT=str(public),
        GATEWAY_METRICS_PORT="0",
        GATEWAY_WORKER_READY_WAIT_SECONDS="0",
    )
    supervisor, log_file = await platform.gateway_process(env, "gateway-killed.log")
    try:

        async def serving() -> bool:
            assert supervisor.returncode is None, log_file.read_text()
            return listeners(public) == 2

        await platform.until(serving, timeout=60, interval=0.2)
        workers = children(supervisor.pid)
        assert len(workers) == 2
    finally:
        supervisor.kill()
        await supervisor.wait()

    async def ended() -> bool:
        return not any(alive(pid) for pid in workers) and listeners(public) == 0

    await platform.until(ended, timeout=20, interval=0.2)


async def test_a_worker_that_dies_at_once_stops_the_gateway_with_an_error(platform) -> None:
    """A worker that cannot start (here: its port is held by another program) is not started again and again:
    the supervisor stops the other and exits non-zero, so the orchestrator sees the failure."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    env = platform.process_env(
        "taken-data", GATEWAY_WORKERS="2", GATEWAY_PORT=str(taken.getsockname()[1]), GATEWAY_METRICS_PORT="0"
    )
    try:
        supervisor, log_file = await platform.gateway_process(env, "gateway-taken.log")
        try:
            code = await asyncio.wait_for(supervisor.wait(), 60)
        finally:
            if supervisor.returncode is None:
                supervisor.kill()
                await supervisor.wait()
    finally:
        taken.close()
    output = log_file.read_text()
    assert code == 1, output
    assert "Address already in use" in output or "address already in use" in output, output
    assert "worker 0 failed at its start" in output or "worker 1 failed at its start" in output, output
