"""Tables of notify-svc.

`open_step` holds every step that waits (and, closed, those that no longer do); `step_aggregate` the last
version applied per aggregate, so a repeated or late event changes nothing. `notify_message` holds the 站内信
(reminders and 逾期通报) and `notify_message_read` who has read which. `known_resource` and `known_department`
are projections of the catalog's and the identity registry's events, for the names steps and messages show.
`webhook_subscription` and `webhook_delivery` hold departmental systems' webhooks and their delivery log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.db import UTCDateTime
from sqlmodel import JSON, Column, Field, SQLModel


class OpenStep(SQLModel, table=True):
    """One act someone owes on an aggregate (待办事项); open while `closed_at` is empty."""

    __tablename__ = "open_step"
    __table_args__ = (sa.Index("ix_open_step_aggregate", "aggregate_type", "aggregate_id"),)

    id: str = Field(primary_key=True, max_length=120, description="kind and aggregate, e.g. request:req-…:delivery")
    kind: str = Field(max_length=32, description="domain.StepKind")
    aggregate_type: str = Field(max_length=16, description="domain.Aggregate")
    aggregate_id: str = Field(max_length=80)
    resource_id: str | None = Field(default=None, max_length=40, index=True)
    subject: str = Field(max_length=200, description="the name shown until a better one is known")
    party_dept: str | None = Field(default=None, max_length=32, description="the other side, e.g. the requester")
    dept: str = Field(max_length=32, index=True, description="the responsible department (the bureau's own)")
    roles: str = Field(max_length=100, description="who acts there, domain.roles_text")
    deadline: date | None = Field(default=None, index=True)
    deadline_estimated: bool = False
    article: str = Field(max_length=16)
    link: str = Field(max_length=200)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notices: int = Field(default=0, description="messages sent about this step")
    updated_at: datetime = Field(sa_type=UTCDateTime)


class StepAggregate(SQLModel, table=True):
    """The last event version applied per aggregate."""

    __tablename__ = "step_aggregate"

    aggregate_type: str = Field(primary_key=True, max_length=16)
    aggregate_id: str = Field(primary_key=True, max_length=80)
    version: int


class Message(SQLModel, table=True):
    """站内信: a reminder or 逾期通报 to the responsible department (operators and head), copied to the bureau."""

    __tablename__ = "notify_message"
    __not_found__ = ("message_not_found", "消息 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=16, description="domain.MessageKind")
    step_id: str = Field(max_length=120, index=True)
    step_kind: str = Field(max_length=32)
    dept: str = Field(max_length=32, index=True, description="the department addressed")
    copied_to: list[str] = Field(sa_column=Column(JSON, nullable=False))
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    article: str = Field(max_length=16)
    deadline: date
    link: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class MessageRead(SQLModel, table=True):
    """One person (or client) has read one message."""

    __tablename__ = "notify_message_read"

    message_id: str = Field(primary_key=True, foreign_key="notify_message.id", max_length=40)
    reader: str = Field(primary_key=True, max_length=100)
    read_at: datetime = Field(sa_type=UTCDateTime)


class KnownResource(SQLModel, table=True):
    """A catalog resource's name and provider, and its last submission (what answers an update trigger)."""

    __tablename__ = "known_resource"

    resource_id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    provider_dept: str = Field(max_length=32)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int


class KnownDepartment(SQLModel, table=True):
    """A department's name as the identity registry last described it."""

    __tablename__ = "known_department"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    version: int


class WebhookSubscription(SQLModel, table=True):
    """A departmental system's webhook (issue 15): the events it wants, where to post them, the secret they are
    signed with. The secret is kept as given (a signature needs it) and never returned or logged."""

    __tablename__ = "webhook_subscription"
    __not_found__ = ("subscription_not_found", "订阅 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    dept: str = Field(max_length=32, index=True, description="the department it belongs to (the bureau's own)")
    system: str | None = Field(default=None, max_length=64, description="the application system that subscribed")
    url: str = Field(max_length=500)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False), description="event types or prefixes (a.b.*)")
    secret: str = Field(max_length=200, repr=False)
    enabled: bool = True
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event to post to one subscription, and how that went (the delivery log). Its id orders the deliveries
    of an aggregate: a later one waits while an earlier one is pending."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_order", "subscription_id", "aggregate", "status", "id"),
    )
    __not_found__ = ("delivery_not_found", "投递记录 {0} 不存在")

    id: int | None = Field(
        default=None,
        sa_column=Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    subscription_id: str = Field(foreign_key="webhook_subscription.id", max_length=40)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=200)
    aggregate: str = Field(max_length=200, description="the event's subject: the aggregate it is about")
    body: str = Field(sa_type=sa.Text, description="the event envelope as posted (the bytes signed)")
    status: str = Field(max_length=16, description="domain.DeliveryStatus")
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    retry_until: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="set at the first attempt: failed after an attempt past it"
    )
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
