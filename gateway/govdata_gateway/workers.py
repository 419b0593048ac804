"""Several gateway processes on one port (`GATEWAY_WORKERS`): one event loop per CPU, under one supervisor.

Python runs one thread of the data plane at a time, so a gateway process uses one core. With N workers the
supervisor (`python -m govdata_gateway`):

1. applies the registry's migrations and makes a missing signing key once, before any worker starts, so that the
   workers never race each other for them;
2. starts N workers, each the same command with `GATEWAY_WORKER=<i>`: each binds GATEWAY_PORT with SO_REUSEPORT,
   and the kernel spreads new connections over them;
3. serves `GET /metrics` on GATEWAY_METRICS_PORT: every worker's own registry, read over the worker's Unix socket,
   each sample labelled `worker="<i>"` (Prometheus sums them; a rule that does not still sees every worker);
4. starts a worker again when it dies after having served a while; a worker that dies within
   `FAIL_FAST_SECONDS` of its start (a wrong setting, a port taken) stops the gateway with an error instead of
   looping;
5. on SIGTERM or SIGINT passes the signal on, waits for the workers to finish their calls, and exits.

What each worker keeps to itself and how the whole stays correct: the projection of grants and the token cache
(each fed from the broker itself); the access record spool (worker i > 0 in `worker-<i>` inside the spool
directory, accesslog.py); the rate limits (each worker allows 1/(replicas × workers) of a grant's rate, so the
provider's limit holds in total). Sign-in lockouts and the registry live in the database, shared by all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from govdata_shared.migrations import upgrade_async
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from govdata_gateway.dataplane import DATAPLANE
from govdata_gateway.health import METRICS_PATH, start_metrics_listener
from govdata_gateway.keys import SigningKey
from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.workers")

FAIL_FAST_SECONDS = 10.0
STOP_GRACE_SECONDS = 15.0  # the workers' own shutdown (5 s for calls, 5 s for the access spool) and some
SCRAPE_TIMEOUT_SECONDS = 5.0
PR_SET_PDEATHSIG = 1


async def prepare(settings: GatewaySettings) -> None:
    """What must happen once per gateway, not once per worker: the registry's migrations, a missing key."""
    SigningKey.from_settings(settings)  # (its folder also makes the data folder that an SQLite registry lives in)
    if settings.migrate_on_start:
        await upgrade_async("govdata_gateway", settings.effective_database_url())


