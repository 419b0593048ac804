"""责任清单 (第十三条) and 重复采集 (第十六条, 第四十一条(三)), over catalog-svc's
`/api/catalog/departments/{dept}/responsibilities`, `/api/catalog/responsibilities/…` and `/api/catalog/overlaps`.

- `/responsibilities`: a department sees the entries the bureau assigned it, each 已落实 / 更新逾期 / 未编目 as the
  catalog shows it, and its published resources with whether each is refreshed on its cycle; the bureau (and
  auditors) pick a department, and the bureau assigns an entry (信息资源代码, 名称, 说明, 更新周期) or withdraws one,
  saying why (`/responsibilities/{id}/withdraw`);
- `/overlaps`: the bureau and auditors see the item codes several departments offer without the bureau's leave;
  the bureau may allow a department's overlap there, with a reason (`/overlaps/allow`).

The API decides every status; the pages show what it says.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.forms import done, error_context, field_errors, notice_of, refusal, text
from govdata_portal.gateway import ApiProblem
from govdata_portal.lists import department_names
from govdata_portal.pages import forbidden, page_or_part, paged, render
from govdata_portal.session import Session

router = APIRouter()

API = "/api/catalog"
PAGE_SIZE = 20
RESULTS_ID = "responsibility-results"
OVERLAP_RESULTS_ID = "overlap-results"

Param = Annotated[str | None, Query(max_length=64)]
EntryId = Annotated[str, Path(max_length=64)]

FIELD_LABELS = {
    "dept": "部门",
    "resource_code": "信息资源代码",
    "title": "名称",
    "description": "说明",
    "update_cycle": "更新周期",
    "reason": "理由",
    "item_code": "信息项代码",
}
ASSIGN_FIELDS = ("resource_code", "title", "description", "update_cycle")
NOTICES = {
    "assigned": "责任清单条目已下达。该部门的资源发布并按周期更新后，条目即为已落实。",
    "withdrawn": "责任清单条目已撤销。",
    "allowed": "已准许该部门提供此信息项（一数一源的例外，第十六条）。",
}


def _oversees(session: Session) -> bool:
    return session.has_role("bureau_admin", "auditor")


def _list_path(dept: str, **more: str) -> str:
    query = urlencode({"dept": dept, **more}) if dept else urlencode(more)
    return "/responsibilities" + (f"?{query}" if query else "")


# --------------------------------------------------------------------------------------------- 责任清单


async def _list_page(
    request: Request,
    session: Session,
    api: PersonApi,
    *,
    dept: str | None,
    page: str | None = None,
    typed: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    if not (_oversees(session) or session.is_department_staff()):
        return forbidden(request, "责任清单供各部门查看本部门的采集责任，由县政务服务和大数据管理局下达（第十三条）。")
    oversees = _oversees(session)
    chosen = (dept or "").strip() if oversees else (session.dept or "")
    names = await department_names(api, session)
    found: dict[str, Any] | None = None
    errors = list(errors or [])
    if chosen:
        try:
            found = await api.get(f"{API}/departments/{quote(chosen, safe='')}/responsibilities")
        except ApiProblem as problem:
            refused = refusal(problem, (400, 403, 404, 422))
            errors.append({"field": None, "label": "", "anchor": None, "detail": refused.detail, "rule": refused.code})
            status = refused.status
    overview: list[dict[str, Any]] = []
    if oversees and not chosen:
        overview = _overview(await api.get(f"{API}/responsibilities"), names)
    items = found["items"] if found else []
    shown, list_pager = paged(items, page, "/responsibilities", {"dept": chosen if oversees else ""}, PAGE_SIZE)
    departments = sorted(names.items())
    if chosen and chosen not in names and departments:
        departments.append((chosen, chosen))
    return page_or_part(
        request,
        "responsibilities/list.html",
        "responsibilities/_results.html",
        RESULTS_ID,
        status_code=status,
        title="责任清单",
        active="responsibilities",
        notice=notice_of(request, NOTICES),
        dept=chosen,
        dept_name=names.get(chosen, chosen),
        may_choose=oversees,
        departments=departments,  # empty where the registry cannot be read: the code is typed instead
        may_assign=session.has_role("bureau_admin") and bool(chosen) and found is not None,
        found=found,
        overview=overview,
        entries=found["entries"] if found else [],
        items=shown,
        pager=list_pager,
        typed=typed or {**dict.fromkeys(ASSIGN_FIELDS, ""), "update_cycle": "monthly"},
        cycles=labels.UPDATE_CYCLE,
        **error_context(errors),
    )


def _overview(entries: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Per department with entries: how many, and how many fulfilled, late and missing (第十三条's 落实情况),
    the least fulfilled first."""
    by_dept: dict[str, dict[str, Any]] = {}
    for entry in entries:
        row = by_dept.setdefault(
            entry["dept"],
            {
                "dept": entry["dept"],
                "name": names.get(entry["dept"], entry["dept"]),
                "fulfilled": 0,
                "late": 0,
                "missing": 0,
                "total": 0,
            },
        )
        row[entry["status"]] = row.get(entry["status"], 0) + 1
        row["total"] += 1
    return sorted(by_dept.values(), key=lambda r: (r["fulfilled"] - r["total"], r["dept"]))


