"""Events verification-svc publishes and consumes; their schemas live in govdata_shared.contracts.

Publishes govdata.verification.v1 (`verification.request.*`, payloads built by `request_payload`). Consumes
govdata.catalog.v1 to know each resource's provider department and items, so a request is routed to the
department that must answer it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from govdata_shared.consumer import Handler
from govdata_shared.contracts.catalog import (
    RESOURCE_PUBLISHED,
    RESOURCE_REJECTED,
    RESOURCE_RETIRED,
    RESOURCE_SUBMITTED,
    RESOURCE_SUPERSEDED,
    ResourceEventData,
)
from govdata_shared.contracts.verification import (  # noqa: F401 - the event types and payloads of this service
    REQUEST_EXTENDED,
    REQUEST_OVERDUE,
    REQUEST_RESOLVED,
    REQUEST_SUBMITTED,
    RequestExtendedData,
    RequestOverdueData,
    RequestResolvedData,
    RequestSubmittedData,
)
from govdata_shared.events import TOPICS, Event
from govdata_shared.identifiers import mask_identifier
from sqlalchemy.ext.asyncio import AsyncSession

from verification_svc.models import CatalogResource, CorrectionRequest

SOURCE = "verification-svc"

# --- published -------------------------------------------------------------------------------------------


def request_payload(request: CorrectionRequest, **extra: Any) -> dict[str, Any]:
    """What every `verification.request.*` event says about the request, plus the event's own fields. The
    subject's identifier travels masked; free text and values (description, claimed/corrected values) never."""
    return {
        "request_id": request.id,
        "resource_id": request.resource_id,
        "provider_dept": request.provider_dept,
        "subject_type": request.subject_type,
        "subject_id": mask_identifier(request.subject_id),
        "subject_id_check_failed": request.subject_id_check_failed,
        "applicant_kind": request.applicant_kind,
        "applicant_dept": request.applicant_dept,
        "items": list(request.items),
        "status": request.status,
        "received_on": request.received_on,
        "deadline": request.deadline,
        "deadline_estimated": request.deadline_estimated,
        **extra,
    }


# --- consumed: the catalog projection --------------------------------------------------------------------

# Events whose revision is the one others see: their items are the resource's items.
_SHOWN_REVISION_EVENTS = frozenset({RESOURCE_PUBLISHED, RESOURCE_RETIRED})


async def apply_resource_event(session: AsyncSession, event: Event) -> None:
    """Project a resource event; an event older than (or as old as) what was applied is ignored."""
    data = ResourceEventData.model_validate(event.data)
    query = sa.select(CatalogResource).where(CatalogResource.resource_id == data.resource_id).with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is not None and event.version <= row.event_version:
        return
    if row is None:
        row = CatalogResource(
            resource_id=data.resource_id,
            provider_dept=data.provider_dept,
            name=data.name,
            items=_items(data),
            status=data.status,
            revision=data.revision,
            event_version=event.version,
            updated_at=event.time,
        )
        session.add(row)
        return
    row.provider_dept = data.provider_dept
    row.status = data.status
    row.event_version = event.version
    row.updated_at = event.time
    # A submitted or rejected draft, or the superseded old revision, does not change what the resource holds.
    if event.type in _SHOWN_REVISION_EVENTS:
        row.name = data.name
        row.items = _items(data)
        row.revision = data.revision


def _items(data: ResourceEventData) -> list[dict[str, str]]:
    return [{"code": item.code, "name": item.name} for item in data.items]


CONSUMED_TOPICS: tuple[str, ...] = (TOPICS["catalog"],)
HANDLERS: dict[str, Handler] = {
    event_type: apply_resource_event
    for event_type in (
        RESOURCE_SUBMITTED,
        RESOURCE_PUBLISHED,
        RESOURCE_REJECTED,
        RESOURCE_SUPERSEDED,
        RESOURCE_RETIRED,
    )
}
