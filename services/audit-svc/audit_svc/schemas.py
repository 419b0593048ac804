"""Response shapes of audit-svc (API.md "Audit and supervision"). Wire values in English; labels in Chinese."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntry(BaseModel):
    """One record of the audit log (审计日志), identifiers masked."""

    seq: int
    event_id: str
    type: str
    source: str
    subject: str
    time: str = Field(description="event time, UTC")
    dept: str | None
    actor: str | None
    resource_id: str | None
    data: dict[str, Any]
    received_at: str
    hash: str = Field(description="SHA-256(previous hash ‖ canonical record), hex")


class EventPage(BaseModel):
    items: list[AuditEntry]
    total: int
    page: int
    size: int


class AccessEntry(BaseModel):
    """One data call as the gateway recorded it (API.md "Audit and supervision")."""

    id: str
    time: str = Field(description="when the call arrived, UTC")
    grant_id: str | None
    client_id: str | None
    system: str | None
    holder_dept: str | None
    provider_dept: str | None
    resource_id: str
    method: str
    path: str = Field(description="path and query string, identifiers masked")
    status: int
    outcome: str = Field(description="ok, a refusal reason (missing_token, outside_window …) or an upstream failure")
    records: int = Field(description="records returned after filtering to the granted items")
    bytes: int
    duration_ms: float
    request_id: str | None


class AccessPage(BaseModel):
    items: list[AccessEntry]
    total: int
    page: int
    size: int


class BrokenRecord(BaseModel):
    seq: int
    event_id: str | None = Field(description="the record found at that seq; null when it is missing")
    reason: str = Field(description="missing | out_of_order | hash_mismatch | head_mismatch | access_records_altered")
    detail: str


class VerifyResult(BaseModel):
    ok: bool
    checked: int = Field(description="records whose link verified")
    from_seq: int
    to_seq: int
    last_hash: str = Field(description="hash at the last verified record, hex (compare with an export's anchor)")
    first_broken: BrokenRecord | None = None


class FigureValue(BaseModel):
    value: int
    label: str
    article: str


class DepartmentReport(BaseModel):
    """A department's supervision figures for a year (第三十七、三十八条)."""

    dept: str
    year: int
    period: dict[str, str]
    generated_at: datetime
    figures: dict[str, FigureValue]


class DepartmentFigures(BaseModel):
    dept: str
    name: str | None = Field(None, description="the registry's name of the department")
    figures: dict[str, FigureValue]


class AnnualReport(BaseModel):
    """The annual report of 第三十九条: every department's figures for the year."""

    year: int
    article: str
    due_by: str
    period: dict[str, str]
    generated_at: datetime
    departments: list[DepartmentFigures]
    totals: dict[str, FigureValue]
