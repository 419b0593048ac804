"""App factory of catalog-svc: `uvicorn catalog_svc.main:app`."""

from __future__ import annotations

import functools

from govdata_shared.service import ServiceSpec, create_service_app

from catalog_svc import events
from catalog_svc.api import router
from catalog_svc.scheduled import overdue_watch

SPEC = ServiceSpec(
    name="catalog",
    package="catalog_svc",
    title="目录服务 catalog-svc — 政务数据资源目录 (第二章)",
    routers=[router],
    events=events,
    background=[overdue_watch],
)


create_app = functools.partial(create_service_app, SPEC)  # create_app(settings=None, *, broker=True)


app = create_app()
