"""考核评价: each department's yearly scores over 汇聚、共享、应用、安全 (第三十八条), the bureau's 改进意见 and the
publication of the results (第三十七条), over audit-svc's `/api/audit/evaluation`.

GET  /evaluation?year=                               the bureau and auditors: every department's total, dimension
                                                     scores and rank, each department's indicators with their source
                                                     figures, the 改进意见, the method; a department: its own row
POST /evaluation/{year}/departments/{dept}/opinion   the bureau's 改进意见 to a department (replaced when sent again)
POST /evaluation/{year}/publish                      the bureau publishes the year's results: frozen and public
GET  /evaluation/export.csv?year=                    the table for Excel (UTF-8 with BOM), from audit-svc
GET  /evaluation/report.html?year=                   the printable report, downloaded (it carries its own style,
                                                     which the portal's pages do not allow inline)

The scores, the ranking and what counts are audit-svc's; the page shows what the API answers.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.downloads import content_disposition, relay_download
from govdata_portal.forms import anchor_of, done, error_context, field_errors, notice_of, refusal, text
from govdata_portal.gateway import ApiProblem
from govdata_portal.lists import department_names
from govdata_portal.oversight import year_choices
from govdata_portal.pages import forbidden, render, today_of
from govdata_portal.session import Session

router = APIRouter()

API = "/api/audit/evaluation"
PUBLIC_API = "/api/audit/public/evaluation"
Text = Annotated[str | None, Query(max_length=10)]
Year = Annotated[int, Path(ge=2000, le=2100)]
Dept = Annotated[str, Path(max_length=64)]

FIELD_LABELS = {"year": "评价年度", "config_version": "评价配置版本", "text": "改进意见"}
NOTICES = {
    "opinion_saved": "改进意见已保存。",
    "published": "评价结果已向社会公布，公众无需登录即可查看。",
}
FORBIDDEN = "考核评价结果供县大数据局、审计监督人员和各部门（本部门）查看。"
DIMENSION_ORDER = ("aggregation", "sharing", "application", "security")


def opinion_anchor(dept: str) -> str:
    """The id of a department's 改进意见 field: one form per department on the page."""
    return anchor_of(f"opinion-{dept}")


async def _page(
    request: Request,
    session: Session,
    api: PersonApi,
    year: str | int | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    this_year = today_of(request).year
    try:
        evaluation = await api.get(API, year=year)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 422))
        return render(
            request,
            "evaluation/page.html",
            refused.status,
            title="考核评价",
            active="evaluation",
            evaluation=None,
            years=year_choices(this_year, None),
            **error_context(field_errors(refused, FIELD_LABELS)),
        )
    names = await department_names(api, session)
    bureau = session.has_role("bureau_admin")
    draft = evaluation["status"] == "draft"
    return render(
        request,
        "evaluation/page.html",
        status,
        title="考核评价",
        active="evaluation",
        notice=notice_of(request, NOTICES),
        evaluation=evaluation,
        names=names,
        years=year_choices(this_year, evaluation["year"]),
        oversees=session.has_role("bureau_admin", "auditor"),
        can_edit=bureau and draft,
        # 第三十七条: results of a year that is over; once published they stay as they are
        can_publish=bureau and draft and evaluation["year"] < this_year and bool(evaluation["departments"]),
        typed=typed or {},
        opinion_anchor=opinion_anchor,
        public_url=f"{PUBLIC_API}?year={evaluation['year']}&format=html",
        **error_context(errors),
    )


@router.get("/evaluation")
async def evaluation_page(request: Request, session: CurrentSession, api: PersonApiDep, year: Text = None) -> Response:
    if not (session.has_role("bureau_admin", "auditor") or session.is_department_staff()):
        return forbidden(request, FORBIDDEN)
    return await _page(request, session, api, year)


@router.post("/evaluation/{year}/departments/{dept}/opinion", dependencies=[CsrfChecked])
async def save_opinion(
    request: Request, session: CurrentSession, api: PersonApiDep, year: Year, dept: Dept
) -> Response:
    """The bureau's 改进意见 to `dept`, then back to the department's part of the page."""
    form = await request.form()
    typed = text(form, "text")
    try:
        await api.send("PUT", f"{API}/{year}/departments/{quote(dept, safe='')}/opinion", json={"text": typed})
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        errors = field_errors(refused, FIELD_LABELS)
        for e in errors:
            if e.get("field") == "text":
                e["anchor"], e["label"] = opinion_anchor(dept), f"改进意见（{dept}）"
        return await _page(request, session, api, year, errors=errors, typed={dept: typed}, status=refused.status)
    return done(f"/evaluation?year={year}", "opinion_saved")


@router.post("/evaluation/{year}/publish", dependencies=[CsrfChecked])
async def publish(request: Request, session: CurrentSession, api: PersonApiDep, year: Year) -> Response:
    """第三十七条: the year's results and 改进意见 published, as they stand now."""
    try:
        await api.post(f"{API}/{year}/publish")
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        return await _page(
            request, session, api, year, errors=field_errors(refused, FIELD_LABELS), status=refused.status
        )
    return done(f"/evaluation?year={year}", "published")


@router.get("/evaluation/export.csv")
async def export_csv(session: CurrentSession, api: PersonApiDep, year: Text = None) -> Response:
    """The evaluation as audit-svc writes it for Excel (UTF-8 with BOM); a department gets its own row."""
    name = f"evaluation-{year}.csv" if year and year.isdigit() else "evaluation.csv"
    return await relay_download(api, API, {"year": year, "format": "csv"}, filename=name)


@router.get("/evaluation/report.html")
async def printable_report(session: CurrentSession, api: PersonApiDep, year: Text = None) -> Response:
    """The printable report, as a file to open and print: shown inside the portal its own inline style would be
    refused by the portal's Content-Security-Policy."""
    name = f"evaluation-{year}.html" if year and year.isdigit() else "evaluation.html"
    response = await relay_download(api, API, {"year": year, "format": "html"})
    response.headers["Content-Disposition"] = content_disposition(name)
    return response
