"""`/api/openapi.json` and `/api/docs` on the gateway, over real HTTP.

The services are their real FastAPI apps under uvicorn on loopback ports (start-up work off: serving their
OpenAPI document needs no database or broker); where a service must change or vanish, a small aiohttp server
stands in for it. The real gateway app (`create_app`) is served on a port of its own.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from aiohttp import web
from govdata_gateway.apidocs.merge import resolve, unresolved_refs
from govdata_gateway.app import create_app
from govdata_gateway.registry.api import PREFIX as IDENTITY_PREFIX
from govdata_gateway.registry.api import ROUTES as IDENTITY_ROUTES
from govdata_gateway.settings import GatewaySettings
from govdata_shared.contracts.access import DENIAL_REASONS
from govdata_shared.errors import PROBLEM_JSON

pytestmark = pytest.mark.backends("sqlite")  # the registry is not what these tests are about

SERVICES = ("catalog", "sharing", "verification", "audit", "notify")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
GATEWAY_OWN = ("/auth/token", "/auth/authorize", "/auth/logout", "/.well-known/jwks.json", "/data/{resource_id}/{path}")
CLIENTS = """
departments: [{code: YC-GA, name: 伊川县公安局}]
clients: [{client_id: ga-system, client_secret: s-ga-system, dept: YC-GA, roles: [dept_operator]}]
"""


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method]) for path, item in document["paths"].items() for method in METHODS if method in item
    ]


# --------------------------------------------------------------------------------------------- servers


async def serve(app: web.Application, sock: socket.socket | None = None) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.SockSite(runner, sock) if sock is not None else web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def bound_socket(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


@pytest.fixture(scope="module")
async def services() -> AsyncIterator[dict[str, tuple[str, dict[str, Any]]]]:
    """name → (base URL, the service's own OpenAPI document) for the real service apps."""
    running: list[tuple[uvicorn.Server, asyncio.Task]] = []
    found = {}
    try:
        for name in SERVICES:
            app = importlib.import_module(f"{name}_svc.main").app
            sock = bound_socket()
            server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning"))
            # The socket listens already: requests wait in its backlog until uvicorn has started.
            running.append((server, asyncio.create_task(server.serve(sockets=[sock]))))
            found[name] = (f"http://127.0.0.1:{sock.getsockname()[1]}", app.openapi())
        yield found
    finally:
        for server, _ in running:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in running))


StartGateway = Callable[..., Awaitable[str]]


@pytest.fixture
async def start_gateway(tmp_path: Path, migrated, backend: str) -> AsyncIterator[StartGateway]:
    runners: list[web.AppRunner] = []
    database_url = await migrated.fresh("govdata_gateway", backend, tmp_path)
    clients_file = tmp_path / "clients.yaml"
    clients_file.write_text(CLIENTS, encoding="utf-8")

    async def start(service_urls: dict[str, str], **overrides: Any) -> str:
        values: dict[str, Any] = {
            "database_url": database_url,
            "migrate_on_start": False,
            "govdata_data_dir": tmp_path,
            "govdata_clients_file": clients_file,
            "portal_url": "",
            **{f"{name}_url": url for name, url in service_urls.items()},
            **overrides,
        }
        runner, url = await serve(create_app(GatewaySettings(**values)))
        runners.append(runner)
        return url

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


async def fetch_document(http: aiohttp.ClientSession, gateway: str) -> dict[str, Any]:
    async with http.get(f"{gateway}/api/openapi.json") as resp:
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "application/json"
        return await resp.json()


