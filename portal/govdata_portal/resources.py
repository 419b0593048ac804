"""目录编制 and 目录审核 (第十二–十四条): a department registers its data resources (我的资源, the registration
form with its 信息项, submit, new revision, retire), the bureau reviews what was submitted (目录审核). The catalog's
需求清单 (第十二条) is in demands.py, 责任清单 (第十三条) in responsibilities.py.

The API decides every rule (codes, 一数一源 of 第十六条, the declaration of 第二条 that no state secret is held);
the pages send what was typed and show the refusals beside the fields. The registration form works without
JavaScript: 增加一行 and 删除第 N 行 are submit buttons that render the form again with what was typed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.deadlines import due_badge, parse_date
from govdata_portal.forms import done, error_context, field_errors, notice_of, refusal, text
from govdata_portal.gateway import ApiProblem
from govdata_portal.lists import gather_all
from govdata_portal.pages import error_page, forbidden, page_or_part, paged, pager, render, today_of
from govdata_portal.session import Session

router = APIRouter()

API = "/api/catalog"
PAGE_SIZE = 20
MAX_ITEM_ROWS = 500  # as many 信息项 as the API accepts

ResourceId = Annotated[str, Path(max_length=64)]
Text = Annotated[str | None, Query(max_length=100)]

NOTICES = {
    "created": "资源已保存为草稿。核对无误后，请提交审核。",
    "saved": "修改已保存。",
    "submitted": "已提交县政务服务和大数据管理局审核，审核期限为 5 个工作日（第十四条）。",
    "revision": "已创建新的修订版本（草稿）。修改并提交审核；审核通过前，数据目录仍显示当前发布的版本。",
    "retired": "资源已停用。",
    "approved": "审核通过，资源已发布到数据目录。",
    "rejected": "已退回，提供部门将看到退回理由。",
}

# The registration form's fields as people read them (also in the error summary).
FIELD_LABELS = {
    "code": "信息资源代码",
    "name": "资源名称",
    "summary": "摘要",
    "category": "资源分类",
    "format": "资源格式",
    "items": "信息项",
    "sharing_type": "共享类型",
    "sharing_conditions": "共享条件",
    "legal_basis": "法律依据",
    "sharing_method": "共享方式",
    "open_type": "开放类型",
    "open_conditions": "开放条件",
    "security_level": "安全级别",
    "update_cycle": "更新周期",
    "usage_requirements": "使用要求",
    "related_codes": "关联资源代码",
    "interface": "服务接口",
    "interface.base_url": "接口地址",
    "interface.methods": "请求方法",
    "interface.path_prefixes": "路径前缀",
    "interface.rate_limit": "调用频率上限",
    "interface.credential_ref": "凭据引用",
    "no_state_secrets": "不涉及国家秘密的声明",
    "reason": "退回理由",
}
# A 信息项's fields: `items.1.code` is 「信息项第 2 行 信息项代码」 (not the resource's 信息资源代码).
ITEM_LABELS = {
    "code": "信息项代码",
    "name": "信息项名称",
    "type": "数据类型",
    "length": "长度",
    "authoritative": "权威来源",
    "sharing_type": "本项共享类型",
    "subject": "数据主体",
    "identifier": "关键标识",
    "description": "说明",
}

SELECTS = ("category", "format", "sharing_type", "sharing_method", "open_type", "security_level", "update_cycle")
REQUIRED_TEXTS = ("code", "name", "summary")
OPTIONAL_TEXTS = ("sharing_conditions", "legal_basis", "open_conditions", "usage_requirements")
INTERFACE_TEXTS = (
    "interface.base_url",
    "interface.path_prefixes",
    "interface.rate_limit",
    "interface.credential_ref",
)
TEXT_FIELDS = (*REQUIRED_TEXTS, *SELECTS, *OPTIONAL_TEXTS, "related_codes", *INTERFACE_TEXTS)
METHODS = ("GET", "POST")
DEFAULT_RATE_LIMIT = "20"

# A revision its provider may still change and submit.
EDITABLE = frozenset({"draft", "rejected"})


# --------------------------------------------------------------------------------------------- the form


@dataclass
class ItemRow:
    """One 信息项 as typed: strings, so what was typed comes back as it was."""

    code: str = ""
    name: str = ""
    type: str = "C"
    length: str = ""
    authoritative: bool = False
    description: str = ""
    sharing_type: str = ""  # "": the resource's (第二十四条: an item may be shared on stricter terms)
    subject: str = ""  # person | org: whose data the item is (第十六条)
    identifier: str = ""  # resident_id | credit_code: the key identifier the records are collected by

    def blank(self) -> bool:
        return not (self.code or self.name or self.length or self.description or self.authoritative)

    def payload(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "type": self.type,
            "length": _number(self.length),
            "authoritative": self.authoritative,
            "description": self.description or None,
            "sharing_type": self.sharing_type or None,
            "subject": self.subject or None,
            "identifier": self.identifier or None,
        }


@dataclass
class ResourceForm:
    """The registration form as typed (or as the API holds a revision): `values` by the API's field path."""

    values: dict[str, str] = field(default_factory=dict)
    methods: list[str] = field(default_factory=lambda: ["GET"])
    items: list[ItemRow] = field(default_factory=lambda: [ItemRow()])
    no_state_secrets: bool = False

    def value(self, name: str) -> str:
        return self.values.get(name, "")


