"""Request and response models of notify-svc (API.md "Notifications")."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class TodoItem(BaseModel):
    """One step waiting for the caller (待办事项)."""

    kind: str = Field(description="resource_review, update_submission, platform_review, provider_review, delivery, …")
    kind_label: str = Field(description="目录审核, 提供方审批, 数据校核 …")
    id: str = Field(description="the resource, trigger, request, correction, dispute or demand the step is about")
    step_id: str
    title: str
    dept: str = Field(description="the department responsible (the bureau's own for its steps)")
    party: str | None = Field(None, description="the other side: the requester, the applicant, the provider …")
    deadline: date | None
    deadline_estimated: bool = False
    working_days_left: int | None = Field(description="0 on the deadline; negative: working days overdue")
    overdue: bool
    link: str = Field(description="the portal page of the aggregate")
    article: str = Field(description="the article of the regulation the step serves, e.g. 第二十九条")
    opened_at: datetime


class TodoOut(BaseModel):
    items: list[TodoItem]


class MessageOut(BaseModel):
    """站内信: a reminder (reminder) or 逾期通报 (overdue)."""

    id: str
    kind: str = Field(description="reminder | overdue")
    kind_label: str = Field(description="到期提醒 | 逾期通报")
    step_id: str
    step_kind: str
    dept: str = Field(description="the department addressed")
    copied_to: list[str]
    subject: str
    body: str
    article: str
    deadline: date
    link: str
    created_at: datetime
    read: bool = Field(description="read by the caller")


class MessagePage(BaseModel):
    items: list[MessageOut]
    total: int
    unread: int = Field(description="messages addressed to the caller not yet read by the caller")
    page: int
    size: int


class SubscriptionIn(BaseModel):
    """A departmental system's webhook: where to post which events, and the secret to sign them with."""

    url: str = Field(max_length=500, description="http(s), inside GOVDATA_UPSTREAM_ALLOWED_NETWORKS")
    events: list[str] = Field(
        min_length=1, max_length=50, description="event types or prefixes, e.g. sharing.request.* or catalog.*"
    )
    secret: str = Field(min_length=16, max_length=200, description="write-only: the HMAC-SHA256 key, never returned")


class SubscriptionOut(BaseModel):
    id: str
    dept: str = Field(description="the department it belongs to")
    system: str | None = Field(description="the application system that subscribed, when a client bound to one")
    url: str
    events: list[str]
    enabled: bool
    created_by: str
    created_at: datetime
    disabled_at: datetime | None


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    """One event posted (or to be posted) to one subscription."""

    id: int = Field(description="sent as X-Govdata-Delivery")
    subscription_id: str
    event_id: str
    event_type: str
    aggregate: str = Field(description="the event's subject; deliveries of one aggregate go in order")
    status: str = Field(description="pending | delivered | failed | cancelled")
    attempts: int
    next_attempt_at: datetime | None = Field(description="while pending")
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="the receiver's HTTP status at the last attempt")
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    page: int
    size: int
