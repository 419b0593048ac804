"""目录更新 (第十四条), over catalog-svc's update triggers (`/api/catalog/triggers`): when a law is amended or a
department's duties change, the department applies for the catalog update within 10 working days, and the bureau
reviews it within 5.

- `/triggers`: the bureau (and auditors) see every department's triggers; a department its own (有待更新的目录),
  each with the resources it must update, which of them are submitted, and the deadline, overdue marked;
- `/triggers/new`: the bureau records a trigger for a department it picks, naming the resources of that department
  the change touches (or none: a new resource is due); a department records its own.

The API decides what answers a trigger (each named resource submitted; for a trigger naming none, a newly
registered resource); the page shows what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.deadlines import DeadlineBadge, due_badge
from govdata_portal.forms import done, error_context, field_errors, notice_of, refusal, text, texts
from govdata_portal.gateway import ApiProblem
from govdata_portal.lists import catalog_resources, department_names, gather_all
from govdata_portal.pages import forbidden, page_or_part, paged, render, today_of
from govdata_portal.session import Session

router = APIRouter()

API = "/api/catalog/triggers"
PAGE_SIZE = 20
RESULTS_ID = "trigger-results"

Param = Annotated[str | None, Query(max_length=64)]

FIELD_LABELS = {
    "dept": "部门",
    "resource_ids": "需要更新的资源",
    "resource_id": "需要更新的资源",
    "kind": "变更类型",
    "occurred_on": "发生日期",
    "description": "说明",
}
FORM_FIELDS = ("dept", "kind", "occurred_on", "description")
NOTICES = {"recorded": "更新事由已登记，该部门应在 10 个工作日内申请更新目录（第十四条）。"}
TABS = {"open": "未办结", "all": "全部"}


# --------------------------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class NamedResource:
    id: str
    name: str
    answered: bool  # its update has been submitted


@dataclass(frozen=True)
class TriggerRow:
    """One trigger as the list shows it: what it asks for, what is done, and which deadline runs now."""

    trigger: dict[str, Any]
    resources: list[NamedResource]
    new_resource_due: bool  # names no resource and none has been registered for it yet
    state: str  # awaiting_update | submitted | reviewed (labels.TRIGGER_STATE)
    badge: DeadlineBadge | None  # the department's 10 working days, then the bureau's 5; none once reviewed

    @property
    def overdue(self) -> bool:
        return bool(self.badge and self.badge.overdue)


def row_of(trigger: dict[str, Any], names: dict[str, str], today: date) -> TriggerRow:
    named = trigger.get("resource_ids") or []
    answered = set(trigger.get("answered_ids") or [])
    submitted = trigger.get("submitted_at") is not None
    if named:
        resources = [NamedResource(r, names.get(r, r), r in answered or submitted) for r in named]
    elif trigger.get("resource_id"):  # named one alone, or the new resource that answered a department-wide one
        rid = trigger["resource_id"]
        resources = [NamedResource(rid, names.get(rid, rid), submitted)]
    else:
        resources = []
    if trigger.get("reviewed_at"):
        state, badge = "reviewed", None
    elif submitted:
        state = "submitted"
        badge = due_badge(trigger.get("review_deadline"), today, trigger.get("review_deadline_estimated"))
    else:
        state = "awaiting_update"
        badge = due_badge(trigger.get("submit_deadline"), today, trigger.get("submit_deadline_estimated"))
    return TriggerRow(trigger, resources, not resources and not submitted, state, badge)


def _may_read(session: Session) -> bool:
    return session.has_role("bureau_admin", "auditor") or session.is_department_staff()


def _may_record(session: Session) -> bool:
    return session.has_role("bureau_admin") or session.is_department_staff()


@router.get("/triggers")
async def triggers(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    tab: Param = None,
    dept: Param = None,
    page: Param = None,
) -> Response:
    """第十四条: the triggers the person may see (the API narrows a department to its own), soonest deadline first;
    the bureau may narrow them to one department."""
    if not _may_read(session):
        return forbidden(request, "目录更新页面供各部门和县政务服务和大数据管理局跟踪目录更新（第十四条）。")
    current = tab if tab in TABS else "open"
    oversees = session.has_role("bureau_admin", "auditor")
    found = await api.get(API, open=True if current == "open" else None)
    dept_names = await department_names(api, session)
    chosen = (dept or "").strip() if oversees else ""
    departments = sorted({t["dept"] for t in found} | ({chosen} if chosen else set()))
    if chosen:
        found = [t for t in found if t["dept"] == chosen]
    filters = {"tab": "" if current == "open" else current, "dept": chosen}
    shown, list_pager = paged(found, page, "/triggers", filters, PAGE_SIZE)
    named = [r for t in shown for r in (t.get("resource_ids") or [t.get("resource_id")]) if r]
    names = {rid: r.get("name") or rid for rid, r in (await catalog_resources(api, named)).items()}
    today = today_of(request)
    return page_or_part(
        request,
        "triggers/list.html",
        "triggers/_list.html",
        RESULTS_ID,
        title="目录更新",
        active="triggers",
        notice=notice_of(request, NOTICES),
        tab=current,
        tabs=TABS,
        oversees=oversees,
        may_record=_may_record(session),
        chosen=chosen,
        departments=[(code, dept_names.get(code, code)) for code in departments],
        dept_names=dept_names,
        rows=[row_of(t, names, today) for t in shown],
        pager=list_pager,
        # a department updates its resources on 我的资源; the bureau reads them in the catalog
        resource_link="/catalog/" if oversees else "/resources/",
    )


# --------------------------------------------------------------------------------------------- recording one


async def _choices(api: PersonApi, session: Session) -> tuple[list[tuple[str, str]], dict[str, list[dict]]]:
    """The departments the person may record a trigger for, and each one's published resources. The bureau picks
    from the registry; where it cannot be read, from the departments the catalog knows."""
    own = None if session.has_role("bureau_admin") else session.dept
    published, _ = await gather_all(api, "/api/catalog/resources", status="published", provider_dept=own)
    by_dept: dict[str, list[dict]] = {}
    for resource in sorted(published, key=lambda r: (r.get("code") or "", r["id"])):
        by_dept.setdefault(resource["provider_dept"], []).append(resource)
    if own:
        return [(own, own)], by_dept
    names = await department_names(api, session) or {code: code for code in by_dept}
    return sorted(names.items()), by_dept


async def _form_page(
    request: Request,
    api: PersonApi,
    session: Session,
    *,
    typed: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    departments, by_dept = await _choices(api, session)
    typed = typed or {}
    bureau = session.has_role("bureau_admin")
    dept = (typed.get("dept") or "") if bureau else session.dept or ""
    if dept not in dict(departments):  # only a department offered (an address typed by hand is not)
        dept = ""
    return render(
        request,
        "triggers/new.html",
        status,
        title="登记目录更新事由",
        active="triggers",
        bureau=bureau,
        departments=departments,
        dept=dept,
        resources=by_dept.get(dept, []) if dept else [],
        chosen=set(typed.get("resource_ids") or []),
        typed={name: typed.get(name, "") for name in FORM_FIELDS},
        kinds=labels.TRIGGER_KIND,
        **error_context(errors),
    )


@router.get("/triggers/new")
async def new_trigger(request: Request, session: CurrentSession, api: PersonApiDep, dept: Param = None) -> Response:
    """The bureau first picks the department (`?dept=`), then names that department's resources; a department
    records its own."""
    if not _may_record(session):
        return forbidden(request, "目录更新事由由县政务服务和大数据管理局或部门登记（第十四条）。")
    return await _form_page(request, api, session, typed={"dept": (dept or "").strip()})


def trigger_of(form: FormData, session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
    """What was typed, and the API's body: fields left blank are left out (the API names them as missing); the
    department is the one the bureau chose, a department's own otherwise."""
    typed: dict[str, Any] = {name: text(form, name) for name in FORM_FIELDS}
    typed["resource_ids"] = texts(form, "resource_ids")
    body: dict[str, Any] = {name: typed[name] for name in ("kind", "occurred_on", "description") if typed[name]}
    if session.has_role("bureau_admin"):
        body["dept"] = typed["dept"] or None
    if typed["resource_ids"]:
        body["resource_ids"] = typed["resource_ids"]
    return typed, body


def trigger_errors(problem: ApiProblem) -> list[dict[str, Any]]:
    """The problem's errors beside their inputs; an error of one named resource (`resource_ids[1]`) belongs to the
    fieldset of resources as a whole."""
    errors = field_errors(problem, FIELD_LABELS)
    for e in errors:
        if str(e.get("field") or "").startswith(("resource_ids", "resource_id")):
            e["anchor"], e["label"] = "resource_ids", FIELD_LABELS["resource_ids"]
    return errors


@router.post("/triggers/new", dependencies=[CsrfChecked])
async def record_trigger(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    """登记: on a refusal, the form again with what was typed and the API's errors beside the fields."""
    if not _may_record(session):
        return forbidden(request, "目录更新事由由县政务服务和大数据管理局或部门登记（第十四条）。")
    typed, body = trigger_of(await request.form(), session)
    try:
        await api.post(API, body)
    except ApiProblem as problem:
        refused = refusal(problem)
        return await _form_page(
            request, api, session, typed=typed, errors=trigger_errors(refused), status=refused.status
        )
    return done("/triggers", "recorded")
