"""重复采集 (第十六条 一数一源, 第四十一条(三)): the item codes that the published resources of two or more
departments offer, for the bureau to rule on. A department offering such an item is in order when it is the item's
authoritative source or the bureau allowed its overlap (AuthorityOverlap); an item is listed while one of the
departments offering it is neither. Items are matched by code only: a generic code (`name`, `updated_at`) shared by
many departments is listed like any other, and the bureau allows what it finds legitimate."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc.domain import ResourceStatus
from catalog_svc.models import AuthorityOverlap, Resource, published_revisions
from catalog_svc.schemas import ItemOverlapOut, OfferingDepartment, OfferingResource


@dataclass
class _Offer:
    """What one department's published resources say of one item code."""

    authoritative: bool = False
    key_identifier: bool = False  # collected as the key identifier of its records (第十六条)
    resources: list[OfferingResource] = field(default_factory=list)


async def item_overlaps(session: AsyncSession, *, scope: str = "sourced") -> list[ItemOverlapOut]:
    """Every item code offered by several departments with one of them not in order (`scope` "sourced": only those
    with an authoritative source; "all": every one). Those with an authoritative source come first, then the most
    departments not in order, then by code."""
    rows = await session.execute(
        published_revisions()
        .where(Resource.status == ResourceStatus.PUBLISHED)
        .order_by(Resource.provider_dept, Resource.code)
    )
    offers: dict[str, dict[str, _Offer]] = {}
    for resource, revision in rows:
        for item in revision.items:
            offer = offers.setdefault(item["code"], {}).setdefault(resource.provider_dept, _Offer())
            offer.authoritative = offer.authoritative or bool(item.get("authoritative"))
            offer.key_identifier = offer.key_identifier or bool(item.get("identifier"))
            offer.resources.append(
                OfferingResource(
                    id=resource.id, code=resource.code, name=revision.name, item_name=item.get("name") or item["code"]
                )
            )
    shared = {code: by_dept for code, by_dept in offers.items() if len(by_dept) > 1}
    if not shared:
        return []
    rows = await session.execute(
        sa.select(AuthorityOverlap.item_code, AuthorityOverlap.dept).where(AuthorityOverlap.item_code.in_(shared))
    )
    allowed = {(code, dept) for code, dept in rows}
    listed = []
    for code, by_dept in shared.items():
        departments = [
            OfferingDepartment(
                dept=dept,
                item_name=offer.resources[0].item_name,
                authoritative=offer.authoritative,
                allowed_overlap=(code, dept) in allowed,
                key_identifier=offer.key_identifier,
                resources=offer.resources,
            )
            for dept, offer in sorted(by_dept.items())
        ]
        unresolved = [d.dept for d in departments if not (d.authoritative or d.allowed_overlap or d.key_identifier)]
        sourced = any(d.authoritative for d in departments)
        if unresolved and (sourced or scope == "all"):
            listed.append(
                ItemOverlapOut(
                    item_code=code,
                    has_authoritative_source=sourced,
                    unresolved_depts=unresolved,
                    departments=departments,
                )
            )
    listed.sort(key=lambda o: (not o.has_authoritative_source, -len(o.unresolved_depts), o.item_code))
    return listed
