"""Sharing operations: each checks the caller, applies the rules and writes the change with its event in the
caller's transaction."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller, Role
from govdata_shared.contracts import catalog as catalog_events
from govdata_shared.contracts import sharing as events
from govdata_shared.contracts.access import UsageData
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.events import Event
from govdata_shared.publish import publish
from govdata_shared.workdays import DEFAULT_CALENDAR, today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc import domain
from sharing_svc.models import (
    CatalogResource,
    Dispute,
    Grant,
    GrantChange,
    RequestAttachment,
    RequestDecision,
    ShareRequest,
)
from sharing_svc.schemas import RequestIn

SOURCE = "sharing-svc"
DEPT_ROLES = (Role.DEPT_OPERATOR, Role.DEPT_HEAD)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {b"%PDF": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png"}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def is_overseer(caller: Caller) -> bool:
    return caller.is_bureau or caller.has_role(Role.AUDITOR)


def require_department(caller: Caller) -> str:
    if not caller.dept or not caller.has_role(*DEPT_ROLES):
        raise Problem(403, "department_role_required", "只有部门经办人或部门负责人可以执行此操作")
    return caller.dept


# --- the catalog projection ------------------------------------------------------------------------------


async def apply_catalog_event(session: AsyncSession, event: Event) -> None:
    """Keep published and retired resources, by aggregate version (stale and repeated events change nothing)."""
    if event.type not in (catalog_events.RESOURCE_PUBLISHED, catalog_events.RESOURCE_RETIRED):
        return
    data = catalog_events.ResourceEventData.model_validate(event.data)
    current = await session.get(CatalogResource, data.resource_id, with_for_update=True)
    if current is not None and current.version >= event.version:
        return
    values = dict(
        code=data.code,
        name=data.name,
        provider_dept=data.provider_dept,
        status=data.status,
        sharing_type=data.sharing_type,
        items=[i.model_dump() for i in data.items],
        version=event.version,
    )
    if current is None:
        session.add(CatalogResource(resource_id=data.resource_id, **values))
    else:
        for key, value in values.items():
            setattr(current, key, value)


# --- requests --------------------------------------------------------------------------------------------


def _deadline(start: date, stage: str) -> tuple[date, bool]:
    deadline = DEFAULT_CALENDAR.add_working_days(start, domain.STAGE_WORKING_DAYS[stage])
    return deadline.due, deadline.estimated


async def publish_request_event(
    session: AsyncSession, event_type: str, request: ShareRequest, data: dict, caller: Caller | None
) -> None:
    request.version += 1
    await publish(
        session,
        event_type,
        request.id,
        data,
        caller=caller,
        version=request.version,
        dept=request.requester_dept,
        source=SOURCE,
    )


async def create_request(session: AsyncSession, caller: Caller, body: RequestIn, now: datetime) -> ShareRequest:
    dept = require_department(caller)
    resource = await session.get(CatalogResource, body.resource_id)
    if resource is None:
        raise Problem(
            404,
            "resource_unknown",
            f"目录中没有已发布的资源 {body.resource_id}",
            field="resource_id",
            rule="published_resource",
        )
    if resource.status != "published":
        raise Problem(
            409, "resource_retired", f"资源 {body.resource_id} 已停用", field="resource_id", rule="published_resource"
        )
    if resource.sharing_type == "none":
        # 第二十四条: none-shared resources are not given to other departments; 第二十七条: dispute instead.
        raise Problem(
            409,
            "resource_not_shared",
            f"资源“{resource.name}”属于不予共享类，不能申请；如有异议可提出共享异议",
            field="resource_id",
            rule="none_shared_not_requestable",
            dispute_url="/api/sharing/disputes",
        )
    if resource.provider_dept == dept:
        raise Problem(409, "own_resource", "不能申请本部门提供的资源", field="resource_id", rule="other_department")
    known = {item["code"] for item in resource.items}
    errors = [
        {"field": f"items[{i}]", "rule": "item_of_resource", "detail": f"{code} 不是资源“{resource.name}”的信息项"}
        for i, code in enumerate(body.items)
        if code not in known
    ]
    if len(set(body.items)) != len(body.items):
        errors.append({"field": "items", "rule": "unique_items", "detail": "信息项重复"})
    today = today_in_shanghai(now)
    errors += domain.period_violations(body.valid_from, body.valid_to, today)
    if errors:
        raise validation_problem(errors)
    stage = domain.FIRST_STAGE[resource.sharing_type]
    due, estimated = _deadline(today, stage)
    request = ShareRequest(
        id=new_id("req"),
        requester_dept=dept,
        requester_system=body.system,
        provider_dept=resource.provider_dept,
        resource_id=resource.resource_id,
        items=list(body.items),
        purpose=body.purpose,
        duty_basis=body.duty_basis,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        seasonal=body.seasonal,
        path=resource.sharing_type,
        status=stage,
        stage_started_on=today,
        stage_deadline=due,
        stage_deadline_estimated=estimated,
        created_by=caller.sub,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    await publish_request_event(
        session,
        events.REQUEST_SUBMITTED,
        request,
        {
            "request_id": request.id,
            "requester_dept": dept,
            "provider_dept": request.provider_dept,
            "resource_id": request.resource_id,
            "items": request.items,
            "path": request.path,
            "status": stage,
            "deadline": due,
            "deadline_estimated": estimated,
            "valid_from": request.valid_from,
            "valid_to": request.valid_to,
            "seasonal": request.seasonal,
        },
        caller,
    )
    return request


async def get_request(session: AsyncSession, request_id: str, *, for_update: bool = False) -> ShareRequest:
    query = sa.select(ShareRequest).where(ShareRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    request = (await session.execute(query)).scalar_one_or_none()
    if request is None:
        raise Problem(404, "request_not_found", f"共享申请 {request_id} 不存在")
    return request


async def visible_request(session: AsyncSession, caller: Caller, request_id: str, **kw) -> ShareRequest:
    request = await get_request(session, request_id, **kw)
    if not (is_overseer(caller) or caller.dept in (request.requester_dept, request.provider_dept)):
        raise Problem(404, "request_not_found", f"共享申请 {request_id} 不存在")
    return request


def require_decider(caller: Caller, request: ShareRequest) -> None:
    """The decider of the current stage: the bureau for platform review and delivery, the provider department
    for the provider's decision."""
    if request.status not in domain.STAGE_DECIDER:
        raise Problem(
            409, "request_decided", f"申请已处于“{request.status}”状态，无需再决定", status_now=request.status
        )
    if domain.STAGE_DECIDER[request.status] == "bureau":
        if not caller.has_role(Role.BUREAU_ADMIN):
            raise Problem(
                403, "bureau_role_required", f"{domain.STAGE_LABELS[request.status]}由县政务服务和大数据管理局办理"
            )
    elif caller.dept != request.provider_dept or not caller.has_role(*DEPT_ROLES):
        raise Problem(403, "not_provider", f"提供方审批由 {request.provider_dept} 办理")


