"""订阅推送, over notify-svc's webhooks (`/api/notify/subscriptions`, `/api/notify/deliveries`): a department's
operator subscribes the department's systems to the platform's events about the department, each posted signed to
the system's address; the bureau sees every department's subscriptions (第六条: it supervises them).

- `/subscriptions`: the subscriptions (the bureau's list names each one's department), each with its events, and
  links to its delivery log and to stopping it;
- `/subscriptions/new`: 接收地址（URL）, 事件类型 (boxes grouped by service, each service's whole topic offered
  too), 签名密钥 (written once, never shown again); the API's refusals beside the fields — an address outside the
  e-government extranet's allowed networks (第二十二条), an unknown event type, a short key;
- `/subscriptions/{id}/disable`: a confirmation page, then 停用 (what still waits is cancelled);
- `/subscriptions/{id}/deliveries`: the delivery log, newest first, by status, with 重新推送 per delivery.

Which events may be subscribed to is the shared contracts' list of the catalog's, sharing's and verification's
events, the same notify-svc checks against; their names are the audit trail's (labels.AUDIT_EVENT_TYPES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from govdata_shared.contracts import EVENT_CONTRACTS
from starlette.datastructures import FormData

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.forms import done, error_context, field_errors, notice_of, refusal, text, texts
from govdata_portal.gateway import ApiProblem
from govdata_portal.pages import error_page, forbidden, page_or_part, pager, render
from govdata_portal.session import Session

router = APIRouter()

API = "/api/notify/subscriptions"
DELIVERIES_API = "/api/notify/deliveries"
PAGE_SIZE = 20
RESULTS_ID = "delivery-results"

Param = Annotated[str | None, Query(max_length=64)]
SubscriptionId = Annotated[str, Path(max_length=64)]
DeliveryId = Annotated[int, Path(ge=1)]

FORBIDDEN = "订阅推送供部门经办人为本部门的系统订阅平台事件，以及县政务服务和大数据管理局管理各部门的订阅。"
FIELD_LABELS = {"url": "接收地址（URL）", "events": "事件类型", "secret": "签名密钥"}
NOTICES = {
    "created": "订阅已创建，平台将把所选事件签名后推送到接收地址。签名密钥不会再次显示，请妥善保管。",
    "disabled": "订阅已停用，尚未推送的事件已取消。",
    "redelivered": "已安排重新推送，平台将在几秒内推送该事件。",
}
DELIVERY_STATUS = {"pending": "待推送", "delivered": "已送达", "failed": "推送失败", "cancelled": "已取消"}
DELIVERY_TONES = {"pending": "submitted", "delivered": "published", "failed": "rejected", "cancelled": "retired"}
# The services whose events may be subscribed to, in the order the form groups them.
SERVICES = {
    "catalog": "数据目录（目录编制、审核、需求、更新）",
    "sharing": "数据共享（申请、授权、异议）",
    "verification": "数据校核",
}


def _may_manage(session: Session) -> bool:
    """Operators for their department's systems, the bureau for every department (the API decides the rest)."""
    return session.has_role("bureau_admin") or (bool(session.dept) and session.has_role("dept_operator"))


# --------------------------------------------------------------------------------------------- event types


@dataclass(frozen=True)
class EventChoice:
    value: str  # the type, or a service's whole topic (`sharing.*`)
    label: str


@dataclass(frozen=True)
class EventGroup:
    key: str
    label: str
    whole: EventChoice  # every event of the service
    choices: list[EventChoice]


def event_groups() -> list[EventGroup]:
    """The subscribable event types by service, each named as the audit trail names it."""
    groups = []
    for area, name in SERVICES.items():
        types = sorted(t for t in EVENT_CONTRACTS if t.split(".", 1)[0] == area)
        choices = [EventChoice(t, labels.label(labels.AUDIT_EVENT_TYPES, t)) for t in types]
        groups.append(EventGroup(area, name, EventChoice(f"{area}.*", f"全部{name.split('（')[0]}事件"), choices))
    return groups


def event_label(pattern: str) -> str:
    """An event type or topic of a subscription as the page names it."""
    if pattern.endswith(".*"):
        area = pattern[:-2]
        if area in SERVICES:
            return f"全部{SERVICES[area].split('（')[0]}事件"
        return f"{area}.… 的全部事件"  # a narrower prefix a system subscribed to through the API
    return labels.label(labels.AUDIT_EVENT_TYPES, pattern)


# --------------------------------------------------------------------------------------------- the list


