"""`/healthz` of the gateway reports each service and the portal (API.md "Running"); `/readyz` is the gateway
alone."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from govdata_gateway.routing import CLIENT_KEY, PORTAL_KEY, SERVICES_KEY


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


async def metrics(_: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def setup_health(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
