"""共享申请 on the two paths of 第二十九条: filing, the decision of each stage within its deadline, the sealed
需求单, the views of requests and the stages past their deadlines.

unconditional → platform_review (bureau, 3 working days) → granted;
conditional → provider_review (provider, 5 working days) → delivery (bureau, 3 working days) → granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from fastapi import UploadFile
from fastapi.responses import Response
from govdata_shared.auth import Caller, require_department
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.repository import get_or_404, new_id
from govdata_shared.workdays import DEFAULT_CALENDAR, today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc import access, domain, events, grants, projection
from sharing_svc.domain import Decision, RequestStatus, ResourceStatus, SharingType
from sharing_svc.models import CatalogResource, RequestAttachment, RequestDecision, ShareRequest
from sharing_svc.schemas import AttachmentOut, DecisionOut, OverdueOut, RequestIn, RequestOut, RequestRole

# --- responses ---------------------------------------------------------------------------------------------


def _out(request: ShareRequest, resource_name: str | None, decisions: Sequence[DecisionOut] = ()) -> RequestOut:
    attachment = None
    if request.attachment_sha256:
        attachment = AttachmentOut(
            name=request.attachment_name, size=request.attachment_size, sha256=request.attachment_sha256
        )
    return RequestOut(
        id=request.id,
        status=request.status,
        path=request.path,
        requester_dept=request.requester_dept,
        requester_system=request.requester_system,
        provider_dept=request.provider_dept,
        resource_id=request.resource_id,
        resource_name=resource_name,
        items=request.items,
        approved_items=request.approved_items,
        purpose=request.purpose,
        duty_basis=request.duty_basis,
        valid_from=request.valid_from,
        valid_to=request.valid_to,
        seasonal=request.seasonal,
        deadline=request.stage_deadline,
        deadline_estimated=request.stage_deadline_estimated,
        grant_id=request.grant_id,
        reject_reason=request.reject_reason,
        rejected_stage=request.rejected_stage,
        attachment=attachment,
        decisions=list(decisions),
        created_at=request.created_at,
        updated_at=request.updated_at,
    )


async def _brief(session: AsyncSession, request: ShareRequest) -> RequestOut:
    """A request with its resource's name, without its decisions."""
    return _out(request, await projection.resource_name(session, request.resource_id))


async def _full(session: AsyncSession, request: ShareRequest) -> RequestOut:
    """The view of one request: with its resource's name and every decision so far."""
    rows = await session.execute(
        sa.select(RequestDecision).where(RequestDecision.request_id == request.id).order_by(RequestDecision.id)
    )
    decisions = [
        DecisionOut(
            stage=d.stage,
            decision=d.decision,
            decided_dept=d.decided_dept,
            reason=d.reason,
            refused_items=d.refused_items,
            deadline=d.deadline,
            on_time=d.on_time,
            decided_at=d.decided_at,
        )
        for d in rows.scalars()
    ]
    return _out(request, await projection.resource_name(session, request.resource_id), decisions)


# --- filing --------------------------------------------------------------------------------------------------


