"""App factory of verification-svc: `uvicorn verification_svc.main:app`."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import ServiceSpec, create_service_app
from govdata_shared.settings import Settings

from verification_svc.api import router
from verification_svc.events import CONSUMED_TOPICS, DEFAULT_HANDLER, HANDLERS
from verification_svc.scheduled import overdue_watch

SPEC = ServiceSpec(
    name="verification",
    package="verification_svc",
    title="校核服务 verification-svc — 数据校核 (第十九条)",
    routers=[router],
    consume_topics=CONSUMED_TOPICS,
    handlers=HANDLERS,
    default_handler=DEFAULT_HANDLER,
    background=[overdue_watch],
)


def create_app(settings: Settings | None = None, **options) -> FastAPI:
    return create_service_app(SPEC, settings, **options)


app = create_app()
