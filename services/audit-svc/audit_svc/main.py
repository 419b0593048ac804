"""App factory of audit-svc: `uvicorn audit_svc.main:app`."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import ServiceSpec, create_service_app
from govdata_shared.settings import Settings

from audit_svc.api import router
from audit_svc.events import CONSUMED_TOPICS, DEFAULT_HANDLER, HANDLERS, append_batch

SPEC = ServiceSpec(
    name="audit",
    package="audit_svc",
    title="审计服务 audit-svc — 审计与监督 (第五、六章)",
    routers=[router],
    consume_topics=CONSUMED_TOPICS,
    handlers=HANDLERS,
    default_handler=DEFAULT_HANDLER,
    batch_handler=append_batch,
)


def create_app(settings: Settings | None = None, **options) -> FastAPI:
    return create_service_app(SPEC, settings, **options)


app = create_app()