def blank_form() -> ResourceForm:
    values = dict.fromkeys(TEXT_FIELDS, "")
    values.update({"sharing_method": "platform_api", "interface.rate_limit": DEFAULT_RATE_LIMIT})
    return ResourceForm(values=values)


def _number(value: str) -> int | str | None:
    """A count typed in the form: an int when it is one; anything else goes as typed, for the API to name."""
    if not value:
        return None
    return int(value) if value.isdigit() else value


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[\s,，、;；]+", value) if w]


_ITEM_FIELDS = "code|name|type|length|description|authoritative|sharing_type|subject|identifier"
_ITEM_KEY = re.compile(rf"items\.(\d+)\.(?:{_ITEM_FIELDS})")


def read_form(form: FormData) -> ResourceForm:
    """What the person typed: every text field, the ticked methods, the 信息项 rows in their order."""
    values = {name: text(form, name) for name in TEXT_FIELDS}
    methods = [m for m in (form.getlist("interface.methods")) if isinstance(m, str) and m]
    indexes = sorted({int(m.group(1)) for key in form if (m := _ITEM_KEY.fullmatch(key))})
    items = [
        ItemRow(
            code=text(form, f"items.{i}.code"),
            name=text(form, f"items.{i}.name"),
            type=text(form, f"items.{i}.type") or "C",
            length=text(form, f"items.{i}.length"),
            authoritative=form.get(f"items.{i}.authoritative") == "true",
            description=text(form, f"items.{i}.description"),
            sharing_type=text(form, f"items.{i}.sharing_type"),
            subject=text(form, f"items.{i}.subject"),
            identifier=text(form, f"items.{i}.identifier"),
        )
        for i in indexes[:MAX_ITEM_ROWS]
    ]
    return ResourceForm(values, methods, items, no_state_secrets=form.get("no_state_secrets") == "true")


def form_of_resource(resource: dict[str, Any]) -> ResourceForm:
    """A revision as the API gives it, in the form's fields (the credential reference is never given back)."""
    values = dict.fromkeys(TEXT_FIELDS, "")
    for name in (*REQUIRED_TEXTS, *SELECTS, *OPTIONAL_TEXTS):
        value = resource.get(name)
        values[name] = "" if value is None else str(value)
    values["related_codes"] = " ".join(resource.get("related_codes") or [])
    interface = resource.get("interface") or {}
    methods = list(interface.get("methods") or ["GET"])
    if interface:
        values["interface.base_url"] = interface.get("base_url") or ""
        values["interface.path_prefixes"] = " ".join(interface.get("path_prefixes") or [])
        values["interface.rate_limit"] = str(interface.get("rate_limit") or "")
    else:
        values["interface.rate_limit"] = DEFAULT_RATE_LIMIT
    items = [
        ItemRow(
            code=item.get("code") or "",
            name=item.get("name") or "",
            type=item.get("type") or "C",
            length="" if item.get("length") is None else str(item["length"]),
            authoritative=bool(item.get("authoritative")),
            description=item.get("description") or "",
            sharing_type=item.get("sharing_type") or "",
            subject=item.get("subject") or "",
            identifier=item.get("identifier") or "",
        )
        for item in resource.get("items") or []
    ]
    return ResourceForm(values, methods, items or [ItemRow()], bool(resource.get("no_state_secrets")))


