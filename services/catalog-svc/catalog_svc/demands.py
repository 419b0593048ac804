"""The demand list (需求清单, 第十二条): the data a department needs from other departments.

A department records a demand naming the department expected to supply it; the bureau reviews it (accept, route
to another supplying department, or reject, saying why); the supplier answers (it will provide by a date, or it
cannot and says why) and may change its answer until the demand is met; the bureau closes it as met. The
requesting department cannot close its own demand. The transitions are `domain.DEMAND`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller, require_department
from govdata_shared.errors import validation_problem
from govdata_shared.publish import publish
from govdata_shared.repository import get_or_404, new_id
from govdata_shared.workdays import today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import access, domain, events
from catalog_svc.domain import DemandAnswer, DemandReview, DemandStatus, ResourceStatus
from catalog_svc.models import Demand, Resource
from catalog_svc.schemas import DemandAnswerIn, DemandIn, DemandReviewIn

# Department codes as the gateway's registry writes them (YC-GA). catalog-svc keeps no copy of the registry, so a
# code is checked for its form only.
DEPT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def _text(value: str | None) -> str | None:
    """A reason as stored: stripped; None when nothing but spaces was given."""
    return value.strip() if value and value.strip() else None


def _error(field: str, rule: str, detail: str) -> dict[str, Any]:
    return {"field": field, "rule": rule, "detail": detail}


def _supplier_error(supplier: str, *, requester: str, current: str | None = None) -> dict[str, Any] | None:
    """What is wrong with `supplier` as the supplying department of `requester`'s demand (and, when routing, as the
    department after `current`), or None."""
    if not DEPT_CODE.match(supplier):
        return _error("supplier_dept", "department_code", "应为部门代码，如 YC-GA")
    if supplier == requester:
        return _error("supplier_dept", "not_own_department", "提供部门不能是提出需求的部门本身")
    if supplier == current:
        return _error("supplier_dept", "different_supplier", "转交的部门应不同于当前的提供部门")
    return None


async def _publish(session: AsyncSession, event_type: str, demand: Demand, caller: Caller, *, dept: str) -> None:
    """Stage `event_type` at the demand's next version. The envelope's `dept` is one department: the event is filed
    under the department whose act it records (the requester; the supplier for its answer), while the data names
    both parties."""
    demand.event_version += 1
    await publish(
        session,
        event_type,
        demand.id,
        events.demand_payload(demand),
        caller=caller,
        version=demand.event_version,
        dept=dept,
        source=events.SOURCE,
    )


async def record_demand(session: AsyncSession, *, caller: Caller, body: DemandIn, now: datetime) -> Demand:
    """A department's demand for data of another department; it waits for the bureau's review."""
    dept = require_department(caller)
    supplier = body.supplier_dept.strip()
    refused = _supplier_error(supplier, requester=dept)
    if refused:
        raise validation_problem([refused])
    if body.resource_id is not None:
        await get_or_404(session, Resource, body.resource_id, where=access.readable_resource(caller))
    demand = Demand(
        id=new_id("dmd"),
        dept=dept,
        supplier_dept=supplier,
        title=body.title,
        description=body.description,
        resource_id=body.resource_id,
        status=DemandStatus.SUBMITTED,
        created_by=caller.sub,
        created_at=now,
        event_version=0,
    )
    session.add(demand)
    await _publish(session, events.DEMAND_RECORDED, demand, caller, dept=dept)
    return demand


async def review_demand(
    session: AsyncSession, *, caller: Caller, demand_id: str, body: DemandReviewIn, now: datetime
) -> Demand:
    """The bureau accepts the demand, routes it to another supplying department, or rejects it; routing and
    rejecting say why."""
    demand = await get_or_404(session, Demand, demand_id, where=access.readable_demand(caller), for_update=True)
    status = domain.DEMAND.next(demand.status, body.decision)
    reason = _text(body.reason)
    routed_to = (body.supplier_dept or "").strip()
    errors: list[dict[str, Any]] = []
    if body.decision == DemandReview.ROUTE:
        if not routed_to:
            errors.append(_error("supplier_dept", "required_on_route", "转交时必须写明新的提供部门"))
        else:
            refused = _supplier_error(routed_to, requester=demand.dept, current=demand.supplier_dept)
            errors += [refused] if refused else []
    elif routed_to:
        errors.append(_error("supplier_dept", "only_on_route", "只有转交时才填写新的提供部门"))
    elif body.decision == DemandReview.ACCEPT and demand.supplier_dept is None:
        # A demand recorded before suppliers were named: the bureau routes it to one instead.
        errors.append(_error("supplier_dept", "supplier_required", "该需求未指明提供部门，请转交给提供部门"))
    if body.decision != DemandReview.ACCEPT and reason is None:
        detail = "转交时必须说明理由" if body.decision == DemandReview.ROUTE else "驳回时必须说明理由"
        errors.append(_error("reason", f"required_on_{body.decision}", detail))
    if errors:
        raise validation_problem(errors)
    if body.decision == DemandReview.ROUTE:
        demand.routed_from, demand.supplier_dept = demand.supplier_dept, routed_to
    demand.status = status
    demand.review_decision = body.decision
    demand.review_reason = reason
    demand.reviewed_by = caller.sub
    demand.reviewed_at = now
    await _publish(session, events.DEMAND_REVIEWED, demand, caller, dept=demand.dept)
    return demand


async def answer_demand(
    session: AsyncSession, *, caller: Caller, demand_id: str, body: DemandAnswerIn, now: datetime
) -> Demand:
    """The supplying department answers: it will provide by a date (not in the past), or it cannot and says why.
    It may change its answer until the demand is met."""
    demand = await get_or_404(session, Demand, demand_id, where=access.readable_demand(caller), for_update=True)
    access.require_supplier(caller, demand)
    status = domain.DEMAND.next(demand.status, body.answer)
    reason = _text(body.reason)
    errors: list[dict[str, Any]] = []
    if body.answer == DemandAnswer.WILL_PROVIDE:
        if body.provide_by is None:
            errors.append(_error("provide_by", "required_on_will_provide", "承诺提供时必须写明提供日期"))
        elif body.provide_by < today_in_shanghai(now):
            errors.append(_error("provide_by", "not_in_past", "提供日期不能早于今天"))
    else:
        if body.provide_by is not None:
            errors.append(_error("provide_by", "only_on_will_provide", "答复无法提供时不填提供日期"))
        if reason is None:
            errors.append(_error("reason", "required_on_cannot_provide", "无法提供时必须说明理由"))
    if errors:
        raise validation_problem(errors)
    demand.status = status
    demand.answer = body.answer
    demand.provide_by = body.provide_by
    demand.answer_reason = reason
    demand.answered_by = caller.sub
    demand.answered_at = now
    await _publish(session, events.DEMAND_ANSWERED, demand, caller, dept=demand.supplier_dept or demand.dept)
    return demand


async def meet_demand(
    session: AsyncSession, *, caller: Caller, demand_id: str, resource_id: str | None, now: datetime
) -> Demand:
    """The bureau closes an accepted or promised demand as met, optionally by a published resource of the
    supplying department."""
    demand = await get_or_404(session, Demand, demand_id, where=access.readable_demand(caller), for_update=True)
    status = domain.DEMAND.next(demand.status, "meet")
    if resource_id is not None:
        resource = await session.get(Resource, resource_id)
        if (
            resource is None
            or resource.status != ResourceStatus.PUBLISHED
            or resource.provider_dept != demand.supplier_dept
        ):
            detail = f"应为提供部门 {demand.supplier_dept} 已发布的资源"
            raise validation_problem([_error("resource_id", "supplier_published_resource", detail)])
        demand.resource_id = resource_id
    demand.status = status
    demand.met_at = now
    demand.met_by = caller.sub
    await _publish(session, events.DEMAND_MET, demand, caller, dept=demand.dept)
    return demand


async def get_demand(session: AsyncSession, *, caller: Caller, demand_id: str) -> Demand:
    """One demand, for its parties and the overseers; 404 for anyone else."""
    return await get_or_404(session, Demand, demand_id, where=access.readable_demand(caller))


async def list_demands(session: AsyncSession, *, caller: Caller, status: str | None, role: str | None) -> list[Demand]:
    """Newest first, the demands `caller` may see (`role` requester: those it made, supplier: those addressed to
    it); `status` one status, or `open` for every demand not yet met or rejected."""
    query = sa.select(Demand).where(access.readable_demand(caller, role)).order_by(Demand.created_at.desc(), Demand.id)
    if status == "open":
        query = query.where(Demand.status.in_(domain.OPEN_DEMAND_STATUSES))
    elif status:
        query = query.where(Demand.status == status)
    return list((await session.execute(query)).scalars())
