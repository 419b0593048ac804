"""需求清单 (第十二条), over catalog-svc's demands (`/api/catalog/demands`): a department asks for data it needs from
another department, naming the department expected to supply it; the bureau reviews the demand (受理, 转交其他部门
or 驳回, saying why); the supplying department answers (承诺提供 by a date, or 无法提供 and why) and may change its
answer; the bureau confirms the demand met. The requesting department cannot close its own demand.

- `/demands`: a department's own demands and those addressed to it (`?role=` narrows), the bureau every
  department's; department staff record a demand here;
- `/demands/{id}`: one demand, its review and answer, and the step that is the person's to take, if any.

The API decides every rule; the pages offer each person their steps and show the refusals beside the fields.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.forms import anchor_of, done, error_context, field_errors, notice_of, refusal, text
from govdata_portal.gateway import ApiProblem
from govdata_portal.lists import department_names
from govdata_portal.pages import error_page, page_or_part, paged, render, today_of
from govdata_portal.session import Session

router = APIRouter()

API = "/api/catalog/demands"
PAGE_SIZE = 20
RESULTS_ID = "demand-results"

DemandId = Annotated[str, Path(max_length=64)]
Param = Annotated[str | None, Query(max_length=64)]

# The inputs of the pages and the words they go by (also in the error summary). The detail page has several forms;
# their inputs are named apart (`route_reason`, `cannot_reason`) and the API's field is mapped to the one posted.
FIELD_LABELS = {
    "title": "需求名称",
    "supplier_dept": "提供部门",
    "description": "需求说明",
    "resource_id": "关联资源编号",
    "decision": "审核结果",
    "route_supplier_dept": "转交给",
    "route_reason": "转交理由",
    "reason": "驳回理由",
    "answer": "答复",
    "provide_by": "承诺提供日期",
    "cannot_reason": "无法提供的理由",
    "meet_resource_id": "满足需求的资源编号",
}
FORM_FIELDS = ("title", "supplier_dept", "description", "resource_id")
NOTICES = {
    "recorded": "需求已提交，等待县政务服务和大数据管理局审核。",
    "accept": "已受理，等待提供部门答复。",
    "route": "已转交给新的提供部门，等待其答复。",
    "reject": "已驳回，提出部门将看到驳回理由。",
    "will_provide": "已答复承诺提供，提出部门将看到提供日期。",
    "cannot_provide": "已答复无法提供，提出部门和县政务服务和大数据管理局将看到理由。",
    "met": "已确认需求满足。",
}
# What each step posts besides its own choice, and which API field each input stands for.
REVIEW_INPUTS = {
    "route": {"supplier_dept": "route_supplier_dept", "reason": "route_reason"},
    "reject": {"reason": "reason"},
}
ANSWER_INPUTS = {"will_provide": {"provide_by": "provide_by"}, "cannot_provide": {"reason": "cannot_reason"}}
MEET_INPUTS = {"resource_id": "meet_resource_id"}
# Statuses in which a step is still open (the API holds the same rules and refuses the others).
ANSWERABLE = frozenset({"accepted", "promised", "cannot_provide"})
MEETABLE = frozenset({"accepted", "promised"})


def _path(demand_id: str) -> str:
    return f"{API}/{quote(demand_id, safe='')}"


def steps_of(session: Session, demand: dict[str, Any]) -> frozenset[str]:
    """The steps the person may take on the demand now: `review` and `meet` for the bureau, `answer` for the
    staff of the department it is addressed to."""
    status = demand.get("status")
    steps = set()
    if session.has_role("bureau_admin"):
        if status == "submitted":
            steps.add("review")
        if status in MEETABLE:
            steps.add("meet")
    if session.is_department_staff() and session.dept == demand.get("supplier_dept") and status in ANSWERABLE:
        steps.add("answer")
    return frozenset(steps)


def step_label(steps: frozenset[str]) -> str:
    """The list's link to a demand, named by what waits for the person there."""
    if "review" in steps:
        return "审核"
    if "answer" in steps:
        return "答复"
    if "meet" in steps:
        return "确认满足"
    return "查看"


# --------------------------------------------------------------------------------------------- the list


