"""共享申请 and 接口授权 (第二十七–二十九条), over sharing-svc (`/api/sharing`):

- 共享申请 `/requests`: the department's requests as requester; `/requests/new?resource_id=` files one (the items
  it needs, 申请用途, 履职依据, 应用系统, 有效期 and, for a conditional resource, the sealed 需求单); `/requests/{id}`
  shows a request's stages, decisions and 需求单 with the controls of whoever decides its current stage;
- 待我审核 `/reviews`: requests waiting for the department as provider (第二十九条(二): 5 working days);
- 平台审核/交付 `/review/requests`: the bureau's stages (第二十九条(一)(二): 3 working days each);
- 我的授权 `/grants`: grants the department holds and grants of its resources, which the provider may pause,
  resume or end (第二十九条);
- 异议处理 `/disputes`: the bureau resolves disputes together with the provider (第二十七条); 共享异议
  `/my/disputes`: a department answers those about its resources and follows those it raised.

Who may do what is the API's to decide; the pages only leave out the controls a person cannot use.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.deadlines import DeadlineBadge, due_badge
from govdata_portal.downloads import relay_download
from govdata_portal.forms import done, error_context, field_errors, notice_of, refusal, text, texts, upload
from govdata_portal.gateway import ApiProblem, GatewayUnavailable
from govdata_portal.lists import catalog_resource, catalog_resources, item_names
from govdata_portal.pages import error_page, forbidden, page_or_part, paged, render, today_of
from govdata_portal.session import Session

router = APIRouter()

API = "/api/sharing"
PAGE_SIZE = 20
OPEN_STAGES = ("platform_review", "provider_review", "delivery")
BUREAU_STAGES = ("platform_review", "delivery")

Id = Annotated[str, Path(max_length=64)]
Param = Annotated[str | None, Query(max_length=64)]

# The fields of sharing's forms and the words they go by on the page (also in error summaries).
FIELD_LABELS = {
    "resource_id": "数据资源",
    "items": "申请信息项",
    "purpose": "申请用途",
    "duty_basis": "履职依据",
    "system": "应用系统",
    "valid_from": "有效期开始",
    "valid_to": "有效期截止",
    "seasonal": "季节性应用",
    "file": "需求单",
    "reason": "理由",
    "resolution": "处理结果",
}
DISPUTE_LABELS = {
    **FIELD_LABELS,
    "resolution": "处理结果",
    "outcome": "处理决定",
    "ordered_sharing_type": "应改为的共享类型",
    "answer": "答复意见",
}
DECISION_LABELS = {**FIELD_LABELS, "items": "同意的信息项", "reason": "驳回理由"}
# The approval form's reason (why the items left unticked are refused) is `refusal_reason` on the page: `reason`
# is the rejection form's field beside it.
APPROVAL_LABELS = {**DECISION_LABELS, "reason": "不同意部分信息项的理由", "refusal_reason": "不同意部分信息项的理由"}

NOTICES = {
    "created": "共享申请已提交，等待审批。",
    "created_needs_form": (
        "共享申请已提交。该资源为有条件共享，请在下方上传加盖公章的需求单：提供部门收到需求单后才能审批。"
    ),
    "attachment_refused": (
        "共享申请已提交，但需求单未能上传（只接受不超过 10 MiB 的 PDF、JPEG 或 PNG 文件），请在下方重新上传。"
    ),
    "attached": "需求单已上传。",
    "approved_provider": "已同意，申请已转县共享平台交付。",
    "approved_platform": "审核通过，已生成接口授权。",
    "delivered": "已交付，已生成接口授权。",
    "rejected": "已驳回，理由已告知申请部门。",
    "suspended": "授权已暂停，申请部门暂时不能调用接口。",
    "resumed": "授权已恢复。",
    "terminated": "授权已终止。",
    "resolved": "异议已办结。",
    "answered": "答复已提交，县政务服务和大数据管理局将会同本部门协调处理（第二十七条）。",
}
# Where a decision of each stage returns to, and the notice it shows there.
AFTER_DECISION = {
    "provider_review": ("/reviews", "approved_provider"),
    "platform_review": ("/review/requests", "approved_platform"),
    "delivery": ("/review/requests?stage=delivery", "delivered"),
}


def _q(value: str) -> str:
    return quote(value, safe="")


def badge_of(record: dict[str, Any], today: date) -> DeadlineBadge | None:
    """The badge of an open stage's deadline; none once the request is decided."""
    return due_badge(record.get("deadline"), today, record.get("deadline_estimated"))