@router.get("/responsibilities")
async def responsibilities(
    request: Request, session: CurrentSession, api: PersonApiDep, dept: Param = None, page: Param = None
) -> Response:
    """第十三条: a department's 责任清单; the bureau and auditors may look at any department's."""
    return await _list_page(request, session, api, dept=dept, page=page)


@router.post("/responsibilities", dependencies=[CsrfChecked])
async def assign(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    """The bureau assigns the department an entry; a refusal is shown beside the fields."""
    form = await request.form()
    dept = text(form, "dept")
    typed = {name: text(form, name) for name in ASSIGN_FIELDS}
    body: dict[str, Any] = {k: v for k, v in typed.items() if v or k != "description"}
    try:
        await api.post(f"{API}/departments/{quote(dept, safe='')}/responsibilities", body)
    except ApiProblem as problem:
        refused = refusal(problem)
        errors = field_errors(refused, FIELD_LABELS)
        return await _list_page(request, session, api, dept=dept, typed=typed, errors=errors, status=refused.status)
    return done(_list_path(dept), "assigned")


async def _entry(api: PersonApi, dept: str, entry_id: str) -> dict[str, Any] | None:
    if not dept:
        return None
    found = await api.get(f"{API}/departments/{quote(dept, safe='')}/responsibilities")
    return next((e for e in found["entries"] if e["id"] == entry_id), None)


def _withdraw_page(
    request: Request,
    entry: dict[str, Any],
    dept_name: str,
    *,
    reason: str = "",
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "responsibilities/withdraw.html",
        status,
        title=f"撤销责任清单条目：{entry['title']}",
        active="responsibilities",
        entry=entry,
        dept_name=dept_name,
        back=_list_path(entry["dept"]),
        reason=reason,
        **error_context(errors),
    )


@router.get("/responsibilities/{entry_id}/withdraw")
async def confirm_withdraw(
    request: Request, session: CurrentSession, api: PersonApiDep, entry_id: EntryId, dept: Param = None
) -> Response:
    if not session.has_role("bureau_admin"):
        return forbidden(request, "责任清单条目由县政务服务和大数据管理局下达和撤销（第十三条）。")
    entry = await _entry(api, (dept or "").strip(), entry_id)
    if entry is None:
        return forbidden(request, "找不到该责任清单条目，或它已撤销。请回到责任清单重新选择。")
    names = await department_names(api, session)
    return _withdraw_page(request, entry, names.get(entry["dept"], entry["dept"]))


@router.post("/responsibilities/{entry_id}/withdraw", dependencies=[CsrfChecked])
async def withdraw(request: Request, session: CurrentSession, api: PersonApiDep, entry_id: EntryId) -> Response:
    form = await request.form()
    dept, reason = text(form, "dept"), text(form, "reason")
    try:
        withdrawn = await api.post(f"{API}/responsibilities/{quote(entry_id, safe='')}/withdraw", {"reason": reason})
    except ApiProblem as problem:
        refused = refusal(problem)
        entry = await _entry(api, dept, entry_id)
        if entry is None:  # withdrawn meanwhile
            return done(_list_path(dept), "withdrawn")
        names = await department_names(api, session)
        errors = field_errors(refused, FIELD_LABELS)
        return _withdraw_page(
            request, entry, names.get(dept, dept), reason=reason, errors=errors, status=refused.status
        )
    return done(_list_path(withdrawn["dept"]), "withdrawn")


# --------------------------------------------------------------------------------------------- 重复采集


# 有权威来源: others could obtain the item by sharing (第四十一条(三)); 全部 adds items no department is the source of.
OVERLAP_TABS = {"sourced": "有权威来源的信息项", "all": "全部信息项"}


@router.get("/overlaps")
async def overlaps(
    request: Request, session: CurrentSession, api: PersonApiDep, page: Param = None, scope: Param = None
) -> Response:
    """第十六条 一数一源, 第四十一条(三): item codes offered by several departments without the bureau's leave."""
    if not _oversees(session):
        return forbidden(request, "重复采集清单供县政务服务和大数据管理局和审计监督人员查看（第十六条）。")
    scope = scope if scope in OVERLAP_TABS else "sourced"
    found = await api.get(f"{API}/overlaps", scope=scope)
    names = await department_names(api, session)
    query = {} if scope == "sourced" else {"scope": scope}
    shown, list_pager = paged(found, page, "/overlaps", query, PAGE_SIZE)
    return page_or_part(
        request,
        "responsibilities/overlaps.html",
        "responsibilities/_overlap_results.html",
        OVERLAP_RESULTS_ID,
        title="重复采集",
        active="overlaps",
        notice=notice_of(request, NOTICES),
        overlaps=shown,
        scope=scope,
        tabs=OVERLAP_TABS,
        total=len(found),
        pager=list_pager,
        names=names,
        may_allow=session.has_role("bureau_admin"),
    )


def _allow_page(
    request: Request,
    item_code: str,
    dept: str,
    dept_name: str,
    *,
    reason: str = "",
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "responsibilities/allow.html",
        status,
        title=f"准许重叠：{item_code}",
        active="overlaps",
        item_code=item_code,
        dept=dept,
        dept_name=dept_name,
        reason=reason,
        **error_context(errors),
    )


@router.get("/overlaps/allow")
async def confirm_allow(
    request: Request, session: CurrentSession, api: PersonApiDep, item_code: Param = None, dept: Param = None
) -> Response:
    if not session.has_role("bureau_admin"):
        return forbidden(request, "一数一源的例外由县政务服务和大数据管理局准许（第十六条）。")
    code, chosen = (item_code or "").strip(), (dept or "").strip()
    if not (code and chosen):
        return RedirectResponse("/overlaps", status_code=303)
    names = await department_names(api, session)
    return _allow_page(request, code, chosen, names.get(chosen, chosen))


@router.post("/overlaps/allow", dependencies=[CsrfChecked])
async def allow(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    form = await request.form()
    code, dept, reason = text(form, "item_code"), text(form, "dept"), text(form, "reason")
    try:
        await api.post(f"{API}/authority-overlaps", {"item_code": code, "dept": dept, "reason": reason})
    except ApiProblem as problem:
        refused = refusal(problem)
        names = await department_names(api, session)
        errors = field_errors(refused, FIELD_LABELS)
        return _allow_page(
            request, code, dept, names.get(dept, dept), reason=reason, errors=errors, status=refused.status
        )
    return done("/overlaps", "allowed")