async def _record_decision(
    session: AsyncSession, request: ShareRequest, caller: Caller, decision: str, reason: str | None, now: datetime
) -> bool:
    on_time = request.stage_deadline is None or today_in_shanghai(now) <= request.stage_deadline
    session.add(
        RequestDecision(
            request_id=request.id,
            stage=request.status,
            decision=decision,
            decided_by=caller.sub,
            decided_dept=caller.dept or "",
            reason=reason,
            deadline=request.stage_deadline,
            on_time=on_time,
            decided_at=now,
        )
    )
    return on_time


def _decision_event(
    request: ShareRequest, stage: str, caller: Caller, deadline: date | None, on_time: bool, **extra: Any
) -> dict[str, Any]:
    return {
        "request_id": request.id,
        "requester_dept": request.requester_dept,
        "provider_dept": request.provider_dept,
        "resource_id": request.resource_id,
        "stage": stage,
        "decided_by_dept": caller.dept or "",
        "deadline": deadline,
        "on_time": on_time,
        **extra,
    }


async def approve_request(session: AsyncSession, caller: Caller, request_id: str, now: datetime) -> ShareRequest:
    request = await visible_request(session, caller, request_id, for_update=True)
    require_decider(caller, request)
    stage, deadline = request.status, request.stage_deadline
    on_time = await _record_decision(session, request, caller, "approve", None, now)
    next_status = domain.NEXT_STAGE[stage]
    request.status = next_status
    request.updated_at = now
    request.stage_overdue_emitted = False
    today = today_in_shanghai(now)
    grant = None
    if next_status == "granted":
        request.stage_deadline = None
        grant = await create_grant(session, request, caller, now)
        request.grant_id = grant.id
    else:
        request.stage_started_on = today
        request.stage_deadline, request.stage_deadline_estimated = _deadline(today, next_status)
    await publish_request_event(
        session,
        events.REQUEST_APPROVED,
        request,
        _decision_event(
            request,
            stage,
            caller,
            deadline,
            on_time,
            next_status=next_status,
            next_deadline=request.stage_deadline,
            grant_id=request.grant_id,
        ),
        caller,
    )
    return request


