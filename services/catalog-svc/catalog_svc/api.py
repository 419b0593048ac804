"""HTTP routes of catalog-svc, mounted under /api/catalog (API.md "Catalog"). Thin: each calls one operation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Body, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from govdata_shared.auth import CurrentCaller, Role
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.service import Now, SessionDep

from catalog_svc import lists, search, service
from catalog_svc.models import Resource, UpdateTrigger
from catalog_svc.schemas import (
    Category,
    DemandIn,
    DemandOut,
    OverdueItem,
    OverlapIn,
    RefreshIn,
    ResourceCreate,
    ResourceFormat,
    ResourceOut,
    ResourcePage,
    ResourcePatch,
    ResponsibilityList,
    RetireIn,
    ReviewIn,
    RevisionIn,
    SecurityLevel,
    SharingType,
    TriggerIn,
    TriggerOut,
)

router = APIRouter()


def _is_postgres(request: Request) -> bool:
    return request.app.state.db.is_postgres


@router.get("/whoami")
async def whoami(caller: CurrentCaller) -> dict:
    """The authenticated caller as this service sees it."""
    return {"sub": caller.sub, "dept": caller.dept, "roles": sorted(caller.roles)}


@router.post("/resources", status_code=201, response_model=ResourceOut)
async def create_resource(
    body: ResourceCreate, caller: CurrentCaller, session: SessionDep, request: Request, now: Now
) -> ResourceOut:
    """Register a resource as a draft of the caller's department."""
    resource = await service.create_resource(session, _is_postgres(request), caller, body, now)
    return await service.resource_view(session, resource, caller)


