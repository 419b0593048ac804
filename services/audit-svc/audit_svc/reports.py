"""Supervision reports of 第六章 from the log: a department's figures for a year and the 第三十九条 annual report
(JSON, or CSV for Excel), each with the department's 第三十九条 work report (on time, late or missing). The tallies
themselves are plain functions in `supervision`; the work reports, `work_reports`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from fastapi.responses import Response
from govdata_shared.contracts.access import DENIAL_REASONS
from govdata_shared.contracts.identity import DEPARTMENT_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc import supervision, work_reports
from audit_svc.domain import utc_text
from audit_svc.models import access_record, audit_log


async def year_tally(session: AsyncSession, year: int) -> supervision.Tally:
    """Every department's figures for `year`, read from the log."""
    start, end = supervision.year_bounds(year)
    in_year = (audit_log.c.time >= start, audit_log.c.time < end)
    records = (
        await session.execute(
            sa.select(audit_log.c.record)
            .where(audit_log.c.type.in_(supervision.RECORD_EVENTS), *in_year)
            .order_by(audit_log.c.seq)
        )
    ).scalars()
    by_records = supervision.tally_records(orjson.loads(r) for r in records)
    grant_records = (
        await session.execute(
            sa.select(audit_log.c.record)
            .where(audit_log.c.type.in_(supervision.GRANT_STATE_EVENTS), audit_log.c.time < end)
            .order_by(audit_log.c.seq)
        )
    ).scalars()
    used = set(
        (
            await session.execute(
                sa.select(audit_log.c.subject)
                .distinct()
                .where(audit_log.c.type.in_(supervision.USAGE_EVENTS), *in_year)
            )
        ).scalars()
    )
    by_grants = supervision.tally_grants((orjson.loads(r) for r in grant_records), utc_text(start), used)
    responsibility_records = (
        await session.execute(
            sa.select(audit_log.c.record)
            .where(audit_log.c.type.in_(supervision.RESPONSIBILITY_STATE_EVENTS), audit_log.c.time < end)
            .order_by(audit_log.c.seq)
        )
    ).scalars()
    by_responsibilities = supervision.tally_responsibilities(
        (orjson.loads(r) for r in responsibility_records), utc_text(start)
    )
    # Calls served or failed by the provider's system, from the access records, by provider department.
    served = (
        await session.execute(
            sa.select(access_record.c.provider_dept, access_record.c.outcome, sa.func.count())
            .where(
                access_record.c.outcome.in_((supervision.SERVED, *supervision.PROVIDER_FAILURES)),
                access_record.c.time >= start,
                access_record.c.time < end,
            )
            .group_by(access_record.c.provider_dept, access_record.c.outcome)
        )
    ).all()
    # Refused data calls, from the access records (one per call) by holder department and reason.
    denials = (
        await session.execute(
            sa.select(access_record.c.holder_dept, access_record.c.outcome, sa.func.count())
            .where(
                access_record.c.outcome.in_(DENIAL_REASONS),
                access_record.c.time >= start,
                access_record.c.time < end,
            )
            .group_by(access_record.c.holder_dept, access_record.c.outcome)
        )
    ).all()
    # Refusals of a suspended or ended grant just after it changed are excused (supervision.CHANGE_GRACE).
    refusals = (
        await session.execute(
            sa.select(access_record.c.grant_id, access_record.c.holder_dept, access_record.c.time).where(
                access_record.c.outcome == "grant_not_active",
                access_record.c.time >= start,
                access_record.c.time < end,
            )
        )
    ).all()
    changes: dict[str, list[datetime]] = {}
    grant_ids = sorted({grant_id for grant_id, _, _ in refusals if grant_id})
    for chunk in (grant_ids[i : i + 500] for i in range(0, len(grant_ids), 500)):
        rows = await session.execute(
            sa.select(audit_log.c.subject, audit_log.c.time).where(
                audit_log.c.type.in_(supervision.GRANT_STATE_EVENTS),
                audit_log.c.subject.in_(chunk),
                audit_log.c.time < end,
            )
        )
        for subject, moment in rows:
            changes.setdefault(subject, []).append(moment)
    excused = supervision.excused_refusals(refusals, changes)
    return supervision.merge(
        by_records,
        by_grants,
        by_responsibilities,
        supervision.tally_service(served),
        supervision.tally_denials(denials, excused),
    )