def interface_payload(form: ResourceForm) -> dict[str, Any] | None:
    """服务接口, or None when nothing of it was given (the defaults of methods and rate limit do not count)."""
    base_url = form.value("interface.base_url")
    prefixes = _words(form.value("interface.path_prefixes"))
    credential = form.value("interface.credential_ref")
    if not (base_url or prefixes or credential):
        return None
    interface: dict[str, Any] = {"base_url": base_url}
    if form.methods:
        interface["methods"] = form.methods
    if prefixes:
        interface["path_prefixes"] = prefixes
    if form.value("interface.rate_limit"):
        interface["rate_limit"] = _number(form.value("interface.rate_limit"))
    if credential:
        interface["credential_ref"] = credential
    return interface


def payload(form: ResourceForm, *, patch: bool = False) -> dict[str, Any]:
    """The body of `POST /resources` (or of `PATCH`): blank required fields are left out of a new resource, so
    the API says 必填; a patch sends them empty (left out, a patch would keep the old value). Blank 信息项 rows
    (one added and never filled) are not sent. The declaration of 第二条 always goes, ticked or not: unticked, a
    patch withdraws it."""
    body: dict[str, Any] = {}
    for name in REQUIRED_TEXTS:
        if form.value(name) or patch:
            body[name] = form.value(name)
    for name in SELECTS:
        if form.value(name):
            body[name] = form.value(name)
    for name in OPTIONAL_TEXTS:
        body[name] = form.value(name) or None
    body["related_codes"] = _words(form.value("related_codes"))
    body["items"] = [row.payload() for row in form.items if not row.blank()]
    body["interface"] = interface_payload(form)
    body["no_state_secrets"] = form.no_state_secrets  # 第二条: the provider declares it holds no state secret
    return body


def interface_unchanged(sent: dict[str, Any] | None, held: dict[str, Any] | None) -> bool:
    """The form gives back the interface the API holds: a patch leaves it out, keeping the credential reference
    the API never shows (sent again, the interface would replace it with none)."""
    if not sent or not held or "credential_ref" in sent:
        return False
    return (
        sent.get("base_url") == held.get("base_url")
        and list(sent.get("methods") or ["GET"]) == list(held.get("methods") or ["GET"])
        and list(sent.get("path_prefixes") or ["/"]) == list(held.get("path_prefixes") or ["/"])
        and sent.get("rate_limit", 20) == held.get("rate_limit", 20)
    )


def without_blank_rows(form: ResourceForm) -> ResourceForm:
    """The form as sent: the rows the API numbered (blank ones were not sent), at least one to type in."""
    rows = [row for row in form.items if not row.blank()]
    return ResourceForm(form.values, form.methods, rows or [ItemRow()], form.no_state_secrets)


# --------------------------------------------------------------------------------------------- errors

_BRACKET = re.compile(r"\[(\d+)\]")
_ITEM_FIELD = re.compile(r"^items\.(\d+)(?:\.(\w+))?")
# Fields without an input of their own, and the input their message sits beside: the whole list of 信息项 and the
# interface as a whole at their first input; a list typed in one input (or one checkbox group) at that input.
_WHOLE_ANCHORS = {"items": "items-0-code", "interface": "interface-base_url"}
_LIST_ANCHORS = {
    "interface.methods": "interface-methods-GET",
    "interface.path_prefixes": "interface-path_prefixes",
    "related_codes": "related_codes",
}


def api_field(name: str) -> str:
    """The API names a 信息项 two ways (`items[0].code` in its rules, `items.0.code` in its schema): one way."""
    return _BRACKET.sub(r".\1", name)


