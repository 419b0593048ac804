"""共享异议 (第二十七条): a department disputes a resource's sharing (or the outcome of its request for it); the
bureau resolves the dispute together with the provider."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from govdata_shared.auth import Caller, require_department
from govdata_shared.errors import Problem
from govdata_shared.repository import get_or_404, new_id
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc import access, events, projection
from sharing_svc.domain import DisputeStatus
from sharing_svc.models import Dispute, ShareRequest
from sharing_svc.schemas import DisputeIn


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
    dispute = Dispute(
        id=new_id("dsp"),
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


async def resolve_dispute(
    session: AsyncSession, caller: Caller, dispute_id: str, resolution: str, now: datetime
) -> Dispute:
    """The bureau's resolution (the route admits the bureau only); a dispute is resolved once."""
    dispute = await get_or_404(session, Dispute, dispute_id, for_update=True)
    if dispute.status != DisputeStatus.OPEN:
        raise Problem(409, "dispute_resolved", "该异议已处理")
    dispute.status, dispute.resolution = DisputeStatus.RESOLVED, resolution
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