async def reject_request(
    session: AsyncSession, caller: Caller, request_id: str, reason: str | None, now: datetime
) -> ShareRequest:
    request = await visible_request(session, caller, request_id, for_update=True)
    require_decider(caller, request)
    if not (reason and reason.strip()):
        # 第二十九条(二): a refusal must state its specific reasons.
        raise validation_problem(
            [{"field": "reason", "rule": "required_on_reject", "detail": "不予通过必须说明具体理由"}]
        )
    stage, deadline = request.status, request.stage_deadline
    on_time = await _record_decision(session, request, caller, "reject", reason, now)
    request.status = "rejected"
    request.rejected_stage = stage
    request.reject_reason = reason
    request.stage_deadline = None
    request.updated_at = now
    await publish_request_event(
        session,
        events.REQUEST_REJECTED,
        request,
        _decision_event(request, stage, caller, deadline, on_time, next_status="rejected", reason=reason),
        caller,
    )
    return request


async def attach(
    session: AsyncSession, caller: Caller, request_id: str, filename: str, content: bytes, now: datetime
) -> ShareRequest:
    request = await visible_request(session, caller, request_id, for_update=True)
    if caller.dept != request.requester_dept:
        raise Problem(403, "not_requester", "只有申请部门可以上传需求单")
    if request.status not in domain.STAGE_DECIDER:
        raise Problem(409, "request_decided", "申请已办结，不能再上传附件")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise Problem(
            413,
            "attachment_too_large",
            f"附件不能超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB",
            field="file",
            rule="max_size",
        )
    content_type = next((t for magic, t in ATTACHMENT_TYPES.items() if content.startswith(magic)), None)
    if content_type is None:
        raise Problem(415, "attachment_type", "需求单只接受 PDF、JPEG 或 PNG 文件", field="file", rule="pdf_jpeg_png")
    existing = await session.get(RequestAttachment, request.id)
    if existing is None:
        session.add(RequestAttachment(request_id=request.id, content_type=content_type, content=content))
    else:
        existing.content_type, existing.content = content_type, content
    request.attachment_name = filename[:200]
    request.attachment_size = len(content)
    request.attachment_sha256 = hashlib.sha256(content).hexdigest()
    request.updated_at = now
    return request


async def list_requests(
    session: AsyncSession, caller: Caller, role: str | None, status: str | None
) -> list[ShareRequest]:
    query = sa.select(ShareRequest).order_by(ShareRequest.created_at.desc())
    if role == "platform" or (role is None and is_overseer(caller)):
        if not is_overseer(caller):
            raise Problem(403, "bureau_role_required", "平台视图仅供县政务服务和大数据管理局使用")
    elif role == "provider":
        query = query.where(ShareRequest.provider_dept == require_department(caller))
    elif role == "requester":
        query = query.where(ShareRequest.requester_dept == require_department(caller))
    else:
        dept = require_department(caller)
        query = query.where(sa.or_(ShareRequest.requester_dept == dept, ShareRequest.provider_dept == dept))
    if status:
        query = query.where(ShareRequest.status == status)
    return list((await session.execute(query)).scalars())


async def decisions_of(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            sa.select(RequestDecision).where(RequestDecision.request_id == request_id).order_by(RequestDecision.id)
        )
    ).scalars()
    return [
        {
            "stage": d.stage,
            "decision": d.decision,
            "decided_dept": d.decided_dept,
            "reason": d.reason,
            "deadline": d.deadline,
            "on_time": d.on_time,
            "decided_at": d.decided_at,
        }
        for d in rows
    ]


