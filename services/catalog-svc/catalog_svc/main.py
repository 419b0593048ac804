"""App factory of catalog-svc: `uvicorn catalog_svc.main:app`."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import ServiceSpec, create_service_app
from govdata_shared.settings import Settings

from catalog_svc.api import router
from catalog_svc.events import CONSUMED_TOPICS, DEFAULT_HANDLER, HANDLERS
from catalog_svc.scheduled import overdue_watch

SPEC = ServiceSpec(
    name="catalog",
    package="catalog_svc",
    title="目录服务 catalog-svc — 政务数据资源目录 (第二章)",
    routers=[router],
    consume_topics=CONSUMED_TOPICS,
    handlers=HANDLERS,
    default_handler=DEFAULT_HANDLER,
    background=[overdue_watch],
)


def create_app(settings: Settings | None = None, **options) -> FastAPI:
    return create_service_app(SPEC, settings, **options)


app = create_app()
