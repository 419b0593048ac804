"""App factory of sharing-svc: `uvicorn sharing_svc.main:app`."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import ServiceSpec, create_service_app
from govdata_shared.settings import Settings

from sharing_svc.api import router
from sharing_svc.events import CONSUMED_TOPICS, DEFAULT_HANDLER, HANDLERS


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            name="sharing",
            package="sharing_svc",
            title="共享服务 sharing-svc — 共享申请与接口授权 (第四章)",
            routers=[router],
            consume_topics=CONSUMED_TOPICS,
            handlers=HANDLERS,
            default_handler=DEFAULT_HANDLER,
        ),
        settings,
    )


app = create_app()