def resource_errors(problem: ApiProblem) -> list[dict[str, Any]]:
    """The API's refusal of the form: each error named in Chinese, with the id of the input it belongs to."""
    fields = [{**e, "field": api_field(str(e["field"]))} for e in problem.errors if e.get("field")]
    errors = field_errors(ApiProblem(problem.status, {**problem.body, "errors": fields}), FIELD_LABELS)
    for error in errors:
        name = error.get("field")
        if not name:
            continue
        item = _ITEM_FIELD.match(name)
        if item:
            row, part = int(item.group(1)), item.group(2)
            error["label"] = f"信息项第 {row + 1} 行" + (f" {ITEM_LABELS.get(part, part)}" if part else "")
            error["anchor"] = f"items-{row}-{part if part in ITEM_LABELS else 'code'}"
            continue
        if name in _WHOLE_ANCHORS:
            error["anchor"] = _WHOLE_ANCHORS[name]
        for group, anchor in _LIST_ANCHORS.items():
            if name == group or name.startswith(group + "."):
                error["anchor"] = anchor
    return errors


def _plain(problem: ApiProblem, field_labels: dict[str, str] = FIELD_LABELS) -> list[dict[str, Any]]:
    """A refusal shown on a page without the fields it names: the summary only, no links."""
    return [{**e, "anchor": None} for e in field_errors(problem, field_labels)]


# --------------------------------------------------------------------------------------------- helpers


def _path(resource_id: str) -> str:
    return f"{API}/resources/{quote(resource_id, safe='')}"


def is_provider(session: Session, resource: dict[str, Any]) -> bool:
    """The person acts for the resource's provider department (the API lets its staff change it)."""
    return session.is_department_staff() and session.dept == resource.get("provider_dept")


async def _resource(request: Request, api: PersonApi, resource_id: str) -> dict[str, Any] | Response:
    """The resource as the person may see it, or the page explaining it is not there for them."""
    try:
        return await api.get(_path(resource_id))
    except ApiProblem as problem:
        if problem.status == 404:
            return error_page(
                request,
                404,
                "未找到该资源",
                "该资源不存在，或不属于您的部门且尚未发布。请从「我的资源」进入。",
            )
        raise


async def _latest(api: PersonApi, resource: dict[str, Any]) -> dict[str, Any]:
    """The revision being worked on: the pending one beside a published resource, else the one shown."""
    pending = resource.get("pending_revision")
    if pending and pending.get("version") != resource.get("version"):
        return await api.get(_path(resource["id"]), version=pending["version"])
    return resource


# --------------------------------------------------------------------------------------------- 我的资源


@router.get("/resources")
async def my_resources(
    request: Request, session: CurrentSession, api: PersonApiDep, status: Text = None, page: Text = None
) -> Response:
    """The department's resources in every status (第十二条: the department's own catalog list)."""
    if not session.is_department_staff():
        return forbidden(request, "「我的资源」是部门经办人登记本部门数据资源的页面。")
    chosen = status if status in labels.RESOURCE_STATUS else ""
    filters = {"status": chosen}
    if chosen:
        number = int(page) if page and page.isdigit() and int(page) > 0 else 1
        answer = await api.get(
            f"{API}/resources", status=chosen, provider_dept=session.dept, page=number, size=PAGE_SIZE
        )
        shown, truncated = answer["items"], False
        list_pager = pager("/resources", filters, answer["total"], answer["page"], answer["size"])
    else:
        lists = await asyncio.gather(
            *(gather_all(api, f"{API}/resources", status=s, provider_dept=session.dept) for s in labels.RESOURCE_STATUS)
        )
        everything = sorted(
            (r for found, _ in lists for r in found), key=lambda r: r.get("updated_at") or "", reverse=True
        )
        truncated = any(more for _, more in lists)
        shown, list_pager = paged(everything, page, "/resources", filters, PAGE_SIZE)
    today = today_of(request)
    rows = [_resource_row(r, today) for r in shown]
    return page_or_part(
        request,
        "resources/list.html",
        "resources/_list_results.html",
        "resource-results",
        title="我的资源",
        active="resources",
        notice=notice_of(request, NOTICES),
        filters=filters,
        rows=rows,
        pager=list_pager,
        truncated=truncated,
        may_register=True,  # department staff, as checked above
    )