def _list_page(request: Request, page: str, **context: Any) -> Response:
    """A list page `sharing/<page>.html`, or (htmx paging inside it) only its list `sharing/_<page>_list.html`; with
    the notice a change asked for, and the deadlines' badges as of today."""
    return page_or_part(
        request,
        f"sharing/{page}.html",
        f"sharing/_{page}_list.html",
        f"{page}-list",
        notice=notice_of(request, NOTICES),
        today=today_of(request),
        badge_of=badge_of,
        **context,
    )


def sharing_errors(problem: ApiProblem, field_labels: dict[str, str] = FIELD_LABELS) -> list[dict[str, Any]]:
    """The problem's errors beside their inputs; an error of one requested item (`items[2]`, `items.2`) belongs
    to the fieldset of items as a whole."""
    errors = field_errors(problem, field_labels)
    for e in errors:
        field = str(e.get("field") or "")
        if field.startswith(("items[", "items.")):
            e["anchor"], e["label"] = "items", field_labels["items"]
    return errors


def by_deadline(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest deadline first, as a queue of work is read; those without one last."""
    return sorted(records, key=lambda r: (r.get("deadline") is None, r.get("deadline") or ""))


# --------------------------------------------------------------------------------------------- the stages


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    state: str  # done | current | rejected | todo

    @property
    def state_label(self) -> str:
        return {"done": "已完成", "current": "办理中", "rejected": "未通过", "todo": "未开始"}[self.state]


# 第二十九条(一): unconditional → platform review → shared; (二): conditional → provider → platform delivery.
PATHS = {
    "unconditional": ("platform_review", "granted"),
    "conditional": ("provider_review", "delivery", "granted"),
}


def stages_of(path: str, status: str, rejected_stage: str | None = None) -> list[Stage]:
    """The stages of a request's path, each marked done, current, rejected or still to come."""
    order = PATHS.get(path, ())
    reached = rejected_stage if status == "rejected" else status
    at = order.index(reached) if reached in order else -1
    stages = []
    for i, key in enumerate(order):
        if i < at or (i == at and key == "granted"):
            state = "done"
        elif i == at:
            state = "rejected" if status == "rejected" else "current"
        else:
            state = "todo"
        stages.append(Stage(key, labels.label(labels.REQUEST_STATUS, key), state))
    return stages


def decider_of(session: Session, record: dict[str, Any]) -> str | None:
    """`provider` or `bureau` when the person decides the request's current stage (第二十九条)."""
    status = record.get("status")
    if status == "provider_review" and session.is_department_staff() and session.dept == record.get("provider_dept"):
        return "provider"
    if status in BUREAU_STAGES and session.has_role("bureau_admin"):
        return "bureau"
    return None


def _nav_key(session: Session, record: dict[str, Any]) -> str:
    if session.dept and session.dept == record.get("requester_dept"):
        return "requests"
    if session.dept and session.dept == record.get("provider_dept"):
        return "reviews"
    return "platform_review" if session.has_role("bureau_admin") else ""


# --------------------------------------------------------------------------------------------- 共享申请


@router.get("/requests")
async def my_requests(
    request: Request, session: CurrentSession, api: PersonApiDep, status: Param = None, page: Param = None
) -> Response:
    if not session.is_department_staff():
        return forbidden(request, "共享申请页面供部门经办人和部门负责人查看本部门提出的申请。")
    found = await api.get(f"{API}/requests", role="requester", status=status)
    filters = {"status": status or ""}
    shown, list_pager = paged(found, page, "/requests", filters, PAGE_SIZE)
    return _list_page(
        request,
        "requests",
        title="共享申请",
        active="requests",
        requests=shown,
        filters=filters,
        pager=list_pager,
        can_apply=session.has_role("dept_operator"),
    )


def application_of(form: FormData) -> dict[str, Any]:
    """The body of `POST /requests` from the apply form, as typed (the API checks it)."""
    return {
        "resource_id": text(form, "resource_id"),
        "items": texts(form, "items"),
        "purpose": text(form, "purpose"),
        "duty_basis": text(form, "duty_basis"),
        "system": text(form, "system"),
        "valid_from": text(form, "valid_from") or None,
        "valid_to": text(form, "valid_to") or None,
        "seasonal": text(form, "seasonal") == "yes",
    }


async def _department_systems(api: PersonApi) -> list[dict[str, Any]] | None:
    """The department's enabled 应用系统 (第二十九条: data is granted to a system), as sharing-svc lists them for the
    person (`GET /systems`: their own department's); None when the list cannot be read — the form then asks for
    the system's id as text and the API still checks it."""
    try:
        return await api.get(f"{API}/systems")
    except (ApiProblem, GatewayUnavailable):
        return None


async def _apply_page(
    request: Request,
    session: Session,
    api: PersonApi,
    resource: dict[str, Any],
    values: dict[str, Any],
    *,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    requestable = resource.get("sharing_type") != "none" and resource.get("provider_dept") != session.dept
    return render(
        request,
        "sharing/apply.html",
        status,
        title=f"申请使用 {resource['name']}",
        active="requests",
        resource=resource,
        requestable=requestable,
        values=values,
        choices=[(i["code"], i["name"]) for i in resource.get("items", [])],
        chosen=set(values.get("items") or []),
        systems=await _department_systems(api) if requestable else [],
        **error_context(errors),
    )


@router.get("/requests/new")
async def new_request(
    request: Request, session: CurrentSession, api: PersonApiDep, resource_id: Param = None
) -> Response:
    if not session.has_role("dept_operator"):
        return forbidden(request, "共享申请由部门经办人提出。")
    if not resource_id:
        return render(request, "sharing/choose.html", title="新建共享申请", active="requests")
    resource = await catalog_resource(api, resource_id, missing=(400, 404, 422))
    if resource is None:
        return error_page(request, 404, "未找到该数据资源", "该资源不存在或尚未发布，请从数据目录中重新选择。")
    values = {"resource_id": resource_id, "items": [], "valid_from": today_of(request).isoformat()}
    return await _apply_page(request, session, api, resource, values)


async def _attach(api: PersonApi, request_id: str, file: UploadFile) -> None:
    content = await file.read()
    media = file.content_type or "application/octet-stream"
    await api.send(
        "PUT", f"{API}/requests/{_q(request_id)}/attachment", files={"file": (file.filename, content, media)}
    )


@router.post("/requests/new", dependencies=[CsrfChecked])
async def file_request(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    form = await request.form()
    body = application_of(form)
    try:
        created = await api.post(f"{API}/requests", body)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 404, 409, 422))
        resource = await catalog_resource(api, body["resource_id"], missing=(400, 404, 422))
        if resource is None:
            raise
        return await _apply_page(
            request, session, api, resource, body, errors=sharing_errors(refused), status=refused.status
        )
    location = f"/requests/{_q(created['id'])}"
    file = upload(form, "file")
    if file is None:
        # 第二十九条(二): the provider decides on the sealed 需求单; say so at once when it is missing.
        return done(location, "created_needs_form" if created.get("path") == "conditional" else "created")
    try:
        await _attach(api, created["id"], file)
    except ApiProblem as problem:
        refusal(problem, (400, 409, 413, 415, 422))
        return done(location, "attachment_refused")  # the request stands; the page asks for the file again
    return done(location, "created")


# --------------------------------------------------------------------------------------------- one request


async def _request_page(
    request: Request,
    session: Session,
    api: PersonApi,
    request_id: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    try:
        record = await api.get(f"{API}/requests/{_q(request_id)}")
    except ApiProblem as problem:
        if problem.status == 404:
            return error_page(request, 404, "未找到该共享申请", "该申请不存在，或您的部门既不是申请方也不是提供方。")
        raise
    names = item_names((await catalog_resources(api, [record["resource_id"]])).get(record["resource_id"]))
    typed = typed or {}
    is_open = record["status"] in OPEN_STAGES
    return render(
        request,
        "sharing/request.html",
        status,
        title=f"共享申请 {record.get('resource_name') or record['resource_id']}",
        active=_nav_key(session, record),
        notice=notice_of(request, NOTICES),
        req=record,
        names=names,
        item_pairs=[(code, names.get(code, code)) for code in record["items"]],
        stages=stages_of(record["path"], record["status"], record.get("rejected_stage")),
        badge=badge_of(record, today_of(request)),
        decider=decider_of(session, record),
        can_attach=is_open and session.is_department_staff() and session.dept == record["requester_dept"],
        missing_form=is_open and record["path"] == "conditional" and not record.get("attachment"),
        agreed=set(typed.get("items", record["items"])),
        reason=typed.get("reason", ""),
        refusal_reason=typed.get("refusal_reason", ""),
        **error_context(errors),
    )


@router.get("/requests/{request_id}")
async def request_page(request: Request, session: CurrentSession, api: PersonApiDep, request_id: Id) -> Response:
    return await _request_page(request, session, api, request_id)


@router.get("/requests/{request_id}/attachment")
async def download_attachment(request: Request, session: CurrentSession, api: PersonApiDep, request_id: Id) -> Response:
    """The 需求单 as uploaded, downloaded through the portal with the person's token."""
    record = await api.get(f"{API}/requests/{_q(request_id)}")
    name = ((record.get("attachment") or {}).get("name")) or "需求单"
    return await relay_download(api, f"{API}/requests/{_q(request_id)}/attachment", filename=name)


@router.post("/requests/{request_id}/attachment", dependencies=[CsrfChecked])
async def upload_attachment(request: Request, session: CurrentSession, api: PersonApiDep, request_id: Id) -> Response:
    form = await request.form()
    file = upload(form, "file")
    if file is None:
        errors = [
            {
                "field": "file",
                "rule": "required",
                "detail": "请选择要上传的需求单文件",
                "label": "需求单",
                "anchor": "file",
            }
        ]
        return await _request_page(request, session, api, request_id, errors=errors, status=422)
    try:
        await _attach(api, request_id, file)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 413, 415, 422))
        return await _request_page(
            request, session, api, request_id, errors=sharing_errors(refused), status=refused.status
        )
    return done(f"/requests/{_q(request_id)}", "attached")


