"""Who may see and act on sharing's records, written once.

Seeing: the bureau and auditors see everything (第三十七、三十八条); a department sees the requests, grants and
disputes it is a party to — as requester or holder, or as provider — and its own application systems. A record
the caller may not see is a 404, exactly like one that does not exist. Acting: the decider of a request's current
stage (第二十九条), the provider department or the bureau for a grant's status, the requester for its 需求单, the
bureau for disputes.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from govdata_shared.auth import DEPARTMENT_ROLES, Caller, Role, require_department, requires_role
from govdata_shared.errors import Problem
from sqlalchemy import ColumnElement, false, or_, true

from sharing_svc import domain
from sharing_svc.domain import Decider
from sharing_svc.models import ApplicationSystem, Dispute, Grant, ShareRequest
from sharing_svc.schemas import RequestRole

# --- what a caller may read ----------------------------------------------------------------------------------


def _parties(caller: Caller, *department_columns: Any) -> ColumnElement[bool]:
    """Every row for overseers; for anyone else the rows naming the caller's department in one of the columns."""
    if caller.oversees:
        return true()
    if not caller.dept:
        return false()
    return or_(*(column == caller.dept for column in department_columns))


def readable_request(caller: Caller) -> ColumnElement[bool]:
    """Overseers see every request; anyone else those of its department, as requester or provider."""
    return _parties(caller, ShareRequest.requester_dept, ShareRequest.provider_dept)


def readable_grant(caller: Caller) -> ColumnElement[bool]:
    """Overseers see every grant; anyone else those its department holds or provides."""
    return _parties(caller, Grant.holder_dept, Grant.provider_dept)


def readable_dispute(caller: Caller) -> ColumnElement[bool]:
    """Overseers see every dispute; anyone else those its department raised or is the provider of."""
    return _parties(caller, Dispute.requester_dept, Dispute.provider_dept)


def readable_system(caller: Caller) -> ColumnElement[bool]:
    """Overseers see every department's application systems; anyone else its own department's."""
    return _parties(caller, ApplicationSystem.dept)


def overseer_or_department(caller: Caller) -> str | None:
    """For the lists of a department's own records: None for overseers (who see all), else the caller's
    department — 403 `department_role_required` for anyone who neither oversees nor acts for one."""
    return None if caller.oversees else require_department(caller)


def request_view(caller: Caller, role: RequestRole | None) -> ColumnElement[bool]:
    """The requests a list shows: `platform` (the default for overseers) all of them, for overseers only;
    `provider` / `requester` those of the caller's department on that side; no role both sides."""
    if role == "platform" or (role is None and caller.oversees):
        if not caller.oversees:
            raise Problem(403, "bureau_role_required", "平台视图仅供县政务服务和大数据管理局使用")
        return true()
    dept = require_department(caller)
    if role == "provider":
        return ShareRequest.provider_dept == dept
    if role == "requester":
        return ShareRequest.requester_dept == dept
    return or_(ShareRequest.requester_dept == dept, ShareRequest.provider_dept == dept)


# --- who may act on a loaded row -------------------------------------------------------------------------


def require_decider(caller: Caller, request: ShareRequest) -> None:
    """The decider of the current (open) stage: the bureau for platform review and delivery, the provider
    department's staff for the provider's decision (第二十九条)."""
    stage = domain.RequestStatus(request.status)
    if domain.STAGE_DECIDER[stage] is Decider.BUREAU:
        if not caller.is_bureau:
            raise Problem(403, "bureau_role_required", f"{domain.STAGE_LABELS[stage]}由县政务服务和大数据管理局办理")
    elif caller.acting_dept != request.provider_dept:
        raise Problem(403, "not_provider", f"提供方审批由 {request.provider_dept} 办理")


def require_grant_changer(caller: Caller, grant: Grant) -> None:
    """Suspending, resuming, terminating or revoking a grant: its provider department or the bureau (第二十九条)."""
    if not (caller.is_bureau or caller.acting_dept == grant.provider_dept):
        raise Problem(403, "not_provider", f"只有提供方 {grant.provider_dept} 或县政务服务和大数据管理局可以变更授权")


def require_requester(caller: Caller, request: ShareRequest) -> None:
    """The 需求单 is the requester department's to upload (第二十九条(二))."""
    if caller.dept != request.requester_dept:
        raise Problem(403, "not_requester", "只有申请部门可以上传需求单")


# --- route-level rules -------------------------------------------------------------------------------------

resolves_disputes = Depends(
    requires_role(
        Role.BUREAU_ADMIN, code="bureau_role_required", detail="共享异议由县政务服务和大数据管理局会同提供部门处理"
    )
)
"""第二十七条: the bureau resolves a dispute together with the provider — `dependencies=[access.resolves_disputes]`."""

decides_requests = Depends(
    requires_role(
        Role.BUREAU_ADMIN,
        *DEPARTMENT_ROLES,
        code="decider_role_required",
        detail="共享申请由提供部门或县政务服务和大数据管理局审批",
    )
)
"""第二十九条: only the bureau (platform review, delivery) or a provider department's staff decide a stage; which of
them decides this request's stage is `require_decider`, on the stored request."""

changes_grants = Depends(
    requires_role(
        Role.BUREAU_ADMIN,
        *DEPARTMENT_ROLES,
        code="not_provider",
        detail="只有提供方部门或县政务服务和大数据管理局可以变更授权",
    )
)
"""第二十九条: a grant's provider department or the bureau suspends, resumes, terminates or revokes it; whether the
caller's department is this grant's provider is `require_grant_changer`, on the stored grant."""