async def department_report(session: AsyncSession, *, dept: str, year: int | None, now: datetime) -> dict[str, Any]:
    """A department's figures for `year` (default: the previous year)."""
    year = supervision.report_year(year, now)
    tally = await year_tally(session, year)
    reports = await work_reports.standings(session, year)
    return {
        "dept": dept,
        "year": year,
        "period": supervision.report_period(year),
        "generated_at": now,
        "figures": supervision.figures_view(tally.get(dept, supervision.zero_figures())),
        "work_report": reports.get(dept) or work_reports.standing_view(None, year),
    }


async def registered_departments(session: AsyncSession, year: int) -> dict[str, str]:
    """Code → name of every department of the registry that was in service at some time in `year` (第三十九条:
    the report covers every department, also those with nothing recorded), from the registry's identity events in
    the trail."""
    start, end = supervision.year_bounds(year)
    records = (
        await session.execute(
            sa.select(audit_log.c.time, audit_log.c.record)
            .where(audit_log.c.type.in_(DEPARTMENT_EVENTS), audit_log.c.time < end)
            .order_by(audit_log.c.seq)
        )
    ).all()
    names: dict[str, str] = {}
    disabled: dict[str, bool] = {}
    in_service: set[str] = set()
    for moment, record in records:
        data = orjson.loads(record).get("data") or {}
        code = data.get("code")
        if not isinstance(code, str):
            continue
        names[code] = str(data.get("name") or code)
        disabled[code] = bool(data.get("disabled"))
        if moment >= start and not disabled[code]:
            in_service.add(code)  # enabled at some moment of the year
    in_service |= {code for code, off in disabled.items() if not off}  # enabled when the year ended
    return {code: names[code] for code in sorted(in_service)}


async def year_departments(
    session: AsyncSession, year: int, tally: supervision.Tally, reports: Mapping[str, Any]
) -> tuple[list[str], dict[str, str]]:
    """The departments a year's reports cover — every department of the registry, with zeros where nothing was
    recorded, and any other a record or a work report names — and the registry's names (code → name)."""
    registry = await registered_departments(session, year)
    return sorted(set(registry) | {d for d in tally if d} | set(reports)), registry


async def annual_report(
    session: AsyncSession, *, year: int | None, format: Literal["json", "csv"], now: datetime
) -> dict[str, Any] | Response:
    """第三十九条: each department's figures for the previous year (or `year`), due by the end of January; as a
    CSV attachment (UTF-8 with BOM, for Excel) when `format` is csv."""
    year = supervision.report_year(year, now)
    tally = await year_tally(session, year)
    reports = await work_reports.standings(session, year)
    departments, registry = await year_departments(session, year, tally, reports)
    zero = supervision.zero_figures()
    missing = work_reports.standing_view(None, year)
    if format == "csv":
        rows = [(dept, tally.get(dept, zero)) for dept in departments]
        rows.append(("合计", supervision.totals(tally)))
        standings = {dept: reports.get(dept, missing)["status"] for dept in departments}
        return Response(
            supervision.annual_csv(year, rows, work_reports=standings),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit-annual-{year}.csv"'},
        )
    return {
        "year": year,
        "article": "第三十九条",
        "due_by": f"{year + 1}-01-31",
        "period": supervision.report_period(year),
        "generated_at": now,
        "departments": [
            {
                "dept": dept,
                "name": registry.get(dept),
                "figures": supervision.figures_view(tally.get(dept, zero)),
                "work_report": reports.get(dept, missing),
            }
            for dept in departments
        ],
        # Includes what no department can be named for (a denied call without a valid grant token).
        "totals": supervision.figures_view(supervision.totals(tally)),
    }