@router.get("/resources", response_model=ResourcePage)
async def list_resources(
    caller: CurrentCaller,
    session: SessionDep,
    request: Request,
    q: Annotated[str | None, Query(max_length=100, description="关键词，空格分隔多个词")] = None,
    provider_dept: str | None = None,
    category: Category | None = None,
    sharing_type: SharingType | None = None,
    security_level: SecurityLevel | None = None,
    format: ResourceFormat | None = None,
    status: Literal["published", "draft", "submitted", "rejected", "retired"] = "published",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ResourcePage:
    """Search the catalog. Everyone sees published and retired resources; unpublished ones only their
    department (and the bureau) sees."""
    if status not in ("published", "retired") and not (caller.is_bureau or caller.has_role(Role.AUDITOR)):
        if not caller.dept:
            raise Problem(403, "department_role_required", "只有部门可以查看未发布的资源")
        if provider_dept and provider_dept != caller.dept:
            raise Problem(403, "not_your_department", "只能查看本部门未发布的资源")
        provider_dept = caller.dept
    try:
        found = await search.search(
            session,
            _is_postgres(request),
            q=q,
            provider_dept=provider_dept,
            category=category.value if category else None,
            sharing_type=sharing_type.value if sharing_type else None,
            security_level=security_level.value if security_level else None,
            format=format.value if format else None,
            status=status,
            page=page,
            size=size,
        )
    except ValueError as exc:
        raise validation_problem([{"field": "q", "rule": "invalid_query", "detail": str(exc)}]) from None
    items = []
    for resource_id in found.ids:
        resource = await session.get(Resource, resource_id)
        if resource is not None:
            items.append(await service.resource_view(session, resource, caller))
    return ResourcePage(items=items, total=found.total, page=page, size=size)


@router.get("/resources/{resource_id}", response_model=ResourceOut)
async def get_resource(
    resource_id: str, caller: CurrentCaller, session: SessionDep, version: Annotated[int | None, Query(ge=1)] = None
) -> ResourceOut:
    resource = await service.visible_resource(session, caller, resource_id)
    return await service.resource_view(session, resource, caller, version)


@router.patch("/resources/{resource_id}", response_model=ResourceOut)
async def patch_resource(
    resource_id: str, body: ResourcePatch, caller: CurrentCaller, session: SessionDep, request: Request, now: Now
) -> ResourceOut:
    """Edit the draft (or rejected) revision; the provider department only."""
    resource = await service.patch_resource(session, _is_postgres(request), caller, resource_id, body, now)
    return await service.resource_view(session, resource, caller, resource.latest_version)


@router.post("/resources/{resource_id}/submit", response_model=ResourceOut)
async def submit_resource(
    resource_id: str, caller: CurrentCaller, session: SessionDep, request: Request, now: Now
) -> ResourceOut:
    """Submit for the bureau's review; the review deadline is 5 working days (第十四条)."""
    resource = await service.submit_resource(session, _is_postgres(request), caller, resource_id, now)
    return await service.resource_view(session, resource, caller, resource.latest_version)


@router.post("/resources/{resource_id}/review", response_model=ResourceOut)
async def review_resource(
    resource_id: str, body: ReviewIn, caller: CurrentCaller, session: SessionDep, request: Request, now: Now
) -> ResourceOut:
    """The bureau approves (publishes) or rejects (with a reason) the submitted revision."""
    resource = await service.review_resource(
        session, _is_postgres(request), caller, resource_id, body.decision, body.reason, now
    )
    return await service.resource_view(session, resource, caller, resource.latest_version)


@router.post("/resources/{resource_id}/revisions", status_code=201, response_model=ResourceOut)
async def create_revision(
    resource_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    request: Request,
    now: Now,
    body: Annotated[RevisionIn | None, Body()] = None,
) -> ResourceOut:
    """Start a new draft revision of a published resource (the published one stays visible until the new
    one is approved)."""
    resource = await service.create_revision(session, _is_postgres(request), caller, resource_id, body, now)
    return await service.resource_view(session, resource, caller, resource.latest_version)


@router.post("/resources/{resource_id}/retire", response_model=ResourceOut)
async def retire_resource(
    resource_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    request: Request,
    now: Now,
    body: Annotated[RetireIn | None, Body()] = None,
) -> ResourceOut:
    resource = await service.retire_resource(
        session, _is_postgres(request), caller, resource_id, body.reason if body else None, now
    )
    return await service.resource_view(session, resource, caller)


@router.get("/resources/{resource_id}/revisions")
async def list_revisions(resource_id: str, caller: CurrentCaller, session: SessionDep) -> list[dict]:
    """The revision history (owners and the bureau see every revision; others the published ones)."""
    resource = await service.visible_resource(session, caller, resource_id)
    owner = service.can_see_unpublished(caller, resource)
    history = []
    for version in range(resource.latest_version, 0, -1):
        revision = await service.get_revision(session, resource_id, version)
        if owner or revision.status in ("published", "superseded"):
            history.append(
                {
                    "version": revision.version,
                    "status": revision.status,
                    "name": revision.name,
                    "submitted_at": revision.submitted_at,
                    "reviewed_at": revision.reviewed_at,
                    "review_reason": revision.review_reason,
                    "published_at": revision.published_at,
                    "superseded_at": revision.superseded_at,
                }
            )
    return history


@router.post("/resources/{resource_id}/refreshes", status_code=201)
async def report_refresh(
    resource_id: str, body: RefreshIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> dict:
    """The provider reports that it refreshed the resource's data (采集责任清单)."""
    report = await lists.report_refresh(session, caller, resource_id, body, now)
    return {
        "id": report.id,
        "resource_id": report.resource_id,
        "refreshed_at": report.refreshed_at,
        "record_count": report.record_count,
    }


@router.post("/authority-overlaps", status_code=201)
async def allow_overlap(body: OverlapIn, caller: CurrentCaller, session: SessionDep, now: Now) -> dict:
    """The bureau allows a department to be a second authoritative source of an item (一数一源 exception)."""
    overlap = await service.allow_overlap(session, caller, body, now)
    return {"item_code": overlap.item_code, "dept": overlap.dept, "reason": overlap.reason}


@router.post("/triggers", status_code=201, response_model=TriggerOut)
async def record_trigger(body: TriggerIn, caller: CurrentCaller, session: SessionDep, now: Now) -> UpdateTrigger:
    """第十四条: record that a law or the department's duties changed; the update is due in 10 working days."""
    return await service.record_trigger(session, caller, body, now)


@router.get("/triggers", response_model=list[TriggerOut])
async def list_triggers(
    caller: CurrentCaller, session: SessionDep, open_only: Annotated[bool, Query(alias="open")] = False
) -> list[UpdateTrigger]:
    query = sa.select(UpdateTrigger).order_by(UpdateTrigger.submit_deadline)
    if not (caller.is_bureau or caller.has_role(Role.AUDITOR)):
        query = query.where(UpdateTrigger.dept == service.require_department(caller))
    if open_only:
        query = query.where(UpdateTrigger.reviewed_at.is_(None))
    return list((await session.execute(query)).scalars())


@router.get("/overdue", response_model=list[OverdueItem])
async def list_overdue(caller: CurrentCaller, session: SessionDep, now: Now) -> list[dict]:
    """Catalog updates and reviews past their 第十四条 deadlines (the bureau sees all; a department its own)."""
    dept = None if (caller.is_bureau or caller.has_role(Role.AUDITOR)) else service.require_department(caller)
    return [{k: v for k, v in item.items() if k != "_row"} for item in await service.overdue_items(session, now, dept)]


@router.post("/demands", status_code=201, response_model=DemandOut)
async def record_demand(body: DemandIn, caller: CurrentCaller, session: SessionDep, now: Now):
    """需求清单: data the department needs from other departments."""
    return await lists.record_demand(session, caller, body, now)


@router.get("/demands", response_model=list[DemandOut])
async def list_demands(caller: CurrentCaller, session: SessionDep, status: Literal["open", "met"] | None = None):
    return await lists.list_demands(session, caller, status)


@router.post("/demands/{demand_id}/meet", response_model=DemandOut)
async def meet_demand(
    demand_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    resource_id: Annotated[str | None, Body(embed=True)] = None,
):
    return await lists.meet_demand(session, caller, demand_id, resource_id, now)


@router.get("/departments/{dept}/responsibilities", response_model=ResponsibilityList)
async def responsibilities(dept: str, caller: CurrentCaller, session: SessionDep, now: Now) -> ResponsibilityList:
    """采集责任清单 (第十三条) with the late-for-its-cycle flag."""
    return await lists.responsibilities(session, caller, dept, now)


@router.get("/export")
async def export_catalog(
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    since: Annotated[datetime | None, Query(description="ISO 8601; only resources changed after it")] = None,
    format: Literal["json", "jsonld"] = "json",
):
    """The published catalog for the city platform (第二十三条), incremental with `since`."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    export = await lists.export_catalog(session, caller, since, now)
    if format == "jsonld":
        return JSONResponse(jsonable_encoder(lists.as_dcat(export)), media_type="application/ld+json")
    return export


@router.get("/internal/interfaces")
async def interface_snapshot(caller: CurrentCaller, session: SessionDep) -> list[dict]:
    """What the gateway's resource projection starts from: every published or retired resource's items and
    interface (with the credential reference, never a secret), with its aggregate version."""
    if not caller.has_role(Role.GATEWAY):
        raise Problem(403, "gateway_only", "仅供平台网关使用")
    return await service.interface_snapshot(session)
