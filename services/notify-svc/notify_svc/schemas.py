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
