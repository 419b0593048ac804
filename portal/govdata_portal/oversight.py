"""The oversight pages: 监督考核 (supervision figures per department, 第三十七–三十九条), 账号管理 (the identity
registry through the gateway's `/api/identity`) and 审计日志 (audit-svc's trail, its hash-chain check and export).

GET  /supervision?year=&figure=        the year's figures per department: a table (with whether its 第三十九条 work
                                       report came in time), a bar chart of one figure
GET  /supervision/annual.csv|json      第三十九条 annual report, streamed from audit-svc as a download
GET  /accounts[/systems|/clients|/users]  the registry's lists, each with its form to add one
POST /accounts/{departments,systems}   add, then back to the list
POST /accounts/{clients,users}         add; the secret or temporary password is shown once, in this answer
GET|POST /accounts/clients/{id}/{rotate-secret,disable}, /accounts/users/{u}/{reset-password,disable}
                                       a confirmation page, then the change
GET  /audit?type=&dept=&resource_id=&from=&to=   the trail, newest first
GET  /audit/verify                     the hash chain recomputed
GET  /audit/export?from_seq=&to_seq=   the log as JSON Lines, streamed through as a download

The 第三十八条 scores are evaluation.py's page (考核评价), the access records access_records.py's.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.workdays import SHANGHAI

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.downloads import relay_download
from govdata_portal.forms import done, error_context, field_errors, notice_of, refusal, text, texts
from govdata_portal.gateway import ApiProblem
from govdata_portal.lists import department_names
from govdata_portal.pages import error_page, forbidden, page_or_part, paged, pager, render, today_of

router = APIRouter()

PAGE_SIZE = 20
LIST_ID = "account-list"
RESULTS_ID = "audit-results"
Text = Annotated[str | None, Query(max_length=100)]
Ident = Annotated[str, Path(max_length=64)]


# ============================================================================================ 监督考核

SUPERVISION_FIELDS = {"year": "年度", "format": "格式"}
YEARS_SHOWN = 6  # the year selector offers this year and the five before it


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class BarChart:
    """An SVG bar chart's geometry: one bar per department, heights proportional to the values, the tallest
    reaching the top of the plot (an all-zero figure draws no bar above the axis)."""

    width: float
    height: float
    baseline: float  # the y of the axis the bars stand on
    plot_height: float
    maximum: int
    bars: list[Bar]


def bar_chart(
    values: Sequence[tuple[str, int]],
    *,
    plot_height: float = 180,
    slot: float = 80,
    bar_width: float = 44,
    top: float = 24,
    bottom: float = 32,
    side: float = 12,
) -> BarChart:
    """The geometry of `values` (label, value) as bars left to right, each in a slot of `slot` units."""
    maximum = max((v for _, v in values), default=0)
    scale = plot_height / maximum if maximum > 0 else 0.0
    baseline = top + plot_height
    bars = []
    for i, (label, value) in enumerate(values):
        height = round(max(value, 0) * scale, 2)
        x = round(side + i * slot + (slot - bar_width) / 2, 2)
        bars.append(Bar(label, value, x, round(baseline - height, 2), bar_width, height))
    width = side * 2 + slot * max(len(values), 1)
    return BarChart(width, baseline + bottom, baseline, plot_height, maximum, bars)


def year_choices(this_year: int, shown: int | None) -> list[int]:
    """This year and the ones before it, newest first, with the year shown added when it is older."""
    years = list(range(this_year, this_year - YEARS_SHOWN, -1))
    if shown is not None and shown not in years:
        years.append(shown)
    return sorted(years, reverse=True)


@router.get("/supervision")
async def supervision(
    request: Request, session: CurrentSession, api: PersonApiDep, year: Text = None, figure: Text = None
) -> Response:
    # 第三十七、三十八条: the bureau (and auditors) read every department's figures; 第三十九条: the annual report.
    this_year = today_of(request).year
    try:
        report, names = await asyncio.gather(
            api.get("/api/audit/reports/annual", year=year), department_names(api, session)
        )
    except ApiProblem as problem:
        refused = refusal(problem, (400, 422))
        return render(
            request,
            "oversight/supervision.html",
            refused.status,
            title="监督考核",
            active="supervision",
            **error_context(field_errors(refused, SUPERVISION_FIELDS)),
            report=None,
            years=year_choices(this_year, None),
            figure=None,
            chart=None,
            names={},
        )
    totals: dict[str, Any] = report["totals"]
    chosen = figure if figure in totals else next(iter(totals), None)
    departments = report["departments"]
    chart = None
    if chosen and departments:
        chart = bar_chart([(d["dept"], int(d["figures"][chosen]["value"])) for d in departments])
    return render(
        request,
        "oversight/supervision.html",
        title="监督考核",
        active="supervision",
        **error_context([]),
        report=report,
        years=year_choices(this_year, report["year"]),
        figure=chosen,
        chart=chart,
        names=names,
        # 第三十九条: how many departments' work reports on the year came in time (each one's line is in `report`)
        work_reports=Counter(d["work_report"]["status"] for d in departments),
    )


@router.get("/supervision/annual.{kind}")
async def annual_report_download(
    session: CurrentSession, api: PersonApiDep, kind: Annotated[str, Path(pattern="^(csv|json)$")], year: Text = None
) -> Response:
    """第三十九条 annual report as audit-svc gives it (the CSV in UTF-8 with a BOM, for Excel)."""
    filename = f"audit-annual-{year}.{kind}" if year and year.isdigit() else f"audit-annual.{kind}"
    return await relay_download(api, "/api/audit/reports/annual", {"year": year, "format": kind}, filename=filename)


# ============================================================================================ 账号管理


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    href: str
    api: str  # the list under /api/identity
    fields: dict[str, str]  # the form's API fields and the words they go by
    needs: tuple[str, ...] = ()  # the other lists its form chooses from


TABS: dict[str, Tab] = {
    t.key: t
    for t in (
        Tab("departments", "部门", "/accounts", "departments", {"code": "部门代码", "name": "部门名称"}),
        Tab(
            "systems",
            "应用系统",
            "/accounts/systems",
            "systems",
            {"id": "系统编号", "name": "系统名称", "dept": "所属部门"},
            ("departments",),
        ),
        Tab(
            "clients",
            "接入客户端",
            "/accounts/clients",
            "clients",
            {
                "client_id": "客户端编号",
                "name": "客户端名称",
                "dept": "所属部门",
                "roles": "角色",
                "system": "应用系统",
                "subject_id": "证件号码",
            },
            ("departments", "systems"),
        ),
        Tab(
            "users",
            "人员",
            "/accounts/users",
            "users",
            {"username": "用户名", "name": "姓名", "dept": "所属部门", "roles": "角色", "subject_id": "证件号码"},
            ("departments",),
        ),
    )
}
# Roles the registry lets the bureau give (gateway/registry/admin.py): never `gateway`; `city_platform` is a
# machine's role, not a person's.
CLIENT_ROLES = ("dept_operator", "dept_head", "bureau_admin", "auditor", "citizen", "city_platform")
PERSON_ROLES = ("dept_operator", "dept_head", "bureau_admin", "auditor", "citizen")
ACCOUNT_NOTICES = {
    "department_added": "部门已新增。",
    "system_added": "应用系统已新增。",
    "client_disabled": "接入客户端已停用，不能再申请令牌。",
    "user_disabled": "人员账号已停用，其登录已全部结束。",
}


def account_body(form: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The API's body from the form: roles as a list, empty fields left out (the API then names a required one)."""
    body: dict[str, Any] = {}
    for name in fields:
        if name == "roles":
            body["roles"] = form.get("roles", [])
        elif form.get(name):
            body[name] = form[name]
    return body


