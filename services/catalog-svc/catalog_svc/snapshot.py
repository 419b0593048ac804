"""The snapshot the gateway's resource projection starts from: every published or retired resource's items and
interface (with its address and credential reference, never a secret) at its aggregate version. Events say that
a resource changed but carry no address (API.md "Catalog"), so on each `published` the gateway reads that one
resource's entry again (`interface_entry`)."""

from __future__ import annotations

from typing import Any

from govdata_shared.repository import not_found
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import events
from catalog_svc.domain import ResourceStatus, interface_with_defaults
from catalog_svc.models import Resource, ResourceRevision, published_revisions

_SERVED = (ResourceStatus.PUBLISHED, ResourceStatus.RETIRED)


def _entry(resource: Resource, revision: ResourceRevision) -> dict[str, Any]:
    return {
        "resource_id": resource.id,
        "provider_dept": resource.provider_dept,
        "status": resource.status,
        "version": resource.event_version,
        "revision": revision.version,
        "sharing_type": revision.sharing_type,
        "items": events.snapshot_items(revision.items),
        "interface": interface_with_defaults(revision.interface),
    }


async def interface_snapshot(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(published_revisions().where(Resource.status.in_(_SERVED)).order_by(Resource.id))
    ).all()
    return [_entry(resource, revision) for resource, revision in rows]


async def interface_entry(session: AsyncSession, resource_id: str) -> dict[str, Any]:
    """One resource's entry of the snapshot, as it is now; 404 unless it is published or retired."""
    row = (
        await session.execute(published_revisions().where(Resource.id == resource_id, Resource.status.in_(_SERVED)))
    ).one_or_none()
    if row is None:
        raise not_found(Resource, resource_id)
    return _entry(*row)
