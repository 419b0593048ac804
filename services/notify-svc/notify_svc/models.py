"""Tables of notify-svc.

`open_step` holds every step that waits (and, closed, those that no longer do); `step_aggregate` the last
version applied per aggregate, so a repeated or late event changes nothing. `notify_message` holds the 站内信
(reminders and 逾期通报) and `notify_message_read` who has read which. `known_resource` and `known_department`
are projections of the catalog's and the identity registry's events, for the names steps and messages show.
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
