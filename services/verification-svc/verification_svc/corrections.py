"""Correction requests (校核申请, 第十九条): filing, the one extension by the provider's head, resolution, the lists
and overdue requests. Each operation is a unit of work: it checks the caller, applies the rules, writes the change
and stages its event in the caller's transaction (the route's session commits it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.identifiers import mask_identifier, mask_in_obj
from govdata_shared.publish import publish
from govdata_shared.repository import get_or_404, new_id
from govdata_shared.workdays import today_in_shanghai, working_days_between
from sqlalchemy.ext.asyncio import AsyncSession

from verification_svc import access, domain, events
from verification_svc.domain import ApplicantKind, CorrectionStatus
from verification_svc.models import CatalogResource, CorrectionEvidence, CorrectionRequest
from verification_svc.schemas import CorrectionIn, CorrectionOut, CorrectionPage, ExtendIn, OverdueOut, ResolveIn

# --- filing ----------------------------------------------------------------------------------------------


async def file_correction(session: AsyncSession, *, caller: Caller, body: CorrectionIn, now: datetime) -> CorrectionOut:
    """第十九条: a citizen, company or department asks the provider to verify a subject's data; the provider must
    answer within 10 working days."""
    kind, dept = access.applicant_of(caller)
    today = today_in_shanghai(now)
    subject = domain.validate_subject(body.subject_type, body.subject_id, today)
    if kind == ApplicantKind.CITIZEN:
        access.require_own_subject(caller, subject.value)
    resource = await _filing_resource(session, body.resource_id)
    errors = domain.filing_violations([i["code"] for i in resource.items], body.items, body.claimed_values)
    if errors:
        raise validation_problem(errors)
    deadline = domain.verification_deadline(today)
    request = CorrectionRequest(
        id=new_id("cor"),
        resource_id=resource.resource_id,
        provider_dept=resource.provider_dept,
        subject_type=body.subject_type,
        subject_id=subject.value,
        subject_id_check_failed=subject.check_failed,
        items=list(body.items),
        claimed_values=dict(body.claimed_values),
        description=body.description,
        applicant_kind=kind,
        applicant_sub=caller.sub,
        applicant_dept=dept,
        status=CorrectionStatus.OPEN,
        received_at=now,
        received_on=today,
        deadline=deadline.due,
        deadline_estimated=deadline.estimated,
        original_deadline=deadline.due,
        updated_at=now,
    )
    session.add(request)
    await _publish(session, events.REQUEST_SUBMITTED, request, caller)
    await session.flush()
    return await _view(session, request, caller, today)


async def _filing_resource(session: AsyncSession, resource_id: str) -> CatalogResource:
    """The resource a request is about, as the catalog published it."""
    resource = await session.get(CatalogResource, resource_id)
    if resource is not None and resource.status == domain.RETIRED_RESOURCE_STATUS:
        raise Problem(
            409, "resource_retired", f"资源 {resource_id} 已停用，不能申请校核", field="resource_id", rule="not_retired"
        )
    if resource is None or resource.status not in domain.ACCEPTING_RESOURCE_STATUSES:
        raise Problem(
            404,
            "resource_unknown",
            f"目录中没有已发布的资源 {resource_id}",
            field="resource_id",
            rule="published_resource",
        )
    return resource


# --- extension and resolution ----------------------------------------------------------------------------


async def extend(
    session: AsyncSession, *, caller: Caller, request_id: str, body: ExtendIn, now: datetime
) -> CorrectionOut:
    """第十九条: the provider's head extends the period once, by at most 10 working days, with a reason."""
    request = await get_or_404(
        session, CorrectionRequest, request_id, where=access.readable_correction(caller), for_update=True
    )
    access.require_provider_head(caller, request)
    status = domain.CORRECTION.next(request.status, "extend")
    today = today_in_shanghai(now)
    domain.require_extendable_on(request.deadline, today)
    previous = request.deadline
    moved = domain.extended_deadline(request.deadline, request.deadline_estimated, body.days)
    request.status = status
    request.deadline = moved.due
    request.deadline_estimated = moved.estimated
    request.extension_days = body.days
    request.extension_reason = body.reason
    request.extended_by = caller.sub
    request.extended_at = now
    request.updated_at = now
    await _publish(
        session,
        events.REQUEST_EXTENDED,
        request,
        caller,
        days=body.days,
        reason=body.reason,
        previous_deadline=previous,
        approved_by=caller.sub,
    )
    await session.flush()
    return await _view(session, request, caller, today)


