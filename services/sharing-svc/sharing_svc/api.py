"""HTTP routes of sharing-svc, mounted under /api/sharing (API.md "Sharing")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, File, Query, UploadFile
from fastapi.responses import Response
from govdata_shared.auth import CurrentCaller, Role
from govdata_shared.errors import Problem
from govdata_shared.service import Now, SessionDep

from sharing_svc import service
from sharing_svc.models import CatalogResource, Dispute, Grant, RequestAttachment, ShareRequest
from sharing_svc.schemas import (
    DisputeIn,
    DisputeOut,
    GrantChangeIn,
    GrantOut,
    OverdueOut,
    RejectIn,
    RequestIn,
    RequestOut,
    RequestRole,
    ResolveIn,
)

router = APIRouter()
GrantStatus = Literal["active", "suspended", "terminated", "expired", "revoked_inactive"]


@router.get("/whoami")
async def whoami(caller: CurrentCaller) -> dict:
    return {"sub": caller.sub, "dept": caller.dept, "roles": sorted(caller.roles)}


async def _request_out(session, request: ShareRequest, *, with_decisions: bool = False) -> RequestOut:
    resource = await session.get(CatalogResource, request.resource_id)
    attachment = None
    if request.attachment_sha256:
        attachment = {
            "name": request.attachment_name,
            "size": request.attachment_size,
            "sha256": request.attachment_sha256,
        }
    return RequestOut(
        id=request.id,
        status=request.status,
        path=request.path,
        requester_dept=request.requester_dept,
        requester_system=request.requester_system,
        provider_dept=request.provider_dept,
        resource_id=request.resource_id,
        resource_name=resource.name if resource else None,
        items=request.items,
        purpose=request.purpose,
        duty_basis=request.duty_basis,
        valid_from=request.valid_from,
        valid_to=request.valid_to,
        seasonal=request.seasonal,
        deadline=request.stage_deadline,
        deadline_estimated=request.stage_deadline_estimated,
        grant_id=request.grant_id,
        reject_reason=request.reject_reason,
        rejected_stage=request.rejected_stage,
        attachment=attachment,
        decisions=await service.decisions_of(session, request.id) if with_decisions else [],
        created_at=request.created_at,
        updated_at=request.updated_at,
    )


@router.post("/requests", status_code=201, response_model=RequestOut)
async def create_request(body: RequestIn, caller: CurrentCaller, session: SessionDep, now: Now) -> RequestOut:
    """Apply for a resource: unconditional → platform review (3 working days); conditional → the provider
    decides (5 working days), then the platform delivers (3 working days) — 第二十九条."""
    request = await service.create_request(session, caller, body, now)
    return await _request_out(session, request)


@router.get("/requests", response_model=list[RequestOut])
async def list_requests(
    caller: CurrentCaller,
    session: SessionDep,
    role: RequestRole | None = None,
    status: str | None = Query(default=None, max_length=20),
) -> list[RequestOut]:
    return [await _request_out(session, r) for r in await service.list_requests(session, caller, role, status)]


@router.get("/requests/{request_id}", response_model=RequestOut)
async def get_request(request_id: str, caller: CurrentCaller, session: SessionDep) -> RequestOut:
    request = await service.visible_request(session, caller, request_id)
    return await _request_out(session, request, with_decisions=True)


@router.post("/requests/{request_id}/approve", response_model=RequestOut)
async def approve_request(request_id: str, caller: CurrentCaller, session: SessionDep, now: Now) -> RequestOut:
    """The decider of the current stage approves: provider_review → delivery → granted, platform_review →
    granted."""
    request = await service.approve_request(session, caller, request_id, now)
    return await _request_out(session, request, with_decisions=True)


@router.post("/requests/{request_id}/reject", response_model=RequestOut)
async def reject_request(
    request_id: str, body: RejectIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> RequestOut:
    """The decider of the current stage refuses, stating the reason (第二十九条(二))."""
    request = await service.reject_request(session, caller, request_id, body.reason, now)
    return await _request_out(session, request, with_decisions=True)


@router.put("/requests/{request_id}/attachment", response_model=RequestOut)
async def upload_attachment(
    request_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    file: Annotated[UploadFile, File(description="需求单 (PDF/JPEG/PNG, ≤ 10 MiB)")],
):
    """The sealed 需求单 of a conditional request (第二十九条(二)); its size and sha256 are kept."""
    content = await file.read(service.MAX_ATTACHMENT_BYTES + 1)
    request = await service.attach(session, caller, request_id, file.filename or "需求单", content, now)
    return await _request_out(session, request)


@router.get("/requests/{request_id}/attachment")
async def download_attachment(request_id: str, caller: CurrentCaller, session: SessionDep) -> Response:
    request = await service.visible_request(session, caller, request_id)
    attachment = await session.get(RequestAttachment, request.id)
    if attachment is None:
        raise Problem(404, "attachment_not_found", "该申请没有附件")
    return Response(
        attachment.content,
        media_type=attachment.content_type,
        headers={"X-Content-SHA256": request.attachment_sha256 or ""},
    )


@router.get("/overdue", response_model=list[OverdueOut])
async def list_overdue(caller: CurrentCaller, session: SessionDep, now: Now) -> list[dict]:
    """Stages past their 第二十九条 deadlines (the bureau sees all; a department those it is party to)."""
    dept = None if service.is_overseer(caller) else service.require_department(caller)
    return [{k: v for k, v in i.items() if k != "_row"} for i in await service.overdue_requests(session, now, dept)]


@router.get("/grants", response_model=list[GrantOut])
async def list_grants(
    caller: CurrentCaller,
    session: SessionDep,
    holder_dept: str | None = None,
    resource_id: str | None = None,
    status: GrantStatus | None = None,
) -> list[Grant]:
    return await service.list_grants(session, caller, holder_dept, resource_id, status)


@router.get("/grants/inactive", response_model=list[GrantOut])
async def list_inactive_grants(caller: CurrentCaller, session: SessionDep, now: Now) -> list[Grant]:
    """Grants unused for three months and not seasonal: the provider may revoke them (第二十九条)."""
    if service.is_overseer(caller):
        return await service.inactive_grants(session, now)
    return await service.inactive_grants(session, now, service.require_department(caller))


@router.get("/grants/{grant_id}", response_model=GrantOut)
async def get_grant(grant_id: str, caller: CurrentCaller, session: SessionDep) -> Grant:
    return await service.visible_grant(session, caller, grant_id)


@router.post("/grants/{grant_id}/suspend", response_model=GrantOut)
async def suspend_grant(
    grant_id: str, body: GrantChangeIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> Grant:
    """Pause a grant for misuse or risk (第二十九条); the gateway refuses calls within a second."""
    return await service.change_grant(session, caller, grant_id, "suspend", body.reason, now)


@router.post("/grants/{grant_id}/resume", response_model=GrantOut)
async def resume_grant(
    grant_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    body: Annotated[GrantChangeIn | None, Body()] = None,
) -> Grant:
    return await service.change_grant(session, caller, grant_id, "resume", body.reason if body else None, now)


@router.post("/grants/{grant_id}/terminate", response_model=GrantOut)
async def terminate_grant(
    grant_id: str, body: GrantChangeIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> Grant:
    return await service.change_grant(session, caller, grant_id, "terminate", body.reason, now)


@router.post("/grants/{grant_id}/revoke-inactive", response_model=GrantOut)
async def revoke_inactive_grant(grant_id: str, caller: CurrentCaller, session: SessionDep, now: Now) -> Grant:
    return await service.revoke_inactive(session, caller, grant_id, now)


@router.post("/disputes", status_code=201, response_model=DisputeOut)
async def open_dispute(body: DisputeIn, caller: CurrentCaller, session: SessionDep, now: Now) -> Dispute:
    """共享异议 (第二十七条): the bureau resolves it together with the provider."""
    return await service.open_dispute(session, caller, body, now)


@router.get("/disputes", response_model=list[DisputeOut])
async def list_disputes(
    caller: CurrentCaller, session: SessionDep, status: Literal["open", "resolved"] | None = None
) -> list[Dispute]:
    return await service.list_disputes(session, caller, status)


@router.post("/disputes/{dispute_id}/resolve", response_model=DisputeOut)
async def resolve_dispute(
    dispute_id: str, body: ResolveIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> Dispute:
    return await service.resolve_dispute(session, caller, dispute_id, body.resolution, now)


@router.get("/internal/grants")
async def grant_snapshot(caller: CurrentCaller, session: SessionDep) -> list[dict]:
    """What the gateway's grant projection starts from."""
    if not caller.has_role(Role.GATEWAY):
        raise Problem(403, "gateway_only", "仅供平台网关使用")
    return await service.grant_snapshot(session)
