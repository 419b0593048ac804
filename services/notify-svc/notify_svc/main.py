"""App factory of notify-svc: `uvicorn notify_svc.main:app`."""

from __future__ import annotations

import functools

from govdata_shared.service import ServiceSpec, create_service_app
from govdata_shared.settings import Settings
from pydantic import Field, field_validator

from notify_svc import events
from notify_svc.api import router
from notify_svc.domain import StepKind
from notify_svc.scheduled import deadline_watch
from notify_svc.sender import webhook_sender


class NotifySettings(Settings):
    service_name: str = "notify"
    notify_remind_working_days: dict[str, int] = Field(
        default_factory=dict,
        description="Working days before its deadline a step is reminded of, per step kind, as JSON, e.g."
        ' {"provider_review": 2}; a kind not named: 1.',
    )
    notify_webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="How long a webhook receiver has to answer one delivery."
    )
    notify_webhook_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the webhook sender looks for due deliveries when idle."
    )

    @field_validator("notify_remind_working_days")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - {kind.value for kind in StepKind})
        if unknown:
            raise ValueError(f"unknown step kinds {unknown}; known: {sorted(k.value for k in StepKind)}")
        if any(days < 0 for days in value.values()):
            raise ValueError("working days before a deadline cannot be negative")
        return value


SPEC = ServiceSpec(
    name="notify",
    package="notify_svc",
    title="通知服务 notify-svc — 待办、到期提醒与逾期通报",
    routers=[router],
    events=events,
    background=[deadline_watch, webhook_sender],
    settings_class=NotifySettings,
)


create_app = functools.partial(create_service_app, SPEC)  # create_app(settings=None, *, broker=True)


app = create_app()
