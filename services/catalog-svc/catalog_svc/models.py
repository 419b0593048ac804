"""Tables of catalog-svc.

A resource (政务数据资源) has a stable id and a chain of revisions: the published revision is what others see;
a change is a new draft revision that goes through review and supersedes the old one (第十四条).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.db import UTCDateTime
from sqlmodel import JSON, Column, Field, SQLModel


class Resource(SQLModel, table=True):
    """The stable identity of a data resource; its content lives in revisions."""

    __tablename__ = "resource"
    __not_found__ = ("resource_not_found", "资源 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    code: str = Field(max_length=64, unique=True, description="信息资源代码")
    provider_dept: str = Field(max_length=32, index=True, description="提供方")
    status: str = Field(max_length=16, index=True, description="status of the resource as a whole (ResourceStatus)")
    published_version: int | None = Field(default=None, description="revision others see; None until first publish")
    latest_version: int = Field(default=1, description="newest revision (may be a draft)")
    event_version: int = Field(default=0, description="aggregate version carried by this resource's events")
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refresh_overdue_due: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="the refresh due date already announced as missed (第十三条)"
    )


class ResourceRevision(SQLModel, table=True):
    """One version of a resource's metadata (after 发改高技〔2017〕1272号)."""

    __tablename__ = "resource_revision"
    __not_found__ = ("revision_not_found", "资源 {0} 没有第 {1} 版")

    resource_id: str = Field(foreign_key="resource.id", primary_key=True, max_length=40)
    version: int = Field(primary_key=True)
    status: str = Field(max_length=16, index=True, description="RevisionStatus")
    name: str = Field(max_length=200)
    summary: str = Field(sa_type=sa.Text)
    category: str = Field(max_length=16)
    format: str = Field(max_length=32)
    items: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    sharing_type: str = Field(max_length=16)
    sharing_conditions: str | None = Field(default=None, sa_type=sa.Text)
    legal_basis: str | None = Field(default=None, sa_type=sa.Text)
    sharing_method: str = Field(max_length=16)
    open_type: str = Field(max_length=20)
    open_conditions: str | None = Field(default=None, sa_type=sa.Text)
    security_level: str = Field(max_length=1)
    update_cycle: str = Field(max_length=16)
    usage_requirements: str | None = Field(default=None, sa_type=sa.Text)
    related_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    interface: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    no_state_secrets: bool = Field(
        default=False, description="第二条: the provider declared this revision holds no state secret (不涉及国家秘密)"
    )
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_deadline: date | None = Field(default=None, description="第十四条: bureau reviews within 5 working days")
    review_deadline_estimated: bool = False
    review_overdue_emitted: bool = False
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, max_length=100)
    review_reason: str | None = Field(default=None, sa_type=sa.Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def published_revisions() -> sa.Select:
    """Each resource joined with the revision it published (resources never published drop out)."""
    return sa.select(Resource, ResourceRevision).join(
        ResourceRevision,
        sa.and_(ResourceRevision.resource_id == Resource.id, ResourceRevision.version == Resource.published_version),
    )


class ItemAuthority(SQLModel, table=True):
    """一数一源 (第十六条): which department is the authoritative source of a data item code."""

    __tablename__ = "item_authority"

    item_code: str = Field(primary_key=True, max_length=64)
    dept: str = Field(primary_key=True, max_length=32)
    resource_id: str = Field(primary_key=True, max_length=40, description="a department may claim on several")
    allowed_overlap: bool = Field(default=False, description="bureau allowed this department beside another")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class AuthorityOverlap(SQLModel, table=True):
    """The bureau's permission for a department to claim authority over an item another already holds."""

    __tablename__ = "authority_overlap"

    item_code: str = Field(primary_key=True, max_length=64)
    dept: str = Field(primary_key=True, max_length=32)
    reason: str = Field(sa_type=sa.Text)
    allowed_by: str = Field(max_length=100)
    allowed_at: datetime = Field(sa_type=UTCDateTime)


class UpdateTrigger(SQLModel, table=True):
    """第十四条: a law or a department's duties changed; its catalog must be updated in 10 working days and the
    bureau must review the update within 5 working days of receiving it."""

    __tablename__ = "update_trigger"

    id: str = Field(primary_key=True, max_length=40)
    dept: str = Field(max_length=32, index=True)
    resource_id: str | None = Field(default=None, max_length=40, index=True)
    resource_ids: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    answered_ids: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    kind: str = Field(max_length=20)
    occurred_on: date
    description: str = Field(sa_type=sa.Text)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    submit_deadline: date
    submit_deadline_estimated: bool = False
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_version: int | None = None
    review_deadline: date | None = None
    review_deadline_estimated: bool = False
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submit_overdue_emitted: bool = False
    review_overdue_emitted: bool = False


class Demand(SQLModel, table=True):
    """需求清单 (第十二条): data a department needs from others."""

    __tablename__ = "demand"
    __not_found__ = ("demand_not_found", "需求 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    dept: str = Field(max_length=32, index=True)
    title: str = Field(max_length=200)
    description: str = Field(sa_type=sa.Text)
    resource_id: str | None = Field(default=None, max_length=40)
    status: str = Field(default="submitted", max_length=16, index=True, description="DemandStatus")
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    met_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    met_by: str | None = Field(default=None, max_length=100)
    # 第十二条: the department expected to supply it; the bureau reviews (and may route it to another department)
    supplier_dept: str | None = Field(default=None, max_length=32, index=True)
    routed_from: str | None = Field(default=None, max_length=32)
    review_decision: str | None = Field(default=None, max_length=16, description="DemandReview")
    review_reason: str | None = Field(default=None, sa_type=sa.Text)
    reviewed_by: str | None = Field(default=None, max_length=100)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the supplier's answer: it will provide by a date, or it cannot and why
    answer: str | None = Field(default=None, max_length=16, description="DemandAnswer")
    provide_by: date | None = None
    answer_reason: str | None = Field(default=None, sa_type=sa.Text)
    answered_by: str | None = Field(default=None, max_length=100)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    event_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ResponsibilityEntry(SQLModel, table=True):
    """责任清单 entry (第十三条): the bureau assigns a department a resource of the catalog to collect and keep
    refreshed on a cycle; whether it is fulfilled is computed from the catalog."""

    __tablename__ = "responsibility_entry"
    __table_args__ = (
        sa.Index(
            "ux_responsibility_entry_active",
            "dept",
            "resource_code",
            unique=True,
            postgresql_where=sa.text("withdrawn_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL"),
        ),
    )
    __not_found__ = ("responsibility_not_found", "责任清单条目 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    dept: str = Field(max_length=32, index=True)
    resource_code: str = Field(max_length=64, description="信息资源代码 the department must publish")
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=sa.Text)
    update_cycle: str = Field(max_length=16, description="UpdateCycle")
    assigned_by: str = Field(max_length=100)
    assigned_at: datetime = Field(sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_reason: str | None = Field(default=None, sa_type=sa.Text)
    event_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class RefreshReport(SQLModel, table=True):
    """A department's report that it refreshed a resource's data (采集责任清单, 第十三条)."""

    __tablename__ = "refresh_report"

    id: str = Field(primary_key=True, max_length=40)
    resource_id: str = Field(max_length=40, index=True)
    dept: str = Field(max_length=32)
    refreshed_at: datetime = Field(sa_type=UTCDateTime)
    record_count: int | None = None
    note: str | None = Field(default=None, sa_type=sa.Text)
    reported_by: str = Field(max_length=100)
    reported_at: datetime = Field(sa_type=UTCDateTime)
