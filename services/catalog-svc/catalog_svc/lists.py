"""The catalog's lists (the demand list, 需求清单 of 第十二条, is in demands.py): the data-refresh reports the
responsibility list reads (采集责任清单, 第十三条; the list itself is in responsibility.py), and the export of the
published catalog for the city platform (第二十三条)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem
from govdata_shared.publish import publish
from govdata_shared.repository import get_or_404, new_id
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import access, domain, events
from catalog_svc.domain import ResourceStatus, UpdateCycle
from catalog_svc.models import RefreshReport, Resource, ResourceRevision, published_revisions
from catalog_svc.schemas import RefreshIn

# --- refresh reports and the responsibility list (采集责任清单, 第十三条) ----------------------------------------


async def report_refresh(
    session: AsyncSession, *, caller: Caller, resource_id: str, body: RefreshIn, now: datetime
) -> dict[str, Any]:
    """The provider reports that it refreshed the resource's data; the event says whether it came late."""
    resource = await get_or_404(session, Resource, resource_id, for_update=True)
    access.require_provider(caller, resource)
    if resource.status != ResourceStatus.PUBLISHED:
        raise Problem(409, "not_published", "只有已发布的资源可以报告数据更新")
    refreshed_at = body.refreshed_at or now
    if refreshed_at.tzinfo is None:
        raise Problem(
            422, "validation_failed", "refreshed_at 必须带时区", field="refreshed_at", rule="timezone_required"
        )
    if refreshed_at > now:
        raise Problem(422, "validation_failed", "数据更新时间不能晚于现在", field="refreshed_at", rule="not_in_future")
    revision = await get_or_404(session, ResourceRevision, (resource.id, resource.published_version))
    last = (
        await session.execute(
            sa.select(sa.func.max(RefreshReport.refreshed_at)).where(RefreshReport.resource_id == resource.id)
        )
    ).scalar_one()
    cycle = UpdateCycle(revision.update_cycle)
    due_by = domain.refresh_due(cycle, last or resource.published_at)
    late = domain.is_refresh_late(cycle, last or resource.published_at, refreshed_at)
    report = RefreshReport(
        id=new_id("rfr"),
        resource_id=resource.id,
        dept=resource.provider_dept,
        refreshed_at=refreshed_at,
        record_count=body.record_count,
        note=body.note,
        reported_by=caller.sub,
        reported_at=now,
    )
    session.add(report)
    resource.event_version += 1
    await publish(
        session,
        events.RESOURCE_REFRESHED,
        resource.id,
        events.refresh_payload(report, late=late, due_by=due_by),
        caller=caller,
        version=resource.event_version,
        dept=resource.provider_dept,
        source=events.SOURCE,
    )
    return {
        "id": report.id,
        "resource_id": report.resource_id,
        "refreshed_at": report.refreshed_at,
        "record_count": report.record_count,
    }


async def emit_refresh_overdue(session: AsyncSession, now: datetime) -> int:
    """Announce once each published resource whose data passed its refresh due date (第十三条): without it a
    department that never reports a refresh would look clean. Returns how many were announced."""
    rows = (await session.execute(published_revisions().where(Resource.status == ResourceStatus.PUBLISHED))).all()
    refreshed = dict(
        (
            await session.execute(
                sa.select(RefreshReport.resource_id, sa.func.max(RefreshReport.refreshed_at)).group_by(
                    RefreshReport.resource_id
                )
            )
        ).all()
    )
    emitted = 0
    for resource, revision in rows:
        last = refreshed.get(resource.id)
        due_by = domain.refresh_due(UpdateCycle(revision.update_cycle), last or resource.published_at)
        if due_by is None or now <= due_by or resource.refresh_overdue_due == due_by:
            continue
        resource.refresh_overdue_due = due_by
        resource.event_version += 1
        await publish(
            session,
            events.REFRESH_OVERDUE,
            resource.id,
            events.refresh_overdue_payload(resource, revision.update_cycle, due_by, last),
            caller=None,
            version=resource.event_version,
            dept=resource.provider_dept,
            source=events.SOURCE,
        )
        emitted += 1
    return emitted


# --- export for the city platform ------------------------------------------------------------------------

DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "adms": "http://www.w3.org/ns/adms#",
    "govdata": "https://govdata.yichuan.gov.cn/ns#",
}


async def export_catalog(
    session: AsyncSession, *, since: datetime | None, format: str, now: datetime
) -> dict[str, Any] | JSONResponse:
    """Published (and, for incremental pulls, retired) resources changed after `since`, oldest change first;
    `format` json, or jsonld for the same in DCAT terms."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    query = published_revisions().order_by(Resource.updated_at, Resource.id)
    if since is None:
        query = query.where(Resource.status == ResourceStatus.PUBLISHED)
    else:
        query = query.where(
            Resource.updated_at > since, Resource.status.in_((ResourceStatus.PUBLISHED, ResourceStatus.RETIRED))
        )
    rows = (await session.execute(query)).all()
    resources = [
        {
            "id": resource.id,
            "code": resource.code,
            "status": resource.status,
            "provider_dept": resource.provider_dept,
            "version": revision.version,
            "name": revision.name,
            "summary": revision.summary,
            "category": revision.category,
            "format": revision.format,
            "items": [{k: v for k, v in item.items() if v is not None} for item in revision.items],
            "sharing_type": revision.sharing_type,
            "sharing_conditions": revision.sharing_conditions,
            "legal_basis": revision.legal_basis,
            "sharing_method": revision.sharing_method,
            "open_type": revision.open_type,
            "open_conditions": revision.open_conditions,
            "security_level": revision.security_level,
            "update_cycle": revision.update_cycle,
            "usage_requirements": revision.usage_requirements,
            "related_codes": revision.related_codes,
            "no_state_secrets": revision.no_state_secrets,
            "published_at": revision.published_at,
            "updated_at": resource.updated_at,
        }
        for resource, revision in rows
    ]
    next_since = max((r["updated_at"] for r in resources), default=since or now)
    export = {"generated_at": now, "since": since, "next_since": next_since, "resources": resources}
    if format == "jsonld":
        return JSONResponse(jsonable_encoder(as_dcat(export)), media_type="application/ld+json")
    return export


def as_dcat(export: dict[str, Any]) -> dict[str, Any]:
    """The same export in DCAT terms (JSON-LD)."""
    graph = []
    for r in export["resources"]:
        graph.append(
            {
                "@id": f"govdata:resource/{r['id']}",
                "@type": "dcat:Dataset",
                "dct:identifier": r["code"],
                "dct:title": {"@value": r["name"], "@language": "zh"},
                "dct:description": {"@value": r["summary"], "@language": "zh"},
                "dct:publisher": {"@id": f"govdata:dept/{r['provider_dept']}"},
                "dct:issued": r["published_at"],
                "dct:modified": r["updated_at"],
                "dct:accrualPeriodicity": r["update_cycle"],
                "dct:accessRights": r["sharing_type"],
                "adms:status": r["status"],
                "govdata:securityLevel": r["security_level"],
                "govdata:category": r["category"],
                "govdata:noStateSecrets": r["no_state_secrets"],
                "dct:format": r["format"],
                "govdata:items": [
                    {"govdata:code": i["code"], "dct:title": i["name"], "govdata:type": i["type"]} for i in r["items"]
                ],
            }
        )
    return {
        "@context": DCAT_CONTEXT,
        "@type": "dcat:Catalog",
        "dct:title": "伊川县政务数据资源目录",
        "dct:modified": export["next_since"],
        "@graph": graph,
    }
