"""App factory of audit-svc: `uvicorn audit_svc.main:app`."""

from __future__ import annotations

import functools

from govdata_shared.service import ServiceSpec, create_service_app

from audit_svc import events
from audit_svc.api import router

SPEC = ServiceSpec(
    name="audit",
    package="audit_svc",
    title="审计服务 audit-svc — 审计与监督 (第五、六章)",
    routers=[router],
    events=events,
)


create_app = functools.partial(create_service_app, SPEC)  # create_app(settings=None, *, broker=True)


app = create_app()
