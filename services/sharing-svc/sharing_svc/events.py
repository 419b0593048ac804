"""Events of sharing-svc. Consumed: the catalog's published and retired resources (kept in the catalog
projection, by aggregate version), the gateway's application systems (identity.system.*, kept in the system
projection, by aggregate version) and the gateway's usage reports. Published (schemas in
govdata_shared.contracts.sharing): the payload of each event and the one way each aggregate publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from govdata_shared.auth import Caller
from govdata_shared.consumer import Handler
from govdata_shared.contracts import access as access_events
from govdata_shared.contracts import catalog as catalog_events
from govdata_shared.contracts import identity as identity_events
from govdata_shared.contracts.access import RecordsData
from govdata_shared.contracts.sharing import (
    DISPUTE_ANSWERED,
    DISPUTE_OPENED,
    DISPUTE_RESOLVED,
    GRANT_CREATED,
    GRANT_EXPIRED,
    GRANT_RESUMED,
    GRANT_REVOKED,
    GRANT_SUSPENDED,
    GRANT_TERMINATED,
    GRANT_USED,
    REQUEST_APPROVED,
    REQUEST_OVERDUE,
    REQUEST_REJECTED,
    REQUEST_SUBMITTED,
)
from govdata_shared.events import TOPICS, Event
from govdata_shared.publish import publish
from govdata_shared.workdays import today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc import domain
from sharing_svc.domain import GrantAction
from sharing_svc.models import ApplicationSystem, CatalogResource, Dispute, Grant, ShareRequest

__all__ = [
    "DISPUTE_ANSWERED",
    "DISPUTE_OPENED",
    "DISPUTE_RESOLVED",
    "GRANT_CREATED",
    "GRANT_EXPIRED",
    "GRANT_RESUMED",
    "GRANT_REVOKED",
    "GRANT_SUSPENDED",
    "GRANT_TERMINATED",
    "GRANT_USED",
    "REQUEST_APPROVED",
    "REQUEST_OVERDUE",
    "REQUEST_REJECTED",
    "REQUEST_SUBMITTED",
]

SOURCE = "sharing-svc"

GRANT_EVENT_OF_ACTION: dict[GrantAction, str] = {
    GrantAction.SUSPEND: GRANT_SUSPENDED,
    GrantAction.RESUME: GRANT_RESUMED,
    GrantAction.TERMINATE: GRANT_TERMINATED,
    GrantAction.EXPIRE: GRANT_EXPIRED,
    GrantAction.REVOKE_INACTIVE: GRANT_REVOKED,
}


# --- payloads --------------------------------------------------------------------------------------------


def _request_parties(request: ShareRequest) -> dict[str, Any]:
    """What every `sharing.request.*` event says first: which request, between whom, for which resource."""
    return {
        "request_id": request.id,
        "requester_dept": request.requester_dept,
        "provider_dept": request.provider_dept,
        "resource_id": request.resource_id,
    }


def request_submitted_payload(request: ShareRequest) -> dict[str, Any]:
    return {
        **_request_parties(request),
        "items": request.items,
        "path": request.path,
        "status": request.status,
        "deadline": request.stage_deadline,
        "deadline_estimated": request.stage_deadline_estimated,
        "valid_from": request.valid_from,
        "valid_to": request.valid_to,
        "seasonal": request.seasonal,
    }


def decision_payload(
    request: ShareRequest,
    *,
    stage: str,
    decided_by_dept: str,
    deadline: date | None,
    on_time: bool,
    next_status: str,
    next_deadline: date | None = None,
    grant_id: str | None = None,
    reason: str | None = None,
    approved_items: list[str] | None = None,
    refused_items: list[str] | None = None,
) -> dict[str, Any]:
    """One stage of `request` decided (approved or rejected); `deadline` is the decided stage's; an approval says
    which items the grant carries (`approved_items`: all requested, or the provider's subset)."""
    return {
        **_request_parties(request),
        "stage": stage,
        "decided_by_dept": decided_by_dept,
        "deadline": deadline,
        "on_time": on_time,
        "next_status": next_status,
        "next_deadline": next_deadline,
        "grant_id": grant_id,
        "reason": reason,
        "approved_items": approved_items,
        "refused_items": refused_items,
    }


def overdue_payload(request: ShareRequest) -> dict[str, Any]:
    return {
        **_request_parties(request),
        "stage": request.status,
        "responsible_dept": domain.responsible_dept(request.status, request.provider_dept),
        "deadline": request.stage_deadline,
        "deadline_estimated": request.stage_deadline_estimated,
    }


def grant_payload(grant: Grant, reason: str | None = None) -> dict[str, Any]:
    """The grant as it is after the change: the gateway keeps its projection (and its snapshot) from this."""
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


def dispute_payload(dispute: Dispute) -> dict[str, Any]:
    return {
        "dispute_id": dispute.id,
        "requester_dept": dispute.requester_dept,
        "resource_id": dispute.resource_id,
        "provider_dept": dispute.provider_dept,
        "request_id": dispute.request_id,
        "status": dispute.status,
        "reason": dispute.reason,
        "resolution": dispute.resolution,
        "deadline": dispute.deadline,
        "provider_answer": dispute.provider_answer,
        "outcome": dispute.outcome,
        "grant_id": dispute.grant_id,
        "ordered_sharing_type": dispute.ordered_sharing_type,
    }


# --- publishing: each aggregate's version moves with every event about it ----------------------------------


async def _publish(
    session: AsyncSession,
    event_type: str,
    aggregate: ShareRequest | Grant | Dispute,
    data: dict[str, Any],
    caller: Caller | None,
    dept: str | None,
) -> None:
    aggregate.version += 1
    await publish(
        session,
        event_type,
        aggregate.id,
        data,
        caller=caller,
        version=aggregate.version,
        dept=dept,
        source=SOURCE,
    )


async def publish_request(
    session: AsyncSession, event_type: str, request: ShareRequest, data: dict[str, Any], caller: Caller | None
) -> None:
    """A request event, filed under the requester department."""
    await _publish(session, event_type, request, data, caller, request.requester_dept)


async def publish_grant(
    session: AsyncSession, event_type: str, grant: Grant, caller: Caller | None, reason: str | None = None
) -> None:
    """A grant event, filed under the provider department; `caller` None means the system."""
    await _publish(session, event_type, grant, grant_payload(grant, reason), caller, grant.provider_dept)


async def publish_dispute(session: AsyncSession, event_type: str, dispute: Dispute, caller: Caller) -> None:
    """A dispute event, filed under the department that raised it."""
    await _publish(session, event_type, dispute, dispute_payload(dispute), caller, dispute.requester_dept)


# --- consumed ----------------------------------------------------------------------------------------------


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


async def apply_system_event(session: AsyncSession, event: Event) -> None:
    """Keep each application system as the gateway's registry last described it (every identity.system.* event
    carries the whole entry), by aggregate version: stale and repeated events change nothing."""
    data = identity_events.SystemData.model_validate(event.data)
    current = await session.get(ApplicationSystem, data.system_id, with_for_update=True)
    if current is not None and current.version >= event.version:
        return
    values = dict(dept=data.dept, name=data.name, disabled=data.disabled, version=event.version)
    if current is None:
        session.add(ApplicationSystem(system_id=data.system_id, **values))
    else:
        for key, value in values.items():
            setattr(current, key, value)


async def apply_access_records(session: AsyncSession, event: Event) -> None:
    """The gateway's access records move each grant's last_used_at to its latest successful call (what the
    three-month inactivity rule of 第二十九条 reads); a grant.used event marks each new day of use. Taking the
    latest time is idempotent, so a batch delivered twice changes nothing."""
    latest: dict[str, datetime] = {}
    for record in RecordsData.model_validate(event.data).records:
        if record.grant_id and record.outcome == "ok":
            seen = latest.get(record.grant_id)
            latest[record.grant_id] = record.time if seen is None else max(seen, record.time)
    for grant_id in sorted(latest):
        used_at = latest[grant_id]
        grant = await session.get(Grant, grant_id, with_for_update=True)
        if grant is None or (grant.last_used_at is not None and grant.last_used_at >= used_at):
            continue
        new_day = grant.last_used_at is None or today_in_shanghai(grant.last_used_at) != today_in_shanghai(used_at)
        grant.last_used_at = used_at
        if new_day:
            await publish_grant(session, GRANT_USED, grant, None)


CONSUMED_TOPICS: tuple[str, ...] = (TOPICS["catalog"], TOPICS["identity"], TOPICS["access"])
HANDLERS: dict[str, Handler] = {
    catalog_events.RESOURCE_PUBLISHED: apply_catalog_event,
    catalog_events.RESOURCE_RETIRED: apply_catalog_event,
    **{event_type: apply_system_event for event_type in identity_events.SYSTEM_EVENTS},
    access_events.ACCESS_RECORDS: apply_access_records,
}
