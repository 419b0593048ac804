"""App factory of audit-svc: `uvicorn audit_svc.main:app`."""

from __future__ import annotations

import functools

from fastapi import FastAPI
from govdata_shared.service import ServiceSpec, create_service_app, periodic
from govdata_shared.settings import Settings
from pydantic import Field

from audit_svc import access_records, events
from audit_svc.api import router


class AuditSettings(Settings):
    service_name: str = "audit"
    govdata_access_retention_days: int = Field(
        access_records.DEFAULT_RETENTION_DAYS,
        ge=1,
        description="How long access records of data calls are kept (whole batches are deleted after it).",
    )


async def prune_access_records(app: FastAPI) -> str | None:
    async with app.state.db.session() as session:
        deleted = await access_records.prune(
            session, app.state.clock(), app.state.settings.govdata_access_retention_days
        )
        await session.commit()
    return f"{deleted} access records past retention deleted" if deleted else None


SPEC = ServiceSpec(
    name="audit",
    package="audit_svc",
    title="审计服务 audit-svc — 审计与监督 (第五、六章)",
    routers=[router],
    events=events,
    background=[periodic("access record retention", 3600, prune_access_records)],
    settings_class=AuditSettings,
)


create_app = functools.partial(create_service_app, SPEC)  # create_app(settings=None, *, broker=True)


app = create_app()