def _resource_row(resource: dict[str, Any], today: date) -> dict[str, Any]:
    pending = resource.get("pending_revision")
    if resource.get("status") == "submitted":
        badge = due_badge(resource.get("review_deadline"), today, resource.get("review_deadline_estimated"))
    elif pending and pending.get("status") == "submitted":
        badge = due_badge(pending.get("review_deadline"), today)
    else:
        badge = None
    return {"resource": resource, "pending": pending, "badge": badge}


# --------------------------------------------------------------------------------------------- the form pages


def _form_page(
    request: Request,
    form: ResourceForm,
    *,
    action: str,
    resource: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "resources/form.html",
        status,
        title=f"修改资源：{resource['name']}" if resource else "登记资源",
        active="resources",
        notice=notice_of(request, NOTICES),
        form=form,
        action=action,
        resource=resource,
        **error_context(errors),
        item_types=labels.ITEM_TYPE,
        methods=METHODS,
    )


def _row_change(form_data: FormData, form: ResourceForm) -> ResourceForm | None:
    """增加一行 / 删除第 N 行: the form with the rows changed, or None when the person saves."""
    if form_data.get("action") == "add_item":
        if len(form.items) < MAX_ITEM_ROWS:
            form.items.append(ItemRow())
        return form
    removed = form_data.get("remove_item")
    if isinstance(removed, str) and removed.isdigit():
        index = int(removed)
        form.items = [row for i, row in enumerate(form.items) if i != index] or [ItemRow()]
        return form
    return None


@router.get("/resources/new")
async def new_resource(request: Request, session: CurrentSession) -> Response:
    if not session.is_department_staff():
        return forbidden(request, "数据资源由提供部门的经办人登记（第十二条）。")
    return _form_page(request, blank_form(), action="/resources/new")


