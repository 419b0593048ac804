"""年度工作报告: each department's 上一年度政务数据管理情况, due to the bureau by the end of January (第三十九条), over
audit-svc's `/api/audit/work-reports`.

GET  /work-reports?year=                 a department: its report on the year (default: the previous one) — its
                                         status, the deadline, the text and the attachment, in one form; the bureau
                                         and auditors: every department's report on the year, 按时 / 逾期 / 未提交
POST /work-reports                       the department's text, and with it the attachment when one is chosen
GET  /work-reports/{id}/attachment       the attachment, downloaded through the portal with the person's token

A report counts as submitted once it has both text and attachment; whether it came in time is audit-svc's to say
(the first complete submission before 1 February, Asia/Shanghai). The page shows what the API answers.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.downloads import relay_download
from govdata_portal.forms import done, error_context, field_errors, notice_of, refusal, text, upload
from govdata_portal.gateway import ApiProblem
from govdata_portal.pages import forbidden, render, today_of
from govdata_portal.session import Session

router = APIRouter()

API = "/api/audit/work-reports"
YEARS_SHOWN = 6  # the year selector offers the last year and the five before it
Text = Annotated[str | None, Query(max_length=10)]
Id = Annotated[str, Path(max_length=64)]

FIELD_LABELS = {"year": "报告年度", "text": "上一年度政务数据管理情况", "file": "附件（PDF/JPEG/PNG）"}
NOTICES = {
    "submitted": "年度工作报告已提交。",
    "saved_draft": "报告内容已保存，但尚未上传附件：上传附件后才算提交。",
}
FORBIDDEN = "年度工作报告由各部门经办人或负责人提交，县大数据局和审计监督人员查看。"


def _q(value: str) -> str:
    return quote(value, safe="")


def report_years(this_year: int) -> list[int]:
    """The years a report may be on: those that are over, newest first (第三十九条: 上一年度, or one before)."""
    return list(range(this_year - 1, this_year - 1 - YEARS_SHOWN, -1))


def chosen_year(value: str | None, years: list[int]) -> int:
    """The year asked for when it is one of `years`; else the previous year, the one due this January."""
    return int(value) if value and value.isdigit() and int(value) in years else years[0]


@router.get("/work-reports")
async def work_reports(request: Request, session: CurrentSession, api: PersonApiDep, year: Text = None) -> Response:
    years = report_years(today_of(request).year)
    shown = chosen_year(year, years)
    if session.has_role("bureau_admin", "auditor"):
        return await _oversight_page(request, api, years, shown)
    if session.is_department_staff():
        return await _department_page(request, session, api, years, shown)
    return forbidden(request, FORBIDDEN)


# --------------------------------------------------------------------------------------------- a department's


async def _department_page(
    request: Request,
    session: Session,
    api: PersonApi,
    years: list[int],
    year: int,
    *,
    typed: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    found = await api.get(API, year=year, dept=session.dept)
    report = next(iter(found.get("items", [])), None)
    return render(
        request,
        "work_reports/department.html",
        status,
        title="年度工作报告",
        active="work_reports",
        notice=notice_of(request, NOTICES),
        years=years,
        year=year,
        due_by=f"{year + 1}-01-31",
        report=report,
        text=typed if typed is not None else (report or {}).get("text", ""),
        **error_context(errors),
    )


async def _attach(api: PersonApi, report_id: str, file: UploadFile) -> None:
    content = await file.read()
    media = file.content_type or "application/octet-stream"
    await api.send("PUT", f"{API}/{_q(report_id)}/attachment", files={"file": (file.filename, content, media)})


@router.post("/work-reports", dependencies=[CsrfChecked])
async def submit(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    """The text first (a new report, or the department's report on that year replaced), then the attachment."""
    if not session.is_department_staff():
        return forbidden(request, FORBIDDEN)
    form = await request.form()
    years = report_years(today_of(request).year)
    typed_year, typed = text(form, "year"), text(form, "text")
    year = chosen_year(typed_year, years)
    file = upload(form, "file")
    body = {"year": int(typed_year) if typed_year.isdigit() else typed_year, "text": typed}
    try:
        report = await api.post(API, body)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        errors = field_errors(refused, FIELD_LABELS)
        return await _department_page(
            request, session, api, years, year, typed=typed, errors=errors, status=refused.status
        )
    location = f"/work-reports?year={report['year']}"
    if file is None:
        return done(location, "submitted" if report.get("attachment") else "saved_draft")
    try:
        await _attach(api, report["id"], file)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 413, 415, 422))
        errors = field_errors(refused, FIELD_LABELS)
        for e in errors:
            e["anchor"], e["label"] = "file", FIELD_LABELS["file"]
        return await _department_page(
            request, session, api, years, report["year"], errors=errors, status=refused.status
        )
    return done(location, "submitted")


@router.get("/work-reports/{report_id}/attachment")
async def download(session: CurrentSession, api: PersonApiDep, report_id: Id) -> Response:
    """The attachment as uploaded (its SHA-256 passed on in `X-Content-SHA256`)."""
    return await relay_download(api, f"{API}/{_q(report_id)}/attachment")


# --------------------------------------------------------------------------------------------- the bureau's


async def _oversight_page(request: Request, api: PersonApi, years: list[int], year: int) -> Response:
    """Every department of the year's annual report (also those that sent nothing) with its report, if any."""
    annual, found = await asyncio.gather(api.get("/api/audit/reports/annual", year=year), api.get(API, year=year))
    reports = {r["dept"]: r for r in found.get("items", [])}
    rows = [
        {"dept": d["dept"], "name": d.get("name"), "line": d["work_report"], "report": reports.get(d["dept"])}
        for d in annual["departments"]
    ]
    counts = {status: sum(1 for r in rows if r["line"]["status"] == status) for status in labels.WORK_REPORT_STANDING}
    return render(
        request,
        "work_reports/oversight.html",
        title="年度工作报告",
        active="work_reports",
        years=years,
        year=year,
        due_by=annual["due_by"],
        rows=rows,
        counts=counts,
        **error_context([]),
    )
