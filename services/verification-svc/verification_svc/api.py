"""HTTP routes of verification-svc, mounted under /api/verification (API.md "Verification (校核)").
Thin: each calls one operation."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from govdata_shared.auth import CurrentCaller
from govdata_shared.service import Now, SessionDep

from verification_svc import service
from verification_svc.schemas import (
    ActiveOut,
    CorrectionIn,
    CorrectionOut,
    CorrectionPage,
    EvidenceOut,
    ExtendIn,
    OverdueOut,
    QualityOut,
    ResolveIn,
    Status,
    SubjectType,
)

router = APIRouter()


@router.get("/whoami")
async def whoami(caller: CurrentCaller) -> dict:
    """The authenticated caller as this service sees it (a check that tokens reach the service)."""
    return {"sub": caller.sub, "dept": caller.dept, "roles": sorted(caller.roles)}


@router.post("/corrections", status_code=201, response_model=CorrectionOut)
async def file_correction(body: CorrectionIn, caller: CurrentCaller, session: SessionDep, now: Now) -> CorrectionOut:
    """申请校核 (第十九条): a citizen or company for its own data, or a department for anyone's. The provider
    department must answer within 10 working days."""
    request = await service.file_correction(session, caller, body, now)
    return await service.view(session, request, caller, now)


@router.get("/corrections", response_model=CorrectionPage)
async def list_corrections(
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    status: Annotated[list[Status] | None, Query(description="one or more of open, extended, resolved")] = None,
    overdue: Annotated[bool | None, Query(description="true: unresolved past the deadline")] = None,
    resource_id: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CorrectionPage:
    """The requests the caller may see: a provider its own, a department those it filed, a citizen those about
    itself, the bureau and auditors all. Soonest deadline first."""
    return await service.list_corrections(
        session,
        caller,
        now,
        statuses=[s.value for s in status or ()],
        overdue=overdue,
        resource_id=resource_id,
        page=page,
        size=size,
    )


@router.get("/corrections/{request_id}", response_model=CorrectionOut)
async def get_correction(request_id: str, caller: CurrentCaller, session: SessionDep, now: Now) -> CorrectionOut:
    request = await service.get_request(session, caller, request_id)
    return await service.view(session, request, caller, now)


@router.post("/corrections/{request_id}/extend", response_model=CorrectionOut)
async def extend_correction(
    request_id: str, body: ExtendIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> CorrectionOut:
    """延长校核期限: once, at most 10 working days, by the provider's head, with a reason (第十九条)."""
    request = await service.extend(session, caller, request_id, body, now)
    return await service.view(session, request, caller, now)


@router.post("/corrections/{request_id}/resolve", response_model=CorrectionOut)
async def resolve_correction(
    request_id: str, body: ResolveIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> CorrectionOut:
    """办结: `corrected` with the corrected values, or `no_error` with the explanation; the provider only."""
    request = await service.resolve(session, caller, request_id, body, now)
    return await service.view(session, request, caller, now)


@router.post("/corrections/{request_id}/evidence", status_code=201, response_model=EvidenceOut)
async def upload_evidence(
    request_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG, at most 8 MiB")],
) -> EvidenceOut:
    """证明材料: the type is read from the content; the SHA-256 is recorded."""
    evidence = await service.add_evidence(session, caller, request_id, file, now)
    return service.evidence_view(evidence, full=True)


@router.get("/corrections/{request_id}/evidence", response_model=list[EvidenceOut])
async def list_evidence(request_id: str, caller: CurrentCaller, session: SessionDep) -> list[EvidenceOut]:
    return await service.list_evidence(session, caller, request_id)


@router.get("/corrections/{request_id}/evidence/{evidence_id}")
async def download_evidence(request_id: str, evidence_id: str, caller: CurrentCaller, session: SessionDep) -> Response:
    evidence = await service.get_evidence(session, caller, request_id, evidence_id)
    return Response(
        evidence.content,
        media_type=evidence.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(evidence.filename)}",
            "X-Content-SHA256": evidence.sha256,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/overdue", response_model=list[OverdueOut])
async def list_overdue(caller: CurrentCaller, session: SessionDep, now: Now) -> list[OverdueOut]:
    """Requests unresolved past their deadline (the bureau sees all; a department those in its scope)."""
    return await service.overdue_requests(session, caller, now)


@router.get("/active", response_model=ActiveOut)
async def under_verification(
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    subject_id: Annotated[str, Query(min_length=1, max_length=40)],
    resource_id: Annotated[str, Query(min_length=1, max_length=40)],
    subject_type: Annotated[
        SubjectType | None, Query(description="person | org; read from the shape if absent")
    ] = None,
) -> ActiveOut:
    """第十九条第三款: is this subject's data in this resource under verification? While it is, the office must
    not refuse the subject's business for it."""
    return await service.active_lookup(
        session, caller, subject_id, resource_id, now, subject_type.value if subject_type else None
    )


@router.get("/quality", response_model=QualityOut)
async def data_quality(
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    resource_id: Annotated[str | None, Query(max_length=40)] = None,
    provider_dept: Annotated[str | None, Query(max_length=32)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="requests received in this year")] = None,
) -> QualityOut:
    """第二十条: requests received, corrected, found without error and overdue, and the median working days to
    resolve, per resource and per provider department."""
    return await service.quality(session, caller, now, resource_id=resource_id, provider_dept=provider_dept, year=year)
