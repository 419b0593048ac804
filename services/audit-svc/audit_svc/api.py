"""HTTP routes of audit-svc, mounted under /api/audit (API.md "Audit and supervision"). Thin: who may call a route
is declared on it (access.py), and each calls one operation of a topic module. Every route only reads, but those of
the departments' 第三十九条 work reports (work_reports.py) and of the bureau's 第三十八条 evaluation (evaluation.py).
`GET /public/evaluation` alone needs no token: the results the bureau published (第三十七条)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import pydantic_core
from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, StreamingResponse
from govdata_shared.auth import AuthorizeFirst, CurrentCaller, requires_department
from govdata_shared.pages import PageCache
from govdata_shared.service import Now, ReadSessionDep, SessionDep

from audit_svc import access_records, chain, evaluation, evaluation_export, export, reports, trail, work_reports
from audit_svc.access import (
    require_bureau,
    require_department_report_reader,
    require_evaluation_reader,
    require_reader,
)
from audit_svc.models import HEAD_ID
from audit_svc.schemas import (
    AccessPage,
    AnnualReport,
    DepartmentOpinion,
    DepartmentReport,
    Evaluation,
    EvaluationConfigIn,
    EvaluationConfigOut,
    EventPage,
    OpinionIn,
    PublicEvaluation,
    VerifyResult,
    WorkReportIn,
    WorkReportOut,
    WorkReportPage,
)

# Who may call a route is decided before its body is read (AuthorizeFirst): the work reports' write routes answer a
# caller of the wrong role 403 whatever the body, never a 422 describing the schema.
router = APIRouter(route_class=AuthorizeFirst)

# Pages of the trail, kept while the chain head stays where it is (govdata_shared.pages).
EVENT_PAGES = PageCache("audit.events", f"SELECT seq FROM audit_chain_head WHERE id = {HEAD_ID}")

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
) -> Response:
    """The audit trail, newest first, identifiers masked (auditors and the bureau)."""
    filters = {"type": type, "dept": dept, "resource_id": resource_id, "actor": actor}

    async def render() -> bytes:
        events = await trail.list_events(session, **filters, time_from=time_from, time_to=time_to, page=page, size=size)
        return pydantic_core.to_json(events)

    # Every reader sees the same masked trail; it changes only by appends, which move the chain head.
    key = (*filters.values(), time_from, time_to, page, size)
    return await EVENT_PAGES.respond(session, key, render)


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


# --- 第三十八条 evaluation (考核评价) and its publication (第三十七条) ----------------------------------------------

ConfigVersion = Annotated[int | None, Query(ge=1, description="评价配置版本；默认现行版本")]
EvaluationYear = Annotated[int, Path(ge=2000, le=2100, description="评价年度")]
Dept = Annotated[str, Path(max_length=64, description="部门代码")]


def _evaluation_file(result: dict, format: str, filename: str) -> Response:
    if format == "csv":
        return Response(
            evaluation_export.evaluation_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    return HTMLResponse(
        evaluation_export.evaluation_html(result),
        headers={
            "Content-Disposition": f'inline; filename="{filename}.html"',
            "Content-Security-Policy": evaluation_export.CSP,
        },
    )


@router.get("/evaluation/config", response_model=EvaluationConfigOut, dependencies=[Depends(require_reader)])
async def evaluation_config(
    session: ReadSessionDep, version: Annotated[int | None, Query(ge=1, description="版本；默认现行版本")] = None
) -> dict:
    """评价办法: the indicators and weights in force (or of `version`), every version, and the figures available."""
    return await evaluation.config(session, version)


@router.put("/evaluation/config", response_model=EvaluationConfigOut, dependencies=[Depends(require_bureau)])
async def change_evaluation_config(
    body: EvaluationConfigIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> dict:
    """A new version of the configuration (the bureau's); 422 naming the field and rule when weights are negative or
    do not add up to 100 within a dimension or across the four, or a figure is unknown."""
    content = body.model_dump(exclude={"note"})
    return await evaluation.change_config(session, caller, body=content, note=body.note, now=now)


@router.get("/evaluation", response_model=Evaluation, dependencies=[Depends(require_evaluation_reader)])
async def get_evaluation(
    session: ReadSessionDep,
    caller: CurrentCaller,
    now: Now,
    year: Year = None,
    config_version: ConfigVersion = None,
    format: Literal["json", "csv", "html"] = "json",
):
    """第三十八条: every department's scores, with every indicator, weight and source figure, and the ranking (a
    department: its own row); `format=csv` for Excel (UTF-8 with BOM), `format=html` a printable report."""
    result = await evaluation.evaluation(session, caller, year=year, config_version=config_version, now=now)
    if format == "json":
        return result
    return _evaluation_file(result, format, f"evaluation-{result['year']}")


@router.put(
    "/evaluation/{year}/departments/{dept}/opinion",
    response_model=DepartmentOpinion,
    dependencies=[Depends(require_bureau)],
)
async def set_evaluation_opinion(
    year: EvaluationYear, dept: Dept, body: OpinionIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> dict:
    """The bureau's 改进意见 to a department on a year (replaced when sent again); 409 once the year is published."""
    return await evaluation.set_opinion(session, caller, year=year, dept=dept, text=body.text, now=now)


@router.post(
    "/evaluation/{year}/publish", response_model=Evaluation, status_code=201, dependencies=[Depends(require_bureau)]
)
async def publish_evaluation(year: EvaluationYear, caller: CurrentCaller, session: SessionDep, now: Now) -> dict:
    """第三十七条: freeze the year's results and 改进意见 as published; anyone may then read them at
    `/public/evaluation`. 422 `year_not_over`, 409 `evaluation_published`."""
    return await evaluation.publish(session, caller, year=year, now=now)


# No caller dependency: the one route without a token, and the merged API docs say so (`security: [{}]`).
@router.get("/public/evaluation", response_model=PublicEvaluation, openapi_extra={"security": [{}]})
async def public_evaluation(
    session: ReadSessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="年度；默认最近公布的年度")] = None,
    format: Literal["json", "html"] = "json",
):
    """The published results, for anyone (no token): department names, scores, ranks, dimensions and 改进意见."""
    result = await evaluation.public_evaluation(session, year=year)
    if format == "json":
        return result
    return HTMLResponse(
        evaluation_export.public_html(result), headers={"Content-Security-Policy": evaluation_export.CSP}
    )
