"""The gateway application: identity (token issuer, JWKS), API routing, the data plane, the API docs, health, and
the portal behind everything else. Prometheus metrics are not part of it: `__main__` serves them on a listener of
their own (health.metrics_listener)."""

from __future__ import annotations

import gc

from aiohttp import web

from govdata_gateway.apidocs.views import setup_api_docs
from govdata_gateway.dataplane import setup_dataplane
from govdata_gateway.health import setup_health
from govdata_gateway.identity import setup_identity
from govdata_gateway.middleware import hide_server_software, request_context
from govdata_gateway.routing import portal_fallback, setup_routing
from govdata_gateway.settings import GatewaySettings, get_gateway_settings
from govdata_gateway.signin.views import setup_signin


def create_app(settings: GatewaySettings | None = None) -> web.Application:
    settings = settings or get_gateway_settings()
    app = web.Application(
        middlewares=[request_context, portal_fallback], client_max_size=settings.max_request_body_bytes
    )
    app.on_response_prepare.append(hide_server_software)  # no software versions on the public port
    setup_identity(app, settings)
    setup_signin(app, settings)  # people's sign-in: /auth/authorize, /auth/login, /auth/logout
    setup_routing(
        app,
        settings.service_urls(),
        settings.upstream_connect_timeout_seconds,
        settings.upstream_timeout_seconds,
        settings.portal_url,
    )
    setup_api_docs(app, settings)
    setup_dataplane(app, settings)  # before setup_health: its /readyz (ready once bootstrapped) answers first
    setup_health(app)
    app.on_startup.append(_freeze_start_up)
    return app


async def _freeze_start_up(_app: web.Application) -> None:
    # What start-up made lives as long as the process: out of the collector's reach, a full collection under
    # load scans only what requests left (a full collection of a service's start-up objects took 100 ms).
    gc.collect()
    gc.freeze()
