"""The portal under test (plain code, no pytest): the app run in-process behind a browser-like httpx client on the
public origin, which keeps the portal's Secure cookies as a browser does over HTTPS, and the codec to read or
forge its session cookie."""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from audit_svc.main import SPEC as AUDIT
from fastapi import FastAPI
from govdata_gateway.identity import SIGNING_KEY, setup_identity
from govdata_gateway.keys import SigningKey
from govdata_gateway.settings import GatewaySettings
from govdata_portal.main import create_app
from govdata_portal.session import SESSION_COOKIE, CookieCodec, Session
from govdata_portal.settings import PortalSettings
from govdata_shared.auth import StaticKeySet, TokenVerifier
from govdata_shared.contracts.catalog import RESOURCE_PUBLISHED
from govdata_shared.events import new_event
from govdata_shared.testing import MovableClock
from verification_svc.events import HANDLERS as VERIFICATION_HANDLERS

from gateway.tests.seeds import place_signing_key

ISSUER = "urn:yichuan:govdata:gateway"
API_AUDIENCE = "govdata-api"

PUBLIC = "https://portal.test"
CALLBACK = PUBLIC + "/signin/callback"
PORTAL_SECRET = "s-portal-9f2c"


def portal_settings(tmp_path: Path, gateway_url: str = "http://gateway.test", **overrides: Any) -> PortalSettings:
    values: dict[str, Any] = {
        "gateway_url": gateway_url,
        "portal_public_url": PUBLIC,
        "portal_client_secret": PORTAL_SECRET,
        "govdata_data_dir": tmp_path / "portal-data",
        "log_json": False,
        **overrides,
    }
    return PortalSettings(**values)


@dataclass
class Portal:
    app: FastAPI
    browser: httpx.AsyncClient
    clock: MovableClock

    @property
    def codec(self) -> CookieCodec:
        return self.app.state.codec

    def session(self) -> Session | None:
        """The session the browser holds now, as the portal reads it."""
        return self.codec.open_session(self.browser.cookies.get(SESSION_COOKIE), self.clock().timestamp())

    def hold(self, session: Session) -> None:
        """Give the browser a session cookie the portal itself sealed (for pages tested without a sign-in)."""
        self.browser.cookies.set(SESSION_COOKIE, self.codec.seal_session(session, self.clock().timestamp()))


def session_of(sub: str, token: str, *, dept: str | None, roles: tuple[str, ...], name: str = "测试人员") -> Session:
    return Session(
        sub=sub,
        name=name,
        dept=dept,
        roles=roles,
        access_token=token,
        refresh_token="unused-" + secrets.token_hex(8),
        expires_at=time.time() + 3600,
        csrf=secrets.token_urlsafe(32),
    )


