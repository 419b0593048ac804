"""Run the gateway: `python -m govdata_gateway` (host and port from GATEWAY_HOST / GATEWAY_PORT)."""

from __future__ import annotations

import uvloop
from aiohttp import web
from govdata_shared.logs import configure_logging

from govdata_gateway.app import create_app
from govdata_gateway.settings import get_gateway_settings


def main() -> None:
    settings = get_gateway_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    web.run_app(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log=None,
        print=None,
        shutdown_timeout=5,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