async def resolve(
    session: AsyncSession, *, caller: Caller, request_id: str, body: ResolveIn, now: datetime
) -> CorrectionOut:
    """办结: the provider answers `corrected` with the corrected values, or `no_error` with the explanation."""
    request = await get_or_404(
        session, CorrectionRequest, request_id, where=access.readable_correction(caller), for_update=True
    )
    access.require_provider(caller, request)
    status = domain.CORRECTION.next(request.status, "resolve")
    errors = domain.resolution_violations(request.items, body.outcome, body.note, body.corrected_values)
    if errors:
        raise validation_problem(errors)
    today = today_in_shanghai(now)
    was_extended = request.extension_days is not None
    request.status = status
    request.outcome = body.outcome
    request.resolution_note = body.note.strip() if body.note else None
    request.corrected_values = dict(body.corrected_values) if body.corrected_values else None
    request.resolved_by = caller.sub
    request.resolved_at = now
    request.resolved_on = today
    request.on_time = today <= request.deadline
    request.working_days_taken = working_days_between(request.received_on, today)
    request.updated_at = now
    await _publish(
        session,
        events.REQUEST_RESOLVED,
        request,
        caller,
        outcome=body.outcome,
        corrected_items=sorted(request.corrected_values or {}),
        resolved_on=today,
        on_time=request.on_time,
        working_days_taken=request.working_days_taken,
        extended=was_extended,
    )
    await session.flush()
    return await _view(session, request, caller, today)


# --- overdue ---------------------------------------------------------------------------------------------


def _overdue(today: date) -> sa.ColumnElement[bool]:
    """Unresolved past the deadline (the last day itself is still in time)."""
    return sa.and_(CorrectionRequest.status.in_(domain.UNRESOLVED_STATUSES), CorrectionRequest.deadline < today)


async def list_overdue(session: AsyncSession, *, caller: Caller, now: datetime) -> list[OverdueOut]:
    """Requests open past their deadline, oldest deadline first, in the caller's scope."""
    today = today_in_shanghai(now)
    rows = (
        await session.execute(
            sa.select(CorrectionRequest)
            .where(access.readable_correction(caller), _overdue(today))
            .order_by(CorrectionRequest.deadline, CorrectionRequest.id)
        )
    ).scalars()
    return [
        OverdueOut(
            id=r.id,
            resource_id=r.resource_id,
            provider_dept=r.provider_dept,
            subject_id=r.subject_id if access.sees_full_identifier(caller, r) else mask_identifier(r.subject_id),
            deadline=r.deadline,
            deadline_estimated=r.deadline_estimated,
            extended=r.extension_days is not None,
            working_days_overdue=working_days_between(r.deadline, today),
        )
        for r in rows
    ]