# --- overdue stages ----------------------------------------------------------------------------------------


async def overdue_requests(session: AsyncSession, now: datetime, dept: str | None = None) -> list[dict[str, Any]]:
    today = today_in_shanghai(now)
    query = (
        sa.select(ShareRequest)
        .where(ShareRequest.status.in_(tuple(domain.STAGE_DECIDER)), ShareRequest.stage_deadline < today)
        .order_by(ShareRequest.stage_deadline)
    )
    items = []
    for request in (await session.execute(query)).scalars():
        responsible = domain.BUREAU_DEPT if domain.STAGE_DECIDER[request.status] == "bureau" else request.provider_dept
        if dept and dept not in (responsible, request.requester_dept, request.provider_dept):
            continue
        items.append(
            {
                "request_id": request.id,
                "stage": request.status,
                "responsible_dept": responsible,
                "requester_dept": request.requester_dept,
                "provider_dept": request.provider_dept,
                "resource_id": request.resource_id,
                "deadline": request.stage_deadline,
                "estimated": request.stage_deadline_estimated,
                "days_overdue": DEFAULT_CALENDAR.working_days_between(request.stage_deadline, today),
                "_row": request,
            }
        )
    return items


async def emit_overdue(session: AsyncSession, now: datetime) -> int:
    emitted = 0
    for item in await overdue_requests(session, now):
        request: ShareRequest = item["_row"]
        if request.stage_overdue_emitted:
            continue
        request.stage_overdue_emitted = True
        await publish_request_event(
            session,
            events.REQUEST_OVERDUE,
            request,
            {
                "request_id": request.id,
                "requester_dept": request.requester_dept,
                "provider_dept": request.provider_dept,
                "resource_id": request.resource_id,
                "stage": request.status,
                "responsible_dept": item["responsible_dept"],
                "deadline": request.stage_deadline,
                "deadline_estimated": request.stage_deadline_estimated,
            },
            None,
        )
        emitted += 1
    return emitted


# --- grants ----------------------------------------------------------------------------------------------


def grant_data(grant: Grant, reason: str | None = None) -> dict[str, Any]:
    return {
        "grant_id": grant.id,
        "request_id": grant.request_id,
        "holder_dept": grant.holder_dept,
        "holder_system": grant.holder_system,
        "provider_dept": grant.provider_dept,
        "resource_id": grant.resource_id,
        "items": grant.items,
        "purpose": grant.purpose,
        "valid_from": grant.valid_from,
        "valid_to": grant.valid_to,
        "status": grant.status,
        "seasonal": grant.seasonal,
        "last_used_at": grant.last_used_at,
        "reason": reason,
    }


async def publish_grant_event(
    session: AsyncSession, event_type: str, grant: Grant, caller: Caller | None, reason: str | None = None
) -> None:
    grant.version += 1
    await publish(
        session,
        event_type,
        grant.id,
        grant_data(grant, reason),
        caller=caller,
        version=grant.version,
        dept=grant.provider_dept,
        source=SOURCE,
    )


