"""Opening and closing steps from what an event says about its aggregate.

Every event of an aggregate (a share request, a correction …) says which of its steps wait after the event:
`StepSpec`s, built in events.py from the event alone. `apply_steps` makes the stored steps match — opens the
missing ones, moves a changed deadline (the step is then reminded and reported again for the new one), closes
those that no longer wait. An event not newer than the last one applied for its aggregate changes nothing, so a
repeated or late event (a request's submission arriving after its approval) cannot reopen what was decided.

One step is closed from another aggregate: a department's catalog submission answers its update triggers
(`answer_triggers`, 第十四条), as catalog-svc counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.domain import RULES, Aggregate, StepKind, roles_text, step_link
from notify_svc.models import KnownDepartment, KnownResource, OpenStep, StepAggregate


@dataclass(frozen=True)
class StepSpec:
    """A step that waits after an event: `key` tells it apart within its aggregate (the stage, the revision …)."""

    kind: StepKind
    key: str
    dept: str
    deadline: date | None = None
    estimated: bool = False
    resource_id: str | None = None
    subject: str = ""
    party_dept: str | None = None
    detail: dict[str, Any] | None = None


def step_id(aggregate: Aggregate, aggregate_id: str, key: str) -> str:
    return f"{aggregate}:{aggregate_id}:{key}"


async def _newer(session: AsyncSession, aggregate: Aggregate, aggregate_id: str, version: int) -> bool:
    """Record `version` as the aggregate's last applied one; False (nothing recorded) when it is not newer."""
    seen = await session.get(StepAggregate, (aggregate.value, aggregate_id), with_for_update=True)
    if seen is not None and seen.version >= version:
        return False
    if seen is None:
        session.add(StepAggregate(aggregate_type=aggregate.value, aggregate_id=aggregate_id, version=version))
    else:
        seen.version = version
    return True


async def apply_steps(
    session: AsyncSession,
    aggregate: Aggregate,
    aggregate_id: str,
    version: int,
    specs: Sequence[StepSpec],
    at: datetime,
) -> bool:
    """Make the aggregate's steps those of `specs` as of an event of `version` at `at`; False when the event was
    not newer than what was applied and nothing changed."""
    if not await _newer(session, aggregate, aggregate_id, version):
        return False
    query = (
        sa.select(OpenStep)
        .where(OpenStep.aggregate_type == aggregate.value, OpenStep.aggregate_id == aggregate_id)
        .with_for_update()
    )
    current = {step.id: step for step in (await session.execute(query)).scalars()}
    wanted: set[str] = set()
    for spec in specs:
        sid = step_id(aggregate, aggregate_id, spec.key)
        wanted.add(sid)
        step = current.get(sid)
        if step is None:
            session.add(_new_step(sid, aggregate, aggregate_id, spec, at))
        elif step.closed_at is None or spec.kind is not StepKind.UPDATE_SUBMISSION:
            # A trigger restated after a submission answered it stays answered; anything else of the aggregate
            # follows its own, ordered events.
            _update_step(step, spec, at)
    for sid, step in current.items():
        if sid not in wanted and step.closed_at is None:
            step.closed_at = step.updated_at = at
    return True


def _new_step(sid: str, aggregate: Aggregate, aggregate_id: str, spec: StepSpec, at: datetime) -> OpenStep:
    rule = RULES[spec.kind]
    return OpenStep(
        id=sid,
        kind=spec.kind.value,
        aggregate_type=aggregate.value,
        aggregate_id=aggregate_id,
        resource_id=spec.resource_id,
        subject=(spec.subject or aggregate_id)[:200],
        party_dept=spec.party_dept,
        dept=spec.dept,
        roles=roles_text(rule.roles),
        deadline=spec.deadline,
        deadline_estimated=spec.estimated,
        article=rule.article,
        link=step_link(spec.kind, aggregate_id),
        detail=spec.detail,
        opened_at=at,
        updated_at=at,
    )


def _update_step(step: OpenStep, spec: StepSpec, at: datetime) -> None:
    if step.closed_at is not None:  # waits again (a demand routed back to a department)
        step.closed_at, step.opened_at = None, at
        step.reminded_at = step.overdue_notified_at = None
    if spec.deadline != step.deadline:
        # A moved deadline (an extended correction) is reminded and reported anew.
        step.reminded_at = step.overdue_notified_at = None
    step.deadline, step.deadline_estimated = spec.deadline, spec.estimated
    step.dept = spec.dept
    step.resource_id = spec.resource_id
    step.subject = (spec.subject or step.subject)[:200]
    step.party_dept = spec.party_dept
    if spec.detail is not None:
        step.detail = {**(step.detail or {}), **spec.detail}
    step.updated_at = at


# --- update triggers answered by submissions (第十四条) ------------------------------------------------------


async def answer_triggers(
    session: AsyncSession, *, dept: str, resource_id: str, first_revision: bool, at: datetime
) -> int:
    """A submission at `at` answers the department's update triggers recorded before it that it concerns: one
    naming this resource; one naming several, once each of them is submitted; one naming none, only the
    registration of a new resource. How many it closed."""
    query = (
        sa.select(OpenStep)
        .where(
            OpenStep.kind == StepKind.UPDATE_SUBMISSION,
            OpenStep.dept == dept,
            OpenStep.closed_at.is_(None),
            OpenStep.opened_at <= at,
        )
        .with_for_update()
    )
    closed = 0
    for step in (await session.execute(query)).scalars():
        detail = dict(step.detail or {})
        named = detail.get("resource_ids") or []
        if named:
            if resource_id not in named:
                continue
            detail["answered"] = sorted({*detail.get("answered", []), resource_id})
            step.detail, step.updated_at = detail, at
            if set(detail["answered"]) != set(named):
                continue
        elif not first_revision:
            continue
        step.closed_at = step.updated_at = at
        closed += 1
    return closed


# --- names ---------------------------------------------------------------------------------------------------


async def resource_names(session: AsyncSession, resource_ids: Iterable[str | None]) -> dict[str, str]:
    ids = sorted({rid for rid in resource_ids if rid})
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(KnownResource.resource_id, KnownResource.name).where(KnownResource.resource_id.in_(ids))
    )
    return {key: name for key, name in rows.all()}


async def department_names(session: AsyncSession, codes: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(KnownDepartment.code, KnownDepartment.name).where(KnownDepartment.code.in_(wanted))
    )
    return {key: name for key, name in rows.all()}


def step_name(step: OpenStep, resources: dict[str, str]) -> str:
    """What the step is about, by the best name known: the resource's as the catalog calls it now, else the name
    the event gave."""
    return resources.get(step.resource_id or "", step.subject)
