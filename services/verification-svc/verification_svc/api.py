"""HTTP routes of verification-svc, mounted under /api/verification (API.md "Verification (校核)").
Thin: role-only rules on the route (access.py), then one operation of a topic module."""

from __future__ import annotations

from typing import Annotated

import pydantic_core
from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from govdata_shared.auth import AuthorizeFirst, CurrentCaller
from govdata_shared.pages import PageCache, identity_view
from govdata_shared.service import Now, ReadSessionDep, SessionDep
from govdata_shared.workdays import today_in_shanghai

from verification_svc import corrections, evidence, lookup
from verification_svc.access import Applicant, QualityViewer, applicant_roles, extends_deadlines, resolves_corrections
from verification_svc.domain import CorrectionStatus, SubjectType
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
)

# Who may call a route is decided before its body is read (AuthorizeFirst): a caller of the wrong role gets 403
# whatever the body, never a 422 describing the schema. Every write route declares its role gate; the checks that
# need the stored request (its provider department, its applicant) follow in the operation.
router = APIRouter(route_class=AuthorizeFirst)

# Kept while verification's data version is unchanged (govdata_shared.pages).
CORRECTION_PAGES = PageCache("verification.corrections")


@router.post("/corrections", status_code=201, response_model=CorrectionOut)
async def file_correction(body: CorrectionIn, caller: Applicant, session: SessionDep, now: Now) -> CorrectionOut:
    """申请校核 (第十九条): a citizen or company for its own data, or a department for anyone's. The provider
    department must answer within 10 working days."""
    return await corrections.file_correction(session, caller=caller, body=body, now=now)


@router.get("/corrections", response_model=CorrectionPage)
async def list_corrections(
    caller: CurrentCaller,
    session: ReadSessionDep,
    now: Now,
    status: Annotated[
        list[CorrectionStatus] | None, Query(description="one or more of open, extended, resolved")
    ] = None,
    overdue: Annotated[bool | None, Query(description="true: unresolved past the deadline")] = None,
    resource_id: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """The requests the caller may see: a provider its own, a department those it filed, a citizen those about
    itself, the bureau and auditors all. Soonest deadline first."""
    statuses = tuple(status or ())

    async def render() -> bytes:
        page_of = await corrections.list_corrections(
            session,
            caller=caller,
            now=now,
            statuses=statuses,
            overdue=overdue,
            resource_id=resource_id,
            page=page,
            size=size,
        )
        return pydantic_core.to_json(page_of)

    # A citizen sees the requests about itself (access.readable_correction), so pages are kept per person; what
    # is overdue changes with the day in Shanghai.
    key = (identity_view(caller), today_in_shanghai(now), statuses, overdue, resource_id, page, size)
    return await CORRECTION_PAGES.respond(session, key, render)


@router.get("/corrections/{request_id}", response_model=CorrectionOut)
async def get_correction(request_id: str, caller: CurrentCaller, session: ReadSessionDep, now: Now) -> CorrectionOut:
    return await corrections.get_correction(session, caller=caller, request_id=request_id, now=now)


@router.post(
    "/corrections/{request_id}/extend", response_model=CorrectionOut, dependencies=[Depends(extends_deadlines)]
)
async def extend_correction(
    request_id: str, body: ExtendIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> CorrectionOut:
    """延长校核期限: once, at most 10 working days, by the provider's head, with a reason (第十九条)."""
    return await corrections.extend(session, caller=caller, request_id=request_id, body=body, now=now)


@router.post(
    "/corrections/{request_id}/resolve", response_model=CorrectionOut, dependencies=[Depends(resolves_corrections)]
)
async def resolve_correction(
    request_id: str, body: ResolveIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> CorrectionOut:
    """办结: `corrected` with the corrected values, or `no_error` with the explanation; the provider only."""
    return await corrections.resolve(session, caller=caller, request_id=request_id, body=body, now=now)


@router.post(
    "/corrections/{request_id}/evidence",
    status_code=201,
    response_model=EvidenceOut,
    dependencies=[Depends(applicant_roles)],
)
async def upload_evidence(
    request_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG, at most 8 MiB")],
) -> EvidenceOut:
    """证明材料: the type is read from the content; the SHA-256 is recorded."""
    return await evidence.add_evidence(session, caller=caller, request_id=request_id, upload=file, now=now)


@router.get("/corrections/{request_id}/evidence", response_model=list[EvidenceOut])
async def list_evidence(request_id: str, caller: CurrentCaller, session: ReadSessionDep) -> list[EvidenceOut]:
    return await evidence.list_evidence(session, caller=caller, request_id=request_id)


@router.get("/corrections/{request_id}/evidence/{evidence_id}")
async def download_evidence(
    request_id: str, evidence_id: str, caller: CurrentCaller, session: ReadSessionDep
) -> Response:
    return await evidence.download_evidence(session, caller=caller, request_id=request_id, evidence_id=evidence_id)


@router.get("/overdue", response_model=list[OverdueOut])
async def list_overdue(caller: CurrentCaller, session: ReadSessionDep, now: Now) -> list[OverdueOut]:
    """Requests unresolved past their deadline (the bureau sees all; a department those in its scope)."""
    return await corrections.list_overdue(session, caller=caller, now=now)


@router.get("/active", response_model=ActiveOut)
async def under_verification(
    caller: CurrentCaller,
    session: ReadSessionDep,
    now: Now,
    subject_id: Annotated[str, Query(min_length=1, max_length=40)],
    resource_id: Annotated[str, Query(min_length=1, max_length=40)],
    subject_type: Annotated[
        SubjectType | None, Query(description="person | org; read from the shape if absent")
    ] = None,
) -> ActiveOut:
    """第十九条第三款: is this subject's data in this resource under verification? While it is, the office must
    not refuse the subject's business for it."""
    return await lookup.active_lookup(
        session, caller=caller, subject_id=subject_id, resource_id=resource_id, now=now, subject_type=subject_type
    )


@router.get("/quality", response_model=QualityOut)
async def data_quality(
    caller: QualityViewer,
    session: ReadSessionDep,
    now: Now,
    resource_id: Annotated[str | None, Query(max_length=40)] = None,
    provider_dept: Annotated[str | None, Query(max_length=32)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="requests received in this year")] = None,
) -> QualityOut:
    """第二十条: requests received, corrected, found without error and overdue, and the median working days to
    resolve, per resource and per provider department."""
    return await lookup.quality(
        session, caller=caller, now=now, resource_id=resource_id, provider_dept=provider_dept, year=year
    )