@router.post("/requests/{request_id}/approve", dependencies=[CsrfChecked])
async def approve(request: Request, session: CurrentSession, api: PersonApiDep, request_id: Id) -> Response:
    """The decider of the current stage approves. The provider names the items it agrees to share (第二十九条(二);
    API.md: a non-empty subset of those requested, the grant carries only those) and approves on the sealed 需求单:
    the API refuses without it (409 `attachment_required`), which the page shows above the decision. The bureau's
    stages name no items."""
    form = await request.form()
    record = await api.get(f"{API}/requests/{_q(request_id)}")
    stage = record["status"]
    body: dict[str, Any] = {}
    if stage == "provider_review":
        body = {"items": texts(form, "items"), "reason": text(form, "refusal_reason") or None}
    try:
        await api.post(f"{API}/requests/{_q(request_id)}/approve", body)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        errors = sharing_errors(refused, APPROVAL_LABELS)
        for e in errors:
            if e.get("field") == "reason":
                e["anchor"] = "refusal_reason"
        typed = {"items": body.get("items", []), "refusal_reason": body.get("reason") or ""}
        return await _request_page(request, session, api, request_id, errors=errors, typed=typed, status=refused.status)
    location, notice = AFTER_DECISION.get(stage, (f"/requests/{_q(request_id)}", "approved_provider"))
    return done(location, notice)


