"""Verification operations: each one a unit of work that checks the caller, applies the rules, writes the change
and its event in one transaction (the caller's session commits it).

Who may see what is written once, in `readable()`: the applicant, the subject, the provider department and the
bureau and auditors. Who sees the full identifier is written once, in `sees_full_identifier()`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

import sqlalchemy as sa
from fastapi import UploadFile
from govdata_shared.auth import Caller, Role
from govdata_shared.contracts import validated_data
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.events import new_event
from govdata_shared.identifiers import mask_identifier, mask_identifiers_in_text, mask_in_obj
from govdata_shared.outbox import add_event
from govdata_shared.workdays import today_in_shanghai, working_days_between
from sqlalchemy.ext.asyncio import AsyncSession

from verification_svc import domain, events
from verification_svc.models import CatalogResource, CorrectionEvidence, CorrectionRequest
from verification_svc.schemas import (
    ActiveOut,
    ActiveRequest,
    CorrectionIn,
    CorrectionOut,
    CorrectionPage,
    EvidenceOut,
    ExtendIn,
    OverdueOut,
    ProviderQuality,
    QualityOut,
    ResolveIn,
    ResourceQuality,
)

SOURCE = "verification-svc"
DEPARTMENT_ROLES = (Role.DEPT_OPERATOR, Role.DEPT_HEAD)
OVERSIGHT_ROLES = (Role.BUREAU_ADMIN, Role.AUDITOR)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


# --- who may do what -------------------------------------------------------------------------------------


def department_of(caller: Caller) -> str | None:
    """The caller's department when the caller acts for it (operator or head)."""
    return caller.dept if caller.dept and caller.has_role(*DEPARTMENT_ROLES) else None


def own_subject(caller: Caller) -> str | None:
    """The identifier of the citizen or company behind the account, normalised."""
    if caller.has_role(Role.CITIZEN) and caller.subject_id:
        return domain.normalise_identifier(caller.subject_id)
    return None


def oversees(caller: Caller) -> bool:
    return caller.has_role(*OVERSIGHT_ROLES)


def readable(caller: Caller) -> sa.ColumnElement[bool]:
    """The requests `caller` may see: all for the bureau and auditors; a department those it provides the data
    for or filed; a citizen or company those about itself or filed by it."""
    if oversees(caller):
        return sa.true()
    scopes: list[sa.ColumnElement[bool]] = []
    dept = department_of(caller)
    if dept:
        scopes += [CorrectionRequest.provider_dept == dept, CorrectionRequest.applicant_dept == dept]
    subject = own_subject(caller)
    if subject:
        scopes += [CorrectionRequest.subject_id == subject, CorrectionRequest.applicant_sub == caller.sub]
    return sa.or_(*scopes) if scopes else sa.false()


def sees_full_identifier(caller: Caller, request: CorrectionRequest) -> bool:
    """DESIGN §3.3: full identifiers only for the subject and the provider (and the department that filed it)."""
    dept = department_of(caller)
    if dept and dept in (request.provider_dept, request.applicant_dept):
        return True
    return own_subject(caller) == request.subject_id


def require_provider(caller: Caller, request: CorrectionRequest) -> None:
    if department_of(caller) != request.provider_dept:
        raise Problem(
            403,
            "not_provider",
            f"只有数据提供部门 {request.provider_dept} 可以办结该校核申请",
            provider_dept=request.provider_dept,
        )


def require_provider_head(caller: Caller, request: CorrectionRequest) -> None:
    # 第十九条: 延长校核期限应当经政务数据提供部门主要负责人同意.
    if caller.dept != request.provider_dept or not caller.has_role(Role.DEPT_HEAD):
        raise Problem(
            403,
            "provider_head_required",
            f"延长校核期限须经数据提供部门 {request.provider_dept} 主要负责人同意（第十九条）",
            provider_dept=request.provider_dept,
        )


def require_applicant(caller: Caller, request: CorrectionRequest) -> None:
    dept = department_of(caller)
    if caller.sub == request.applicant_sub or (dept and dept == request.applicant_dept):
        return
    if own_subject(caller) == request.subject_id:
        return
    raise Problem(403, "not_applicant", "只有申请人可以补充证明材料")


# --- loading ---------------------------------------------------------------------------------------------


