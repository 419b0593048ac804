"""HTTP routes of audit-svc, mounted under /api/audit (API.md "Audit and supervision"). Thin: who may call a route
is declared on it (access.py), and each calls one operation of a topic module. Every route only reads, but those of
the departments' 第三十九条 work reports (work_reports.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from govdata_shared.auth import AuthorizeFirst, CurrentCaller, requires_department
from govdata_shared.service import Now, ReadSessionDep, SessionDep

from audit_svc import access_records, chain, export, reports, trail, work_reports
from audit_svc.access import require_department_report_reader, require_reader
from audit_svc.schemas import (
    AccessPage,
    AnnualReport,
    DepartmentReport,
    EventPage,
    VerifyResult,
    WorkReportIn,
    WorkReportOut,
    WorkReportPage,
)

# Who may call a route is decided before its body is read (AuthorizeFirst): the work reports' write routes answer a
# caller of the wrong role 403 whatever the body, never a 422 describing the schema.
router = APIRouter(route_class=AuthorizeFirst)

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


# --- 第三十九条 annual work reports ---------------------------------------------------------------------------------

ReportId = Annotated[str, Path(max_length=64)]


@router.post(
    "/work-reports", response_model=WorkReportOut, status_code=201, dependencies=[Depends(requires_department)]
)
async def file_work_report(
    body: WorkReportIn, response: Response, caller: CurrentCaller, session: SessionDep, now: Now
) -> dict:
    """第三十九条: the department's 上一年度政务数据管理情况 for a year that is over (422 `year_not_over` otherwise),
    by its operators or heads; 201 new (a draft until its attachment is there), 200 when it replaces the text of
    the department's report on that year."""
    report, created = await work_reports.file_report(session, caller, year=body.year, text=body.text, now=now)
    if not created:
        response.status_code = 200
    return report


@router.put(
    "/work-reports/{report_id}/attachment", response_model=WorkReportOut, dependencies=[Depends(requires_department)]
)
async def attach_work_report(
    report_id: ReportId,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    file: Annotated[UploadFile, File(description="附件 (PDF/JPEG/PNG, ≤ 10 MiB)")],
) -> dict:
    """The report's attachment, replacing an earlier one; with it the report is submitted (`submitted_at` is set
    once, the first time, and a chain record `audit.work_report.submitted` carries the digests)."""
    return await work_reports.attach(session, caller, report_id=report_id, upload=file, now=now)


@router.get("/work-reports", response_model=WorkReportPage)
async def list_work_reports(
    session: ReadSessionDep,
    caller: CurrentCaller,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="报告所属年度")] = None,
    dept: Annotated[str | None, Query(max_length=64)] = None,
) -> dict:
    """Work reports, newest year first: auditors and the bureau every department's, a department its own."""
    return await work_reports.list_reports(session, caller, year=year, dept=dept)


@router.get("/work-reports/{report_id}", response_model=WorkReportOut)
async def get_work_report(report_id: ReportId, session: ReadSessionDep, caller: CurrentCaller) -> dict:
    return await work_reports.get_report(session, caller, report_id)


@router.get("/work-reports/{report_id}/attachment")
async def download_work_report_attachment(report_id: ReportId, session: ReadSessionDep, caller: CurrentCaller):
    """The attachment as uploaded, its SHA-256 in `X-Content-SHA256`."""
    return await work_reports.attachment_file(session, caller, report_id)