@router.post("/requests/{request_id}/reject", dependencies=[CsrfChecked])
async def reject(request: Request, session: CurrentSession, api: PersonApiDep, request_id: Id) -> Response:
    """第二十九条(二): a refusal states its specific reasons — the API refuses one without."""
    form = await request.form()
    reason = text(form, "reason")
    record = await api.get(f"{API}/requests/{_q(request_id)}")
    try:
        await api.post(f"{API}/requests/{_q(request_id)}/reject", {"reason": reason})
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        errors = sharing_errors(refused, DECISION_LABELS)
        return await _request_page(
            request, session, api, request_id, errors=errors, typed={"reason": reason}, status=refused.status
        )
    location = AFTER_DECISION.get(record["status"], (f"/requests/{_q(request_id)}", ""))[0]
    return done(location, "rejected")


# --------------------------------------------------------------------------------------------- the deciders' lists


@router.get("/reviews")
async def reviews(request: Request, session: CurrentSession, api: PersonApiDep, page: Param = None) -> Response:
    """待我审核: the department's decisions as provider, oldest deadline first (第二十九条(二): 5 working days)."""
    if not session.is_department_staff():
        return forbidden(request, "待我审核页面供提供部门的经办人审批本部门资源的共享申请。")
    found = by_deadline(await api.get(f"{API}/requests", role="provider", status="provider_review"))
    shown, list_pager = paged(found, page, "/reviews", {}, PAGE_SIZE)
    return _list_page(
        request,
        "reviews",
        title="待我审核",
        active="reviews",
        requests=shown,
        pager=list_pager,
    )