@router.post("/resources/new", dependencies=[CsrfChecked])
async def create_resource(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    form_data = await request.form()
    form = read_form(form_data)
    changed = _row_change(form_data, form)
    if changed is not None:
        return _form_page(request, changed, action="/resources/new")
    try:
        created = await api.post(f"{API}/resources", payload(form))
    except ApiProblem as problem:
        refused = refusal(problem)
        return _form_page(
            request,
            without_blank_rows(form),
            action="/resources/new",
            errors=resource_errors(refused),
            status=refused.status,
        )
    return done(f"/resources/{created['id']}", "created")


def _not_editable(request: Request, resource: dict[str, Any]) -> Response:
    status = resource.get("status")
    if status == "retired":
        reason = "该资源已停用，不能修改。"
    elif (resource.get("pending_revision") or {}).get("status") == "submitted" or status == "submitted":
        reason = "该资源正在等待县政务服务和大数据管理局审核，审核完成前不能修改。"
    else:
        reason = "已发布的资源不能直接修改，请在资源页点击「新建修订」，在新的修订版本中修改。"
    return error_page(request, 409, "当前不能修改", reason)


async def _editable(request: Request, session: Session, api: PersonApi, resource_id: str):
    """(resource, the revision to edit) or the page saying why it cannot be edited by this person."""
    resource = await _resource(request, api, resource_id)
    if isinstance(resource, Response):
        return resource
    if not is_provider(session, resource):
        return error_page(
            request, 403, "无权修改", f"只有提供方部门 {resource['provider_dept']} 的经办人可以修改该资源。"
        )
    latest = await _latest(api, resource)
    if resource.get("status") == "retired" or latest.get("revision_status") not in EDITABLE:
        return _not_editable(request, resource)
    return resource, latest


@router.get("/resources/{resource_id}/edit")
async def edit_resource(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    found = await _editable(request, session, api, resource_id)
    if isinstance(found, Response):
        return found
    resource, latest = found
    return _form_page(request, form_of_resource(latest), action=f"/resources/{resource['id']}/edit", resource=latest)


@router.post("/resources/{resource_id}/edit", dependencies=[CsrfChecked])
async def save_resource(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    form_data = await request.form()
    form = read_form(form_data)
    action = f"/resources/{quote(resource_id, safe='')}/edit"
    try:
        latest = await _latest(api, await api.get(_path(resource_id)))
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        latest = None  # the PATCH below gets the API's own answer
    changed = _row_change(form_data, form)
    if changed is not None:
        return _form_page(request, changed, action=action, resource=latest)
    body = payload(form, patch=True)
    if latest and interface_unchanged(body["interface"], latest.get("interface")):
        del body["interface"]
    try:
        await api.patch(_path(resource_id), body)
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422) or problem.code in ("revision_required", "resource_retired"):
            raise
        return _form_page(
            request,
            without_blank_rows(form),
            action=action,
            resource=latest,
            errors=resource_errors(problem),
            status=problem.status,
        )
    return done(f"/resources/{quote(resource_id, safe='')}", "saved")


# --------------------------------------------------------------------------------------------- the resource page


async def _detail(
    request: Request,
    session: Session,
    api: PersonApi,
    resource_id: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    declaration_missing: bool = False,
    status: int = 200,
) -> Response:
    resource = await _resource(request, api, resource_id)
    if isinstance(resource, Response):
        return resource
    latest, history = await asyncio.gather(_latest(api, resource), api.get(f"{_path(resource['id'])}/revisions"))
    today = today_of(request)
    revision_status = latest.get("revision_status")
    owner = is_provider(session, resource)
    retired = resource.get("status") == "retired"
    return render(
        request,
        "resources/detail.html",
        status,
        title=latest["name"],
        active="resources",
        notice=notice_of(request, NOTICES),
        resource=resource,
        latest=latest,
        is_revision=latest.get("version") != resource.get("version"),
        badge=due_badge(latest.get("review_deadline"), today, latest.get("review_deadline_estimated"))
        if revision_status == "submitted"
        else None,
        history=history,
        errors=errors or [],
        declaration_missing=declaration_missing,
        # What the person may do now, by the revision's status (the API checks again).
        may_edit=owner and not retired and revision_status in EDITABLE,
        may_submit=owner and not retired and revision_status in EDITABLE,
        may_revise=owner and not retired and revision_status == "published",
        may_retire=owner and not retired,
    )


@router.get("/resources/{resource_id}")
async def resource_page(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    return await _detail(request, session, api, resource_id)


@router.post("/resources/{resource_id}/submit", dependencies=[CsrfChecked])
async def submit_resource(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    """提交审核 (第十四条); refused while the declaration of 第二条 is missing, which the page says plainly."""
    try:
        await api.post(f"{_path(resource_id)}/submit")
    except ApiProblem as problem:
        refused = refusal(problem)
        return await _detail(
            request,
            session,
            api,
            resource_id,
            errors=_plain(refused),
            declaration_missing=refused.code == "state_secret_declaration_required",
            status=refused.status,
        )
    return done(f"/resources/{quote(resource_id, safe='')}", "submitted")


@router.post("/resources/{resource_id}/revisions", dependencies=[CsrfChecked])
async def new_revision(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    """新建修订: a draft of the next version of a published resource, opened for editing."""
    await api.post(f"{_path(resource_id)}/revisions")
    return done(f"/resources/{quote(resource_id, safe='')}/edit", "revision")


@router.get("/resources/{resource_id}/retire")
async def confirm_retire(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    """停用 asks again on a page of its own: the resource leaves the catalog and its grants end with it."""
    resource = await _resource(request, api, resource_id)
    if isinstance(resource, Response):
        return resource
    return _retire_page(request, resource)


def _retire_page(request: Request, resource: dict[str, Any], errors: list | None = None, status: int = 200, **typed):
    return render(
        request,
        "resources/retire.html",
        status,
        title=f"停用资源：{resource['name']}",
        active="resources",
        resource=resource,
        **error_context(errors),
        reason=typed.get("reason", ""),
    )


@router.post("/resources/{resource_id}/retire", dependencies=[CsrfChecked])
async def retire_resource(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    form = await request.form()
    reason = text(form, "reason")
    try:
        await api.post(f"{_path(resource_id)}/retire", {"reason": reason or None})
    except ApiProblem as problem:
        refused = refusal(problem)
        resource = await _resource(request, api, resource_id)
        if isinstance(resource, Response):
            return resource
        return _retire_page(request, resource, field_errors(refused, FIELD_LABELS), refused.status, reason=reason)
    return done(f"/resources/{quote(resource_id, safe='')}", "retired")


# --------------------------------------------------------------------------------------------- 目录审核


def _bureau_only(request: Request, session: Session) -> Response | None:
    if session.has_role("bureau_admin"):
        return None
    return forbidden(request, "目录审核由县政务服务和大数据管理局办理（第十四条）。")


def _review_entry(resource: dict[str, Any], today: date) -> dict[str, Any] | None:
    """A resource waiting for the bureau: first registrations and new revisions of published ones."""
    pending = resource.get("pending_revision")
    if resource.get("status") == "submitted":
        due, estimated, kind = resource.get("review_deadline"), resource.get("review_deadline_estimated"), "新登记"
    elif pending and pending.get("status") == "submitted":
        due, estimated, kind = pending.get("review_deadline"), False, f"修订第 {pending['version']} 版"
    else:
        return None
    return {"resource": resource, "kind": kind, "due": parse_date(due), "badge": due_badge(due, today, estimated)}


@router.get("/review/catalog")
async def catalog_review(request: Request, session: CurrentSession, api: PersonApiDep, page: Text = None):
    """Submitted resources, the oldest deadline first (第十四条: reviewed within 5 working days)."""
    refused = _bureau_only(request, session)
    if refused:
        return refused
    # The API lists new registrations by status; a revision under review leaves its resource `published`, so the
    # published ones are read too, for their pending revision.
    (submitted, more_submitted), (published, more_published) = await asyncio.gather(
        gather_all(api, f"{API}/resources", status="submitted"),
        gather_all(api, f"{API}/resources", status="published"),
    )
    today = today_of(request)
    entries = [e for r in (*submitted, *published) if (e := _review_entry(r, today))]
    entries.sort(key=lambda e: (e["due"] is None, e["due"] or date.max, e["resource"]["name"]))
    shown, list_pager = paged(entries, page, "/review/catalog", {}, PAGE_SIZE)
    return page_or_part(
        request,
        "review/catalog.html",
        "review/catalog_results.html",
        "review-results",
        title="目录审核",
        active="catalog_review",
        notice=notice_of(request, NOTICES),
        entries=shown,
        pager=list_pager,
        truncated=more_submitted or more_published,
    )


async def _review_page(
    request: Request,
    api: PersonApi,
    resource_id: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    reason: str = "",
    status: int = 200,
) -> Response:
    resource = await _resource(request, api, resource_id)
    if isinstance(resource, Response):
        return resource
    latest = await _latest(api, resource)
    waiting = latest.get("revision_status") == "submitted"
    return render(
        request,
        "review/catalog_resource.html",
        status,
        title=f"审核：{latest['name']}",
        active="catalog_review",
        resource=resource,
        latest=latest,
        is_revision=resource.get("published_version") is not None,
        waiting=waiting,
        badge=due_badge(latest.get("review_deadline"), today_of(request), latest.get("review_deadline_estimated"))
        if waiting
        else None,
        **error_context(errors),
        reason=reason,
    )


@router.get("/review/catalog/{resource_id}")
async def review_resource(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    refused = _bureau_only(request, session)
    return refused or await _review_page(request, api, resource_id)


@router.post("/review/catalog/{resource_id}", dependencies=[CsrfChecked])
async def decide_review(request: Request, session: CurrentSession, api: PersonApiDep, resource_id: ResourceId):
    """通过 publishes the submitted revision; 退回 needs a reason the provider will read."""
    form = await request.form()
    decision = text(form, "decision")
    reason = text(form, "reason")
    body: dict[str, Any] = {"decision": decision}
    if decision == "reject":
        body["reason"] = reason or None
    try:
        await api.post(f"{_path(resource_id)}/review", body)
    except ApiProblem as problem:
        refused = refusal(problem)
        errors = field_errors(refused, FIELD_LABELS)
        return await _review_page(request, api, resource_id, errors=errors, reason=reason, status=refused.status)
    return done("/review/catalog", "approved" if decision == "approve" else "rejected")