async def _list_page(
    request: Request,
    session: Session,
    api: PersonApi,
    *,
    filters: dict[str, str],
    page: str | None,
    typed: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    demands = await api.get(API, **{key: value for key, value in filters.items() if value})
    shown, list_pager = paged(demands, page, "/demands", filters, PAGE_SIZE)
    names = await department_names(api, session)
    return page_or_part(
        request,
        "resources/demands.html",
        "resources/_demand_results.html",
        RESULTS_ID,
        status_code=status,
        title="需求清单",
        active="demands",
        notice=notice_of(request, NOTICES),
        filters=filters,
        rows=[(d, step_label(steps_of(session, d))) for d in shown],
        names=names,
        # the registry's departments other than the person's own (第十二条: needs from other departments)
        supplier_choices=[(code, f"{name}（{code}）") for code, name in sorted(names.items()) if code != session.dept],
        pager=list_pager,
        may_file=session.is_department_staff(),
        is_department=session.is_department_staff(),
        typed=typed or dict.fromkeys(FORM_FIELDS, ""),
        **error_context(errors),
    )


@router.get("/demands")
async def demands(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    status: Param = None,
    role: Param = None,
    page: Param = None,
) -> Response:
    """第十二条: the demands a department made and those addressed to it; the bureau sees every department's."""
    filters = {
        "status": status if status in labels.DEMAND_STATUS else "",
        "role": role if role in labels.DEMAND_ROLE and session.is_department_staff() else "",
    }
    return await _list_page(request, session, api, filters=filters, page=page)


@router.post("/demands", dependencies=[CsrfChecked])
async def record_demand(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    """提出需求: fields left blank are left out, so the API names them as missing."""
    form = await request.form()
    typed = {name: text(form, name) for name in FORM_FIELDS}
    body = {name: value for name, value in typed.items() if value}
    try:
        created = await api.post(API, body)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 404, 409, 422))
        errors = field_errors(refused, FIELD_LABELS)
        if refused.status == 404:  # the resource named does not exist
            detail = {"detail": refused.detail, "rule": refused.code}
            errors = [{"field": "resource_id", "label": FIELD_LABELS["resource_id"], "anchor": "resource_id", **detail}]
        empty = {"status": "", "role": ""}
        return await _list_page(request, session, api, filters=empty, page=None, typed=typed, errors=errors, status=422)
    return done(f"/demands/{quote(created['id'], safe='')}", "recorded")


# --------------------------------------------------------------------------------------------- one demand


async def _demand_page(
    request: Request,
    session: Session,
    api: PersonApi,
    demand_id: str,
    *,
    typed: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    try:
        demand = await api.get(_path(demand_id))
    except ApiProblem as problem:
        if problem.status == 404:
            return error_page(request, 404, "未找到该需求", "该需求不存在，或本部门既不是提出部门也不是提供部门。")
        raise
    names = await department_names(api, session)
    steps = steps_of(session, demand)
    # The bureau routes to a department of the registry; the requester and the current supplier are not offered.
    parties = {demand["dept"], demand.get("supplier_dept")}
    return render(
        request,
        "resources/demand.html",
        status,
        title=f"需求：{demand['title']}",
        active="demands",
        notice=notice_of(request, NOTICES),
        d=demand,
        names=names,
        steps=steps,
        route_choices=sorted((code, name) for code, name in names.items() if code not in parties),
        today=today_of(request).isoformat(),
        typed=typed or {},
        **error_context(errors),
    )


@router.get("/demands/{demand_id}")
async def demand_page(request: Request, session: CurrentSession, api: PersonApiDep, demand_id: DemandId) -> Response:
    return await _demand_page(request, session, api, demand_id)


async def _take_step(
    request: Request,
    session: Session,
    api: PersonApi,
    demand_id: str,
    step: str,
    body: dict[str, Any],
    inputs: dict[str, str],
    typed: dict[str, str],
    notice: str,
) -> Response:
    """Post one step; on a refusal, the page again with the errors beside the inputs of the form that was sent."""
    try:
        await api.post(f"{_path(demand_id)}/{step}", body)
    except ApiProblem as problem:
        refused = refusal(problem)
        errors = field_errors(refused, FIELD_LABELS)
        for e in errors:
            name = inputs.get(str(e.get("field") or ""))
            if name:
                e.update(label=FIELD_LABELS[name], anchor=anchor_of(name))
        return await _demand_page(request, session, api, demand_id, typed=typed, errors=errors, status=refused.status)
    return done(f"/demands/{quote(demand_id, safe='')}", notice)


def _posted(form: Any, inputs: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """What was typed in a form's inputs, and the API's body of them (blank ones left out)."""
    typed = {name: text(form, name) for name in inputs.values()}
    return typed, {field: typed[name] for field, name in inputs.items() if typed[name]}


@router.post("/demands/{demand_id}/review", dependencies=[CsrfChecked])
async def review_demand(request: Request, session: CurrentSession, api: PersonApiDep, demand_id: DemandId) -> Response:
    """The bureau: 受理, 转交其他部门 (to the department chosen, saying why) or 驳回 (saying why)."""
    form = await request.form()
    decision = text(form, "decision")
    inputs = REVIEW_INPUTS.get(decision, {})
    typed, body = _posted(form, inputs)
    return await _take_step(
        request, session, api, demand_id, "review", {"decision": decision, **body}, inputs, typed, decision
    )


@router.post("/demands/{demand_id}/answer", dependencies=[CsrfChecked])
async def answer_demand(request: Request, session: CurrentSession, api: PersonApiDep, demand_id: DemandId) -> Response:
    """The supplying department: 承诺提供 by a date, or 无法提供 and why."""
    form = await request.form()
    answer = text(form, "answer")
    inputs = ANSWER_INPUTS.get(answer, {})
    typed, body = _posted(form, inputs)
    return await _take_step(
        request, session, api, demand_id, "answer", {"answer": answer, **body}, inputs, typed, answer
    )


@router.post("/demands/{demand_id}/meet", dependencies=[CsrfChecked])
async def meet_demand(request: Request, session: CurrentSession, api: PersonApiDep, demand_id: DemandId) -> Response:
    """The bureau confirms the demand met, optionally naming the supplier's published resource that meets it."""
    typed, body = _posted(await request.form(), MEET_INPUTS)
    return await _take_step(request, session, api, demand_id, "meet", body, MEET_INPUTS, typed, "met")
