"""The API docs routes:

    GET /api/openapi.json          the gateway's own endpoints and the services', merged (merge.py)
    GET /api/docs                  Swagger UI over that document
    GET /api/docs/static/{name}    Swagger UI's files and the page's start-up script, from static/

Each service's document is fetched from `<service URL>/api/<name>/openapi.json` and kept
`API_DOCS_REFRESH_SECONDS`, then fetched again, so a restarted service's changes show within that time; while a
service cannot be reached its last document stays in use, and before it ever answered the merged document names it
under `x-govdata-unavailable`. Concurrent requests wait for one round of fetches rather than each starting one.

The page loads nothing from elsewhere (no CDN) and runs no inline script: its Content-Security-Policy allows
scripts, styles and connections to the gateway only (`data:` images: Swagger UI's icons are inline SVG in its CSS).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from govdata_gateway.apidocs.gateway_api import gateway_document
from govdata_gateway.apidocs.merge import Document, merge
from govdata_gateway.routing import CLIENT_KEY
from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.apidocs")

STATIC = Path(__file__).parent / "static"
SWAGGER_UI = "swagger-ui-5.35.0"  # swagger-ui-dist from the npm registry, files unchanged
# name under /api/docs/static/ → (file under static/, content type); nothing else is served from there.
ASSETS: dict[str, tuple[str, str]] = {
    f"{SWAGGER_UI}/swagger-ui-bundle.js": (f"{SWAGGER_UI}/swagger-ui-bundle.js", "text/javascript"),
    f"{SWAGGER_UI}/swagger-ui.css": (f"{SWAGGER_UI}/swagger-ui.css", "text/css"),
    "apidocs.js": ("apidocs.js", "text/javascript"),
    "apidocs.css": ("apidocs.css", "text/css"),
}
FETCH_TIMEOUT_SECONDS = 5.0
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
PAGE = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>接口文档 — 伊川县政务大数据平台</title>
<link rel="stylesheet" href="/api/docs/static/{SWAGGER_UI}/swagger-ui.css">
<link rel="stylesheet" href="/api/docs/static/apidocs.css">
</head>
<body>
<header class="site"><a href="/">伊川县政务大数据平台</a> · 接口文档</header>
<noscript><p class="noscript">本页需要启用 JavaScript。机读的接口描述见
<a href="/api/openapi.json">/api/openapi.json</a>。</p></noscript>
<main id="swagger-ui" data-openapi-url="/api/openapi.json"></main>
<script src="/api/docs/static/{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="/api/docs/static/apidocs.js"></script>
</body>
</html>
"""


@dataclass
class _Fetched:
    document: Document | None = None
    fetched_at: float = float("-inf")


@dataclass
class ApiDocs:
    """The merged document, rebuilt when a service's document is due to be fetched again."""

    services: dict[str, str]  # name → base URL
    base: Document
    refresh_seconds: float
    fetched: dict[str, _Fetched] = field(default_factory=dict)
    merged: bytes = b""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def document(self, client: aiohttp.ClientSession) -> bytes:
        if self.merged and not self._due():
            return self.merged
        async with self.lock:
            if self.merged and not self._due():
                return self.merged  # another request fetched them while this one waited
            due = [name for name in self.services if self._due(name)]
            results = await asyncio.gather(*(self._fetch(client, name) for name in due))
            now = time.monotonic()
            for name, document in zip(due, results, strict=True):
                entry = self.fetched.setdefault(name, _Fetched())
                entry.fetched_at = now  # a failed fetch is retried after the same interval
                if document is not None:
                    entry.document = document
            self.merged = orjson.dumps(
                merge(self.base, {name: self.fetched[name].document for name in self.services}),
                option=orjson.OPT_INDENT_2,
            )
            return self.merged

    def _due(self, name: str | None = None) -> bool:
        names = [name] if name is not None else list(self.services)
        now = time.monotonic()
        return any(now - self.fetched.get(n, _Fetched()).fetched_at >= self.refresh_seconds for n in names)

    async def _fetch(self, client: aiohttp.ClientSession, name: str) -> Document | None:
        url = f"{self.services[name]}/api/{name}/openapi.json"
        try:
            async with client.get(url, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)) as response:
                if response.status != 200:
                    log.warning("OpenAPI document of %s: HTTP %s", name, response.status)
                    return None
                document: Any = orjson.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
            log.warning("OpenAPI document of %s unavailable: %r", name, exc)
            return None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            log.warning("OpenAPI document of %s is not one", name)
            return None
        return document


API_DOCS: web.AppKey[ApiDocs] = web.AppKey("govdata_api_docs", ApiDocs)


async def openapi_json(request: web.Request) -> web.Response:
    body = await request.app[API_DOCS].document(request.app[CLIENT_KEY])
    return web.Response(body=body, content_type="application/json", headers={"Cache-Control": "no-cache"})


async def docs_page(_: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", charset="utf-8", headers=_PAGE_HEADERS)


async def static_asset(request: web.Request) -> web.Response:
    asset = ASSETS.get(request.match_info["name"])
    if asset is None:
        raise web.HTTPNotFound()
    file, content_type = asset
    body = await asyncio.to_thread((STATIC / file).read_bytes)
    # Swagger UI's files carry their version in the address, so they never change under it.
    cache = "public, max-age=31536000, immutable" if file.startswith(SWAGGER_UI) else "no-cache"
    response = web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )
    response.enable_compression()
    return response


def setup_api_docs(app: web.Application, settings: GatewaySettings) -> None:
    """Add the API docs routes (after `setup_routing`, whose HTTP client fetches the services' documents)."""
    services = {name: url.rstrip("/") for name, url in settings.service_urls().items()}
    app[API_DOCS] = ApiDocs(services, gateway_document(settings), settings.api_docs_refresh_seconds)
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/docs", docs_page)
    app.router.add_get("/api/docs/static/{name:.+}", static_asset)