async def emit_overdue(session: AsyncSession, *, now: datetime) -> int:
    """Emit `verification.request.overdue` once per request (the flag remembers); the number emitted."""
    today = today_in_shanghai(now)
    rows = (
        (
            await session.execute(
                sa.select(CorrectionRequest)
                .where(_overdue(today), CorrectionRequest.overdue_emitted.is_(False))
                .order_by(CorrectionRequest.deadline, CorrectionRequest.id)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for request in rows:
        request.overdue_emitted = True
        await _publish(
            session,
            events.REQUEST_OVERDUE,
            request,
            None,
            detected_on=today,
            extended=request.extension_days is not None,
        )
    return len(rows)


# --- reading ---------------------------------------------------------------------------------------------


async def get_correction(session: AsyncSession, *, caller: Caller, request_id: str, now: datetime) -> CorrectionOut:
    request = await get_or_404(session, CorrectionRequest, request_id, where=access.readable_correction(caller))
    return await _view(session, request, caller, today_in_shanghai(now))


async def list_corrections(
    session: AsyncSession,
    *,
    caller: Caller,
    now: datetime,
    statuses: Sequence[CorrectionStatus] = (),
    overdue: bool | None = None,
    resource_id: str | None = None,
    page: int = 1,
    size: int = 20,
) -> CorrectionPage:
    """The requests the caller may see, soonest deadline first, one page at a time."""
    today = today_in_shanghai(now)
    conditions = [access.readable_correction(caller)]
    if statuses:
        conditions.append(CorrectionRequest.status.in_(statuses))
    if overdue is not None:
        conditions.append(_overdue(today) if overdue else sa.not_(_overdue(today)))
    if resource_id:
        conditions.append(CorrectionRequest.resource_id == resource_id)
    total = (
        await session.execute(sa.select(sa.func.count()).select_from(CorrectionRequest).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        sa.select(
            CorrectionRequest,
            _resource_name(CorrectionRequest.resource_id),
            _evidence_count(CorrectionRequest.id),
        )
        .where(*conditions)
        .order_by(CorrectionRequest.deadline, CorrectionRequest.received_at, CorrectionRequest.id)
        .offset((page - 1) * size)
        .limit(size)
    )
    return CorrectionPage(
        items=[_correction_out(request, caller, today, name, count) for request, name, count in rows.all()],
        total=total,
        page=page,
        size=size,
    )


# --- responses -------------------------------------------------------------------------------------------


def _resource_name(resource_id: Any) -> sa.ScalarSelect[str]:
    return sa.select(CatalogResource.name).where(CatalogResource.resource_id == resource_id).scalar_subquery()


def _evidence_count(request_id: Any) -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .select_from(CorrectionEvidence)
        .where(CorrectionEvidence.request_id == request_id)
        .scalar_subquery()
    )


async def _view(session: AsyncSession, request: CorrectionRequest, caller: Caller, today: date) -> CorrectionOut:
    name, count = (
        await session.execute(sa.select(_resource_name(request.resource_id), _evidence_count(request.id)))
    ).one()
    return _correction_out(request, caller, today, name, count)


def _correction_out(
    request: CorrectionRequest, caller: Caller, today: date, resource_name: str | None, evidence_count: int
) -> CorrectionOut:
    """The request as `caller` may see it: identifiers in the subject id and free text masked unless it sees them
    in full (access.sees_full_identifier)."""
    full = access.sees_full_identifier(caller, request)

    def text(value: Any) -> Any:
        return value if full or value is None else mask_in_obj(value)

    return CorrectionOut(
        id=request.id,
        status=request.status,
        resource_id=request.resource_id,
        resource_name=resource_name,
        provider_dept=request.provider_dept,
        subject_type=request.subject_type,
        subject_id=request.subject_id if full else mask_identifier(request.subject_id),
        subject_id_masked=not full,
        subject_id_check_failed=request.subject_id_check_failed,
        items=request.items,
        claimed_values=text(request.claimed_values),
        description=text(request.description),
        applicant_kind=request.applicant_kind,
        applicant_dept=request.applicant_dept,
        received_at=request.received_at,
        received_on=request.received_on,
        deadline=request.deadline,
        deadline_estimated=request.deadline_estimated,
        original_deadline=request.original_deadline,
        overdue=domain.is_overdue(request.status, request.deadline, today),
        extension_days=request.extension_days,
        extension_reason=text(request.extension_reason),
        outcome=request.outcome,
        note=text(request.resolution_note),
        corrected_values=text(request.corrected_values),
        resolved_at=request.resolved_at,
        resolved_on=request.resolved_on,
        on_time=request.on_time,
        working_days_taken=request.working_days_taken,
        evidence_count=evidence_count,
    )


# --- events ----------------------------------------------------------------------------------------------


async def _publish(
    session: AsyncSession, event_type: str, request: CorrectionRequest, caller: Caller | None, **extra: Any
) -> None:
    """Stage the request's next event (`caller` None: the system); the identifier travels masked."""
    request.version += 1
    await publish(
        session,
        event_type,
        request.id,
        events.request_payload(request, **extra),
        caller=caller,
        version=request.version,
        dept=request.provider_dept,
        source=events.SOURCE,
    )
