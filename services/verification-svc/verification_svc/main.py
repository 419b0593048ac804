"""App factory of verification-svc: `uvicorn verification_svc.main:app`."""

from __future__ import annotations

import functools

from govdata_shared.service import ServiceSpec, create_service_app

from verification_svc import events
from verification_svc.api import router
from verification_svc.scheduled import overdue_watch

SPEC = ServiceSpec(
    name="verification",
    package="verification_svc",
    title="校核服务 verification-svc — 数据校核 (第十九条)",
    routers=[router],
    events=events,
    background=[overdue_watch],
)


create_app = functools.partial(create_service_app, SPEC)  # create_app(settings=None, *, broker=True)


app = create_app()
