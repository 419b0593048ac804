"""HTTP routes of sharing-svc, mounted under /api/sharing (API.md "Sharing"). Each route states who may call
it where that depends on the role alone, and hands over to one operation of requests, grants, disputes or
projection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, File, Query, UploadFile
from fastapi.responses import Response
from govdata_shared.auth import AuthorizeFirst, CurrentCaller, DepartmentStaff, gateway_only, requires_department
from govdata_shared.pages import PageCache, department_view, json_of
from govdata_shared.service import Now, ReadSessionDep, SessionDep
from pydantic import TypeAdapter

from sharing_svc import access, disputes, grants, projection, requests
from sharing_svc.domain import DisputeStatus, GrantAction, GrantStatus
from sharing_svc.models import Dispute, Grant
from sharing_svc.schemas import (
    AnswerIn,
    ApproveIn,
    DisputeIn,
    DisputeOut,
    GrantOut,
    OverdueOut,
    ReasonIn,
    RequestIn,
    RequestOut,
    RequestRole,
    ResolveIn,
    SystemOut,
)

# Who may call a route is decided before its body is read (AuthorizeFirst): a caller of the wrong role gets 403
# whatever the body, never a 422 describing the schema. Every write route declares its role gate; the checks that
# need the stored record (the decider of this stage, the provider of this grant) follow in the operation.
router = APIRouter(route_class=AuthorizeFirst)

# The lists are kept while sharing's data version is unchanged (govdata_shared.pages); what they show a caller
# reads its department and roles alone (access: request_view, readable_grant, overseer_or_department).
REQUEST_PAGES = PageCache("sharing.requests")
REQUEST_LIST = TypeAdapter(list[RequestOut])
GRANT_PAGES = PageCache("sharing.grants")
GRANT_LIST = TypeAdapter(list[GrantOut])

# --- requests ------------------------------------------------------------------------------------------------


@router.post("/requests", status_code=201, response_model=RequestOut)
async def create_request(body: RequestIn, caller: DepartmentStaff, session: SessionDep, now: Now) -> RequestOut:
    """Apply for a resource: unconditional → platform review (3 working days); conditional → the provider
    decides (5 working days), then the platform delivers (3 working days) — 第二十九条."""
    return await requests.create_request(session, caller=caller, body=body, now=now)


@router.get("/requests", response_model=list[RequestOut])
async def list_requests(
    caller: CurrentCaller,
    session: ReadSessionDep,
    role: RequestRole | None = None,
    status: str | None = Query(default=None, max_length=20),
) -> Response:
    async def render() -> bytes:
        return json_of(REQUEST_LIST, await requests.list_requests(session, caller=caller, role=role, status=status))

    return await REQUEST_PAGES.respond(session, (department_view(caller), role, status), render)


@router.get("/requests/{request_id}", response_model=RequestOut)
async def get_request(request_id: str, caller: CurrentCaller, session: ReadSessionDep) -> RequestOut:
    return await requests.get_request(session, caller=caller, request_id=request_id)


@router.post("/requests/{request_id}/approve", response_model=RequestOut, dependencies=[access.decides_requests])
async def approve_request(
    request_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    body: Annotated[ApproveIn | None, Body()] = None,
) -> RequestOut:
    """The decider of the current stage approves: provider_review → delivery → granted, platform_review →
    granted. The provider approves on the sealed 需求单 (409 `attachment_required` without it) and may agree to
    only some of the requested `items`; the grant carries only those (第二十九条(二))."""
    return await requests.approve_request(
        session,
        caller=caller,
        request_id=request_id,
        items=body.items if body else None,
        reason=body.reason if body else None,
        now=now,
    )


@router.post("/requests/{request_id}/reject", response_model=RequestOut, dependencies=[access.decides_requests])
async def reject_request(
    request_id: str, body: ReasonIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> RequestOut:
    """The decider of the current stage refuses, stating the reason (第二十九条(二))."""
    return await requests.reject_request(session, caller=caller, request_id=request_id, reason=body.reason, now=now)


@router.put("/requests/{request_id}/attachment", response_model=RequestOut, dependencies=[Depends(requires_department)])
async def upload_attachment(
    request_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    file: Annotated[UploadFile, File(description="需求单 (PDF/JPEG/PNG, ≤ 10 MiB)")],
) -> RequestOut:
    """The sealed 需求单 of a conditional request (第二十九条(二)); its size and sha256 are kept."""
    return await requests.attach(session, caller=caller, request_id=request_id, upload=file, now=now)


@router.get("/requests/{request_id}/attachment")
async def download_attachment(request_id: str, caller: CurrentCaller, session: ReadSessionDep) -> Response:
    return await requests.attachment_file(session, caller=caller, request_id=request_id)


@router.get("/overdue", response_model=list[OverdueOut])
async def list_overdue(caller: CurrentCaller, session: ReadSessionDep, now: Now) -> list[OverdueOut]:
    """Stages past their 第二十九条 deadlines (the bureau sees all; a department those it is party to)."""
    return await requests.list_overdue(session, caller=caller, now=now)


# --- application systems -------------------------------------------------------------------------------------


@router.get("/systems", response_model=list[SystemOut])
async def list_systems(
    caller: CurrentCaller, session: ReadSessionDep, dept: str | None = Query(default=None, max_length=32)
) -> list[SystemOut]:
    """The enabled 应用系统 a request may name (第二十九条): a department's staff see their own department's, the
    bureau and auditors every department's (`?dept=` narrows)."""
    return await projection.list_systems(session, caller=caller, dept=dept)


