"""The catalog's lists: demand list (需求清单, 第十二条), responsibility list with data-refresh reports
(采集责任清单, 第十三条), and the export of the published catalog for the city platform (第二十三条)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller, Role
from govdata_shared.errors import Problem
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import domain, events
from catalog_svc.models import Demand, RefreshReport, Resource, ResourceRevision
from catalog_svc.schemas import DemandIn, RefreshIn, ResponsibilityList, ResponsibilityOut, UpdateCycle
from catalog_svc.service import emit, get_resource, new_id, require_department, require_provider

# --- demands -------------------------------------------------------------------------------------------


async def record_demand(session: AsyncSession, caller: Caller, body: DemandIn, now: datetime) -> Demand:
    dept = require_department(caller)
    if body.resource_id is not None:
        await get_resource(session, body.resource_id)
    demand = Demand(
        id=new_id("dmd"),
        dept=dept,
        title=body.title,
        description=body.description,
        resource_id=body.resource_id,
        status="open",
        created_by=caller.sub,
        created_at=now,
    )
    session.add(demand)
    await emit(session, events.DEMAND_RECORDED, demand.id, _demand_event(demand), caller=caller, version=1, dept=dept)
    return demand


async def meet_demand(
    session: AsyncSession, caller: Caller, demand_id: str, resource_id: str | None, now: datetime
) -> Demand:
    demand = await session.get(Demand, demand_id)
    if demand is None or not (caller.is_bureau or caller.dept == demand.dept):
        raise Problem(404, "demand_not_found", f"需求 {demand_id} 不存在")
    if demand.status == "met":
        raise Problem(409, "demand_met", "该需求已满足")
    if resource_id is not None:
        await get_resource(session, resource_id)
        demand.resource_id = resource_id
    demand.status = "met"
    demand.met_at = now
    await emit(session, events.DEMAND_MET, demand.id, _demand_event(demand), caller=caller, version=2, dept=demand.dept)
    return demand


def _demand_event(demand: Demand) -> dict[str, Any]:
    return {
        "demand_id": demand.id,
        "dept": demand.dept,
        "title": demand.title,
        "resource_id": demand.resource_id,
        "status": demand.status,
    }


async def list_demands(session: AsyncSession, caller: Caller, status: str | None) -> list[Demand]:
    """The bureau sees every department's demands (unmet ones with status=open); a department its own."""
    query = sa.select(Demand).order_by(Demand.created_at.desc())
    if not (caller.is_bureau or caller.has_role(Role.AUDITOR)):
        query = query.where(Demand.dept == require_department(caller))
    if status:
        query = query.where(Demand.status == status)
    return list((await session.execute(query)).scalars())


# --- refresh reports and the responsibility list -------------------------------------------------------


async def last_refresh(session: AsyncSession, resource_id: str) -> datetime | None:
    return (
        await session.execute(
            sa.select(sa.func.max(RefreshReport.refreshed_at)).where(RefreshReport.resource_id == resource_id)
        )
    ).scalar_one()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def report_refresh(
    session: AsyncSession, caller: Caller, resource_id: str, body: RefreshIn, now: datetime
) -> RefreshReport:
    resource = await get_resource(session, resource_id, for_update=True)
    require_provider(caller, resource)
    if resource.status != "published":
        raise Problem(409, "not_published", "只有已发布的资源可以报告数据更新")
    refreshed_at = body.refreshed_at or now
    if refreshed_at.tzinfo is None:
        raise Problem(
            422, "validation_failed", "refreshed_at 必须带时区", field="refreshed_at", rule="timezone_required"
        )
    if refreshed_at > now:
        raise Problem(422, "validation_failed", "数据更新时间不能晚于现在", field="refreshed_at", rule="not_in_future")
    revision = await session.get(ResourceRevision, (resource.id, resource.published_version))
    previous = _aware(await last_refresh(session, resource.id)) or _aware(resource.published_at)
    late = domain.is_refresh_late(UpdateCycle(revision.update_cycle), previous, refreshed_at)
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
    await emit(
        session,
        events.RESOURCE_REFRESHED,
        resource.id,
        {
            "resource_id": resource.id,
            "provider_dept": resource.provider_dept,
            "refreshed_at": refreshed_at,
            "record_count": body.record_count,
            "late": late,
        },
        caller=caller,
        version=resource.event_version,
        dept=resource.provider_dept,
    )
    return report


async def responsibilities(session: AsyncSession, caller: Caller, dept: str, now: datetime) -> ResponsibilityList:
    """第十三条: the published resources a department must collect, and whether each is late for its cycle."""
    if not (caller.is_bureau or caller.has_role(Role.AUDITOR) or caller.dept == dept):
        raise Problem(403, "not_your_department", "只能查看本部门的责任清单")
    rows = (
        await session.execute(
            sa.select(Resource, ResourceRevision)
            .join(
                ResourceRevision,
                sa.and_(
                    ResourceRevision.resource_id == Resource.id, ResourceRevision.version == Resource.published_version
                ),
            )
            .where(Resource.provider_dept == dept, Resource.status == "published")
            .order_by(Resource.code)
        )
    ).all()
    refreshed = dict(
        (
            await session.execute(
                sa.select(RefreshReport.resource_id, sa.func.max(RefreshReport.refreshed_at))
                .where(RefreshReport.dept == dept)
                .group_by(RefreshReport.resource_id)
            )
        ).all()
    )
    items = []
    for resource, revision in rows:
        last = _aware(refreshed.get(resource.id))
        basis = last or _aware(resource.published_at)
        cycle = UpdateCycle(revision.update_cycle)
        items.append(
            ResponsibilityOut(
                resource_id=resource.id,
                code=resource.code,
                name=revision.name,
                update_cycle=cycle,
                last_refreshed_at=last,
                due_by=domain.refresh_due(cycle, basis),
                late=domain.is_refresh_late(cycle, basis, now),
            )
        )
    return ResponsibilityList(dept=dept, items=items, late_count=sum(1 for i in items if i.late))


# --- export for the city platform ------------------------------------------------------------------------

DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "adms": "http://www.w3.org/ns/adms#",
    "govdata": "https://govdata.yichuan.gov.cn/ns#",
}


async def export_catalog(
    session: AsyncSession, caller: Caller, since: datetime | None, now: datetime
) -> dict[str, Any]:
    """Published (and, for incremental pulls, retired) resources changed after `since`, oldest change first."""
    if not caller.has_role(Role.BUREAU_ADMIN, Role.CITY_PLATFORM, Role.AUDITOR):
        raise Problem(403, "export_not_allowed", "只有县政务服务和大数据管理局和市级平台可以导出目录")
    query = (
        sa.select(Resource, ResourceRevision)
        .join(
            ResourceRevision,
            sa.and_(
                ResourceRevision.resource_id == Resource.id, ResourceRevision.version == Resource.published_version
            ),
        )
        .order_by(Resource.updated_at, Resource.id)
    )
    if since is None:
        query = query.where(Resource.status == "published")
    else:
        query = query.where(Resource.updated_at > since, Resource.status.in_(("published", "retired")))
    rows = (await session.execute(query)).all()
    resources = []
    for resource, revision in rows:
        resources.append(
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
                "published_at": _aware(revision.published_at),
                "updated_at": _aware(resource.updated_at),
            }
        )
    next_since = max((r["updated_at"] for r in resources), default=since or now)
    return {"generated_at": now, "since": since, "next_since": next_since, "resources": resources}


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
