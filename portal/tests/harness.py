"""The portal under test (plain code, no pytest): the app run in-process behind a browser-like httpx client on the
public origin, which keeps the portal's Secure cookies as a browser does over HTTPS, and the codec to read or
forge its session cookie."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from govdata_portal.main import create_app
from govdata_portal.session import SESSION_COOKIE, CookieCodec, Session
from govdata_portal.settings import PortalSettings
from govdata_shared.contracts.catalog import RESOURCE_PUBLISHED
from govdata_shared.events import new_event
from govdata_shared.testing import MovableClock
from verification_svc.events import HANDLERS as VERIFICATION_HANDLERS

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
    HTTP), /api/audit/… straight into audit-svc."""

    def __init__(self, identity_url: httpx.URL, audit_app: Any) -> None:
        self.identity_url = identity_url
        self.network = httpx.AsyncHTTPTransport()
        self.audit = httpx.ASGITransport(app=audit_app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/identity"):
            request.url = request.url.copy_with(
                scheme=self.identity_url.scheme, host=self.identity_url.host, port=self.identity_url.port
            )
            return await self.network.handle_async_request(request)
        if request.url.path.startswith("/api/audit/"):
            return await self.audit.handle_async_request(request)
        return httpx.Response(404, json={"code": "unknown_service", "detail": "no such service in this test"})

    async def aclose(self) -> None:
        await self.network.aclose()
