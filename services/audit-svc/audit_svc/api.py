"""HTTP routes of audit-svc, mounted under /api/audit (API.md "Audit and supervision"). Thin: who may call a route
is declared on it (access.py), and each calls one operation of a topic module. Every route only reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from govdata_shared.auth import CurrentCaller
from govdata_shared.service import Now, ReadSessionDep

from audit_svc import access_records, chain, export, reports, trail
from audit_svc.access import require_department_report_reader, require_reader
from audit_svc.schemas import AccessPage, AnnualReport, DepartmentReport, EventPage, VerifyResult

router = APIRouter()

Seq = Annotated[int | None, Query(ge=1, description="序号（含）")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="年度；默认上一年度（第三十九条）")]


@router.get("/events", response_model=EventPage, dependencies=[Depends(require_reader)])
async def list_events(
    session: ReadSessionDep,
    type: Annotated[str | None, Query(max_length=200, description="事件类型，如 sharing.grant.suspended")] = None,
    dept: Annotated[str | None, Query(max_length=64)] = None,
    resource_id: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    time_from: Annotated[datetime | None, Query(alias="from", description="事件时间下限（含），ISO 8601")] = None,
    time_to: Annotated[datetime | None, Query(alias="to", description="事件时间上限（不含），ISO 8601")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPage:
    """The audit trail, newest first, identifiers masked (auditors and the bureau)."""
    return await trail.list_events(
        session,
        type=type,
        dept=dept,
        resource_id=resource_id,
        actor=actor,
        time_from=time_from,
        time_to=time_to,
        page=page,
        size=size,
    )


@router.get("/verify", response_model=VerifyResult, dependencies=[Depends(require_reader)])
async def verify(
    request: Request, session: ReadSessionDep, now: Now, from_seq: Seq = None, to_seq: Seq = None
) -> VerifyResult:
    """Recompute the hash chain over a range (default: all of it) and name the first broken record; each batch
    of access records in it is checked against the digest its chain record holds."""
    retention = timedelta(days=request.app.state.settings.govdata_access_retention_days)
    return await chain.verify(session, from_seq=from_seq, to_seq=to_seq, retained_since=now - retention)


@router.get("/access", response_model=AccessPage)
async def list_access(
    session: ReadSessionDep,
    caller: CurrentCaller,
    grant_id: Annotated[str | None, Query(max_length=100, description="授权编号")] = None,
    client_id: Annotated[str | None, Query(max_length=200, description="调用方客户端")] = None,
    resource_id: Annotated[str | None, Query(max_length=100, description="数据资源")] = None,
    time_from: Annotated[datetime | None, Query(alias="from", description="调用时间下限（含），ISO 8601")] = None,
    time_to: Annotated[datetime | None, Query(alias="to", description="调用时间上限（不含），ISO 8601")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    """One record per data call, allowed or denied, newest first (第三十二条). Auditors and the bureau see all;
    a department sees the calls to its resources and the calls made under its grants."""
    return await access_records.list_access(
        session,
        caller,
        grant_id=grant_id,
        client_id=client_id,
        resource_id=resource_id,
        time_from=time_from,
        time_to=time_to,
        page=page,
        size=size,
    )


@router.get("/export", name="export", dependencies=[Depends(require_reader)])
async def export_log(request: Request, now: Now, from_seq: Seq = None, to_seq: Seq = None) -> StreamingResponse:
    """A range of the log as a hash-anchored JSON Lines file; verify it offline with
    `python -m audit_svc.verify_export FILE`."""
    return await export.export(request.app.state.db, from_seq=from_seq, to_seq=to_seq, now=now)


@router.get(
    "/reports/departments/{dept}",
    response_model=DepartmentReport,
    dependencies=[Depends(require_department_report_reader)],
)
async def department_report(dept: str, session: ReadSessionDep, now: Now, year: Year = None):
    """A department's supervision figures for a year (the department itself, auditors, the bureau)."""
    return await reports.department_report(session, dept=dept, year=year, now=now)


@router.get("/reports/annual", response_model=AnnualReport, dependencies=[Depends(require_reader)])
async def annual_report(session: ReadSessionDep, now: Now, year: Year = None, format: Literal["json", "csv"] = "json"):
    """第三十九条 annual report of every department; `format=csv` for Excel (UTF-8 with BOM)."""
    return await reports.annual_report(session, year=year, format=format, now=now)
