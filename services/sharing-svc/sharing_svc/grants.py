"""接口授权: made when a request is granted; suspended, resumed and terminated by the provider (or the bureau),
ended at valid_to, and revoked when unused for three months and not seasonal (第二十九条). The gateway's usage
reports move `last_used_at` (events.apply_usage)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.repository import get_or_404, new_id
from govdata_shared.workdays import today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc import access, domain, events
from sharing_svc.domain import GrantAction, GrantStatus
from sharing_svc.models import Grant, GrantChange, ShareRequest


async def create_grant(session: AsyncSession, request: ShareRequest, caller: Caller, now: datetime) -> Grant:
    """The grant of an approved request: its holder calls the approved items (第二十九条(二): those the provider
    agreed to) for the requested period."""
    grant = Grant(
        id=new_id("grt"),
        request_id=request.id,
        holder_dept=request.requester_dept,
        holder_system=request.requester_system,
        provider_dept=request.provider_dept,
        resource_id=request.resource_id,
        items=list(request.approved_items),
        purpose=request.purpose,
        valid_from=request.valid_from,
        valid_to=request.valid_to,
        seasonal=request.seasonal,
        status=GrantStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(grant)
    await events.publish_grant(session, events.GRANT_CREATED, grant, caller)
    return grant


async def get_grant(session: AsyncSession, caller: Caller, grant_id: str) -> Grant:
    return await get_or_404(session, Grant, grant_id, where=access.readable_grant(caller))


async def list_grants(
    session: AsyncSession,
    caller: Caller,
    holder_dept: str | None,
    resource_id: str | None,
    status: GrantStatus | None,
) -> Sequence[Grant]:
    """Newest first: all for overseers, for a department those it holds or provides."""
    access.overseer_or_department(caller)  # 403 for callers who neither oversee nor act for a department
    query = sa.select(Grant).where(access.readable_grant(caller)).order_by(Grant.created_at.desc())
    if holder_dept:
        query = query.where(Grant.holder_dept == holder_dept)
    if resource_id:
        query = query.where(Grant.resource_id == resource_id)
    if status:
        query = query.where(Grant.status == status)
    return (await session.execute(query)).scalars().all()


async def change_grant(
    session: AsyncSession,
    caller: Caller | None,
    grant_id: str,
    action: GrantAction,
    reason: str | None,
    now: datetime,
) -> Grant:
    """Suspend, resume, terminate, expire or revoke a grant: its provider department or the bureau decides
    (第二十九条); `caller` None is the platform itself (expiry, automatic revocation)."""
    if caller is None:
        grant = await get_or_404(session, Grant, grant_id, for_update=True)
    else:
        grant = await get_or_404(session, Grant, grant_id, where=access.readable_grant(caller), for_update=True)
        access.require_grant_changer(caller, grant)
        if action in domain.REASON_REQUIRED and not (reason and reason.strip()):
            raise validation_problem([{"field": "reason", "rule": "required", "detail": "暂停或终止授权必须说明理由"}])
    new_status = domain.GRANT.next(grant.status, action)
    if action == GrantAction.RESUME and today_in_shanghai(now) > grant.valid_to:
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
    await events.publish_grant(session, events.GRANT_EVENT_OF_ACTION[action], grant, caller, reason)
    return grant


# --- grants past their period, grants left unused ----------------------------------------------------------


async def expire_grants(session: AsyncSession, now: datetime) -> int:
    """End the active and suspended grants whose valid_to (Shanghai) has passed; the number ended."""
    query = sa.select(Grant.id).where(
        Grant.status.in_(domain.LIVE_GRANT_STATUSES), Grant.valid_to < today_in_shanghai(now)
    )
    due = (await session.execute(query)).scalars().all()
    for grant_id in due:
        await change_grant(session, None, grant_id, GrantAction.EXPIRE, domain.EXPIRY_REASON, now)
    return len(due)


def _unused(now: datetime) -> sa.ColumnElement[bool]:
    """Active, non-seasonal grants not used for three months (第二十九条); never-used ones count from creation."""
    return sa.and_(
        Grant.status == GrantStatus.ACTIVE,
        Grant.seasonal.is_(False),
        sa.func.coalesce(Grant.last_used_at, Grant.created_at) < domain.inactivity_cutoff(now),
    )


async def inactive_grants(session: AsyncSession, now: datetime, provider_dept: str | None = None) -> Sequence[Grant]:
    """The grants a provider may revoke for disuse, oldest first (of `provider_dept` when given)."""
    query = sa.select(Grant).where(_unused(now)).order_by(Grant.created_at)
    if provider_dept:
        query = query.where(Grant.provider_dept == provider_dept)
    return (await session.execute(query)).scalars().all()


async def list_inactive(session: AsyncSession, caller: Caller, now: datetime) -> Sequence[Grant]:
    """Unused grants: all for overseers, for a department those it provides."""
    return await inactive_grants(session, now, access.overseer_or_department(caller))


async def revoke_inactive(session: AsyncSession, caller: Caller | None, grant_id: str, now: datetime) -> Grant:
    """Revoke a grant unused for three months and not seasonal (第二十九条); any other is 409 `grant_in_use`."""
    unused = await session.scalar(sa.select(sa.exists().where(Grant.id == grant_id, _unused(now))))
    if not unused:
        raise Problem(
            409,
            "grant_in_use",
            "该授权三个月内有使用或属于季节性应用，不能按长期未使用收回",
            rule="unused_three_months",
        )
    return await change_grant(session, caller, grant_id, GrantAction.REVOKE_INACTIVE, domain.INACTIVITY_REASON, now)
