"""Run the gateway: `python -m govdata_gateway` (host and port from GATEWAY_HOST / GATEWAY_PORT; Prometheus metrics
on GATEWAY_METRICS_HOST / GATEWAY_METRICS_PORT)."""

from __future__ import annotations

import uvloop
from aiohttp import web
from govdata_shared.logs import configure_logging

from govdata_gateway.app import create_app
from govdata_gateway.health import metrics_listener
from govdata_gateway.settings import get_gateway_settings


def main() -> None:
    settings = get_gateway_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    app = create_app(settings)
    # Prometheus metrics on a port of their own (GATEWAY_METRICS_HOST/PORT), started and stopped with the app.
    app.cleanup_ctx.append(metrics_listener(settings))
    web.run_app(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log=None,
        print=None,
        shutdown_timeout=5,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
