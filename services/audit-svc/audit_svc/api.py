"""HTTP routes of audit-svc, mounted under /api/audit (API.md "Audit and supervision"). Thin: each checks the
caller and calls one operation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from govdata_shared.auth import CurrentCaller
from govdata_shared.service import Now, SessionDep
from govdata_shared.workdays import today_in_shanghai

from audit_svc import service
from audit_svc.schemas import AnnualReport, DepartmentReport, EventPage, VerifyResult

router = APIRouter()

Seq = Annotated[int | None, Query(ge=1, description="序号（含）")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="年度；默认上一年度（第三十九条）")]


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _report_year(year: int | None, now: datetime) -> int:
    return year if year is not None else today_in_shanghai(now).year - 1


@router.get("/whoami")
async def whoami(caller: CurrentCaller) -> dict:
    """The authenticated caller as this service sees it (a check that tokens reach the service)."""
    return {"sub": caller.sub, "dept": caller.dept, "roles": sorted(caller.roles)}


@router.get("/events", response_model=EventPage)
async def list_events(
    caller: CurrentCaller,
    session: SessionDep,
    type: Annotated[str | None, Query(max_length=200, description="事件类型，如 sharing.grant.suspended")] = None,
    dept: Annotated[str | None, Query(max_length=64)] = None,
    resource_id: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    time_from: Annotated[datetime | None, Query(alias="from", description="事件时间下限（含），ISO 8601")] = None,
    time_to: Annotated[datetime | None, Query(alias="to", description="事件时间上限（不含），ISO 8601")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPage:
    """The audit trail, newest first, identifiers masked (auditors and the bureau)."""
    service.require_reader(caller)
    items, total = await service.list_events(
        session,
        type=type,
        dept=dept,
        resource_id=resource_id,
        actor=actor,
        time_from=_aware(time_from),
        time_to=_aware(time_to),
        page=page,
        size=size,
    )
    return EventPage(items=items, total=total, page=page, size=size)


@router.get("/verify", response_model=VerifyResult)
async def verify(caller: CurrentCaller, session: SessionDep, from_seq: Seq = None, to_seq: Seq = None) -> VerifyResult:
    """Recompute the hash chain over a range (default: all of it) and name the first broken record."""
    service.require_reader(caller)
    outcome = await service.verify_chain(session, from_seq, to_seq)
    broken = None
    if outcome.broken is not None:
        broken = {
            "seq": outcome.broken.seq,
            "event_id": outcome.broken_event_id,
            "reason": outcome.broken.reason,
            "detail": outcome.broken.detail,
        }
    return VerifyResult(
        ok=outcome.ok,
        checked=outcome.checked,
        from_seq=outcome.from_seq,
        to_seq=outcome.to_seq,
        last_hash=outcome.last_hash.hex(),
        first_broken=broken,
    )


@router.get("/export")
async def export(
    caller: CurrentCaller, request: Request, now: Now, from_seq: Seq = None, to_seq: Seq = None
) -> StreamingResponse:
    """A range of the log as a hash-anchored JSON Lines file; verify it offline with
    `python -m audit_svc.verify_export FILE`."""
    service.require_reader(caller)
    # No request-long session: the file streams after this returns, reading page by page on its own.
    async with request.app.state.db.session() as session:
        span = await service.export_range(session, from_seq, to_seq)
    filename = f"audit-{span.first}-{span.last}.jsonl"
    return StreamingResponse(
        service.export_lines(request.app.state.db, span, now),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/reports/departments/{dept}", response_model=DepartmentReport)
async def department_report(dept: str, caller: CurrentCaller, session: SessionDep, now: Now, year: Year = None):
    """A department's supervision figures for a year (the department itself, auditors, the bureau)."""
    service.require_department_report_reader(caller, dept)
    return await service.department_report(session, dept, _report_year(year, now), now)


@router.get("/reports/annual", response_model=AnnualReport)
async def annual_report(
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    year: Year = None,
    format: Literal["json", "csv"] = "json",
):
    """第三十九条 annual report of every department; `format=csv` for Excel (UTF-8 with BOM)."""
    service.require_reader(caller)
    report_year = _report_year(year, now)
    if format == "csv":
        return Response(
            await service.annual_csv(session, report_year),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit-annual-{report_year}.csv"'},
        )
    return await service.annual_report(session, report_year, now)
