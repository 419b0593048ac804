"""Reading the catalog as the caller may: one resource (or one of its versions), a page of the search
(目录检索), a resource's revision history. However many resources a page holds, it takes the search's query
(and its count) and one more for those resources with their revisions."""

from __future__ import annotations

from typing import Any

from govdata_shared.auth import Caller
from govdata_shared.errors import validation_problem
from govdata_shared.repository import get_or_404
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import access, responses, search
from catalog_svc.models import Resource
from catalog_svc.schemas import ResourceOut, ResourcePage


async def read_resource(session: AsyncSession, *, caller: Caller, resource_id: str, version: int | None) -> ResourceOut:
    """The resource as the caller sees it; `version` one of its revisions (others than the published one only
    for its provider and the overseers)."""
    return await responses.resource_view(session, caller, resource_id, version)


async def list_resources(
    session: AsyncSession,
    *,
    caller: Caller,
    status: str,
    provider_dept: str | None,
    page: int,
    size: int,
    **query: str | None,
) -> ResourcePage:
    """One page of the search, best match first (newest first without words); `query`: the words `q` and the
    facets of search.search."""
    try:
        found = await search.search(
            session,
            search.is_postgres(session),
            provider_dept=access.listing_dept(caller, status, provider_dept),
            status=status,
            page=page,
            size=size,
            **query,
        )
    except ValueError as exc:
        raise validation_problem([{"field": "q", "rule": "invalid_query", "detail": str(exc)}]) from None
    items = await responses.resource_views(session, caller, found.ids)
    return ResourcePage(items=items, total=found.total, page=page, size=size)


async def list_revisions(session: AsyncSession, *, caller: Caller, resource_id: str) -> list[dict[str, Any]]:
    """The revision history, newest first (the provider and overseers see every revision; others the
    published ones)."""
    resource = await get_or_404(session, Resource, resource_id, where=access.readable_resource(caller))
    return await responses.revision_history(session, caller, resource)
