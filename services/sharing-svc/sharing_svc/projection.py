"""What sharing-svc keeps of others and gives to others: reads of the catalog projection (the resources
requests and disputes name; kept up to date by events.apply_catalog_event), of the application systems (kept by
events.apply_system_event from the gateway's identity registry, never asked of it synchronously; listed for the
departments that name them in requests) and the snapshot the gateway's grant projection starts from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem
from sqlalchemy.ext.asyncio import AsyncSession

from sharing_svc import access
from sharing_svc.events import grant_payload
from sharing_svc.models import ApplicationSystem, CatalogResource, Grant
from sharing_svc.schemas import SystemOut


async def catalog_resource(session: AsyncSession, resource_id: str, *, unknown: str) -> CatalogResource:
    """The resource as the catalog last published or retired it; 404 `resource_unknown` (saying `unknown`) when
    the catalog never published it."""
    resource = await session.get(CatalogResource, resource_id)
    if resource is None:
        raise Problem(404, "resource_unknown", unknown, field="resource_id", rule="published_resource")
    return resource


async def requester_system(session: AsyncSession, system_id: str, dept: str) -> ApplicationSystem:
    """The registered, enabled application system `system_id` of department `dept` — what a request is made for
    and its grant is held by (第二十九条: data is granted to a business system, not to a whole department). 422
    `unknown_system` otherwise; another department's system is answered like one that does not exist."""
    system = await session.get(ApplicationSystem, system_id)
    if system is None or system.dept != dept:
        raise Problem(
            422,
            "unknown_system",
            f"{system_id} 不是本部门已登记的应用系统",
            field="system",
            rule="registered_system_of_department",
        )
    if system.disabled:
        raise Problem(422, "unknown_system", f"应用系统“{system.name}”已停用", field="system", rule="enabled_system")
    return system


async def list_systems(session: AsyncSession, caller: Caller, dept: str | None) -> list[SystemOut]:
    """The enabled application systems the caller may name or oversee, by department and id: a department's
    staff their own department's (another `dept` asked for gives none), overseers every department's or those
    of `dept`; 403 `department_role_required` for anyone else."""
    access.overseer_or_department(caller)
    query = (
        sa.select(ApplicationSystem)
        .where(access.readable_system(caller), ApplicationSystem.disabled.is_(False))
        .order_by(ApplicationSystem.dept, ApplicationSystem.system_id)
    )
    if dept:
        query = query.where(ApplicationSystem.dept == dept)
    systems = (await session.execute(query)).scalars()
    return [SystemOut(id=s.system_id, dept=s.dept, name=s.name) for s in systems]


async def resource_name(session: AsyncSession, resource_id: str) -> str | None:
    resource = await session.get(CatalogResource, resource_id)
    return resource.name if resource else None


async def grant_snapshot(session: AsyncSession) -> list[dict[str, Any]]:
    """What the gateway's grant projection starts from: every grant with its aggregate version."""
    grants = (await session.execute(sa.select(Grant).order_by(Grant.id))).scalars()
    return [{**grant_payload(g), "version": g.version} for g in grants]