async def get_request(
    session: AsyncSession, caller: Caller, request_id: str, *, for_update: bool = False
) -> CorrectionRequest:
    query = sa.select(CorrectionRequest).where(CorrectionRequest.id == request_id, readable(caller))
    if for_update:
        query = query.with_for_update()
    request = (await session.execute(query)).scalar_one_or_none()
    if request is None:
        raise Problem(404, "correction_not_found", f"校核申请 {request_id} 不存在")
    return request


async def filing_resource(session: AsyncSession, resource_id: str) -> CatalogResource:
    """The resource a request is about, as the catalog published it."""
    resource = await session.get(CatalogResource, resource_id)
    if resource is not None and resource.status == "retired":
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


async def _resource_names(session: AsyncSession, resource_ids: set[str]) -> dict[str, str]:
    if not resource_ids:
        return {}
    rows = await session.execute(
        sa.select(CatalogResource.resource_id, CatalogResource.name).where(
            CatalogResource.resource_id.in_(resource_ids)
        )
    )
    return dict(rows.all())


async def _evidence_counts(session: AsyncSession, request_ids: list[str]) -> dict[str, int]:
    if not request_ids:
        return {}
    rows = await session.execute(
        sa.select(CorrectionEvidence.request_id, sa.func.count())
        .where(CorrectionEvidence.request_id.in_(request_ids))
        .group_by(CorrectionEvidence.request_id)
    )
    return dict(rows.all())


# --- views -----------------------------------------------------------------------------------------------


def correction_view(
    request: CorrectionRequest, caller: Caller, today: date, resource_name: str | None, evidence_count: int
) -> CorrectionOut:
    full = sees_full_identifier(caller, request)

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


async def view(session: AsyncSession, request: CorrectionRequest, caller: Caller, now: datetime) -> CorrectionOut:
    names = await _resource_names(session, {request.resource_id})
    counts = await _evidence_counts(session, [request.id])
    return correction_view(
        request, caller, today_in_shanghai(now), names.get(request.resource_id), counts.get(request.id, 0)
    )


# --- events ----------------------------------------------------------------------------------------------


async def emit(
    session: AsyncSession, event_type: str, request: CorrectionRequest, caller: Caller | None, **extra: Any
) -> None:
    """Stage the request's event; the identifier is masked here (and once more by `new_event`)."""
    request.version += 1
    data = {
        "request_id": request.id,
        "resource_id": request.resource_id,
        "provider_dept": request.provider_dept,
        "subject_type": request.subject_type,
        "subject_id": mask_identifier(request.subject_id),
        "subject_id_check_failed": request.subject_id_check_failed,
        "applicant_kind": request.applicant_kind,
        "applicant_dept": request.applicant_dept,
        "items": list(request.items),
        "status": request.status,
        "received_on": request.received_on,
        "deadline": request.deadline,
        "deadline_estimated": request.deadline_estimated,
        **extra,
    }
    await add_event(
        session,
        new_event(
            event_type,
            request.id,
            validated_data(event_type, data),
            version=request.version,
            actor=mask_identifiers_in_text(caller.sub) if caller else "system",
            dept=request.provider_dept,
            source=SOURCE,
        ),
    )


# --- filing ----------------------------------------------------------------------------------------------


def applicant_of(caller: Caller) -> tuple[str, str | None]:
    """(`department`, dept) for department staff, (`citizen`, None) for citizens and companies."""
    dept = department_of(caller)
    if dept:
        return "department", dept
    if caller.has_role(Role.CITIZEN):
        return "citizen", None
    raise Problem(403, "applicant_role_required", "只有公民、法人或政务部门可以申请数据校核")