@router.get("/review/requests")
async def platform_review(
    request: Request, session: CurrentSession, api: PersonApiDep, stage: Param = None, page: Param = None
) -> Response:
    """平台审核/交付: the bureau's stages, each a tab, oldest deadline first (第二十九条: 3 working days)."""
    if not session.has_role("bureau_admin"):
        return forbidden(request, "平台审核和平台交付由县政务服务和大数据管理局办理。")
    current = stage if stage in BUREAU_STAGES else "platform_review"
    lists = await asyncio.gather(*(api.get(f"{API}/requests", role="platform", status=s) for s in BUREAU_STAGES))
    counts = {s: len(found) for s, found in zip(BUREAU_STAGES, lists, strict=True)}
    found = by_deadline(lists[BUREAU_STAGES.index(current)])
    filters = {"stage": current if current != "platform_review" else ""}
    shown, list_pager = paged(found, page, "/review/requests", filters, PAGE_SIZE)
    return _list_page(
        request,
        "platform",
        title="平台审核/交付",
        active="platform_review",
        stage=current,
        counts=counts,
        requests=shown,
        pager=list_pager,
    )


# --------------------------------------------------------------------------------------------- 我的授权


def grants_of_side(grants: list[dict[str, Any]], dept: str | None, tab: str) -> list[dict[str, Any]]:
    """The grants the department holds (`held`) or those of its resources (`provided`)."""
    column = "provider_dept" if tab == "provided" else "holder_dept"
    return [g for g in grants if dept and g.get(column) == dept]


@router.get("/grants")
async def my_grants(
    request: Request, session: CurrentSession, api: PersonApiDep, tab: Param = None, page: Param = None
) -> Response:
    if not session.is_department_staff():
        return forbidden(request, "我的授权页面供部门经办人和部门负责人查看本部门的接口授权。")
    current = "provided" if tab == "provided" else "held"
    every = await api.get(f"{API}/grants")
    sides = {side: grants_of_side(every, session.dept, side) for side in ("held", "provided")}
    filters = {"tab": current if current == "provided" else ""}
    shown, list_pager = paged(sides[current], page, "/grants", filters, PAGE_SIZE)
    return _list_page(
        request,
        "grants",
        title="我的授权",
        active="grants",
        tab=current,
        counts={side: len(found) for side, found in sides.items()},
        grants=shown,
        resources=await catalog_resources(api, [g["resource_id"] for g in shown]),
        item_names=item_names,
        pager=list_pager,
        provider=current == "provided",
    )


GRANT_CHANGES = {
    "suspend": {
        "title": "暂停授权",
        "button": "确认暂停",
        "reason_label": "暂停理由",
        "hint": "如违规使用、超范围使用或存在安全风险（第二十九条）。暂停后申请部门不能调用接口，可随时恢复。",
        "notice": "suspended",
    },
    "terminate": {
        "title": "终止授权",
        "button": "确认终止",
        "reason_label": "终止理由",
        "hint": "终止后不能恢复，申请部门如仍需使用须重新申请（第二十九条）。",
        "notice": "terminated",
    },
}


