"""Update triggers and overdue work (第十四条): when a law or a department's duties change, the department applies
for the catalog update within 10 working days, and the bureau reviews each submission within 5 working days.
What passes its deadline is listed and announced once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller, Role, require_department
from govdata_shared.errors import validation_problem
from govdata_shared.publish import publish
from govdata_shared.repository import new_id
from govdata_shared.workdays import DEFAULT_CALENDAR, today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import domain, events
from catalog_svc.domain import RevisionStatus
from catalog_svc.models import Resource, ResourceRevision, UpdateTrigger
from catalog_svc.schemas import TriggerIn


async def record_trigger(session: AsyncSession, *, caller: Caller, body: TriggerIn, now: datetime) -> UpdateTrigger:
    """Record that a law or a department's duties changed; the update is due in 10 working days. The bureau
    records one for the department it names (第十四条: it watches the catalog's currency)."""
    if caller.has_role(Role.BUREAU_ADMIN):
        if not body.dept:
            raise validation_problem(
                [{"field": "dept", "rule": "required_for_bureau", "detail": "县大数据局登记更新事由时须指明部门"}]
            )
        dept = body.dept
    else:
        dept = require_department(caller)
        if body.dept not in (None, dept):
            raise validation_problem(
                [{"field": "dept", "rule": "own_department", "detail": "部门只能登记本部门的目录更新事由"}]
            )
    errors = []
    if body.occurred_on > today_in_shanghai(now):
        errors.append({"field": "occurred_on", "rule": "not_in_future", "detail": "变更日期不能晚于今天"})
    if body.resource_id is not None and body.resource_ids:
        errors.append(
            {"field": "resource_ids", "rule": "one_or_the_other", "detail": "resource_id 与 resource_ids 只填其一"}
        )
    named = ([body.resource_id] if body.resource_id else []) + list(body.resource_ids or [])
    for index, rid in enumerate(named):
        resource = await session.get(Resource, rid)
        field = "resource_id" if body.resource_id else f"resource_ids[{index}]"
        if resource is None or resource.provider_dept != dept:
            errors.append({"field": field, "rule": "resource_of_department", "detail": f"{rid} 不是 {dept} 的资源"})
    if len(set(named)) != len(named):
        errors.append({"field": "resource_ids", "rule": "unique", "detail": "资源重复"})
    if errors:
        raise validation_problem(errors)
    # 第十四条: apply for the catalog update within 10 working days of the change.
    deadline = DEFAULT_CALENDAR.add_working_days(body.occurred_on, domain.UPDATE_SUBMIT_WORKING_DAYS)
    trigger = UpdateTrigger(
        id=new_id("trg"),
        dept=dept,
        resource_id=body.resource_id,
        resource_ids=list(body.resource_ids) if body.resource_ids else None,
        answered_ids=[] if body.resource_ids else None,
        kind=body.kind,
        occurred_on=body.occurred_on,
        description=body.description,
        recorded_by=caller.sub,
        recorded_at=now,
        submit_deadline=deadline.due,
        submit_deadline_estimated=deadline.estimated,
    )
    session.add(trigger)
    await publish(
        session,
        events.UPDATE_TRIGGER_RECORDED,
        trigger.id,
        events.trigger_payload(trigger),
        caller=caller,
        version=1,
        dept=dept,
        source=events.SOURCE,
    )
    return trigger


async def list_triggers(session: AsyncSession, *, dept: str | None, open_only: bool) -> list[UpdateTrigger]:
    """Triggers by submission deadline, of one department (None: all); `open_only`: not yet reviewed."""
    query = sa.select(UpdateTrigger).order_by(UpdateTrigger.submit_deadline)
    if dept is not None:
        query = query.where(UpdateTrigger.dept == dept)
    if open_only:
        query = query.where(UpdateTrigger.reviewed_at.is_(None))
    return list((await session.execute(query)).scalars())


async def mark_submitted(session: AsyncSession, resource: Resource, revision: ResourceRevision, now: datetime) -> None:
    """A submission answers the open triggers it concerns, and the bureau's 5 working days start then: one naming
    this resource; one naming several, once each of them is submitted (this one last); one naming none, only the
    registration of a new resource (a department-wide change is not answered by revising something else)."""
    open_triggers = (
        await session.execute(
            sa.select(UpdateTrigger).where(
                UpdateTrigger.dept == resource.provider_dept,
                UpdateTrigger.submitted_at.is_(None),
                sa.or_(UpdateTrigger.resource_id.is_(None), UpdateTrigger.resource_id == resource.id),
            )
        )
    ).scalars()
    for trigger in open_triggers:
        if trigger.resource_ids:
            if resource.id not in trigger.resource_ids:
                continue
            trigger.answered_ids = sorted({*(trigger.answered_ids or []), resource.id})
            if set(trigger.answered_ids) != set(trigger.resource_ids):
                continue
        elif trigger.resource_id is None and revision.version != 1:
            continue
        trigger.submitted_at = now
        trigger.submitted_version = revision.version
        trigger.resource_id = trigger.resource_id or resource.id
        trigger.review_deadline = revision.review_deadline
        trigger.review_deadline_estimated = revision.review_deadline_estimated


async def mark_reviewed(session: AsyncSession, resource: Resource, revision: ResourceRevision, now: datetime) -> None:
    """The bureau's decision on a submission answers the triggers that submission answered."""
    await session.execute(
        sa.update(UpdateTrigger)
        .where(
            UpdateTrigger.resource_id == resource.id,
            UpdateTrigger.submitted_version == revision.version,
            UpdateTrigger.reviewed_at.is_(None),
        )
        .values(reviewed_at=now)
    )


# --- overdue -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    """One item past its deadline (the fields of schemas.OverdueItem) and the row that remembers its event."""

    item: dict[str, Any]
    row: UpdateTrigger | ResourceRevision


async def _overdue(session: AsyncSession, today: date, dept: str | None) -> list[Overdue]:
    """What is past its 第十四条 deadline today: unsubmitted updates, and submissions the bureau has not
    reviewed in 5 working days; earliest deadline first."""
    found: list[Overdue] = []
    trigger_query = sa.select(UpdateTrigger).where(
        sa.or_(
            sa.and_(UpdateTrigger.submitted_at.is_(None), UpdateTrigger.submit_deadline < today),
            sa.and_(
                UpdateTrigger.submitted_at.is_not(None),
                UpdateTrigger.reviewed_at.is_(None),
                UpdateTrigger.review_deadline < today,
            ),
        )
    )
    if dept:
        trigger_query = trigger_query.where(UpdateTrigger.dept == dept)
    for trigger in (await session.execute(trigger_query)).scalars():
        common = {"dept": trigger.dept, "resource_id": trigger.resource_id, "trigger_id": trigger.id}
        if trigger.submitted_at is None:
            item = {
                "kind": "update_submission",
                **common,
                "deadline": trigger.submit_deadline,
                "estimated": trigger.submit_deadline_estimated,
            }
        else:
            item = {
                "kind": "update_review",
                **common,
                "version": trigger.submitted_version,
                "deadline": trigger.review_deadline,
                "estimated": trigger.review_deadline_estimated,
            }
        found.append(Overdue(item, trigger))
    revision_query = (
        sa.select(ResourceRevision, Resource.provider_dept)
        .join(Resource, Resource.id == ResourceRevision.resource_id)
        .where(ResourceRevision.status == RevisionStatus.SUBMITTED, ResourceRevision.review_deadline < today)
    )
    if dept:
        revision_query = revision_query.where(Resource.provider_dept == dept)
    for revision, provider in (await session.execute(revision_query)).all():
        item = {
            "kind": "resource_review",
            "dept": provider,
            "resource_id": revision.resource_id,
            "version": revision.version,
            "deadline": revision.review_deadline,
            "estimated": revision.review_deadline_estimated,
        }
        found.append(Overdue(item, revision))
    for overdue in found:
        overdue.item["days_overdue"] = DEFAULT_CALENDAR.working_days_between(overdue.item["deadline"], today)
    found.sort(key=lambda o: (o.item["deadline"], o.item["dept"]))
    return found


async def list_overdue(session: AsyncSession, *, dept: str | None, now: datetime) -> list[dict[str, Any]]:
    """Catalog updates and reviews past their 第十四条 deadlines, of one department (None: all)."""
    return [overdue.item for overdue in await _overdue(session, today_in_shanghai(now), dept)]


async def emit_overdue(session: AsyncSession, now: datetime) -> int:
    """Announce each overdue item once (the row's flag remembers it was announced); how many were."""
    emitted = 0
    for overdue in await _overdue(session, today_in_shanghai(now), None):
        row, dept = overdue.row, overdue.item["dept"]
        if isinstance(row, UpdateTrigger) and overdue.item["kind"] == "update_submission":
            if row.submit_overdue_emitted:
                continue
            row.submit_overdue_emitted = True
            event_type, subject, version, data = events.UPDATE_OVERDUE, row.id, 2, events.trigger_payload(row)
        else:
            if row.review_overdue_emitted:
                continue
            row.review_overdue_emitted = True
            if isinstance(row, UpdateTrigger):
                subject, version = row.id, 3  # a trigger's events: recorded 1, update overdue 2, review overdue 3
            else:
                subject, version = f"{row.resource_id}@{row.version}", row.version
            event_type, data = events.REVIEW_OVERDUE, events.review_overdue_payload(row, dept)
        await publish(session, event_type, subject, data, caller=None, version=version, dept=dept, source=events.SOURCE)
        emitted += 1
    return emitted