def stand_in_service(name: str, paths: list[str]) -> web.Application:
    """A service that serves only an OpenAPI document with `paths` (each a GET)."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": f"{name} stand-in", "version": "0"},
        "paths": {
            path: {"get": {"operationId": f"op_{i}", "responses": {"200": {"description": "ok"}}}}
            for i, path in enumerate(paths)
        },
    }

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(document)

    app = web.Application()
    app.router.add_get(f"/api/{name}/openapi.json", openapi)
    return app


# --------------------------------------------------------------------------------------------- the document


async def test_merged_document_holds_every_service_under_its_gateway_prefix(
    services: dict[str, tuple[str, dict[str, Any]]], start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway({name: url for name, (url, _) in services.items()})
    merged = await fetch_document(http, gateway)

    assert merged["openapi"].startswith("3.1.")
    assert merged["info"]["title"] and "令牌" in merged["info"]["description"]
    assert "x-govdata-unavailable" not in merged
    for name, (_, own) in services.items():
        prefix = f"/api/{name}/"
        public = {p: item for p, item in own["paths"].items() if not p.startswith(prefix + "internal/")}
        assert public and all(p.startswith(prefix) for p in public), name
        for path, item in public.items():
            assert path in merged["paths"], f"{name}: {path} missing"
            assert {m for m in METHODS if m in merged["paths"][path]} == {m for m in METHODS if m in item}
        assert not [p for p in merged["paths"] if p.startswith(prefix + "internal/")], "internal feeds stay out"
    for path in merged["paths"]:
        assert path in GATEWAY_OWN or path.startswith(("/api/identity", *(f"/api/{s}/" for s in SERVICES))), path


async def test_merged_document_is_well_formed_openapi(
    services: dict[str, tuple[str, dict[str, Any]]], start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway({name: url for name, (url, _) in services.items()})
    merged = await fetch_document(http, gateway)

    assert unresolved_refs(merged) == []
    declared_tags = {tag["name"] for tag in merged["tags"]}
    schemes = merged["components"]["securitySchemes"]
    operation_ids = []
    for path, method, operation in operations(merged):
        where = f"{method.upper()} {path}"
        assert operation["responses"], where
        assert set(operation["tags"]) <= declared_tags, where
        operation_ids.append(operation["operationId"])
        params = merged["paths"][path].get("parameters", []) + operation.get("parameters", [])
        params = [resolve(merged, p["$ref"]) if "$ref" in p else p for p in params]
        in_path = {p["name"] for p in params if p["in"] == "path"}
        assert in_path == set(re.findall(r"{([^}]+)}", path)), f"{where}: path parameters {in_path}"
        for requirement in operation.get("security", merged["security"]):
            assert set(requirement) <= set(schemes), where
    assert len(operation_ids) == len(set(operation_ids)), "operationIds are unique"
    assert {tag["name"] for tag in merged["tags"]} >= {o["info"]["title"].split(" — ")[0] for _, o in services.values()}


async def test_components_that_clash_are_renamed_and_each_service_keeps_its_own(
    services: dict[str, tuple[str, dict[str, Any]]], start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway({name: url for name, (url, _) in services.items()})
    merged = await fetch_document(http, gateway)
    schemas = merged["components"]["schemas"]

    # Every request body of every service resolves to that service's own definition (same properties).
    for _, own in services.values():
        for path, method, operation in operations(own):
            if path not in merged["paths"]:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" not in body:
                continue
            theirs = resolve(own, body["$ref"])
            ours_ref = merged["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            ours = resolve(merged, ours_ref)
            assert set(ours.get("properties", {})) == set(theirs.get("properties", {})), f"{method} {path}"
    # Names two services define differently exist twice; those they define alike, once.
    clashing = [
        name
        for name in {n for _, own in services.values() for n in own["components"]["schemas"]}
        if len(
            {
                json.dumps(own["components"]["schemas"][name], sort_keys=True)
                for _, own in services.values()
                if name in own["components"]["schemas"]
            }
        )
        > 1
    ]
    assert clashing, "the services' documents have clashing names (else this test proves nothing)"
    for name in clashing:
        assert name in schemas and any(key.endswith("." + name) for key in schemas), name
    assert "HTTPValidationError" in schemas and not any(k.endswith(".HTTPValidationError") for k in schemas)


async def test_gateway_endpoints_are_described_by_hand(
    services: dict[str, tuple[str, dict[str, Any]]], start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway({name: url for name, (url, _) in services.items()})
    merged = await fetch_document(http, gateway)
    paths = merged["paths"]

    token = paths["/auth/token"]["post"]
    form = resolve(merged, token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"])
    assert set(form["properties"]["grant_type"]["enum"]) == {
        "client_credentials",
        "authorization_code",
        "refresh_token",
    }
    assert "grant:" in form["properties"]["scope"]["description"]
    assert {"200", "400", "401", "403", "429"} <= set(token["responses"])
    authorize = {p["name"] for p in paths["/auth/authorize"]["get"]["parameters"]}
    assert authorize >= {
        "response_type",
        "client_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "state",
    }
    assert paths["/.well-known/jwks.json"]["get"]["security"] == [{}]
    data = paths["/data/{resource_id}/{path}"]
    assert set(data) >= {"get", "post"}
    for reason in DENIAL_REASONS:
        assert f"`{reason}`" in data["get"]["description"], f"denial {reason} is not described"
    assert data["get"]["security"] == [{"grantToken": []}]
    for method, path, *_ in IDENTITY_ROUTES:
        assert method.lower() in paths[IDENTITY_PREFIX + path], f"{method} {IDENTITY_PREFIX}{path} is not described"


# --------------------------------------------------------------------------------------------- services come and go


async def test_unreachable_service_is_named_then_appears_once_it_answers(
    services: dict[str, tuple[str, dict[str, Any]]], start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    sock = bound_socket()  # the audit service's address, nothing answering yet
    audit = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    urls = {name: url for name, (url, _) in services.items()} | {"audit": audit}
    gateway = await start_gateway(urls, api_docs_refresh_seconds=0.2)

    merged = await fetch_document(http, gateway)
    assert merged["x-govdata-unavailable"] == ["audit"]
    assert "audit" in merged["info"]["description"]
    assert not [p for p in merged["paths"] if p.startswith("/api/audit/")]
    assert "/api/catalog/resources" in merged["paths"]

    runner, _ = await serve(
        stand_in_service("audit", ["/api/audit/events"]), bound_socket(int(audit.rsplit(":", 1)[1]))
    )
    try:
        merged = await until_document(http, gateway, lambda d: "/api/audit/events" in d["paths"])
        assert "x-govdata-unavailable" not in merged
    finally:
        await runner.cleanup()


async def test_restarted_service_is_fetched_again_and_a_stopped_one_keeps_its_last_document(
    services: dict[str, tuple[str, dict[str, Any]]], start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    sock = bound_socket()
    port = sock.getsockname()[1]
    runner, audit = await serve(stand_in_service("audit", ["/api/audit/v1/events"]), sock)
    urls = {name: url for name, (url, _) in services.items()} | {"audit": audit}
    gateway = await start_gateway(urls, api_docs_refresh_seconds=0.2)
    assert "/api/audit/v1/events" in (await fetch_document(http, gateway))["paths"]

    await runner.cleanup()  # stopped: its last document stays
    for _ in range(3):
        await asyncio.sleep(0.25)  # past the refresh interval: the gateway tries it again
        merged = await fetch_document(http, gateway)
        assert "/api/audit/v1/events" in merged["paths"] and "x-govdata-unavailable" not in merged

    runner, _ = await serve(stand_in_service("audit", ["/api/audit/v2/events"]), bound_socket(port))
    try:
        merged = await until_document(http, gateway, lambda d: "/api/audit/v2/events" in d["paths"])
        assert "/api/audit/v1/events" not in merged["paths"]
    finally:
        await runner.cleanup()


async def until_document(
    http: aiohttp.ClientSession, gateway: str, check: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        document = await fetch_document(http, gateway)
        if check(document):
            return document
        if loop.time() > deadline:
            pytest.fail(f"the document did not change within {timeout}s")
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------------------------- the page


class Assets(HTMLParser):
    """What a page loads (script src, link href, img src) and the text of any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = True
            if values.get("src"):
                self.loads.append(values["src"] or "")
        elif tag == "link" and values.get("href"):
            self.loads.append(values["href"] or "")
        elif tag in ("img", "iframe", "source") and values.get("src"):
            self.loads.append(values["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


async def test_docs_page_loads_everything_from_the_gateway(
    services: dict[str, tuple[str, dict[str, Any]]], start_gateway: StartGateway, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway({name: url for name, (url, _) in services.items()})
    async with http.get(f"{gateway}/api/docs") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
        csp = resp.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "connect-src"):
        assert directives[name] == "'self'", name
    assert "unsafe" not in csp and "http" not in csp
    assert '<html lang="zh-CN">' in page and "接口文档" in page

    assets = Assets()
    assets.feed(page)
    assert not assets.inline_scripts, "no inline script: the CSP would refuse it"
    assert len(assets.loads) == 4
    for address in assets.loads:
        assert address.startswith("/") and not address.startswith("//"), f"{address} is not the gateway's"
        async with http.get(f"{gateway}{address}") as resp:
            assert resp.status == 200, address
            body = await resp.read()
            expected = "text/javascript" if address.endswith(".js") else "text/css"
            assert resp.content_type == expected, address
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert body, address
        if address.endswith("swagger-ui-bundle.js"):
            assert b"SwaggerUIBundle" in body and "immutable" in resp.headers["Cache-Control"]
        if address.endswith("apidocs.js"):
            assert b"data-openapi-url" in body and b"validatorUrl: null" in body
    assert 'data-openapi-url="/api/openapi.json"' in page


@pytest.mark.parametrize(
    "target", ["/api/docs/static/nope.js", "/api/docs/static/..%2F..%2Fsettings.py", "/api/docs/static/views.py"]
)
async def test_only_the_docs_assets_are_served(
    services: dict[str, tuple[str, dict[str, Any]]],
    start_gateway: StartGateway,
    http: aiohttp.ClientSession,
    target: str,
) -> None:
    gateway = await start_gateway({name: url for name, (url, _) in services.items()})
    async with http.get(aiohttp.client.URL(gateway + target, encoded=True)) as resp:
        assert resp.status == 404
        assert resp.content_type == PROBLEM_JSON