async def create_grant(session: AsyncSession, request: ShareRequest, caller: Caller, now: datetime) -> Grant:
    grant = Grant(
        id=new_id("grt"),
        request_id=request.id,
        holder_dept=request.requester_dept,
        holder_system=request.requester_system,
        provider_dept=request.provider_dept,
        resource_id=request.resource_id,
        items=list(request.items),
        purpose=request.purpose,
        valid_from=request.valid_from,
        valid_to=request.valid_to,
        seasonal=request.seasonal,
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(grant)
    await publish_grant_event(session, events.GRANT_CREATED, grant, caller)
    return grant


async def get_grant(session: AsyncSession, grant_id: str, *, for_update: bool = False) -> Grant:
    query = sa.select(Grant).where(Grant.id == grant_id)
    if for_update:
        query = query.with_for_update()
    grant = (await session.execute(query)).scalar_one_or_none()
    if grant is None:
        raise Problem(404, "grant_not_found", f"授权 {grant_id} 不存在")
    return grant


async def visible_grant(session: AsyncSession, caller: Caller, grant_id: str, **kw) -> Grant:
    grant = await get_grant(session, grant_id, **kw)
    if not (is_overseer(caller) or caller.dept in (grant.holder_dept, grant.provider_dept)):
        raise Problem(404, "grant_not_found", f"授权 {grant_id} 不存在")
    return grant


GRANT_EVENT_OF_ACTION = {
    "suspend": events.GRANT_SUSPENDED,
    "resume": events.GRANT_RESUMED,
    "terminate": events.GRANT_TERMINATED,
    "expire": events.GRANT_EXPIRED,
    "revoke_inactive": events.GRANT_REVOKED,
}


async def change_grant(
    session: AsyncSession, caller: Caller | None, grant_id: str, action: str, reason: str | None, now: datetime
) -> Grant:
    """Suspend, resume, terminate or revoke: the provider department (and the bureau) decides (第二十九条)."""
    if caller is not None:
        grant = await visible_grant(session, caller, grant_id, for_update=True)
        if not (caller.is_bureau or (caller.dept == grant.provider_dept and caller.has_role(*DEPT_ROLES))):
            raise Problem(
                403, "not_provider", f"只有提供方 {grant.provider_dept} 或县政务服务和大数据管理局可以变更授权"
            )
    else:
        grant = await get_grant(session, grant_id, for_update=True)
    if action in ("suspend", "terminate") and caller is not None and not (reason and reason.strip()):
        raise validation_problem([{"field": "reason", "rule": "required", "detail": "暂停或终止授权必须说明理由"}])
    new_status = domain.grant_transition(grant.status, action)
    if action == "resume" and today_in_shanghai(now) > grant.valid_to:
        raise Problem(409, "grant_past_period", "授权期限已过，不能恢复，请重新申请")
    session.add(
        GrantChange(
            grant_id=grant.id,
            from_status=grant.status,
            to_status=new_status,
            reason=reason,
            changed_by=caller.sub if caller else "system",
            changed_at=now,
        )
    )
    grant.status = new_status
    grant.status_reason = reason
    grant.updated_at = now
    await publish_grant_event(session, GRANT_EVENT_OF_ACTION[action], grant, caller, reason)
    return grant


async def list_grants(
    session: AsyncSession, caller: Caller, holder_dept: str | None, resource_id: str | None, status: str | None
) -> list[Grant]:
    query = sa.select(Grant).order_by(Grant.created_at.desc())
    if not is_overseer(caller):
        dept = require_department(caller)
        query = query.where(sa.or_(Grant.holder_dept == dept, Grant.provider_dept == dept))
    if holder_dept:
        query = query.where(Grant.holder_dept == holder_dept)
    if resource_id:
        query = query.where(Grant.resource_id == resource_id)
    if status:
        query = query.where(Grant.status == status)
    return list((await session.execute(query)).scalars())


async def inactive_grants(session: AsyncSession, now: datetime, provider_dept: str | None = None) -> list[Grant]:
    """Active, non-seasonal grants not used for three months (第二十九条); never-used ones count from creation."""
    cutoff = domain.months_before(now, domain.INACTIVITY_MONTHS)
    query = (
        sa.select(Grant)
        .where(
            Grant.status == "active",
            Grant.seasonal.is_(False),
            sa.func.coalesce(Grant.last_used_at, Grant.created_at) < cutoff,
        )
        .order_by(Grant.created_at)
    )
    if provider_dept:
        query = query.where(Grant.provider_dept == provider_dept)
    return list((await session.execute(query)).scalars())


async def revoke_inactive(session: AsyncSession, caller: Caller | None, grant_id: str, now: datetime) -> Grant:
    if grant_id not in {g.id for g in await inactive_grants(session, now)}:
        raise Problem(
            409,
            "grant_in_use",
            "该授权三个月内有使用或属于季节性应用，不能按长期未使用收回",
            rule="unused_three_months",
        )
    return await change_grant(session, caller, grant_id, "revoke_inactive", "超过三个月未使用接口（第二十九条）", now)


async def expire_grants(session: AsyncSession, now: datetime) -> int:
    today = today_in_shanghai(now)
    due = (
        (
            await session.execute(
                sa.select(Grant.id).where(Grant.status.in_(("active", "suspended")), Grant.valid_to < today)
            )
        )
        .scalars()
        .all()
    )
    for grant_id in due:
        await change_grant(session, None, grant_id, "expire", "授权期满（第二十九条）", now)
    return len(due)


async def apply_usage(session: AsyncSession, event: Event) -> None:
    """The gateway's aggregated usage moves last_used_at forward; a grant.used event marks each new day of use."""
    usage = UsageData.model_validate(event.data)
    grant = await session.get(Grant, usage.grant_id, with_for_update=True)
    if grant is None or (grant.last_used_at is not None and grant.last_used_at >= usage.last_used_at):
        return
    new_day = grant.last_used_at is None or today_in_shanghai(grant.last_used_at) != today_in_shanghai(
        usage.last_used_at
    )
    grant.last_used_at = usage.last_used_at
    if new_day:
        await publish_grant_event(session, events.GRANT_USED, grant, None)


async def grant_snapshot(session: AsyncSession) -> list[dict[str, Any]]:
    """What the gateway's grant projection starts from: every grant with its aggregate version."""
    grants = (await session.execute(sa.select(Grant).order_by(Grant.id))).scalars()
    return [{**grant_data(g), "version": g.version} for g in grants]


# --- disputes (第二十七条) ---------------------------------------------------------------------------------


async def open_dispute(session: AsyncSession, caller: Caller, body, now: datetime) -> Dispute:
    dept = require_department(caller)
    resource = await session.get(CatalogResource, body.resource_id)
    if resource is None:
        raise Problem(
            404,
            "resource_unknown",
            f"目录中没有资源 {body.resource_id}",
            field="resource_id",
            rule="published_resource",
        )
    if body.request_id is not None:
        request = await visible_request(session, caller, body.request_id)
        if request.requester_dept != dept or request.resource_id != body.resource_id:
            raise Problem(
                422,
                "validation_failed",
                "异议所指的申请须为本部门对该资源的申请",
                field="request_id",
                rule="own_request_for_resource",
            )
    dispute = Dispute(
        id=new_id("dsp"),
        requester_dept=dept,
        resource_id=body.resource_id,
        provider_dept=resource.provider_dept,
        request_id=body.request_id,
        reason=body.reason,
        status="open",
        created_by=caller.sub,
        created_at=now,
    )
    session.add(dispute)
    await _publish_dispute(session, events.DISPUTE_OPENED, dispute, caller)
    return dispute


async def resolve_dispute(
    session: AsyncSession, caller: Caller, dispute_id: str, resolution: str, now: datetime
) -> Dispute:
    if not caller.has_role(Role.BUREAU_ADMIN):
        raise Problem(403, "bureau_role_required", "共享异议由县政务服务和大数据管理局会同提供部门处理")
    dispute = await session.get(Dispute, dispute_id, with_for_update=True)
    if dispute is None:
        raise Problem(404, "dispute_not_found", f"异议 {dispute_id} 不存在")
    if dispute.status != "open":
        raise Problem(409, "dispute_resolved", "该异议已处理")
    dispute.status, dispute.resolution = "resolved", resolution
    dispute.resolved_by, dispute.resolved_at = caller.sub, now
    await _publish_dispute(session, events.DISPUTE_RESOLVED, dispute, caller)
    return dispute


async def _publish_dispute(session: AsyncSession, event_type: str, dispute: Dispute, caller: Caller) -> None:
    dispute.version += 1
    await publish(
        session,
        event_type,
        dispute.id,
        {
            "dispute_id": dispute.id,
            "requester_dept": dispute.requester_dept,
            "resource_id": dispute.resource_id,
            "provider_dept": dispute.provider_dept,
            "request_id": dispute.request_id,
            "status": dispute.status,
            "reason": dispute.reason,
            "resolution": dispute.resolution,
        },
        caller=caller,
        version=dispute.version,
        dept=dispute.requester_dept,
        source=SOURCE,
    )


async def list_disputes(session: AsyncSession, caller: Caller, status: str | None) -> list[Dispute]:
    query = sa.select(Dispute).order_by(Dispute.created_at.desc())
    if not is_overseer(caller):
        dept = require_department(caller)
        query = query.where(sa.or_(Dispute.requester_dept == dept, Dispute.provider_dept == dept))
    if status:
        query = query.where(Dispute.status == status)
    return list((await session.execute(query)).scalars())
