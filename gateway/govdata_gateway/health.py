"""`/healthz` of the gateway reports each service and the portal (API.md "Running"); `/readyz` is the gateway
alone. Prometheus metrics are not on the public port: they have a listener of their own
(`GATEWAY_METRICS_HOST`:`GATEWAY_METRICS_PORT`, default 127.0.0.1:9464), so nobody who can reach the API can read
the gateway's internals; `/metrics` on the public port is a 404 like any unknown path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from govdata_gateway.routing import CLIENT_KEY, PORTAL_KEY, SERVICES_KEY
from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.health")
METRICS_PATH = "/metrics"


async def _service_status(client: aiohttp.ClientSession, base: str) -> str:
    try:
        async with client.get(f"{base}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as response:
            return "ok" if response.status == 200 else "unavailable"
    except (aiohttp.ClientError, TimeoutError):
        return "unavailable"


async def healthz(request: web.Request) -> web.Response:
    upstreams = dict(request.app[SERVICES_KEY])
    if portal := request.app.get(PORTAL_KEY):
        upstreams["portal"] = portal
    client = request.app[CLIENT_KEY]
    statuses = await asyncio.gather(*(_service_status(client, base) for base in upstreams.values()))
    report = dict(zip(upstreams, statuses, strict=True))
    ok = all(s == "ok" for s in statuses)
    body = {"status": "ok" if ok else "unavailable", "services": report}
    return web.Response(body=orjson.dumps(body), status=200 if ok else 503, content_type="application/json")


async def readyz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def setup_health(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


# --------------------------------------------------------------------------------------------- metrics listener


async def metrics(_: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def start_metrics_listener(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    unix_socket: Path | None = None,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = metrics,
) -> web.AppRunner:
    """Serve `GET /metrics` (`handler`: this process's Prometheus registry unless told) on `host`:`port` (or on
    `unix_socket`), apart from the API; the runner is stopped with `cleanup()`. Port 0 picks a free one
    (`runner.addresses`)."""
    app = web.Application()
    app.router.add_get(METRICS_PATH, handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.UnixSite(runner, str(unix_socket)) if unix_socket else web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        log.error("cannot serve metrics on %s (GATEWAY_METRICS_HOST/GATEWAY_METRICS_PORT)", site.name)
        raise
    return runner


def metrics_listener(settings: GatewaySettings) -> Callable[[web.Application], AsyncIterator[None]]:
    """For `app.cleanup_ctx`: the metrics listener of `settings`, started and stopped with the app (none when
    `GATEWAY_METRICS_PORT` is 0)."""

    async def listener(_: web.Application) -> AsyncIterator[None]:
        if (socket := settings.gateway_worker_metrics_socket) is not None:
            runner = await start_metrics_listener(unix_socket=socket)  # a worker's, read by its supervisor
        elif settings.gateway_metrics_port:
            runner = await start_metrics_listener(settings.gateway_metrics_host, settings.gateway_metrics_port)
        else:
            yield
            return
        try:
            yield
        finally:
            await runner.cleanup()

    return listener