class NoNetwork(httpx.AsyncBaseTransport):
    """Stands where the gateway would: a test that must not reach it fails the moment the portal tries."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the portal called the gateway: {request.method} {request.url}")


@contextlib.asynccontextmanager
async def running_portal(
    settings: PortalSettings, *, transport: httpx.AsyncBaseTransport | None = None, clock: MovableClock | None = None
) -> AsyncIterator[Portal]:
    clock = clock or MovableClock()
    app = create_app(settings, transport=transport, clock=clock)
    transport_in = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport_in, base_url=PUBLIC) as browser:
        yield Portal(app, browser, clock)


async def publish_marriage_resource(verification: FastAPI) -> None:
    """The catalog event that tells verification-svc the resource exists (its consumer would apply it)."""
    event = new_event(
        RESOURCE_PUBLISHED,
        "res-marriage",
        {
            "resource_id": "res-marriage",
            "code": "301002/000007",
            "name": "婚姻登记信息",
            "provider_dept": "YC-MZ",
            "status": "published",
            "revision": 1,
            "revision_status": "published",
            "category": "department",
            "format": "api",
            "sharing_type": "conditional",
            "sharing_method": "platform_api",
            "open_type": "closed",
            "security_level": "3",
            "update_cycle": "daily",
            "items": [{"code": "marriage_status", "name": "婚姻状况", "type": "C"}],
            "interface": None,
        },
        version=2,
        actor="bureau",
        dept="YC-MZ",
        source="catalog-svc",
    )
    async with verification.state.db.session() as session:
        await VERIFICATION_HANDLERS[event.type](session, event)


class RoutedTransport(httpx.AsyncBaseTransport):
    """Where the gateway would send the portal's calls: /api/identity to the gateway's own registry API (over
    HTTP), each service's prefix (e.g. /api/audit/) straight into that service's app."""

    def __init__(self, identity_url: httpx.URL, apps: dict[str, Any]) -> None:
        self.identity_url = identity_url
        self.network = httpx.AsyncHTTPTransport()
        self.services = {prefix: httpx.ASGITransport(app=app) for prefix, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/identity"):
            request.url = request.url.copy_with(
                scheme=self.identity_url.scheme, host=self.identity_url.host, port=self.identity_url.port
            )
            return await self.network.handle_async_request(request)
        for prefix, service in self.services.items():
            if request.url.path.startswith(prefix):
                return await service.handle_async_request(request)
        return httpx.Response(404, json={"code": "unknown_service", "detail": "no such service in this test"})

    async def aclose(self) -> None:
        await self.network.aclose()


@dataclass
class OversightServices:
    """A service (audit-svc for the oversight pages), the gateway's identity registry API and the portal between
    them."""

    portal: Portal
    service: Any  # the service's app
    identity: TestServer
    key: SigningKey
    registry_url: str
    client: httpx.AsyncClient  # straight to the service

    def hold(self, sub: str, dept: str | None, roles: tuple[str, ...], name: str | None = None) -> Session:
        """Sign `sub` in to the portal with a token of the gateway's key, as after the sign-in flow."""
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": API_AUDIENCE, "sub": sub, "client_id": "portal", "roles": list(roles)}
        claims |= {"dept": dept, "name": name or sub, "scope": "api", "iat": now, "nbf": now, "exp": now + 600}
        token = self.key.sign({**claims, "jti": str(uuid.uuid4())})
        session = replace(
            session_of(sub, token, dept=dept, roles=roles), expires_at=self.portal.clock().timestamp() + 600
        )
        self.portal.hold(session)
        return session


@contextlib.asynccontextmanager
async def oversight_services(
    service_app,
    migrated,
    backend: str,
    tmp_path: Path,
    registry: dict[str, Any],
    clock: MovableClock,
    *,
    spec: Any = AUDIT,
    prefix: str = "/api/audit/",
) -> AsyncIterator[OversightServices]:
    """Start the service of `spec` (audit-svc unless told, as a service app, reached at `prefix`) and the gateway's
    registry (seeded from `registry`, over loopback), and run the portal routed to both; the service trusts the
    gateway's key, as it does through the JWKS in production."""
    app, client = await service_app(spec, clock=clock)
    registry_url = await migrated.fresh("govdata_gateway", backend, tmp_path)
    clients = tmp_path / "clients.yaml"
    clients.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    settings = GatewaySettings(
        database_url=registry_url,
        migrate_on_start=False,
        govdata_data_dir=tmp_path / "gateway-data",
        govdata_clients_file=clients,
        govdata_jwt_key_file=place_signing_key(tmp_path / "gateway-keys" / "signing-key.pem"),
        govdata_jwt_issuer=ISSUER,
        govdata_jwt_audience=API_AUDIENCE,
    )
    gateway = web.Application()
    setup_identity(gateway, settings, relay=False, clock=clock)
    key = gateway[SIGNING_KEY]
    app.state.token_verifier = TokenVerifier(StaticKeySet(key.jwks()), issuer=ISSUER, audience=API_AUDIENCE)
    async with contextlib.AsyncExitStack() as stack:
        identity = TestServer(gateway, host="127.0.0.1")
        await identity.start_server()
        stack.push_async_callback(identity.close)
        transport = RoutedTransport(httpx.URL(str(identity.make_url(""))), {prefix: app})
        stack.push_async_callback(transport.aclose)
        portal = await stack.enter_async_context(
            running_portal(portal_settings(tmp_path), transport=transport, clock=clock)
        )
        yield OversightServices(portal, app, identity, key, registry_url, client)
