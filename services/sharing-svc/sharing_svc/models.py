"""Tables of sharing-svc: the catalog and application-system projections it decides against, share requests and
their decisions, interface grants (接口授权) and disputes (异议)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.db import UTCDateTime
from sqlmodel import JSON, Column, Field, SQLModel


class CatalogResource(SQLModel, table=True):
    """What sharing-svc knows of a catalog resource, kept from catalog events (applied by aggregate version)."""

    __tablename__ = "catalog_resource"

    resource_id: str = Field(primary_key=True, max_length=40)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    provider_dept: str = Field(max_length=32, index=True)
    status: str = Field(max_length=16)
    sharing_type: str = Field(max_length=16)
    items: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    version: int


class ApplicationSystem(SQLModel, table=True):
    """应用系统: a business system of a department, which requests name and grants are made to (第二十九条); kept
    from the gateway's identity.system.* events (applied by aggregate version)."""

    __tablename__ = "application_system"

    system_id: str = Field(primary_key=True, max_length=64)
    dept: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    disabled: bool = False
    version: int


class ShareRequest(SQLModel, table=True):
    """共享申请 (第二十九条)."""

    __tablename__ = "share_request"
    __not_found__ = ("request_not_found", "共享申请 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    requester_dept: str = Field(max_length=32, index=True)
    requester_system: str = Field(max_length=200, description="its ApplicationSystem (应用系统)")
    provider_dept: str = Field(max_length=32, index=True)
    resource_id: str = Field(max_length=40, index=True)
    items: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # The items the grant carries: fixed by the approval of the platform's review (all requested) or of the
    # provider (all, or the subset it agreed to, 第二十九条(二)); None until then.
    approved_items: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    purpose: str = Field(sa_type=sa.Text)
    duty_basis: str = Field(sa_type=sa.Text, description="履职依据")
    valid_from: date
    valid_to: date
    seasonal: bool = False
    path: str = Field(max_length=16, description="domain.SharingType: unconditional | conditional")
    status: str = Field(max_length=20, index=True, description="domain.RequestStatus")
    stage_started_on: date
    stage_deadline: date | None = None
    stage_deadline_estimated: bool = False
    stage_overdue_emitted: bool = False
    grant_id: str | None = Field(default=None, max_length=40)
    reject_reason: str | None = Field(default=None, sa_type=sa.Text)
    rejected_stage: str | None = Field(default=None, max_length=20)
    attachment_name: str | None = Field(default=None, max_length=200)
    attachment_size: int | None = None
    attachment_sha256: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = 0


class RequestAttachment(SQLModel, table=True):
    """需求单 with the requester's seal (第二十九条(二)), kept with its size and sha256."""

    __tablename__ = "request_attachment"
    __not_found__ = ("attachment_not_found", "该申请没有附件")

    request_id: str = Field(primary_key=True, max_length=40)
    content_type: str = Field(max_length=100)
    content: bytes = Field(sa_type=sa.LargeBinary)


class RequestDecision(SQLModel, table=True):
    """One stage decided: who, when, within its deadline or not."""

    __tablename__ = "request_decision"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=40, index=True)
    stage: str = Field(max_length=20)
    decision: str = Field(max_length=10)
    decided_by: str = Field(max_length=100)
    decided_dept: str = Field(max_length=32)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    refused_items: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    deadline: date | None = None
    on_time: bool
    decided_at: datetime = Field(sa_type=UTCDateTime)


class Grant(SQLModel, table=True):
    """接口授权: the holder department's right to call a resource's interface for the granted items."""

    __tablename__ = "interface_grant"
    __not_found__ = ("grant_not_found", "授权 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    request_id: str = Field(max_length=40)
    holder_dept: str = Field(max_length=32, index=True)
    holder_system: str = Field(max_length=200, description="its ApplicationSystem: only its clients get tokens")
    provider_dept: str = Field(max_length=32, index=True)
    resource_id: str = Field(max_length=40, index=True)
    items: list[str] = Field(sa_column=Column(JSON, nullable=False))
    purpose: str = Field(sa_type=sa.Text)
    valid_from: date
    valid_to: date
    seasonal: bool = False
    status: str = Field(max_length=20, index=True, description="domain.GrantStatus")
    status_reason: str | None = Field(default=None, sa_type=sa.Text)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = 0


class GrantChange(SQLModel, table=True):
    """Who changed a grant's status, when and why."""

    __tablename__ = "grant_change"

    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(max_length=40, index=True)
    from_status: str = Field(max_length=20)
    to_status: str = Field(max_length=20)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    changed_by: str = Field(max_length=100)
    changed_at: datetime = Field(sa_type=UTCDateTime)


class Dispute(SQLModel, table=True):
    """异议 (第二十七条): the bureau resolves it together with the provider."""

    __tablename__ = "dispute"
    __not_found__ = ("dispute_not_found", "异议 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    requester_dept: str = Field(max_length=32, index=True)
    resource_id: str = Field(max_length=40)
    provider_dept: str | None = Field(default=None, max_length=32)
    request_id: str | None = Field(default=None, max_length=40)
    reason: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16, index=True, description="domain.DisputeStatus")
    resolution: str | None = Field(default=None, sa_type=sa.Text)
    deadline: date | None = Field(default=None, description="the bureau decides by then (domain.dispute_deadline)")
    deadline_estimated: bool = False
    provider_answer: str | None = Field(default=None, sa_type=sa.Text)
    answered_by: str | None = Field(default=None, max_length=100)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=32, description="domain.DisputeOutcome")
    grant_id: str | None = Field(default=None, max_length=40)
    ordered_sharing_type: str | None = Field(default=None, max_length=16)
    resolved_by: str | None = Field(default=None, max_length=100)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 0
