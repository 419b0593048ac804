"""Run the portal: `python -m govdata_portal` (host and port from PORTAL_HOST / PORTAL_PORT)."""

from __future__ import annotations

import uvicorn

from govdata_portal.settings import get_portal_settings


def main() -> None:
    settings = get_portal_settings()
    uvicorn.run(
        "govdata_portal.main:app",
        host=settings.portal_host,
        port=settings.portal_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
