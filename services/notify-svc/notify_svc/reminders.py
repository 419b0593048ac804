"""Reminders and 逾期通报: the periodic check that tells a department of a deadline before it passes and
reports it once it has.

Each open step with a deadline gets ONE reminder on the working day it has N working days left (N per kind,
NOTIFY_REMIND_WORKING_DAYS, default 1) and ONE 逾期通报 once the deadline has passed — a step already overdue when
first seen gets the 通报 only. Both are messages to the responsible department (its operators and its head),
copied to the bureau, and each is announced by an event. On Postgres the candidate steps are locked with SKIP
LOCKED, so several replicas running the check never send the same message twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from govdata_shared.repository import new_id
from govdata_shared.workdays import DEFAULT_CALENDAR, WorkdayCalendar, today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import domain, events
from notify_svc.domain import BUREAU_DEPT, MessageKind, StepKind
from notify_svc.models import Message, OpenStep
from notify_svc.steps import resource_names, step_name


async def send_due(
    session: AsyncSession,
    *,
    now: datetime,
    remind_days: Mapping[str, int],
    calendar: WorkdayCalendar = DEFAULT_CALENDAR,
) -> dict[str, int]:
    """Send what is due at `now`: `{"reminders": n, "overdue": m}`."""
    today = today_in_shanghai(now)
    waiting = sa.and_(OpenStep.closed_at.is_(None), OpenStep.overdue_notified_at.is_(None))
    overdue = await _locked(session, waiting, OpenStep.deadline < today)
    # Only steps that could be due for a reminder: those within the longest reminder period of today.
    horizon = calendar.add_working_days(today, max([domain.DEFAULT_REMIND_WORKING_DAYS, *remind_days.values()]))
    upcoming = await _locked(
        session, waiting, OpenStep.reminded_at.is_(None), OpenStep.deadline >= today, OpenStep.deadline <= horizon.due
    )
    due = [
        step
        for step in upcoming
        if domain.reminder_due(step.deadline, today, domain.remind_days_for(step.kind, remind_days), calendar)
    ]
    names = await resource_names(session, [step.resource_id for step in (*overdue, *due)])
    for step in due:
        left = domain.working_days_left(step.deadline, today, calendar)
        await _send(session, step, MessageKind.REMINDER, left, names, now)
        step.reminded_at = now
    for step in overdue:
        left = domain.working_days_left(step.deadline, today, calendar)
        await _send(session, step, MessageKind.OVERDUE, left, names, now)
        step.overdue_notified_at = now
    return {"reminders": len(due), "overdue": len(overdue)}


async def overdue_by_kind(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Open steps whose deadline has passed at `now` (逾期未办), per step kind — those already reported included,
    since they are still late. Every kind is named (0 when none), so a kind that catches up reads 0."""
    today = today_in_shanghai(now)
    query = (
        sa.select(OpenStep.kind, sa.func.count())
        .where(OpenStep.closed_at.is_(None), OpenStep.deadline < today)
        .group_by(OpenStep.kind)
    )
    counts = dict.fromkeys((kind.value for kind in StepKind), 0)
    counts.update({kind: count for kind, count in (await session.execute(query)).all()})
    return counts


async def _locked(session: AsyncSession, *where: sa.ColumnElement[bool]) -> list[OpenStep]:
    """The steps matching `where`, locked for this transaction; those another replica holds are skipped (it is
    sending their messages), and a row it changed meanwhile is checked against `where` again."""
    query = sa.select(OpenStep).where(*where).order_by(OpenStep.deadline, OpenStep.id).with_for_update(skip_locked=True)
    return list((await session.execute(query)).scalars())


async def _send(
    session: AsyncSession, step: OpenStep, kind: MessageKind, left: int, names: dict[str, str], now: datetime
) -> Message:
    title = domain.step_title(step.kind, step_name(step, names))
    if kind is MessageKind.REMINDER:
        subject, body = domain.reminder_subject(title), domain.reminder_body(title, step.deadline, left, step.article)
    else:
        subject, body = domain.overdue_subject(title), domain.overdue_body(title, step.deadline, -left, step.article)
    message = Message(
        id=new_id("msg"),
        kind=kind.value,
        step_id=step.id,
        step_kind=step.kind,
        dept=step.dept,
        copied_to=[] if step.dept == BUREAU_DEPT else [BUREAU_DEPT],
        subject=subject[:300],
        body=body,
        article=step.article,
        deadline=step.deadline,
        link=step.link,
        created_at=now,
    )
    session.add(message)
    step.notices += 1
    step.updated_at = now
    await events.publish_notice(session, message, step, left)
    return message