async def file_correction(
    session: AsyncSession, caller: Caller, body: CorrectionIn, now: datetime
) -> CorrectionRequest:
    """第十九条: a citizen, company or department asks the provider to verify a subject's data."""
    kind, dept = applicant_of(caller)
    today = today_in_shanghai(now)
    subject = domain.validate_subject(body.subject_type, body.subject_id, today)
    if kind == "citizen" and own_subject(caller) != subject.value:
        raise Problem(
            403,
            "not_own_subject",
            "公民、法人只能就本人（本单位）的数据申请校核",
            field="subject_id",
            rule="own_subject_only",
        )
    resource = await filing_resource(session, body.resource_id)
    errors = domain.filing_violations([i["code"] for i in resource.items], body.items, body.claimed_values)
    if errors:
        raise validation_problem(errors)
    deadline = domain.verification_deadline(today)
    request = CorrectionRequest(
        id=new_id("cor"),
        resource_id=resource.resource_id,
        provider_dept=resource.provider_dept,
        subject_type=body.subject_type.value,
        subject_id=subject.value,
        subject_id_check_failed=subject.check_failed,
        items=list(body.items),
        claimed_values=dict(body.claimed_values),
        description=body.description,
        applicant_kind=kind,
        applicant_sub=caller.sub,
        applicant_dept=dept,
        status="open",
        received_at=now,
        received_on=today,
        deadline=deadline.due,
        deadline_estimated=deadline.estimated,
        original_deadline=deadline.due,
        updated_at=now,
    )
    session.add(request)
    await emit(session, events.REQUEST_SUBMITTED, request, caller)
    await session.flush()
    return request


# --- evidence --------------------------------------------------------------------------------------------


def _safe_filename(name: str | None) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name.strip()
    return (base or "evidence")[:200]


async def add_evidence(
    session: AsyncSession, caller: Caller, request_id: str, upload: UploadFile, now: datetime
) -> CorrectionEvidence:
    request = await get_request(session, caller, request_id, for_update=True)
    require_applicant(caller, request)
    if request.status not in domain.UNRESOLVED_STATUSES:
        raise Problem(409, "request_resolved", "校核申请已办结，不能再补充材料")
    count = (
        await session.execute(
            sa.select(sa.func.count())
            .select_from(CorrectionEvidence)
            .where(CorrectionEvidence.request_id == request.id)
        )
    ).scalar_one()
    if count >= domain.EVIDENCE_MAX_FILES:
        raise Problem(409, "evidence_limit", f"每个校核申请最多 {domain.EVIDENCE_MAX_FILES} 份材料", rule="max_files")
    content = await upload.read(domain.EVIDENCE_MAX_BYTES + 1)
    if len(content) > domain.EVIDENCE_MAX_BYTES:
        raise Problem(
            413,
            "evidence_too_large",
            f"单个材料不得超过 {domain.EVIDENCE_MAX_BYTES // (1024 * 1024)} MiB",
            field="file",
            rule="max_size",
            max_bytes=domain.EVIDENCE_MAX_BYTES,
        )
    content_type = domain.sniff_evidence_type(content[:16])
    if content_type is None:
        raise Problem(
            415,
            "evidence_type_not_allowed",
            "材料只能是 PDF、JPEG 或 PNG 文件",
            field="file",
            rule="pdf_jpeg_png_only",
            allowed=[t for _, t in domain.EVIDENCE_SIGNATURES],
        )
    evidence = CorrectionEvidence(
        id=new_id("evd"),
        request_id=request.id,
        filename=_safe_filename(upload.filename),
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=caller.sub,
        uploaded_at=now,
    )
    session.add(evidence)
    request.updated_at = now
    await session.flush()
    return evidence


def evidence_view(evidence: Any, full: bool) -> EvidenceOut:
    return EvidenceOut(
        id=evidence.id,
        filename=evidence.filename if full else mask_identifiers_in_text(evidence.filename),
        content_type=evidence.content_type,
        size=evidence.size,
        sha256=evidence.sha256,
        uploaded_at=evidence.uploaded_at,
    )


async def list_evidence(session: AsyncSession, caller: Caller, request_id: str) -> list[EvidenceOut]:
    request = await get_request(session, caller, request_id)
    rows = await session.execute(
        sa.select(
            CorrectionEvidence.id,
            CorrectionEvidence.filename,
            CorrectionEvidence.content_type,
            CorrectionEvidence.size,
            CorrectionEvidence.sha256,
            CorrectionEvidence.uploaded_at,
        )
        .where(CorrectionEvidence.request_id == request.id)
        .order_by(CorrectionEvidence.uploaded_at, CorrectionEvidence.id)
    )
    full = sees_full_identifier(caller, request)
    return [evidence_view(row, full) for row in rows.all()]