def _typed(form_data: Any, tab: Tab) -> dict[str, Any]:
    return {name: texts(form_data, name) if name == "roles" else text(form_data, name) for name in tab.fields}


async def _accounts_page(
    request: Request,
    api: PersonApi,
    tab: Tab,
    *,
    typed: dict[str, Any] | None = None,
    problem: ApiProblem | None = None,
) -> Response:
    wanted = (tab.api, *tab.needs)
    answers = await asyncio.gather(*(api.get(f"/api/identity/{name}") for name in wanted))
    lists = {name: answer.get("items", []) for name, answer in zip(wanted, answers, strict=True)}
    items, list_pager = paged(lists[tab.api], request.query_params.get("page"), tab.href, {}, PAGE_SIZE)
    return page_or_part(
        request,
        "oversight/accounts.html",
        "oversight/_account_list.html",
        LIST_ID,
        problem.status if problem else 200,
        title=f"账号管理 - {tab.label}",
        active="accounts",
        notice=notice_of(request, ACCOUNT_NOTICES),
        tabs=list(TABS.values()),
        tab=tab,
        items=items,
        pager=list_pager,
        departments=[d for d in lists.get("departments", []) if not d["disabled"]],
        systems=[s for s in lists.get("systems", []) if not s["disabled"]],
        roles=CLIENT_ROLES if tab.key == "clients" else PERSON_ROLES,
        typed=typed or {name: [] if name == "roles" else "" for name in tab.fields},
        **error_context(field_errors(problem, tab.fields) if problem else []),
    )


