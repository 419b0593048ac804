"""HTTP routes of catalog-svc, mounted under /api/catalog (API.md "Catalog"). Thin: each declares who may call
it and calls one operation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import pydantic_core
from fastapi import APIRouter, Body, Depends, Path, Query, Response
from govdata_shared.auth import AuthorizeFirst, CurrentCaller, DepartmentStaff, gateway_only, requires_department
from govdata_shared.pages import PageCache, department_view
from govdata_shared.service import Now, ReadSessionDep, SessionDep

from catalog_svc import browse, demands, lifecycle, lists, overlaps, responsibility, snapshot, triggers
from catalog_svc.access import (
    DepartmentScope,
    assigns_responsibilities,
    bureau_only,
    department_scope,
    export_allowed,
    meets_demands,
    oversight_only,
    records_triggers,
    retires_resources,
)
from catalog_svc.domain import Category, Fulfilment, ResourceFormat, SecurityLevel, SharingType
from catalog_svc.lifecycle import UpstreamPolicyDep
from catalog_svc.models import Demand, UpdateTrigger
from catalog_svc.schemas import (
    DemandAnswerIn,
    DemandIn,
    DemandMeetIn,
    DemandOut,
    DemandReviewIn,
    ItemOverlapOut,
    OverdueItem,
    OverlapIn,
    RefreshIn,
    ResourceCreate,
    ResourceOut,
    ResourcePage,
    ResourcePatch,
    ResponsibilityEntryOut,
    ResponsibilityIn,
    ResponsibilityList,
    RetireIn,
    ReviewIn,
    RevisionIn,
    TriggerIn,
    TriggerOut,
    WithdrawIn,
)

# Who may call a route is decided before its body is read (AuthorizeFirst): a caller of the wrong role gets 403
# whatever the body, never a 422 describing the schema. Every write route declares its role gate; the checks that
# need the stored resource (its provider department) follow in the operation.
router = APIRouter(route_class=AuthorizeFirst)


# --- resources ---------------------------------------------------------------------------------------------

# Kept per caller's view and query while the catalog's data version is unchanged (govdata_shared.pages).
RESOURCE_PAGES = PageCache("catalog.resources")


@router.post("/resources", status_code=201, response_model=ResourceOut)
async def create_resource(
    body: ResourceCreate, caller: DepartmentStaff, session: SessionDep, now: Now, upstream: UpstreamPolicyDep
) -> ResourceOut:
    """Register a resource as a draft of the caller's department."""
    return await lifecycle.create_resource(session, caller=caller, body=body, now=now, upstream=upstream)