async def _grant_change_page(
    request: Request,
    api: PersonApi,
    grant_id: str,
    action: str,
    *,
    reason: str = "",
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    grant = await api.get(f"{API}/grants/{_q(grant_id)}")
    resource = (await catalog_resources(api, [grant["resource_id"]])).get(grant["resource_id"])
    change = GRANT_CHANGES[action]
    return render(
        request,
        "sharing/grant_change.html",
        status,
        title=change["title"],
        active="grants",
        action=action,
        change=change,
        grant=grant,
        resource=resource,
        names=item_names(resource),
        reason=reason,
        **error_context(errors),
    )


async def _grant_change_form(
    request: Request, api: PersonApi, session: Session, grant_id: str, action: str
) -> Response:
    if not session.is_department_staff():
        return forbidden(request, "授权由提供部门暂停、恢复或终止。")
    return await _grant_change_page(request, api, grant_id, action)


async def _change_grant(request: Request, api: PersonApi, grant_id: str, action: str) -> Response:
    form = await request.form()
    reason = text(form, "reason")
    try:
        await api.post(f"{API}/grants/{_q(grant_id)}/{action}", {"reason": reason})
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        labels_ = {**FIELD_LABELS, "reason": GRANT_CHANGES[action]["reason_label"]}
        return await _grant_change_page(
            request,
            api,
            grant_id,
            action,
            reason=reason,
            errors=sharing_errors(refused, labels_),
            status=refused.status,
        )
    return done("/grants?tab=provided", GRANT_CHANGES[action]["notice"])


@router.get("/grants/{grant_id}/suspend")
async def suspend_form(request: Request, session: CurrentSession, api: PersonApiDep, grant_id: Id) -> Response:
    return await _grant_change_form(request, api, session, grant_id, "suspend")


@router.post("/grants/{grant_id}/suspend", dependencies=[CsrfChecked])
async def suspend(request: Request, session: CurrentSession, api: PersonApiDep, grant_id: Id) -> Response:
    return await _change_grant(request, api, grant_id, "suspend")


@router.get("/grants/{grant_id}/terminate")
async def terminate_form(request: Request, session: CurrentSession, api: PersonApiDep, grant_id: Id) -> Response:
    """The confirmation step before ending a grant for good (no script: a page of its own)."""
    return await _grant_change_form(request, api, session, grant_id, "terminate")


@router.post("/grants/{grant_id}/terminate", dependencies=[CsrfChecked])
async def terminate(request: Request, session: CurrentSession, api: PersonApiDep, grant_id: Id) -> Response:
    return await _change_grant(request, api, grant_id, "terminate")


@router.post("/grants/{grant_id}/resume", dependencies=[CsrfChecked])
async def resume(request: Request, session: CurrentSession, api: PersonApiDep, grant_id: Id) -> Response:
    await api.post(f"{API}/grants/{_q(grant_id)}/resume")
    return done("/grants?tab=provided", "resumed")


# --------------------------------------------------------------------------------------------- 异议处理


DISPUTE_FILTERS = {"open": "open", "resolved": "resolved", "all": None}
# A department's two sides of 第二十七条: disputes about its resources (it answers them) and those it raised.
DISPUTE_SIDES = {"provided": "关于本部门资源的异议", "raised": "本部门提出的异议"}
BUREAU_HANDLES_DISPUTES = "共享异议由县政务服务和大数据管理局会同提供部门处理（第二十七条）。"


@router.get("/disputes")
async def disputes(
    request: Request, session: CurrentSession, api: PersonApiDep, status: Param = None, page: Param = None
) -> Response:
    """第二十七条: the bureau resolves disputes over sharing together with the provider department."""
    if not session.has_role("bureau_admin"):
        return forbidden(request, BUREAU_HANDLES_DISPUTES + "本部门的共享异议请在「共享异议」页面查看。")
    current = status if status in DISPUTE_FILTERS else "open"
    found = await api.get(f"{API}/disputes", status=DISPUTE_FILTERS[current])
    filters = {"status": current if current != "open" else ""}
    shown, list_pager = paged(found, page, "/disputes", filters, PAGE_SIZE)
    return _list_page(
        request,
        "disputes",
        title="异议处理",
        active="disputes",
        status=current,
        disputes=shown,
        resources=await catalog_resources(api, [d["resource_id"] for d in shown]),
        pager=list_pager,
    )


def disputes_of_side(found: list[dict[str, Any]], dept: str | None, side: str) -> list[dict[str, Any]]:
    """The disputes about the department's resources (`provided`) or those it raised (`raised`)."""
    column = "provider_dept" if side == "provided" else "requester_dept"
    return [d for d in found if dept and d.get(column) == dept]


@router.get("/my/disputes")
async def department_disputes(
    request: Request, session: CurrentSession, api: PersonApiDep, side: Param = None, page: Param = None
) -> Response:
    """共享异议 of a department (第二十七条): the provider answers those about its resources before the bureau
    decides; the requester follows its own, with the provider's answer and the bureau's decision."""
    if not session.is_department_staff():
        return forbidden(request, "共享异议页面供部门经办人和负责人查看本部门提出的和关于本部门资源的共享异议。")
    current = side if side in DISPUTE_SIDES else "provided"
    every = await api.get(f"{API}/disputes")
    sides = {s: disputes_of_side(every, session.dept, s) for s in DISPUTE_SIDES}
    filters = {"side": current if current != "provided" else ""}
    shown, list_pager = paged(sides[current], page, "/my/disputes", filters, PAGE_SIZE)
    return _list_page(
        request,
        "my_disputes",
        title="共享异议",
        active="my_disputes",
        side=current,
        sides=DISPUTE_SIDES,
        counts={s: len(found) for s, found in sides.items()},
        disputes=shown,
        resources=await catalog_resources(api, [d["resource_id"] for d in shown]),
        pager=list_pager,
    )


def dispute_role(session: Session, dispute: dict[str, Any]) -> str | None:
    """How the person takes part in the dispute: `bureau` decides, `provider` answers, `requester` follows."""
    if session.has_role("bureau_admin"):
        return "bureau"
    if session.is_department_staff() and session.dept == dispute.get("provider_dept"):
        return "provider"
    if session.is_department_staff() and session.dept == dispute.get("requester_dept"):
        return "requester"
    return None


DISPUTE_PAGE_TITLES = {"bureau": "处理共享异议", "provider": "答复共享异议", "requester": "共享异议"}


async def _dispute_page(
    request: Request,
    api: PersonApi,
    session: Session,
    dispute_id: str,
    *,
    typed: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    typed = typed or {}
    # The API lists disputes but has no read of one: it is found in the list (a party's or the bureau's).
    found = [d for d in await api.get(f"{API}/disputes") if d["id"] == dispute_id]
    role = dispute_role(session, found[0]) if found else None
    if role is None:
        return error_page(request, 404, "未找到该异议", "该异议不存在或与本部门无关，请从共享异议列表进入。")
    dispute = found[0]
    back = {"bureau": "/disputes", "provider": "/my/disputes", "requester": "/my/disputes?side=raised"}[role]
    return render(
        request,
        "sharing/dispute.html",
        status,
        title=DISPUTE_PAGE_TITLES[role],
        active="disputes" if role == "bureau" else "my_disputes",
        role=role,
        back=back,
        back_label="异议处理" if role == "bureau" else "共享异议",
        dispute=dispute,
        badge=badge_of(dispute, today_of(request)) if dispute["status"] == "open" else None,
        resource=(await catalog_resources(api, [dispute["resource_id"]])).get(dispute["resource_id"]),
        resolution=typed.get("resolution", ""),
        outcome=typed.get("outcome", "upheld"),
        ordered_sharing_type=typed.get("ordered_sharing_type", ""),
        answer=typed.get("answer", dispute.get("provider_answer") or ""),
        **error_context(errors),
    )


@router.get("/disputes/{dispute_id}")
async def dispute_page(request: Request, session: CurrentSession, api: PersonApiDep, dispute_id: Id) -> Response:
    """The bureau decides here; the provider department answers; the requester reads both."""
    if not (session.has_role("bureau_admin") or session.is_department_staff()):
        return forbidden(request, BUREAU_HANDLES_DISPUTES)
    return await _dispute_page(request, api, session, dispute_id)


@router.post("/disputes/{dispute_id}/answer", dependencies=[CsrfChecked])
async def answer(request: Request, session: CurrentSession, api: PersonApiDep, dispute_id: Id) -> Response:
    """第二十七条: the provider department states its view before the bureau decides."""
    form = await request.form()
    typed = {"answer": text(form, "answer")}
    try:
        await api.post(f"{API}/disputes/{_q(dispute_id)}/answer", typed)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        errors = sharing_errors(refused, DISPUTE_LABELS)
        return await _dispute_page(request, api, session, dispute_id, typed=typed, errors=errors, status=refused.status)
    return done("/my/disputes", "answered")


@router.post("/disputes/{dispute_id}/resolve", dependencies=[CsrfChecked])
async def resolve(request: Request, session: CurrentSession, api: PersonApiDep, dispute_id: Id) -> Response:
    form = await request.form()
    typed = {name: text(form, name) for name in ("resolution", "outcome", "ordered_sharing_type")}
    body = {
        "resolution": typed["resolution"],
        "outcome": typed["outcome"] or "upheld",
        "ordered_sharing_type": typed["ordered_sharing_type"] or None,
    }
    try:
        await api.post(f"{API}/disputes/{_q(dispute_id)}/resolve", body)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 409, 422))
        errors = sharing_errors(refused, DISPUTE_LABELS)
        return await _dispute_page(request, api, session, dispute_id, typed=typed, errors=errors, status=refused.status)
    return done("/disputes", "resolved")