@router.get("/subscriptions")
async def subscriptions(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    if not _may_manage(session):
        return forbidden(request, FORBIDDEN)
    found = await api.get(API)
    return render(
        request,
        "subscriptions/list.html",
        title="订阅推送",
        active="subscriptions",
        notice=notice_of(request, NOTICES),
        bureau=session.has_role("bureau_admin"),
        # those in use first, the newest of each on top
        items=sorted(
            sorted(found["items"], key=lambda s: s["created_at"], reverse=True), key=lambda s: not s["enabled"]
        ),
        event_label=event_label,
    )


async def _subscription(api: PersonApi, subscription_id: str) -> dict[str, Any] | None:
    """One of the person's subscriptions (the API lists only those the person manages)."""
    found = await api.get(API)
    return next((s for s in found["items"] if s["id"] == subscription_id), None)


def _not_found(request: Request, subscription_id: str) -> Response:
    return error_page(request, 404, "未找到", f"订阅 {subscription_id} 不存在，或不属于本部门。")


# --------------------------------------------------------------------------------------------- subscribing


def _form_page(
    request: Request,
    *,
    typed: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    typed = typed or {}
    return render(
        request,
        "subscriptions/new.html",
        status,
        title="新建订阅",
        active="subscriptions",
        url=typed.get("url", ""),
        chosen=set(typed.get("events") or []),
        groups=event_groups(),
        **error_context(errors),
    )


@router.get("/subscriptions/new")
async def new_subscription(request: Request, session: CurrentSession) -> Response:
    if not _may_manage(session):
        return forbidden(request, FORBIDDEN)
    return _form_page(request)


def subscription_of(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """What was typed (never the key: it is not written back into the page) and the API's body; a field left blank
    is left out, so the API names it as missing."""
    typed: dict[str, Any] = {"url": text(form, "url"), "events": texts(form, "events")}
    body: dict[str, Any] = {"events": typed["events"]}
    if typed["url"]:
        body["url"] = typed["url"]
    secret = form.get("secret")
    if isinstance(secret, str) and secret:
        body["secret"] = secret  # as typed: the receiver signs with exactly this
    return typed, body


def subscription_errors(problem: ApiProblem) -> list[dict[str, Any]]:
    """The API's errors beside their inputs; an error of one event type (`events.2`) belongs to the boxes as a
    whole."""
    errors = field_errors(problem, FIELD_LABELS)
    for e in errors:
        if str(e.get("field") or "").startswith("events"):
            e["anchor"], e["label"] = "events", FIELD_LABELS["events"]
    return errors


@router.post("/subscriptions/new", dependencies=[CsrfChecked])
async def create_subscription(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    if not _may_manage(session):
        return forbidden(request, FORBIDDEN)
    typed, body = subscription_of(await request.form())
    try:
        await api.post(API, body)
    except ApiProblem as problem:
        refused = refusal(problem)
        return _form_page(request, typed=typed, errors=subscription_errors(refused), status=refused.status)
    return done("/subscriptions", "created")


# --------------------------------------------------------------------------------------------- stopping one


@router.get("/subscriptions/{subscription_id}/disable")
async def confirm_disable(
    request: Request, session: CurrentSession, api: PersonApiDep, subscription_id: SubscriptionId
) -> Response:
    """停用 is confirmed on a page of its own: what is not yet sent is cancelled."""
    if not _may_manage(session):
        return forbidden(request, FORBIDDEN)
    subscription = await _subscription(api, subscription_id)
    if subscription is None:
        return _not_found(request, subscription_id)
    return render(
        request,
        "subscriptions/disable.html",
        title="停用订阅",
        active="subscriptions",
        subscription=subscription,
        event_label=event_label,
    )


@router.post("/subscriptions/{subscription_id}/disable", dependencies=[CsrfChecked])
async def disable(
    request: Request, session: CurrentSession, api: PersonApiDep, subscription_id: SubscriptionId
) -> Response:
    if not _may_manage(session):
        return forbidden(request, FORBIDDEN)
    await api.post(f"{API}/{quote(subscription_id, safe='')}/disable")
    return done("/subscriptions", "disabled")


# --------------------------------------------------------------------------------------------- the delivery log


def _page_number(page: str | None) -> int:
    try:
        return min(max(1, int(page or 1)), 10_000)
    except ValueError:
        return 1


async def _log_page(
    request: Request,
    api: PersonApi,
    subscription_id: str,
    *,
    status: str | None,
    page: int,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    subscription = await _subscription(api, subscription_id)
    if subscription is None:
        return _not_found(request, subscription_id)
    chosen = status if status in DELIVERY_STATUS else ""
    found = await api.get(
        f"{API}/{quote(subscription_id, safe='')}/deliveries", status=chosen or None, page=page, size=PAGE_SIZE
    )
    path = f"/subscriptions/{quote(subscription_id, safe='')}/deliveries"
    return page_or_part(
        request,
        "subscriptions/deliveries.html",
        "subscriptions/_deliveries.html",
        RESULTS_ID,
        status_code,
        title="推送记录",
        active="subscriptions",
        notice=notice_of(request, NOTICES),
        subscription=subscription,
        event_label=event_label,
        statuses=DELIVERY_STATUS,
        tones=DELIVERY_TONES,
        chosen=chosen,
        items=found["items"],
        path=path,
        page=page,
        pager=pager(path, {"status": chosen}, found["total"], page, PAGE_SIZE),
        **error_context(errors),
    )


@router.get("/subscriptions/{subscription_id}/deliveries")
async def deliveries(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    subscription_id: SubscriptionId,
    status: Param = None,
    page: Param = None,
) -> Response:
    """Every event queued for the subscription, newest first: status, attempts, the receiver's last answer."""
    if not _may_manage(session):
        return forbidden(request, FORBIDDEN)
    return await _log_page(request, api, subscription_id, status=status, page=_page_number(page))


@router.post("/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver", dependencies=[CsrfChecked])
async def redeliver(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
) -> Response:
    """重新推送 a delivered, failed or cancelled delivery; one still waiting, or of a stopped subscription, is
    refused (409) and the log says why."""
    if not _may_manage(session):
        return forbidden(request, FORBIDDEN)
    form = await request.form()
    status, page = text(form, "status"), _page_number(text(form, "page"))
    status = status if status in DELIVERY_STATUS else ""
    try:
        await api.post(f"{DELIVERIES_API}/{delivery_id}/redeliver")
    except ApiProblem as problem:
        refused = refusal(problem, (409,))
        errors = [{"field": None, "label": "", "anchor": None, "detail": refused.detail, "rule": refused.code}]
        return await _log_page(request, api, subscription_id, status=status, page=page, errors=errors, status_code=409)
    query = {k: v for k, v in {"status": status, "page": str(page) if page > 1 else ""}.items() if v}
    location = f"/subscriptions/{quote(subscription_id, safe='')}/deliveries"
    return done(location + (f"?{urlencode(query)}" if query else ""), "redelivered")
