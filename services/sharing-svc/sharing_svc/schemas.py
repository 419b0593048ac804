"""Request and response shapes of sharing-svc (API.md "Sharing")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sharing_svc.domain import Decision, DisputeOutcome, DisputeStatus, GrantStatus, RequestStatus, SharingType

Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class RequestIn(BaseModel):
    """共享申请: the requester names the resource, the items it needs, why, and for which period."""

    model_config = ConfigDict(extra="forbid")

    resource_id: str = Field(min_length=1, max_length=40)
    items: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=500)
    purpose: Reason
    duty_basis: Reason = Field(description="履职依据: the duty the data serves")
    system: str = Field(
        min_length=1, max_length=64, description="id of the 应用系统 of the requester's department the data is for"
    )
    valid_from: date
    valid_to: date
    seasonal: bool = Field(default=False, description="季节性应用: exempt from the 3-month inactivity revocation")


class AttachmentOut(BaseModel):
    """The 需求单 as kept: its file name, size in bytes and sha256 (hex)."""

    name: str | None
    size: int | None
    sha256: str


class DecisionOut(BaseModel):
    """One stage decided: by which department, within its deadline or not."""

    stage: RequestStatus
    decision: Decision
    decided_dept: str
    reason: str | None = Field(description="why the request was refused, or why the refused items were refused")
    refused_items: list[str] | None = Field(
        None, description="requested items the provider did not agree to (第二十九条(二)); null when none"
    )
    deadline: date | None
    on_time: bool
    decided_at: datetime


class RequestOut(BaseModel):
    id: str
    status: RequestStatus
    path: SharingType
    requester_dept: str
    requester_system: str = Field(description="id of the requester's 应用系统")
    provider_dept: str
    resource_id: str
    resource_name: str | None = None
    items: list[str]
    approved_items: list[str] | None = Field(
        description="the items approved for the grant: all requested ones, or the subset the provider agreed to "
        "(第二十九条(二)); null until the platform's review or the provider approves"
    )
    purpose: str
    duty_basis: str
    valid_from: date
    valid_to: date
    seasonal: bool
    deadline: date | None
    deadline_estimated: bool
    grant_id: str | None
    reject_reason: str | None
    rejected_stage: RequestStatus | None
    attachment: AttachmentOut | None
    decisions: list[DecisionOut] = Field(default=[], description="only in the view of one request")
    created_at: datetime
    updated_at: datetime


class ApproveIn(BaseModel):
    """A stage approved. Only the provider (at provider_review) may name `items`: a non-empty subset of those
    requested, which the grant then carries alone (第二十九条(二)); without `items` every requested item is agreed
    to. The bureau's stages take no items (422 `items_not_allowed`). Items left out are refused: `reason` then says
    why, as a refusal must (422 `reason_required_for_refused_items` without it)."""

    model_config = ConfigDict(extra="forbid")

    items: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=2000, description="why the items left out are refused")


class SystemOut(BaseModel):
    """应用系统 of a department, as sharing-svc knows it from the gateway's registry: what a request names."""

    id: str
    dept: str
    name: str


class ReasonIn(BaseModel):
    """Why a request is refused (第二十九条(二): required) or a grant paused or ended."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class GrantOut(BaseModel):
    id: str
    request_id: str
    holder_dept: str
    holder_system: str = Field(description="id of the 应用系统 whose clients alone get grant tokens")
    provider_dept: str
    resource_id: str
    items: list[str]
    purpose: str
    valid_from: date
    valid_to: date
    seasonal: bool
    status: GrantStatus
    status_reason: str | None
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: str = Field(min_length=1, max_length=40)
    request_id: str | None = Field(default=None, max_length=40)
    reason: Reason


class ResolveIn(BaseModel):
    """The bureau's decision (第二十七条): `outcome` says what it orders — `grant_ordered` grants the refused request
    the dispute names; `sharing_change_ordered` asks the provider to register `ordered_sharing_type`."""

    model_config = ConfigDict(extra="forbid")

    resolution: Reason
    outcome: DisputeOutcome = DisputeOutcome.UPHELD
    ordered_sharing_type: SharingType | None = None


class AnswerIn(BaseModel):
    """The provider department's answer to a dispute about its resource."""

    model_config = ConfigDict(extra="forbid")

    answer: Reason


class DisputeOut(BaseModel):
    id: str
    requester_dept: str
    resource_id: str
    provider_dept: str | None
    request_id: str | None
    reason: str
    status: DisputeStatus
    deadline: date | None = Field(description="the bureau decides by then: ten working days from the dispute")
    deadline_estimated: bool = False
    provider_answer: str | None = None
    answered_at: datetime | None = None
    resolution: str | None
    outcome: DisputeOutcome | None = None
    grant_id: str | None = None
    ordered_sharing_type: SharingType | None = None
    created_at: datetime
    resolved_at: datetime | None


class OverdueOut(BaseModel):
    request_id: str
    stage: RequestStatus
    responsible_dept: str
    requester_dept: str
    provider_dept: str
    resource_id: str
    deadline: date
    estimated: bool
    days_overdue: int


RequestRole = Literal["requester", "provider", "platform"]