async def create_request(session: AsyncSession, caller: Caller, body: RequestIn, now: datetime) -> RequestOut:
    """File a request, for one of the requester department's application systems, for a published resource of
    another department; its first stage starts today."""
    dept = require_department(caller)
    system = await projection.requester_system(session, body.system, dept)
    resource = await projection.catalog_resource(
        session, body.resource_id, unknown=f"目录中没有已发布的资源 {body.resource_id}"
    )
    if resource.status != ResourceStatus.PUBLISHED:
        raise Problem(
            409, "resource_retired", f"资源 {body.resource_id} 已停用", field="resource_id", rule="published_resource"
        )
    if resource.sharing_type == SharingType.NONE:
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
    today = today_in_shanghai(now)
    errors = _item_violations(resource, body.items) + domain.period_violations(body.valid_from, body.valid_to, today)
    if errors:
        raise validation_problem(errors)
    path = domain.request_path(resource.sharing_type, resource.items, body.items)
    stage = domain.FIRST_STAGE[path]
    deadline = domain.stage_deadline(today, stage)
    request = ShareRequest(
        id=new_id("req"),
        requester_dept=dept,
        requester_system=system.system_id,
        provider_dept=resource.provider_dept,
        resource_id=resource.resource_id,
        items=list(body.items),
        purpose=body.purpose,
        duty_basis=body.duty_basis,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        seasonal=body.seasonal,
        path=path,
        status=stage,
        stage_started_on=today,
        stage_deadline=deadline.due,
        stage_deadline_estimated=deadline.estimated,
        created_by=caller.sub,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    await events.publish_request(
        session, events.REQUEST_SUBMITTED, request, events.request_submitted_payload(request), caller
    )
    return _out(request, resource.name)


def _item_violations(resource: CatalogResource, items: list[str]) -> list[dict]:
    """Every requested item must be one of the resource's, and named once."""
    known = {item["code"]: item for item in resource.items}
    errors = [
        {"field": f"items[{i}]", "rule": "item_of_resource", "detail": f"{code} 不是资源“{resource.name}”的信息项"}
        for i, code in enumerate(items)
        if code not in known
    ]
    # 第二十四条: a resource provided only in part may hold items that are not shared at all.
    errors += [
        {
            "field": f"items[{i}]",
            "rule": "item_not_shared",
            "detail": f"信息项“{known[code].get('name', code)}”属于不予共享，不能申请；如有异议可提出共享异议",
        }
        for i, code in enumerate(items)
        if code in known and known[code].get("sharing_type") == SharingType.NONE
    ]
    if len(set(items)) != len(items):
        errors.append({"field": "items", "rule": "unique_items", "detail": "信息项重复"})
    return errors


# --- deciding a stage ----------------------------------------------------------------------------------------


async def _open_for_decision(session: AsyncSession, caller: Caller, request_id: str) -> ShareRequest:
    """The request, locked, whose current stage `caller` decides (404, then 409 when decided, then 403)."""
    request = await get_or_404(
        session, ShareRequest, request_id, where=access.readable_request(caller), for_update=True
    )
    if not domain.is_open(request.status):
        raise Problem(
            409, "request_decided", f"申请已处于“{request.status}”状态，无需再决定", status_now=request.status
        )
    access.require_decider(caller, request)
    return request


async def _record_decision(
    session: AsyncSession,
    request: ShareRequest,
    caller: Caller,
    decision: Decision,
    reason: str | None,
    now: datetime,
    refused_items: list[str] | None = None,
) -> bool:
    """Keep who decided the current stage, why, which items were refused, and whether within its deadline; True
    when on time."""
    on_time = domain.decided_on_time(request.stage_deadline, today_in_shanghai(now))
    session.add(
        RequestDecision(
            request_id=request.id,
            stage=request.status,
            decision=decision,
            decided_by=caller.sub,
            decided_dept=caller.dept or "",
            reason=reason,
            refused_items=refused_items,
            deadline=request.stage_deadline,
            on_time=on_time,
            decided_at=now,
        )
    )
    return on_time


async def approve_request(
    session: AsyncSession,
    caller: Caller,
    request_id: str,
    items: list[str] | None,
    now: datetime,
    reason: str | None = None,
) -> RequestOut:
    """The decider of the current stage approves: the next stage starts today, or the grant is made. The provider
    may agree to only some of the requested `items` (第二十九条(二)); the grant carries the items approved, and the
    decision keeps the items refused with the reason, which a refusal must state."""
    request = await _open_for_decision(session, caller, request_id)
    stage, deadline = RequestStatus(request.status), request.stage_deadline
    _check_approval(request, stage, items)
    agreed = domain.approved_items(request.items, items)
    refused = [code for code in request.items if code not in agreed] or None
    reason = reason.strip() if reason and reason.strip() else None
    if refused and reason is None:
        raise validation_problem(
            [
                {
                    "field": "reason",
                    "rule": "reason_required_for_refused_items",
                    "detail": f"未同意的信息项（{'、'.join(refused)}）必须说明不予提供的具体理由（第二十九条第二项）",
                }
            ]
        )
    on_time = await _record_decision(session, request, caller, Decision.APPROVE, reason, now, refused)
    if stage in domain.ITEMS_DECIDED_AT:
        request.approved_items = agreed
    next_status = domain.NEXT_STAGE[stage]
    request.status = next_status
    request.updated_at = now
    request.stage_overdue_emitted = False
    if next_status is RequestStatus.GRANTED:
        request.stage_deadline = None
        request.grant_id = (await grants.create_grant(session, request, caller, now)).id
    else:
        today = today_in_shanghai(now)
        next_deadline = domain.stage_deadline(today, next_status)
        request.stage_started_on = today
        request.stage_deadline, request.stage_deadline_estimated = next_deadline.due, next_deadline.estimated
    payload = events.decision_payload(
        request,
        stage=stage,
        decided_by_dept=caller.dept or "",
        deadline=deadline,
        on_time=on_time,
        next_status=next_status,
        next_deadline=request.stage_deadline,
        grant_id=request.grant_id,
        approved_items=request.approved_items,
        refused_items=refused,
        reason=reason,
    )
    await events.publish_request(session, events.REQUEST_APPROVED, request, payload, caller)
    return await _full(session, request)


def _check_approval(request: ShareRequest, stage: RequestStatus, items: list[str] | None) -> None:
    """Refuse an approval the stage does not allow: items named at one of the bureau's stages (422), the
    provider's approval without the sealed 需求单 (409), items the provider may not agree to (422)."""
    if items is not None and stage not in domain.ITEMS_CHOSEN_AT:
        raise Problem(
            422,
            "items_not_allowed",
            f"{domain.STAGE_LABELS[stage]}不能指定信息项：只有提供部门审批时可以只同意部分信息项",
            field="items",
            rule="items_not_allowed",
        )
    if stage in domain.ATTACHMENT_REQUIRED_AT and not request.attachment_sha256:
        raise Problem(
            409,
            "attachment_required",
            "申请部门尚未上传加盖公章的需求单，提供部门不能审批同意（第二十九条第二项）；"
            "请待申请部门上传后再审批，或驳回并说明理由",
            rule="attachment_required",
        )
    if items is not None:
        errors = domain.item_choice_violations(request.items, items)
        if errors:
            raise validation_problem(errors)


async def reject_request(
    session: AsyncSession, caller: Caller, request_id: str, reason: str | None, now: datetime
) -> RequestOut:
    """The decider of the current stage refuses; the request ends."""
    request = await _open_for_decision(session, caller, request_id)
    if not (reason and reason.strip()):
        # 第二十九条(二): a refusal must state its specific reasons.
        raise validation_problem(
            [{"field": "reason", "rule": "required_on_reject", "detail": "不予通过必须说明具体理由"}]
        )
    stage, deadline = request.status, request.stage_deadline
    on_time = await _record_decision(session, request, caller, Decision.REJECT, reason, now)
    request.status = RequestStatus.REJECTED
    request.rejected_stage = stage
    request.reject_reason = reason
    request.stage_deadline = None
    request.updated_at = now
    payload = events.decision_payload(
        request,
        stage=stage,
        decided_by_dept=caller.dept or "",
        deadline=deadline,
        on_time=on_time,
        next_status=RequestStatus.REJECTED,
        reason=reason,
    )
    await events.publish_request(session, events.REQUEST_REJECTED, request, payload, caller)
    return await _full(session, request)


# --- the 需求单 ----------------------------------------------------------------------------------------------


async def attach(
    session: AsyncSession, caller: Caller, request_id: str, upload: UploadFile, now: datetime
) -> RequestOut:
    """The requester's sealed 需求单 (第二十九条(二)) while the request is open; replaces an earlier one."""
    content = await upload.read(domain.MAX_ATTACHMENT_BYTES + 1)
    request = await get_or_404(
        session, ShareRequest, request_id, where=access.readable_request(caller), for_update=True
    )
    access.require_requester(caller, request)
    if not domain.is_open(request.status):
        raise Problem(409, "request_decided", "申请已办结，不能再上传附件")
    if len(content) > domain.MAX_ATTACHMENT_BYTES:
        raise Problem(
            413,
            "attachment_too_large",
            f"附件不能超过 {domain.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB",
            field="file",
            rule="max_size",
        )
    content_type = domain.attachment_type(content)
    if content_type is None:
        raise Problem(415, "attachment_type", "需求单只接受 PDF、JPEG 或 PNG 文件", field="file", rule="pdf_jpeg_png")
    await session.merge(RequestAttachment(request_id=request.id, content_type=content_type, content=content))
    request.attachment_name = (upload.filename or "需求单")[:200]
    request.attachment_size = len(content)
    request.attachment_sha256 = hashlib.sha256(content).hexdigest()
    request.updated_at = now
    return await _brief(session, request)


async def attachment_file(session: AsyncSession, caller: Caller, request_id: str) -> Response:
    """The 需求单 as uploaded, for the parties and overseers, with its sha256 in `X-Content-SHA256`."""
    request = await get_or_404(session, ShareRequest, request_id, where=access.readable_request(caller))
    attachment = await get_or_404(session, RequestAttachment, request.id)
    return Response(
        attachment.content,
        media_type=attachment.content_type,
        headers={"X-Content-SHA256": request.attachment_sha256 or ""},
    )


# --- views ---------------------------------------------------------------------------------------------------


async def get_request(session: AsyncSession, caller: Caller, request_id: str) -> RequestOut:
    request = await get_or_404(session, ShareRequest, request_id, where=access.readable_request(caller))
    return await _full(session, request)


async def list_requests(
    session: AsyncSession, caller: Caller, role: RequestRole | None, status: str | None
) -> list[RequestOut]:
    """Newest first, each with its resource's name (one query for the page), without decisions."""
    query = (
        sa.select(ShareRequest, CatalogResource.name)
        .outerjoin(CatalogResource, CatalogResource.resource_id == ShareRequest.resource_id)
        .where(access.request_view(caller, role))
        .order_by(ShareRequest.created_at.desc())
    )
    if status:
        query = query.where(ShareRequest.status == status)
    return [_out(request, name) for request, name in await session.execute(query)]


# --- overdue stages ------------------------------------------------------------------------------------------


async def _overdue(session: AsyncSession, now: datetime) -> Sequence[ShareRequest]:
    """Open stages whose deadline has passed, the longest overdue first."""
    query = (
        sa.select(ShareRequest)
        .where(
            ShareRequest.status.in_(tuple(domain.STAGE_DECIDER)), ShareRequest.stage_deadline < today_in_shanghai(now)
        )
        .order_by(ShareRequest.stage_deadline)
    )
    return (await session.execute(query)).scalars().all()


async def list_overdue(session: AsyncSession, caller: Caller, now: datetime) -> list[OverdueOut]:
    """Stages past their 第二十九条 deadlines: all for overseers, for a department those it is party to or has
    to act on."""
    dept = access.overseer_or_department(caller)
    today = today_in_shanghai(now)
    items = []
    for request in await _overdue(session, now):
        responsible = domain.responsible_dept(request.status, request.provider_dept)
        if dept and dept not in (responsible, request.requester_dept, request.provider_dept):
            continue
        items.append(
            OverdueOut(
                request_id=request.id,
                stage=request.status,
                responsible_dept=responsible,
                requester_dept=request.requester_dept,
                provider_dept=request.provider_dept,
                resource_id=request.resource_id,
                deadline=request.stage_deadline,
                estimated=request.stage_deadline_estimated,
                days_overdue=DEFAULT_CALENDAR.working_days_between(request.stage_deadline, today),
            )
        )
    return items


async def emit_overdue(session: AsyncSession, now: datetime) -> int:
    """Publish `sharing.request.overdue` once per stage that passed its deadline; the number published."""
    emitted = 0
    for request in await _overdue(session, now):
        if request.stage_overdue_emitted:
            continue
        request.stage_overdue_emitted = True
        await events.publish_request(session, events.REQUEST_OVERDUE, request, events.overdue_payload(request), None)
        emitted += 1
    return emitted
