"""Resources as a caller sees them (ResourceOut), read with one query however many there are.

A resource shows its published revision (or, before its first publication, its latest); its provider
department, the bureau and auditors also see the pending revision beside it, and may ask for any version. Its
interface's address only its provider department, the bureau and the gateway see (API.md "Catalog").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.repository import not_found
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from catalog_svc import access, domain
from catalog_svc.models import Resource, ResourceRevision
from catalog_svc.schemas import InterfaceDetailOut, InterfaceOut, PendingRevision, ResourceFields, ResourceOut


def revision_fields(revision: ResourceRevision) -> dict[str, Any]:
    """The editable metadata a revision holds (all of ResourceFields but the resource's code)."""
    return {name: getattr(revision, name) for name in ResourceFields.model_fields if name != "code"}


def interface_out(interface: dict[str, Any] | None, *, with_address: bool) -> InterfaceDetailOut | InterfaceOut | None:
    """The interface as the caller may see it: its address only `with_address` (access.sees_interface_address)."""
    filled = domain.interface_with_defaults(interface)
    if filled is None:
        return None
    if not with_address:
        return InterfaceOut(**domain.public_interface(filled))
    # The credential reference stays inside: even its provider learns only that there is one.
    return InterfaceDetailOut(**filled, has_credential=bool(filled.get("credential_ref")))


def resource_out(
    caller: Caller, resource: Resource, shown: ResourceRevision, pending: PendingRevision | None = None
) -> ResourceOut:
    return ResourceOut(
        id=resource.id,
        code=resource.code,
        provider_dept=resource.provider_dept,
        status=resource.status,
        version=shown.version,
        published_version=resource.published_version,
        **{k: v for k, v in revision_fields(shown).items() if k != "interface"},
        interface=interface_out(shown.interface, with_address=access.sees_interface_address(caller, resource)),
        revision_status=shown.status,
        submitted_at=shown.submitted_at,
        review_deadline=shown.review_deadline,
        review_deadline_estimated=shown.review_deadline_estimated,
        review_reason=shown.review_reason,
        published_at=shown.published_at,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
        pending_revision=pending,
    )


def shown_version(resource: Resource, version: int | None = None) -> int:
    """The version a view shows: the one asked for, else the published one, else the latest."""
    return version if version is not None else resource.published_version or resource.latest_version


# Built once: an alias made per request costs milliseconds and defeats SQLAlchemy's compiled-statement cache.
_SHOWN = aliased(ResourceRevision, name="shown")
_LATEST = aliased(ResourceRevision, name="latest")


def _statement(caller: Caller, version: int | None) -> sa.Select:
    """Resources the caller may read, each with its shown revision (`version`, else the published, else the
    latest; outer-joined, so a missing version leaves it None) and the status of the latest revision when it
    is another one."""
    shown, latest = _SHOWN, _LATEST
    if version is not None:
        wanted: sa.ColumnElement[int] = sa.literal(version)
    else:
        wanted = sa.func.coalesce(Resource.published_version, Resource.latest_version)
    return (
        sa.select(Resource, shown, latest.version, latest.status, latest.review_deadline)
        .outerjoin(shown, sa.and_(shown.resource_id == Resource.id, shown.version == wanted))
        .outerjoin(
            latest,
            sa.and_(
                latest.resource_id == Resource.id,
                latest.version == Resource.latest_version,
                latest.version != wanted,
            ),
        )
        .where(access.readable_resource(caller))
    )


def _pending(
    caller: Caller, resource: Resource, version: int | None, status: str | None, deadline: date | None
) -> PendingRevision | None:
    """The undecided latest revision, for those who see unpublished work."""
    if version is None or status not in domain.PENDING_STATUSES or not access.sees_unpublished(caller, resource):
        return None
    return PendingRevision(version=version, status=status, review_deadline=deadline)


async def resource_views(session: AsyncSession, caller: Caller, ids: Sequence[str]) -> list[ResourceOut]:
    """The resources of `ids` the caller may read, in the order of `ids` (ids of resources gone are skipped)."""
    if not ids:
        return []
    rows = (await session.execute(_statement(caller, None).where(Resource.id.in_(ids)))).all()
    views = {
        resource.id: resource_out(caller, resource, shown, _pending(caller, resource, *latest))
        for resource, shown, *latest in rows
        if shown is not None
    }
    return [views[i] for i in ids if i in views]


async def resource_view(
    session: AsyncSession, caller: Caller, resource_id: str, version: int | None = None
) -> ResourceOut:
    """One resource as the caller may read it; `version` (for those who see unpublished work) any revision.
    404 resource_not_found when it is not readable, 404 revision_not_found for a version not shown."""
    row = (await session.execute(_statement(caller, version).where(Resource.id == resource_id))).one_or_none()
    if row is None:
        raise not_found(Resource, resource_id)
    resource, shown, *latest = row
    hidden = (
        version is not None and version != resource.published_version and not access.sees_unpublished(caller, resource)
    )
    if shown is None or hidden:
        raise not_found(ResourceRevision, resource_id, shown_version(resource, version))
    return resource_out(caller, resource, shown, _pending(caller, resource, *latest))


async def revision_history(session: AsyncSession, caller: Caller, resource: Resource) -> list[dict[str, Any]]:
    """The revisions newest first: every one for those who see unpublished work, else the published ones."""
    query = (
        sa.select(
            ResourceRevision.version,
            ResourceRevision.status,
            ResourceRevision.name,
            ResourceRevision.submitted_at,
            ResourceRevision.reviewed_at,
            ResourceRevision.review_reason,
            ResourceRevision.published_at,
            ResourceRevision.superseded_at,
        )
        .where(ResourceRevision.resource_id == resource.id)
        .order_by(ResourceRevision.version.desc())
    )
    if not access.sees_unpublished(caller, resource):
        query = query.where(ResourceRevision.status.in_(domain.PUBLIC_REVISION_STATUSES))
    return [dict(row._mapping) for row in await session.execute(query)]
