"""Run the gateway: `python -m govdata_gateway` (host and port from GATEWAY_HOST / GATEWAY_PORT; Prometheus metrics
on GATEWAY_METRICS_HOST / GATEWAY_METRICS_PORT). With GATEWAY_WORKERS above 1 this process supervises that many
worker processes sharing the port (workers.py)."""

from __future__ import annotations

import sys

import uvloop
from aiohttp import web
from govdata_shared.logs import configure_logging

from govdata_gateway.app import create_app
from govdata_gateway.health import metrics_listener
from govdata_gateway.settings import get_gateway_settings
from govdata_gateway.workers import serve_worker, supervise


def main() -> None:
    settings = get_gateway_settings()
    worker = settings.gateway_worker
    configure_logging("gateway" if worker is None else f"gateway-{worker}", settings.log_level, settings.log_json)
    if worker is None and (count := settings.worker_count()) > 1:
        sys.exit(supervise(settings, count))
    app = create_app(settings)
    # Prometheus metrics apart from the API: on GATEWAY_METRICS_HOST/PORT, or a worker's on its supervisor's socket.
    app.cleanup_ctx.append(metrics_listener(settings))
    if worker is not None:
        uvloop.run(serve_worker(app, settings))
        return
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
