"""The snapshot the gateway's resource projection starts from: every published or retired resource's items and
interface (with the credential reference, never a secret) at its aggregate version; events carry it on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import events
from catalog_svc.domain import ResourceStatus, interface_with_defaults
from catalog_svc.models import Resource, published_revisions


async def interface_snapshot(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            published_revisions()
            .where(Resource.status.in_((ResourceStatus.PUBLISHED, ResourceStatus.RETIRED)))
            .order_by(Resource.id)
        )
    ).all()
    return [
        {
            "resource_id": resource.id,
            "provider_dept": resource.provider_dept,
            "status": resource.status,
            "version": resource.event_version,
            "revision": revision.version,
            "sharing_type": revision.sharing_type,
            "items": events.snapshot_items(revision.items),
            "interface": interface_with_defaults(revision.interface),
        }
        for resource, revision in rows
    ]