# --- grants --------------------------------------------------------------------------------------------------


@router.get("/grants", response_model=list[GrantOut])
async def list_grants(
    caller: CurrentCaller,
    session: ReadSessionDep,
    holder_dept: str | None = None,
    resource_id: str | None = None,
    status: GrantStatus | None = None,
) -> Response:
    async def render() -> bytes:
        listed = await grants.list_grants(
            session, caller=caller, holder_dept=holder_dept, resource_id=resource_id, status=status
        )
        return json_of(GRANT_LIST, listed)

    return await GRANT_PAGES.respond(session, (department_view(caller), holder_dept, resource_id, status), render)


@router.get("/grants/inactive", response_model=list[GrantOut])
async def list_inactive_grants(caller: CurrentCaller, session: ReadSessionDep, now: Now) -> list[Grant]:
    """Grants unused for three months and not seasonal: the provider may revoke them (第二十九条)."""
    return await grants.list_inactive(session, caller=caller, now=now)


@router.get("/grants/{grant_id}", response_model=GrantOut)
async def get_grant(grant_id: str, caller: CurrentCaller, session: ReadSessionDep) -> Grant:
    return await grants.get_grant(session, caller=caller, grant_id=grant_id)


@router.post("/grants/{grant_id}/suspend", response_model=GrantOut, dependencies=[access.changes_grants])
async def suspend_grant(grant_id: str, body: ReasonIn, caller: CurrentCaller, session: SessionDep, now: Now) -> Grant:
    """Pause a grant for misuse or risk (第二十九条); the gateway refuses calls within a second."""
    return await grants.change_grant(
        session, caller=caller, grant_id=grant_id, action=GrantAction.SUSPEND, reason=body.reason, now=now
    )


@router.post("/grants/{grant_id}/resume", response_model=GrantOut, dependencies=[access.changes_grants])
async def resume_grant(
    grant_id: str,
    caller: CurrentCaller,
    session: SessionDep,
    now: Now,
    body: Annotated[ReasonIn | None, Body()] = None,
) -> Grant:
    return await grants.change_grant(
        session,
        caller=caller,
        grant_id=grant_id,
        action=GrantAction.RESUME,
        reason=body.reason if body else None,
        now=now,
    )


@router.post("/grants/{grant_id}/terminate", response_model=GrantOut, dependencies=[access.changes_grants])
async def terminate_grant(grant_id: str, body: ReasonIn, caller: CurrentCaller, session: SessionDep, now: Now) -> Grant:
    return await grants.change_grant(
        session, caller=caller, grant_id=grant_id, action=GrantAction.TERMINATE, reason=body.reason, now=now
    )


@router.post("/grants/{grant_id}/revoke-inactive", response_model=GrantOut, dependencies=[access.changes_grants])
async def revoke_inactive_grant(grant_id: str, caller: CurrentCaller, session: SessionDep, now: Now) -> Grant:
    return await grants.revoke_inactive(session, caller=caller, grant_id=grant_id, now=now)


# --- disputes (第二十七条) -------------------------------------------------------------------------------------


@router.post("/disputes", status_code=201, response_model=DisputeOut)
async def open_dispute(body: DisputeIn, caller: DepartmentStaff, session: SessionDep, now: Now) -> Dispute:
    """共享异议 (第二十七条): the bureau resolves it together with the provider."""
    return await disputes.open_dispute(session, caller=caller, body=body, now=now)


@router.get("/disputes", response_model=list[DisputeOut])
async def list_disputes(
    caller: CurrentCaller, session: ReadSessionDep, status: DisputeStatus | None = None
) -> list[Dispute]:
    return await disputes.list_disputes(session, caller=caller, status=status)


@router.post("/disputes/{dispute_id}/answer", response_model=DisputeOut, dependencies=[Depends(requires_department)])
async def answer_dispute(
    dispute_id: str, body: AnswerIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> Dispute:
    """The provider department's answer to a dispute about its resource, before the bureau decides."""
    return await disputes.answer_dispute(session, caller=caller, dispute_id=dispute_id, answer=body.answer, now=now)


@router.post("/disputes/{dispute_id}/resolve", response_model=DisputeOut, dependencies=[access.resolves_disputes])
async def resolve_dispute(
    dispute_id: str, body: ResolveIn, caller: CurrentCaller, session: SessionDep, now: Now
) -> Dispute:
    """The bureau's decision within ten working days of the dispute: dismissed, upheld, the refused request
    granted (`grant_ordered`), or a changed sharing type ordered (`sharing_change_ordered`)."""
    return await disputes.resolve_dispute(session, caller=caller, dispute_id=dispute_id, body=body, now=now)


# --- for the gateway -----------------------------------------------------------------------------------------
# Not in the OpenAPI document, which the gateway serves publicly; from outside this route does not exist (the
# gateway answers 404: it is for its projection, which calls the service directly).


@router.get("/internal/grants", dependencies=[Depends(gateway_only)], include_in_schema=False)
async def grant_snapshot(session: ReadSessionDep) -> list[dict]:
    """What the gateway's grant projection starts from."""
    return await projection.grant_snapshot(session)