@router.get("/resources", response_model=ResourcePage)
async def list_resources(
    caller: CurrentCaller,
    session: ReadSessionDep,
    q: Annotated[str | None, Query(max_length=100, description="关键词，空格分隔多个词")] = None,
    provider_dept: str | None = None,
    category: Category | None = None,
    sharing_type: SharingType | None = None,
    security_level: SecurityLevel | None = None,
    format: ResourceFormat | None = None,
    status: Literal["published", "draft", "submitted", "rejected", "retired"] = "published",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Search the catalog. Everyone sees published and retired resources; unpublished ones only their
    department (and the bureau) sees."""
    query = {
        "q": q,
        "provider_dept": provider_dept,
        "category": category,
        "sharing_type": sharing_type,
        "security_level": security_level,
        "format": format,
    }

    async def render() -> bytes:
        page_of = await browse.list_resources(session, caller=caller, status=status, page=page, size=size, **query)
        return pydantic_core.to_json(page_of)

    # What the catalog shows a caller reads its department and roles alone (access: readable_resource,
    # listing_dept, sees_unpublished, sees_interface_address).
    key = (department_view(caller), status, page, size, *query.values())
    return await RESOURCE_PAGES.respond(session, key, render)


@router.get("/resources/{resource_id}", response_model=ResourceOut)
async def get_resource(
    resource_id: str,
    caller: CurrentCaller,
    session: ReadSessionDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> ResourceOut:
    return await browse.read_resource(session, caller=caller, resource_id=resource_id, version=version)


@router.patch("/resources/{resource_id}", response_model=ResourceOut, dependencies=[Depends(requires_department)])
async def patch_resource(
    resource_id: str,
    body: ResourcePatch,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    upstream: UpstreamPolicyDep,
) -> ResourceOut:
    """Edit the draft (or rejected) revision; the provider department only."""
    return await lifecycle.patch_resource(
        session, caller=caller, resource_id=resource_id, patch=body, now=now, upstream=upstream
    )


@router.post("/resources/{resource_id}/submit", response_model=ResourceOut, dependencies=[Depends(requires_department)])
async def submit_resource(
    resource_id: str, caller: CurrentCaller, session: SessionDep, now: Now, upstream: UpstreamPolicyDep
) -> ResourceOut:
    """Submit for the bureau's review; the review deadline is 5 working days (第十四条)."""
    return await lifecycle.submit_resource(session, caller=caller, resource_id=resource_id, now=now, upstream=upstream)


@router.post("/resources/{resource_id}/review", response_model=ResourceOut, dependencies=[Depends(bureau_only)])
async def review_resource(
    resource_id: str, body: ReviewIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> ResourceOut:
    """The bureau approves (publishes) or rejects (with a reason) the submitted revision."""
    return await lifecycle.review_resource(
        session, caller=caller, resource_id=resource_id, decision=body.decision, reason=body.reason, now=now
    )


@router.post(
    "/resources/{resource_id}/revisions",
    status_code=201,
    response_model=ResourceOut,
    dependencies=[Depends(requires_department)],
)
async def create_revision(
    resource_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    upstream: UpstreamPolicyDep,
    body: Annotated[RevisionIn | None, Body()] = None,
) -> ResourceOut:
    """Start a new draft revision of a published resource (the published one stays visible until the new
    one is approved)."""
    return await lifecycle.create_revision(
        session, caller=caller, resource_id=resource_id, patch=body, now=now, upstream=upstream
    )


@router.post("/resources/{resource_id}/retire", response_model=ResourceOut, dependencies=[Depends(retires_resources)])
async def retire_resource(
    resource_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    body: Annotated[RetireIn | None, Body()] = None,
) -> ResourceOut:
    return await lifecycle.retire_resource(
        session, caller=caller, resource_id=resource_id, reason=body.reason if body else None, now=now
    )


@router.get("/resources/{resource_id}/revisions")
async def list_revisions(resource_id: str, caller: CurrentCaller, session: ReadSessionDep) -> list[dict]:
    """The revision history (owners and the bureau see every revision; others the published ones)."""
    return await browse.list_revisions(session, caller=caller, resource_id=resource_id)


@router.post("/resources/{resource_id}/refreshes", status_code=201, dependencies=[Depends(requires_department)])
async def report_refresh(
    resource_id: str, body: RefreshIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> dict:
    """The provider reports that it refreshed the resource's data (采集责任清单)."""
    return await lists.report_refresh(session, caller=caller, resource_id=resource_id, body=body, now=now)


@router.post("/authority-overlaps", status_code=201, dependencies=[Depends(bureau_only)])
async def allow_overlap(body: OverlapIn, caller: CurrentCaller, session: SessionDep, now: Now) -> dict:
    """The bureau allows a department to be a second authoritative source of an item (一数一源 exception)."""
    return await lifecycle.allow_overlap(session, caller=caller, body=body, now=now)


# --- update triggers and deadlines (第十四条) -----------------------------------------------------------------


@router.post("/triggers", status_code=201, response_model=TriggerOut, dependencies=[Depends(records_triggers)])
async def record_trigger(body: TriggerIn, caller: CurrentCaller, session: SessionDep, now: Now) -> UpdateTrigger:
    """第十四条: record that a law or a department's duties changed (the bureau for any department, naming
    `dept`); the update is due in 10 working days. A trigger naming `resource_ids` is answered once each of them
    is submitted; one naming none, by the registration of a new resource — never by revising another."""
    return await triggers.record_trigger(session, caller=caller, body=body, now=now)


@router.get("/triggers", response_model=list[TriggerOut])
async def list_triggers(
    dept: DepartmentScope, session: ReadSessionDep, open_only: Annotated[bool, Query(alias="open")] = False
) -> list[UpdateTrigger]:
    return await triggers.list_triggers(session, dept=dept, open_only=open_only)


@router.get("/overdue", response_model=list[OverdueItem])
async def list_overdue(dept: DepartmentScope, session: ReadSessionDep, now: Now) -> list[dict]:
    """Catalog updates and reviews past their 第十四条 deadlines (the bureau sees all; a department its own)."""
    return await triggers.list_overdue(session, dept=dept, now=now)


# --- lists -------------------------------------------------------------------------------------------------


@router.post("/demands", status_code=201, response_model=DemandOut)
async def record_demand(body: DemandIn, caller: DepartmentStaff, session: SessionDep, now: Now) -> Demand:
    """需求清单 (第十二条): data the department needs, naming the department expected to supply it."""
    return await demands.record_demand(session, caller=caller, body=body, now=now)


DemandId = Annotated[str, Path(max_length=40)]
DemandStatusFilter = Literal["submitted", "accepted", "rejected", "promised", "cannot_provide", "met", "open"]


@router.get("/demands", response_model=list[DemandOut], dependencies=[Depends(department_scope)])
async def list_demands(
    caller: CurrentCaller,
    session: ReadSessionDep,
    status: Annotated[DemandStatusFilter | None, Query(description="a status; open: not yet met or rejected")] = None,
    role: Annotated[
        Literal["requester", "supplier"] | None,
        Query(description="a department's: the demands it made, or those addressed to it"),
    ] = None,
) -> list[Demand]:
    """A department's own demands and those addressed to it; the bureau and auditors every department's."""
    return await demands.list_demands(session, caller=caller, status=status, role=role)


@router.get("/demands/{demand_id}", response_model=DemandOut)
async def get_demand(demand_id: DemandId, caller: CurrentCaller, session: ReadSessionDep) -> Demand:
    return await demands.get_demand(session, caller=caller, demand_id=demand_id)


@router.post("/demands/{demand_id}/review", response_model=DemandOut, dependencies=[Depends(bureau_only)])
async def review_demand(
    demand_id: DemandId, body: DemandReviewIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> Demand:
    """The bureau accepts, routes (to `supplier_dept`) or rejects a submitted demand; route and reject need a reason."""
    return await demands.review_demand(session, caller=caller, demand_id=demand_id, body=body, now=now)


@router.post("/demands/{demand_id}/answer", response_model=DemandOut)
async def answer_demand(
    demand_id: DemandId, body: DemandAnswerIn, caller: DepartmentStaff, session: SessionDep, now: Now
) -> Demand:
    """The supplying department: will provide by `provide_by`, or cannot (with a reason)."""
    return await demands.answer_demand(session, caller=caller, demand_id=demand_id, body=body, now=now)


@router.post("/demands/{demand_id}/meet", response_model=DemandOut, dependencies=[Depends(meets_demands)])
async def meet_demand(
    demand_id: DemandId,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    body: Annotated[DemandMeetIn | None, Body()] = None,
) -> Demand:
    """The bureau closes the demand as met, optionally by a published resource of the supplier."""
    resource_id = body.resource_id if body else None
    return await demands.meet_demand(session, caller=caller, demand_id=demand_id, resource_id=resource_id, now=now)


# --- 责任清单 (第十三条) and 重复采集 (第十六条) --------------------------------------------------------------------

Dept = Annotated[str, Path(min_length=1, max_length=32, description="部门代码")]


@router.get("/departments/{dept}/responsibilities", response_model=ResponsibilityList)
async def responsibilities(dept: Dept, caller: CurrentCaller, session: ReadSessionDep, now: Now) -> ResponsibilityList:
    """采集责任清单 (第十三条): the bureau's entries for the department with how each stands (`entries`, computed from
    the catalog), and its published resources with the late-for-its-cycle flag (`items`)."""
    return await responsibility.responsibilities(session, caller=caller, dept=dept, now=now)


@router.post(
    "/departments/{dept}/responsibilities",
    status_code=201,
    response_model=ResponsibilityEntryOut,
    dependencies=[Depends(assigns_responsibilities)],
)
async def assign_responsibility(
    dept: Dept, body: ResponsibilityIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> ResponsibilityEntryOut:
    """The bureau assigns the department a resource (by catalog code) to provide on an update cycle (第十三条)."""
    return await responsibility.assign(session, caller=caller, dept=dept, body=body, now=now)


@router.post(
    "/responsibilities/{entry_id}/withdraw",
    response_model=ResponsibilityEntryOut,
    dependencies=[Depends(assigns_responsibilities)],
)
async def withdraw_responsibility(
    entry_id: str, body: WithdrawIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> ResponsibilityEntryOut:
    return await responsibility.withdraw(session, caller=caller, entry_id=entry_id, reason=body.reason, now=now)


@router.get("/responsibilities", response_model=list[ResponsibilityEntryOut], dependencies=[Depends(oversight_only)])
async def list_responsibilities(
    session: ReadSessionDep,
    now: Now,
    dept: Annotated[str | None, Query(max_length=32)] = None,
    status: Literal["fulfilled", "late", "missing"] | None = None,
) -> list[ResponsibilityEntryOut]:
    """Every department's active entries (the bureau and auditors), by department and code."""
    return await responsibility.list_entries(session, dept=dept, status=Fulfilment(status) if status else None, now=now)


@router.get("/overlaps", response_model=list[ItemOverlapOut], dependencies=[Depends(oversight_only)])
async def item_overlaps(session: ReadSessionDep, scope: Literal["sourced", "all"] = "sourced") -> list[ItemOverlapOut]:
    """Item codes offered by several departments without the bureau's leave (第十六条, 第四十一条(三)): by default
    those with an authoritative source; `scope=all` adds those without one."""
    return await overlaps.item_overlaps(session, scope=scope)


@router.get("/export", dependencies=[Depends(export_allowed)])
async def export_catalog(
    session: ReadSessionDep,
    now: Now,
    since: Annotated[datetime | None, Query(description="ISO 8601; only resources changed after it")] = None,
    format: Literal["json", "jsonld"] = "json",
):
    """The published catalog for the city platform (第二十三条), incremental with `since`."""
    return await lists.export_catalog(session, since=since, format=format, now=now)


# --- for the gateway ---------------------------------------------------------------------------------------
# Not in the OpenAPI document, which the gateway serves publicly; from outside these routes do not exist (the
# gateway answers 404: they are for its projections, which call the service directly).


@router.get("/internal/interfaces", dependencies=[Depends(gateway_only)], include_in_schema=False)
async def interface_snapshot(session: ReadSessionDep) -> list[dict]:
    """What the gateway's resource projection starts from: every published or retired resource's items and
    interface (with the credential reference, never a secret), with its aggregate version."""
    return await snapshot.interface_snapshot(session)


@router.get("/internal/interfaces/{resource_id}", dependencies=[Depends(gateway_only)], include_in_schema=False)
async def interface_entry(resource_id: str, session: ReadSessionDep) -> dict:
    """One resource's entry of that snapshot as it is now: catalog events carry no interface address, so the
    gateway reads it here when a resource is published (404 unless published or retired)."""
    return await snapshot.interface_entry(session, resource_id)