async def get_evidence(session: AsyncSession, caller: Caller, request_id: str, evidence_id: str) -> CorrectionEvidence:
    """The file itself: only for those who may see the subject's full data (subject, provider, applicant)."""
    request = await get_request(session, caller, request_id)
    if not sees_full_identifier(caller, request):
        raise Problem(403, "evidence_restricted", "证明材料含个人信息，仅申请人、数据主体和数据提供部门可以查看")
    evidence = await session.get(CorrectionEvidence, evidence_id)
    if evidence is None or evidence.request_id != request.id:
        raise Problem(404, "evidence_not_found", f"材料 {evidence_id} 不存在")
    return evidence


# --- extension and resolution ----------------------------------------------------------------------------


async def extend(
    session: AsyncSession, caller: Caller, request_id: str, body: ExtendIn, now: datetime
) -> CorrectionRequest:
    """第十九条: the provider's head extends the period once, by at most 10 working days, with a reason."""
    request = await get_request(session, caller, request_id, for_update=True)
    require_provider_head(caller, request)
    status = domain.transition(request.status, "extend")
    today = today_in_shanghai(now)
    if today > request.deadline:
        raise Problem(
            409,
            "deadline_passed",
            f"校核期限 {request.deadline.isoformat()} 已过，不能再延长",
            rule="extend_before_deadline",
            deadline=request.deadline.isoformat(),
        )
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
    await emit(
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
    return request


async def resolve(
    session: AsyncSession, caller: Caller, request_id: str, body: ResolveIn, now: datetime
) -> CorrectionRequest:
    """The provider answers: `corrected` with the corrected values, or `no_error` with the explanation."""
    request = await get_request(session, caller, request_id, for_update=True)
    require_provider(caller, request)
    status = domain.transition(request.status, "resolve")
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
    await emit(
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
    return request


# --- lists -----------------------------------------------------------------------------------------------


def _overdue_clause(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(CorrectionRequest.status.in_(domain.UNRESOLVED_STATUSES), CorrectionRequest.deadline < today)


async def list_corrections(
    session: AsyncSession,
    caller: Caller,
    now: datetime,
    *,
    statuses: Sequence[str] = (),
    overdue: bool | None = None,
    resource_id: str | None = None,
    page: int = 1,
    size: int = 20,
) -> CorrectionPage:
    today = today_in_shanghai(now)
    conditions = [readable(caller)]
    if statuses:
        conditions.append(CorrectionRequest.status.in_(statuses))
    if overdue is not None:
        conditions.append(_overdue_clause(today) if overdue else sa.not_(_overdue_clause(today)))
    if resource_id:
        conditions.append(CorrectionRequest.resource_id == resource_id)
    total = (
        await session.execute(sa.select(sa.func.count()).select_from(CorrectionRequest).where(*conditions))
    ).scalar_one()
    rows = (
        (
            await session.execute(
                sa.select(CorrectionRequest)
                .where(*conditions)
                .order_by(CorrectionRequest.deadline, CorrectionRequest.received_at, CorrectionRequest.id)
                .offset((page - 1) * size)
                .limit(size)
            )
        )
        .scalars()
        .all()
    )
    names = await _resource_names(session, {r.resource_id for r in rows})
    counts = await _evidence_counts(session, [r.id for r in rows])
    return CorrectionPage(
        items=[correction_view(r, caller, today, names.get(r.resource_id), counts.get(r.id, 0)) for r in rows],
        total=total,
        page=page,
        size=size,
    )


async def overdue_requests(session: AsyncSession, caller: Caller, now: datetime) -> list[OverdueOut]:
    """Requests open past their deadline, oldest deadline first, in the caller's scope."""
    today = today_in_shanghai(now)
    rows = (
        await session.execute(
            sa.select(CorrectionRequest)
            .where(readable(caller), _overdue_clause(today))
            .order_by(CorrectionRequest.deadline, CorrectionRequest.id)
        )
    ).scalars()
    return [
        OverdueOut(
            id=r.id,
            resource_id=r.resource_id,
            provider_dept=r.provider_dept,
            subject_id=r.subject_id if sees_full_identifier(caller, r) else mask_identifier(r.subject_id),
            deadline=r.deadline,
            deadline_estimated=r.deadline_estimated,
            extended=r.extension_days is not None,
            working_days_overdue=working_days_between(r.deadline, today),
        )
        for r in rows
    ]


async def emit_overdue(session: AsyncSession, now: datetime) -> int:
    """Emit `verification.request.overdue` once per request (the flag remembers)."""
    today = today_in_shanghai(now)
    rows = (
        (
            await session.execute(
                sa.select(CorrectionRequest)
                .where(_overdue_clause(today), CorrectionRequest.overdue_emitted.is_(False))
                .order_by(CorrectionRequest.deadline, CorrectionRequest.id)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for request in rows:
        request.overdue_emitted = True
        await emit(
            session,
            events.REQUEST_OVERDUE,
            request,
            None,
            detected_on=today,
            extended=request.extension_days is not None,
        )
    return len(rows)


# --- 第十九条第三款: is the subject's data under verification? ---------------------------------------------


async def active_lookup(
    session: AsyncSession,
    caller: Caller,
    subject_id: str,
    resource_id: str,
    now: datetime,
    subject_type: str | None = None,
) -> ActiveOut:
    """While a check runs, the office serving the subject must not refuse it — any department may ask."""
    today = today_in_shanghai(now)
    if subject_type:
        subject = domain.validate_subject(subject_type, subject_id, today)
    else:
        subject = domain.validate_any_identifier(subject_id, today)
    if not (department_of(caller) or oversees(caller) or own_subject(caller) == subject.value):
        raise Problem(403, "lookup_not_allowed", "只有政务部门可以查询他人数据的校核状态")
    rows = (
        await session.execute(
            sa.select(CorrectionRequest)
            .where(
                CorrectionRequest.subject_id == subject.value,
                CorrectionRequest.resource_id == resource_id,
                CorrectionRequest.status.in_(domain.UNRESOLVED_STATUSES),
            )
            .order_by(CorrectionRequest.deadline, CorrectionRequest.id)
        )
    ).scalars()
    requests = [
        ActiveRequest(id=r.id, deadline=r.deadline, deadline_estimated=r.deadline_estimated, items=r.items)
        for r in rows
    ]
    return ActiveOut(
        under_verification=bool(requests),
        subject_id=mask_identifier(subject.value),
        resource_id=resource_id,
        requests=requests,
    )


# --- 第二十条: data quality ---------------------------------------------------------------------------------


async def quality(
    session: AsyncSession,
    caller: Caller,
    now: datetime,
    *,
    resource_id: str | None = None,
    provider_dept: str | None = None,
    year: int | None = None,
) -> QualityOut:
    """Requests received, corrected, found without error and overdue, per resource and per provider."""
    if not oversees(caller):
        dept = department_of(caller)
        if dept is None:
            raise Problem(403, "department_role_required", "只有政务部门、县政务服务和大数据管理局可以查看数据质量")
        if provider_dept and provider_dept != dept:
            raise Problem(403, "not_your_department", "部门只能查看本部门提供的数据的质量")
        provider_dept = dept
    query = sa.select(
        CorrectionRequest.resource_id,
        CorrectionRequest.provider_dept,
        CorrectionRequest.status,
        CorrectionRequest.outcome,
        CorrectionRequest.deadline,
        CorrectionRequest.on_time,
        CorrectionRequest.working_days_taken,
    )
    if resource_id:
        query = query.where(CorrectionRequest.resource_id == resource_id)
    if provider_dept:
        query = query.where(CorrectionRequest.provider_dept == provider_dept)
    if year is not None:
        query = query.where(CorrectionRequest.received_on.between(date(year, 1, 1), date(year, 12, 31)))
    today = today_in_shanghai(now)
    by_resource: dict[tuple[str, str], domain.QualityTally] = {}
    by_provider: dict[str, domain.QualityTally] = {}
    for row in (await session.execute(query)).all():
        for tally in (
            by_resource.setdefault((row.resource_id, row.provider_dept), domain.QualityTally()),
            by_provider.setdefault(row.provider_dept, domain.QualityTally()),
        ):
            tally.add(
                status=row.status,
                outcome=row.outcome,
                deadline=row.deadline,
                on_time=row.on_time,
                days=row.working_days_taken,
                today=today,
            )
    names = await _resource_names(session, {rid for rid, _ in by_resource})
    return QualityOut(
        as_of=today,
        resources=[
            ResourceQuality(resource_id=rid, resource_name=names.get(rid), provider_dept=dept, **tally.figures())
            for (rid, dept), tally in sorted(by_resource.items())
        ],
        providers=[
            ProviderQuality(provider_dept=dept, **tally.figures()) for dept, tally in sorted(by_provider.items())
        ],
    )
