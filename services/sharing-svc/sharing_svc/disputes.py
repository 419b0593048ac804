"""共享异议 (第二十七条): a department disputes a resource's sharing (or the outcome of its request for it); the
bureau resolves the dispute together with the provider: the provider answers, the bureau decides within ten
working days (domain.DISPUTE_DECISION_WORKING_DAYS), and its decision may order the refused request granted or a
changed sharing type. Every event names both parties, so both are told."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from govdata_shared.auth import Caller, require_department
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.repository import get_or_404, new_id
from govdata_shared.workdays import today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc import access, domain, events, grants, projection
from sharing_svc.domain import DisputeOutcome, DisputeStatus, RequestStatus
from sharing_svc.models import Dispute, ShareRequest
from sharing_svc.schemas import DisputeIn, ResolveIn


async def open_dispute(session: AsyncSession, caller: Caller, body: DisputeIn, now: datetime) -> Dispute:
    """Raise a dispute about a resource of the catalog; a request it names must be the department's own request
    for that resource."""
    dept = require_department(caller)
    resource = await projection.catalog_resource(
        session, body.resource_id, unknown=f"目录中没有资源 {body.resource_id}"
    )
    if body.request_id is not None:
        request = await get_or_404(session, ShareRequest, body.request_id, where=access.readable_request(caller))
        if request.requester_dept != dept or request.resource_id != body.resource_id:
            raise Problem(
                422,
                "validation_failed",
                "异议所指的申请须为本部门对该资源的申请",
                field="request_id",
                rule="own_request_for_resource",
            )
    deadline = domain.dispute_deadline(today_in_shanghai(now))
    dispute = Dispute(
        id=new_id("dsp"),
        deadline=deadline.due,
        deadline_estimated=deadline.estimated,
        requester_dept=dept,
        resource_id=body.resource_id,
        provider_dept=resource.provider_dept,
        request_id=body.request_id,
        reason=body.reason,
        status=DisputeStatus.OPEN,
        created_by=caller.sub,
        created_at=now,
    )
    session.add(dispute)
    await events.publish_dispute(session, events.DISPUTE_OPENED, dispute, caller)
    return dispute


async def answer_dispute(session: AsyncSession, caller: Caller, dispute_id: str, answer: str, now: datetime) -> Dispute:
    """The provider department states its view before the bureau decides (第二十七条: 会同提供部门协调处理)."""
    dispute = await get_or_404(session, Dispute, dispute_id, where=access.readable_dispute(caller), for_update=True)
    if caller.acting_dept is None or caller.acting_dept != dispute.provider_dept:
        raise Problem(403, "not_provider", "只有资源的提供部门可以答复该异议")
    if dispute.status != DisputeStatus.OPEN:
        raise Problem(409, "dispute_resolved", "该异议已处理")
    dispute.provider_answer, dispute.answered_by, dispute.answered_at = answer, caller.sub, now
    await events.publish_dispute(session, events.DISPUTE_ANSWERED, dispute, caller)
    return dispute


async def resolve_dispute(
    session: AsyncSession, caller: Caller, dispute_id: str, body: ResolveIn, now: datetime
) -> Dispute:
    """The bureau's decision (the route admits the bureau only), made once; it may order the refused request the
    dispute names granted as requested, or the provider to register a changed sharing type."""
    dispute = await get_or_404(session, Dispute, dispute_id, for_update=True)
    if dispute.status != DisputeStatus.OPEN:
        raise Problem(409, "dispute_resolved", "该异议已处理")
    if body.outcome == DisputeOutcome.SHARING_CHANGE_ORDERED and body.ordered_sharing_type is None:
        raise validation_problem(
            [
                {
                    "field": "ordered_sharing_type",
                    "rule": "required_for_sharing_change",
                    "detail": "请指明应改为的共享类型",
                }
            ]
        )
    if body.outcome == DisputeOutcome.GRANT_ORDERED:
        request = (
            await session.get(ShareRequest, dispute.request_id, with_for_update=True) if dispute.request_id else None
        )
        if request is None or request.status != RequestStatus.REJECTED:
            raise Problem(
                409,
                "no_refused_request",
                "只有针对被驳回的共享申请提出的异议，才能决定予以授权",
                field="outcome",
                rule="refused_request_required",
            )
        request.status, request.approved_items = RequestStatus.GRANTED, list(request.items)
        request.updated_at = now
        request.grant_id = (await grants.create_grant(session, request, caller, now)).id
        dispute.grant_id = request.grant_id
    dispute.status, dispute.resolution, dispute.outcome = DisputeStatus.RESOLVED, body.resolution, body.outcome
    dispute.ordered_sharing_type = body.ordered_sharing_type
    dispute.resolved_by, dispute.resolved_at = caller.sub, now
    await events.publish_dispute(session, events.DISPUTE_RESOLVED, dispute, caller)
    return dispute


async def list_disputes(session: AsyncSession, caller: Caller, status: DisputeStatus | None) -> Sequence[Dispute]:
    """Newest first: all for overseers, for a department those it raised or is the provider of."""
    access.overseer_or_department(caller)  # 403 for callers who neither oversee nor act for a department
    query = sa.select(Dispute).where(access.readable_dispute(caller)).order_by(Dispute.created_at.desc())
    if status:
        query = query.where(Dispute.status == status)
    return (await session.execute(query)).scalars().all()
