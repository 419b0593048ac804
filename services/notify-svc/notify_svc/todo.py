"""待办: the open steps waiting for the caller, oldest deadline first (those without a deadline last)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.workdays import today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import domain
from notify_svc.access import waiting_for
from notify_svc.domain import RULES, StepKind
from notify_svc.models import OpenStep
from notify_svc.schemas import TodoItem, TodoOut
from notify_svc.steps import department_names, resource_names, step_name

TODO_LIMIT = 500  # a department's or the bureau's open steps; more would be a list to page, not a 待办


async def todo(session: AsyncSession, *, caller: Caller, now: datetime) -> TodoOut:
    query = (
        sa.select(OpenStep)
        .where(OpenStep.closed_at.is_(None), waiting_for(caller))
        .order_by(OpenStep.deadline.is_(None), OpenStep.deadline, OpenStep.opened_at, OpenStep.id)
        .limit(TODO_LIMIT)
    )
    steps = (await session.execute(query)).scalars().all()
    resources = await resource_names(session, [s.resource_id for s in steps])
    departments = await department_names(session, [s.party_dept for s in steps])
    today = today_in_shanghai(now)
    return TodoOut(items=[_item(step, resources, departments, today) for step in steps])


def _item(step: OpenStep, resources: dict[str, str], departments: dict[str, str], today) -> TodoItem:
    left = domain.working_days_left(step.deadline, today) if step.deadline else None
    party = departments.get(step.party_dept, step.party_dept) if step.party_dept else None
    return TodoItem(
        kind=step.kind,
        kind_label=RULES[StepKind(step.kind)].label,
        id=step.aggregate_id,
        step_id=step.id,
        title=domain.step_title(step.kind, step_name(step, resources)),
        dept=step.dept,
        party=party,
        deadline=step.deadline,
        deadline_estimated=step.deadline_estimated,
        working_days_left=left,
        overdue=domain.is_overdue(step.deadline, today),
        link=step.link,
        article=step.article,
        opened_at=step.opened_at,
    )
