"""What sharing-svc keeps of others and gives to others: reads of the catalog projection (the resources
requests and disputes name; kept up to date by events.apply_catalog_event) and the snapshot the gateway's grant
projection starts from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from govdata_shared.errors import Problem
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc.events import grant_payload
from sharing_svc.models import CatalogResource, Grant


async def catalog_resource(session: AsyncSession, resource_id: str, *, unknown: str) -> CatalogResource:
    """The resource as the catalog last published or retired it; 404 `resource_unknown` (saying `unknown`) when
    the catalog never published it."""
    resource = await session.get(CatalogResource, resource_id)
    if resource is None:
        raise Problem(404, "resource_unknown", unknown, field="resource_id", rule="published_resource")
    return resource


async def resource_name(session: AsyncSession, resource_id: str) -> str | None:
    resource = await session.get(CatalogResource, resource_id)
    return resource.name if resource else None


async def grant_snapshot(session: AsyncSession) -> list[dict[str, Any]]:
    """What the gateway's grant projection starts from: every grant with its aggregate version."""
    grants = (await session.execute(sa.select(Grant).order_by(Grant.id))).scalars()
    return [{**grant_payload(g), "version": g.version} for g in grants]