def _end_with_parent() -> None:
    """In the forked worker: SIGTERM when the supervisor dies, even by SIGKILL (the OOM killer, a test's clean-up),
    so that no worker is left holding the port (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Worker:
    def __init__(self, index: int, count: int, socket_path: Path) -> None:
        self.index, self.count = index, count
        self.socket = socket_path
        self.process: asyncio.subprocess.Process | None = None
        self.started = 0.0

    async def start(self) -> None:
        env = {
            **os.environ,
            "GATEWAY_WORKERS": str(self.count),  # what "0" (one per CPU) came to, the same for every worker
            "GATEWAY_WORKER": str(self.index),
            "GATEWAY_WORKER_METRICS_SOCKET": str(self.socket),
            "MIGRATE_ON_START": "false",  # done once by the supervisor
        }
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "govdata_gateway", env=env, preexec_fn=_end_with_parent
        )
        self.started = time.monotonic()
        log.info("gateway worker %d started (pid %d)", self.index, self.process.pid)


class Supervisor:
    def __init__(self, settings: GatewaySettings, count: int, run_dir: Path) -> None:
        self.settings = settings
        self.workers = [Worker(i, count, run_dir / f"metrics-{i}.sock") for i in range(count)]
        self.stopping = asyncio.Event()
        self.exit_code = 0

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig.name)
        metrics = await self._serve_metrics()
        try:
            for worker in self.workers:
                await worker.start()
            watchers = [asyncio.create_task(self._watch(worker)) for worker in self.workers]
            await self.stopping.wait()
            await self._stop_workers()
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        finally:
            if metrics is not None:
                await metrics.cleanup()
        return self.exit_code

    def stop(self, why: str, exit_code: int = 0) -> None:
        if not self.stopping.is_set():
            log.info("gateway: %s, stopping %d workers", why, len(self.workers))
            self.exit_code = exit_code
            self.stopping.set()

    async def _watch(self, worker: Worker) -> None:
        while True:
            assert worker.process is not None
            code = await worker.process.wait()
            if self.stopping.is_set():
                return
            lived = time.monotonic() - worker.started
            if lived < FAIL_FAST_SECONDS:
                log.error("gateway worker %d exited with %d after %.1f s", worker.index, code, lived)
                self.stop(f"worker {worker.index} failed at its start", exit_code=1)
                return
            log.error("gateway worker %d exited with %d after %.0f s: starting it again", worker.index, code, lived)
            await worker.start()

    async def _stop_workers(self) -> None:
        running = [w.process for w in self.workers if w.process is not None and w.process.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await asyncio.gather(*(p.wait() for p in running))
        except TimeoutError:
            for process in running:
                if process.returncode is None:
                    log.error("gateway worker pid %d did not stop in %.0f s: killed", process.pid, STOP_GRACE_SECONDS)
                    process.kill()
            await asyncio.gather(*(p.wait() for p in running))

    # ---- metrics

    async def _serve_metrics(self) -> web.AppRunner | None:
        if not self.settings.gateway_metrics_port:
            return None
        host, port = self.settings.gateway_metrics_host, self.settings.gateway_metrics_port
        return await start_metrics_listener(host, port, handler=self._metrics)

    async def _metrics(self, _: web.Request) -> web.Response:
        texts = await asyncio.gather(*(self._scrape(worker) for worker in self.workers))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Merged(texts))
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _scrape(self, worker: Worker) -> tuple[int, str]:
        """The worker's metrics text, or "" while it is starting or gone (its series then pause, as any target's)."""
        try:
            connector = aiohttp.UnixConnector(path=str(worker.socket))
            timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT_SECONDS)
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
                http.get(f"http://worker{METRICS_PATH}") as response,
            ):
                return worker.index, await response.text() if response.status == 200 else ""
        except (aiohttp.ClientError, TimeoutError, OSError):
            return worker.index, ""


class _Merged:
    """The workers' metric families merged by name, each sample with its worker's label."""

    def __init__(self, texts: list[tuple[int, str]]) -> None:
        self.texts = texts

    def collect(self) -> list[Metric]:
        merged: dict[str, Metric] = {}
        for index, text in self.texts:
            for family in text_string_to_metric_families(text):
                target = merged.get(family.name)
                if target is None:
                    target = merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
                for sample in family.samples:
                    labels = {**sample.labels, "worker": str(index)}
                    target.samples.append(sample._replace(labels=labels))
        return list(merged.values())


async def serve_worker(app: web.Application, settings: GatewaySettings) -> None:
    """Run one worker: its app started, the port bound only once its projection is ready (or after
    GATEWAY_WORKER_READY_WAIT_SECONDS, when it answers like a single gateway whose projection is not ready): with
    SO_REUSEPORT the kernel hands a bound worker its share of new connections, ready or not."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5)
    await runner.setup()
    try:
        ready = app[DATAPLANE].feed.ready
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settings.gateway_worker_ready_wait_seconds):
                await ready.wait()
        if not ready.is_set():
            log.warning("projection not ready after %.0f s: serving anyway", settings.gateway_worker_ready_wait_seconds)
        site = web.TCPSite(runner, settings.gateway_host, settings.gateway_port, reuse_port=True)
        await site.start()
        await stopping.wait()
    finally:
        await runner.cleanup()


def supervise(settings: GatewaySettings, count: int) -> int:
    """Run `count` workers until SIGTERM/SIGINT; the exit code."""
    asyncio.run(prepare(settings))
    with tempfile.TemporaryDirectory(prefix="govdata-gateway-") as run_dir:
        return asyncio.run(Supervisor(settings, count, Path(run_dir)).run())