ACCOUNTS_ARE_THE_BUREAUS = "账号管理供县政务服务和大数据管理局使用。"


@router.get("/accounts")
async def accounts(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    # Staff may read the departments (the registry answers them), but the page is the bureau's.
    if not session.has_role("bureau_admin"):
        return forbidden(request, ACCOUNTS_ARE_THE_BUREAUS)
    return await _accounts_page(request, api, TABS["departments"])


@router.get("/accounts/{tab}")
async def accounts_tab(
    request: Request, session: CurrentSession, api: PersonApiDep, tab: Annotated[str, Path(max_length=20)]
) -> Response:
    if not session.has_role("bureau_admin"):
        return forbidden(request, ACCOUNTS_ARE_THE_BUREAUS)
    if tab not in TABS:
        return error_page(request, 404, "页面不存在", "账号管理只有部门、应用系统、接入客户端和人员四类。")
    return await _accounts_page(request, api, TABS[tab])


async def _create(request: Request, api: PersonApi, tab: Tab) -> tuple[dict[str, Any] | None, Response | None]:
    """Post the form of `tab` to the registry: (the created entry, None) or (None, the form again with errors)."""
    typed = _typed(await request.form(), tab)
    try:
        created = await api.post(f"/api/identity/{tab.api}", account_body(typed, list(tab.fields)))
    except ApiProblem as problem:
        return None, await _accounts_page(request, api, tab, typed=typed, problem=refusal(problem))
    return created, None


@router.post("/accounts/departments", dependencies=[CsrfChecked])
async def add_department(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    _, refused = await _create(request, api, TABS["departments"])
    return refused or done("/accounts", "department_added")


@router.post("/accounts/systems", dependencies=[CsrfChecked])
async def add_system(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    _, refused = await _create(request, api, TABS["systems"])
    return refused or done("/accounts/systems", "system_added")


@dataclass(frozen=True)
class Secret:
    """A secret or temporary password a POST makes: the page that shows it once, and where the answer holds it."""

    tab: str  # the list the page leads back to
    heading: str
    kind: str
    field: str  # the answer's field holding it


SECRETS = {
    "clients": Secret("clients", "接入客户端已新增", "客户端密钥", "client_secret"),
    "users": Secret("users", "人员账号已新增", "临时密码", "temporary_password"),
    "rotate-secret": Secret("clients", "客户端密钥已更换", "新的客户端密钥", "client_secret"),
    "reset-password": Secret("users", "密码已重置", "临时密码", "temporary_password"),
}


def _secret_page(request: Request, secret: Secret, owner: str, answer: dict[str, Any]) -> Response:
    """The secret, rendered in the answer to the POST that made it: never in an address, never kept (every page is
    no-store), never shown again."""
    return render(
        request,
        "oversight/secret.html",
        title=secret.heading,
        active="accounts",
        heading=secret.heading,
        kind=secret.kind,
        owner=owner,
        value=answer[secret.field],
        back=TABS[secret.tab],
        previous_until=answer.get("previous_secret_valid_until"),
    )


async def _add_with_secret(request: Request, api: PersonApi, tab: Tab, owner_field: str) -> Response:
    created, refused = await _create(request, api, tab)
    return refused or _secret_page(request, SECRETS[tab.key], created[owner_field], created)


@router.post("/accounts/clients", dependencies=[CsrfChecked])
async def add_client(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    return await _add_with_secret(request, api, TABS["clients"], "client_id")


@router.post("/accounts/users", dependencies=[CsrfChecked])
async def add_user(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    return await _add_with_secret(request, api, TABS["users"], "username")


@dataclass(frozen=True)
class Change:
    """A change to one client or person that is confirmed on a page of its own before it is made."""

    tab: str
    action: str  # the API's path after the entry
    key: str  # the entry's id field
    heading: str
    explanation: str
    button: str


CHANGES: dict[tuple[str, str], Change] = {
    (c.tab, c.action): c
    for c in (
        Change(
            "clients",
            "rotate-secret",
            "client_id",
            "更换客户端密钥",
            "将生成新的客户端密钥，只在下一页显示一次。旧密钥在过渡期内仍然有效，请在过渡期内把新密钥配置到该系统的所有实例。",
            "确认更换密钥",
        ),
        Change(
            "clients",
            "disable",
            "client_id",
            "停用接入客户端",
            "停用后该客户端不能再申请令牌，已发出的令牌随即失效，其系统将无法调用平台接口。此操作无法在页面上撤销。",
            "确认停用",
        ),
        Change(
            "users",
            "reset-password",
            "username",
            "重置密码",
            "将生成新的临时密码，只在下一页显示一次；该人员的所有登录随即结束，下次登录时须修改密码。",
            "确认重置密码",
        ),
        Change(
            "users",
            "disable",
            "username",
            "停用人员账号",
            "停用后该人员不能再登录，其所有登录随即结束。此操作无法在页面上撤销。",
            "确认停用",
        ),
    )
}


def _no_such_change(request: Request) -> Response:
    return error_page(request, 404, "页面不存在", "没有这项账号操作。")


def _no_such_account(request: Request, tab: str, ident: str) -> Response:
    return error_page(request, 404, "未找到该账号", f"{TABS[tab].label} {ident} 不存在。")


async def _entry(api: PersonApi, tab: Tab, key: str, ident: str) -> dict[str, Any] | None:
    answer = await api.get(f"/api/identity/{tab.api}")
    return next((e for e in answer.get("items", []) if e.get(key) == ident), None)


@router.get("/accounts/{tab}/{ident}/{action}")
async def confirm_change(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    tab: Annotated[str, Path(max_length=20)],
    ident: Ident,
    action: Annotated[str, Path(max_length=20)],
) -> Response:
    change = CHANGES.get((tab, action))
    if change is None:
        return _no_such_change(request)
    entry = await _entry(api, TABS[tab], change.key, ident)
    if entry is None:
        return _no_such_account(request, tab, ident)
    return render(
        request,
        "oversight/confirm.html",
        title=change.heading,
        active="accounts",
        change=change,
        entry=entry,
        ident=ident,
        tab=TABS[tab],
        action_url=f"{TABS[tab].href}/{quote(ident, safe='')}/{action}",
    )


@router.post("/accounts/{tab}/{ident}/{action}", dependencies=[CsrfChecked])
async def make_change(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    tab: Annotated[str, Path(max_length=20)],
    ident: Ident,
    action: Annotated[str, Path(max_length=20)],
) -> Response:
    if (tab, action) not in CHANGES:
        return _no_such_change(request)
    try:
        answer = await api.post(f"/api/identity/{tab}/{quote(ident, safe='')}/{action}")
    except ApiProblem as problem:
        if problem.status == 404:
            return _no_such_account(request, tab, ident)
        if problem.status != 409:
            raise
        return error_page(request, 409, "操作未执行", problem.detail, errors=problem.errors)
    if action in SECRETS:
        return _secret_page(request, SECRETS[action], ident, answer)
    return done(TABS[tab].href, "client_disabled" if tab == "clients" else "user_disabled")


# ============================================================================================ 审计日志

AUDIT_FIELDS = {
    "type": "事件类型",
    "dept": "部门",
    "resource_id": "资源编号",
    "from": "起始日期",
    "to": "截止日期",
    "page": "页码",
    "size": "每页条数",
}
# What a record's data says about what happened, in the order a summary names them.
SUMMARY_KEYS = (
    ("name", "名称"),
    ("resource_id", "资源"),
    ("request_id", "申请"),
    ("grant_id", "授权"),
    ("client_id", "客户端"),
    ("username", "用户"),
    ("system_id", "应用系统"),
    ("code", "代码"),
    ("stage", "环节"),
    ("status", "状态"),
    ("reason", "原因"),
)
SUMMARY_PARTS = 4


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def day_filters(filters: Mapping[str, str], labels: Mapping[str, str]) -> tuple[dict[str, date | None], list]:
    """The `from` and `to` days of a filter form (Asia/Shanghai, both included) and the field errors they give."""
    errors: list[dict[str, Any]] = []
    days: dict[str, date | None] = {}

    def error(field: str, rule: str, detail: str) -> None:
        errors.append({"field": field, "rule": rule, "detail": detail, "label": labels[field], "anchor": field})

    for name in ("from", "to"):
        days[name] = parse_day(filters[name]) if filters[name] else None
        if filters[name] and days[name] is None:
            error(name, "date", "请输入有效日期，格式如 2026-11-26")
    if days["from"] and days["to"] and days["to"] < days["from"]:
        error("to", "not_before_from", "截止日期不能早于起始日期")
    return days, errors


async def dated_search(
    api: PersonApi,
    path: str,
    filters: Mapping[str, str],
    keys: tuple[str, ...],
    labels: Mapping[str, str],
    page: Any,
    size: int = PAGE_SIZE,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], int]:
    """One page of a list API filtered by `keys` of `filters` and by its `from`/`to` days: (the page, the field
    errors, the status) — a bad day is refused here, a bad filter by the API, both beside their fields."""
    days, errors = day_filters(filters, labels)
    if errors:
        return None, errors, 400
    time_from, time_to = event_window(days["from"], days["to"])
    params = {k: filters[k] for k in keys}
    try:
        found = await api.get(path, **params, **{"from": time_from, "to": time_to}, page=page, size=size)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 422))
        return None, field_errors(refused, labels), refused.status
    return found, [], 200


def event_window(start: date | None, end: date | None) -> tuple[str | None, str | None]:
    """Days in Asia/Shanghai, both included, as the API's `from` (inclusive) and `to` (exclusive) instants."""

    def midnight(day: date) -> str:
        return datetime.combine(day, time.min, SHANGHAI).isoformat()

    return (midnight(start) if start else None, midnight(end + timedelta(days=1)) if end else None)


def event_summary(entry: Mapping[str, Any]) -> str:
    """A line on what a record is about, from its data (identifiers masked again, whatever the data holds)."""
    data = entry.get("data") or {}
    parts = [
        f"{word} {data[key]}" for key, word in SUMMARY_KEYS if isinstance(data.get(key), str | int) and data[key] != ""
    ]
    line = "；".join(parts[:SUMMARY_PARTS]) or str(entry.get("subject") or "")
    return mask_identifiers_in_text(line)


@router.get("/audit")
async def audit_log(request: Request, session: CurrentSession, api: PersonApiDep, page: Text = None) -> Response:
    query = request.query_params
    filters = {name: (query.get(name) or "").strip()[:100] for name in ("type", "dept", "resource_id", "from", "to")}
    found, errors, status = await dated_search(
        api, "/api/audit/events", filters, ("type", "dept", "resource_id"), AUDIT_FIELDS, page
    )
    rows = [
        {
            "seq": e["seq"],
            "time": e["time"],
            "type": e["type"],
            "actor": mask_identifiers_in_text(e.get("actor") or ""),
            "dept": e.get("dept") or "",
            "summary": event_summary(e),
        }
        for e in (found or {}).get("items", [])
    ]
    return page_or_part(
        request,
        "oversight/audit.html",
        "oversight/_audit_results.html",
        RESULTS_ID,
        status,
        title="审计日志",
        active="audit",
        filters=filters,
        **error_context(errors),
        rows=rows,
        pager=pager("/audit", filters, found["total"], found["page"], found["size"]) if found else None,
        event_types=labels.AUDIT_EVENT_TYPES,
    )


@router.get("/audit/verify")
async def verify_chain(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    result = await api.get("/api/audit/verify")
    return render(request, "oversight/verify.html", title="哈希链校验结果", active="audit", result=result)


@router.get("/audit/export")
async def export_log(
    session: CurrentSession, api: PersonApiDep, from_seq: Text = None, to_seq: Text = None
) -> Response:
    """The log (or a range of its seqs) as audit-svc's hash-anchored JSON Lines file, to keep off the platform."""
    return await relay_download(
        api, "/api/audit/export", {"from_seq": from_seq, "to_seq": to_seq}, filename="audit-export.jsonl"
    )
