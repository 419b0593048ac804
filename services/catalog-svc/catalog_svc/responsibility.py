"""责任清单 (第十三条): the bureau breaks the catalog down into each department's collection responsibilities. An
entry names the department, the resource it must provide (by its catalog code) and the update cycle; whether it is
fulfilled is read from the catalog — the department's published resource of that code, refreshed within the
entry's cycle (its last refresh report, or its publication when none came) — never from the department's own word.
The list also shows every published resource of the department and whether its data is late for its own cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem
from govdata_shared.publish import publish
from govdata_shared.repository import get_or_404, new_id
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import access, domain, events
from catalog_svc.domain import Fulfilment, ResourceStatus, UpdateCycle
from catalog_svc.models import RefreshReport, Resource, ResourceRevision, ResponsibilityEntry, published_revisions
from catalog_svc.schemas import (
    ResponsibilityEntryOut,
    ResponsibilityIn,
    ResponsibilityList,
    ResponsibilityOut,
)

UNFULFILLED = frozenset({Fulfilment.LATE, Fulfilment.MISSING})


# --- the bureau assigns and withdraws entries -----------------------------------------------------------------


async def assign(
    session: AsyncSession, *, caller: Caller, dept: str, body: ResponsibilityIn, now: datetime
) -> ResponsibilityEntryOut:
    """第十三条: the bureau assigns `dept` the resource of `body.resource_code`, to be refreshed on `update_cycle`.
    One active entry per department and code."""
    existing = (
        await session.execute(
            sa.select(ResponsibilityEntry.id).where(
                ResponsibilityEntry.dept == dept,
                ResponsibilityEntry.resource_code == body.resource_code,
                ResponsibilityEntry.withdrawn_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Problem(
            409,
            "responsibility_exists",
            f"{dept} 的责任清单已有信息资源代码 {body.resource_code} 的条目 {existing}",
            field="resource_code",
            rule="one_active_entry",
            existing_entry=existing,
        )
    entry = ResponsibilityEntry(
        id=new_id("rsp"),
        dept=dept,
        resource_code=body.resource_code,
        title=body.title,
        description=body.description,
        update_cycle=body.update_cycle,
        assigned_by=caller.sub,
        assigned_at=now,
        event_version=1,
    )
    session.add(entry)
    await _publish(session, events.RESPONSIBILITY_ASSIGNED, entry, caller)
    (out,) = await standings(session, [entry], now)
    return out


async def withdraw(
    session: AsyncSession, *, caller: Caller, entry_id: str, reason: str, now: datetime
) -> ResponsibilityEntryOut:
    """The bureau withdraws an entry, saying why (the department's duties changed, the catalog was reorganised)."""
    entry = await get_or_404(session, ResponsibilityEntry, entry_id, for_update=True)
    if entry.withdrawn_at is not None:
        raise Problem(409, "responsibility_withdrawn", f"责任清单条目 {entry.id} 已撤销")
    entry.withdrawn_at = now
    entry.withdrawn_reason = reason
    entry.event_version += 1
    await _publish(session, events.RESPONSIBILITY_WITHDRAWN, entry, caller)
    (out,) = await standings(session, [entry], now)
    return out


async def _publish(session: AsyncSession, event_type: str, entry: ResponsibilityEntry, caller: Caller) -> None:
    await publish(
        session,
        event_type,
        entry.id,
        events.responsibility_payload(entry),
        caller=caller,
        version=entry.event_version,
        dept=entry.dept,
        source=events.SOURCE,
    )


# --- how the entries stand -------------------------------------------------------------------------------------


async def _last_refreshes(session: AsyncSession, resource_ids: Sequence[str]) -> dict[str, datetime]:
    if not resource_ids:
        return {}
    rows = await session.execute(
        sa.select(RefreshReport.resource_id, sa.func.max(RefreshReport.refreshed_at))
        .where(RefreshReport.resource_id.in_(resource_ids))
        .group_by(RefreshReport.resource_id)
    )
    return dict(rows.all())


async def standings(
    session: AsyncSession, entries: Sequence[ResponsibilityEntry], now: datetime
) -> list[ResponsibilityEntryOut]:
    """Each entry with its status: only a PUBLISHED resource of the entry's own department counts — a resource of
    another department with that code does not fulfil it, nor does a draft or a retired one."""
    codes = {e.resource_code for e in entries}
    published: dict[tuple[str, str], tuple[Resource, ResourceRevision]] = {}
    if codes:
        rows = await session.execute(
            published_revisions().where(Resource.code.in_(codes), Resource.status == ResourceStatus.PUBLISHED)
        )
        published = {(resource.provider_dept, resource.code): (resource, revision) for resource, revision in rows}
    refreshed = await _last_refreshes(session, [resource.id for resource, _ in published.values()])
    out = []
    for entry in entries:
        cycle = UpdateCycle(entry.update_cycle)
        found = published.get((entry.dept, entry.resource_code))
        resource, revision = found or (None, None)
        last = refreshed.get(resource.id) if resource else None
        basis = last or (resource.published_at if resource else None)
        status = (
            Fulfilment.WITHDRAWN
            if entry.withdrawn_at is not None
            else domain.fulfilment(cycle, resource is not None, basis, now)
        )
        out.append(
            ResponsibilityEntryOut(
                id=entry.id,
                dept=entry.dept,
                resource_code=entry.resource_code,
                title=entry.title,
                description=entry.description,
                update_cycle=cycle,
                assigned_by=entry.assigned_by,
                assigned_at=entry.assigned_at,
                withdrawn_at=entry.withdrawn_at,
                withdrawn_reason=entry.withdrawn_reason,
                status=status,
                resource_id=resource.id if resource else None,
                resource_name=revision.name if revision else None,
                last_refreshed_at=last,
                due_by=domain.refresh_due(cycle, basis),
            )
        )
    return out


async def _active_entries(session: AsyncSession, dept: str | None) -> list[ResponsibilityEntry]:
    query = (
        sa.select(ResponsibilityEntry)
        .where(ResponsibilityEntry.withdrawn_at.is_(None))
        .order_by(ResponsibilityEntry.dept, ResponsibilityEntry.resource_code)
    )
    if dept is not None:
        query = query.where(ResponsibilityEntry.dept == dept)
    return list((await session.execute(query)).scalars())


async def list_entries(
    session: AsyncSession, *, dept: str | None, status: Fulfilment | None, now: datetime
) -> list[ResponsibilityEntryOut]:
    """The active entries of one department (None: of every department), by department and code; `status` narrows
    them to fulfilled, late or missing ones."""
    entries = await standings(session, await _active_entries(session, dept), now)
    return [e for e in entries if status is None or e.status == status]


async def responsibilities(session: AsyncSession, *, caller: Caller, dept: str, now: datetime) -> ResponsibilityList:
    """第十三条: a department's 责任清单 — the bureau's entries and how each stands, and the department's published
    resources with whether each is late for its own update cycle."""
    access.require_department_reader(caller, dept)
    rows = (
        await session.execute(
            published_revisions()
            .where(Resource.provider_dept == dept, Resource.status == ResourceStatus.PUBLISHED)
            .order_by(Resource.code)
        )
    ).all()
    refreshed = await _last_refreshes(session, [resource.id for resource, _ in rows])
    items = []
    for resource, revision in rows:
        last = refreshed.get(resource.id)
        basis = last or resource.published_at
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
    entries = await standings(session, await _active_entries(session, dept), now)
    unfulfilled = sum(1 for e in entries if e.status in UNFULFILLED)
    return ResponsibilityList(
        dept=dept,
        items=items,
        late_count=sum(1 for i in items if i.late),
        entries=entries,
        fulfilled_count=len(entries) - unfulfilled,
        unfulfilled_count=unfulfilled,
    )
