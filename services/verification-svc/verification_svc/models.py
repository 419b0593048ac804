"""Tables of verification-svc.

`verifiable_resource` is a projection of catalog-svc's events (who provides a resource and which items it has);
`correction_request` holds the requests (数据校核申请) and `correction_evidence` the files attached to them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.db import UTCDateTime
from sqlmodel import JSON, Column, Field, SQLModel

from verification_svc.domain import ApplicantKind, CorrectionStatus, Outcome, SubjectType


class CatalogResource(SQLModel, table=True):
    """A catalog resource as the catalog's events describe it (read-only here)."""

    __tablename__ = "verifiable_resource"

    resource_id: str = Field(primary_key=True, max_length=40)
    provider_dept: str = Field(max_length=32, index=True, description="提供方")
    name: str = Field(max_length=200)
    items: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False), description="published items")
    status: str = Field(max_length=16, description="the resource's status after the last applied event")
    revision: int
    event_version: int = Field(description="aggregate version of the last applied event")
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CorrectionRequest(SQLModel, table=True):
    """A request to verify (and correct) a subject's data held in a resource (校核申请, 第十九条)."""

    __tablename__ = "correction_request"
    __not_found__ = ("correction_not_found", "校核申请 {0} 不存在")
    __table_args__ = (sa.Index("ix_correction_request_subject_resource", "subject_id", "resource_id"),)

    id: str = Field(primary_key=True, max_length=40)
    resource_id: str = Field(max_length=40, index=True)
    provider_dept: str = Field(max_length=32, index=True)
    # The StrEnums of domain.py are stored as plain text (the VARCHAR columns of the migration).
    subject_type: SubjectType = Field(sa_type=sa.String(8), max_length=8)
    # The full identifier: the subject and the provider need it; responses to anyone else and events mask it.
    subject_id: str = Field(max_length=18)
    subject_id_check_failed: bool = Field(default=False, description="pilot-region credit code, check fails")
    items: list[str] = Field(sa_column=Column(JSON, nullable=False), description="item codes in question")
    claimed_values: dict[str, str] = Field(sa_column=Column(JSON, nullable=False), description="values believed right")
    description: str = Field(sa_type=sa.Text)
    applicant_kind: ApplicantKind = Field(sa_type=sa.String(16), max_length=16)
    applicant_sub: str = Field(max_length=100)
    applicant_dept: str | None = Field(default=None, max_length=32, index=True)
    status: CorrectionStatus = Field(sa_type=sa.String(16), max_length=16, index=True)
    received_at: datetime = Field(sa_type=UTCDateTime)
    received_on: date = Field(description="date of receipt in Asia/Shanghai (not counted)")
    deadline: date = Field(index=True, description="第十九条: 10 working days, once extended by at most 10")
    deadline_estimated: bool = False
    original_deadline: date
    extension_days: int | None = None
    extension_reason: str | None = Field(default=None, sa_type=sa.Text)
    extended_by: str | None = Field(default=None, max_length=100)
    extended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: Outcome | None = Field(default=None, sa_type=sa.String(16), max_length=16)
    resolution_note: str | None = Field(default=None, sa_type=sa.Text)
    corrected_values: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_on: date | None = None
    on_time: bool | None = None
    working_days_taken: int | None = None
    overdue_emitted: bool = False
    version: int = Field(default=0, description="aggregate version of the last event of this request")
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CorrectionEvidence(SQLModel, table=True):
    """A file supporting a request (证明材料), kept in the database with its SHA-256."""

    __tablename__ = "correction_evidence"
    __not_found__ = ("evidence_not_found", "材料 {0} 不存在")

    id: str = Field(primary_key=True, max_length=40)
    request_id: str = Field(foreign_key="correction_request.id", max_length=40, index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=64, description="detected from the content, not the client's claim")
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))
    uploaded_by: str = Field(max_length=100)
    uploaded_at: datetime = Field(sa_type=UTCDateTime)
