"""App factory of sharing-svc: `uvicorn sharing_svc.main:app`."""

from __future__ import annotations

import functools

from govdata_shared.service import ServiceSpec, create_service_app
from govdata_shared.settings import Settings
from pydantic import Field

from sharing_svc import events
from sharing_svc.api import router
from sharing_svc.scheduled import sharing_watch


class SharingSettings(Settings):
    service_name: str = "sharing"
    sharing_auto_revoke_inactive: bool = Field(
        False, description="Revoke grants unused for three months automatically (第二十九条 lets the provider)."
    )


SPEC = ServiceSpec(
    name="sharing",
    package="sharing_svc",
    title="共享服务 sharing-svc — 共享申请与接口授权 (第四章)",
    routers=[router],
    events=events,
    background=[sharing_watch],
    settings_class=SharingSettings,
)


create_app = functools.partial(create_service_app, SPEC)  # create_app(settings=None, *, broker=True)


app = create_app()
