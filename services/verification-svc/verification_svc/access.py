"""Who may see and do what with correction requests, written once.

`readable_correction(caller)` is the query clause of the requests a caller may see (a request outside it is a
404, exactly like one that does not exist); `sees_full_identifier` says who sees the subject's identifier
unmasked; the `require_*` checks judge a caller against a loaded request; `Applicant` and `QualityViewer` are
the role-only rules routes declare.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends
from govdata_shared.auth import Caller, Role, requires_role
from govdata_shared.errors import Problem

from verification_svc.domain import ApplicantKind, normalise_identifier
from verification_svc.models import CorrectionRequest

APPLICANT_ROLE_REQUIRED = "只有公民、法人或政务部门可以申请数据校核"
QUALITY_ROLE_REQUIRED = "只有政务部门、县政务服务和大数据管理局可以查看数据质量"

# 第十九条: citizens and companies ask about their own data, departments about anyone's.
applicant_roles = requires_role(
    Role.DEPT_OPERATOR, Role.DEPT_HEAD, Role.CITIZEN, code="applicant_role_required", detail=APPLICANT_ROLE_REQUIRED
)
Applicant = Annotated[Caller, Depends(applicant_roles)]
"""A caller who may file a correction request (or add evidence to one: `require_applicant` then says whose)."""

# 第十九条: 延长校核期限应当经政务数据提供部门主要负责人同意 — a department head; `require_provider_head` then
# checks it is the head of this request's provider department.
extends_deadlines = requires_role(
    Role.DEPT_HEAD,
    code="provider_head_required",
    detail="延长校核期限须经数据提供部门主要负责人同意（第十九条）",
)
# 第十九条: the provider department's staff answer a request; `require_provider` then checks the department.
resolves_corrections = requires_role(
    Role.DEPT_OPERATOR,
    Role.DEPT_HEAD,
    code="not_provider",
    detail="只有数据提供部门可以办结校核申请",
)

# 第二十条: the bureau (and auditors) see the quality of every department's data, a department its own.
QualityViewer = Annotated[
    Caller,
    Depends(
        requires_role(
            Role.BUREAU_ADMIN,
            Role.AUDITOR,
            Role.DEPT_OPERATOR,
            Role.DEPT_HEAD,
            code="department_role_required",
            detail=QUALITY_ROLE_REQUIRED,
        )
    ),
]
"""A caller who may read the data-quality figures."""


def own_subject(caller: Caller) -> str | None:
    """The identifier of the citizen or company behind the account, normalised."""
    if caller.has_role(Role.CITIZEN) and caller.subject_id:
        return normalise_identifier(caller.subject_id)
    return None


def readable_correction(caller: Caller) -> sa.ColumnElement[bool]:
    """The requests `caller` may see: all for the bureau and auditors; a department those it provides the data
    for or filed; a citizen or company those about itself or filed by it."""
    if caller.oversees:
        return sa.true()
    scopes: list[sa.ColumnElement[bool]] = []
    if dept := caller.acting_dept:
        scopes += [CorrectionRequest.provider_dept == dept, CorrectionRequest.applicant_dept == dept]
    if subject := own_subject(caller):
        scopes += [CorrectionRequest.subject_id == subject, CorrectionRequest.applicant_sub == caller.sub]
    return sa.or_(*scopes) if scopes else sa.false()


def sees_full_identifier(caller: Caller, request: CorrectionRequest) -> bool:
    """DESIGN §3.3: full identifiers only for the subject and the provider (and the department that filed it)."""
    dept = caller.acting_dept
    if dept and dept in (request.provider_dept, request.applicant_dept):
        return True
    return own_subject(caller) == request.subject_id


def applicant_of(caller: Caller) -> tuple[ApplicantKind, str | None]:
    """(`department`, dept) for department staff, (`citizen`, None) for citizens and companies."""
    if dept := caller.acting_dept:
        return ApplicantKind.DEPARTMENT, dept
    if caller.has_role(Role.CITIZEN):
        return ApplicantKind.CITIZEN, None
    # Department staff whose token names no department: the route let the role through.
    raise Problem(403, "applicant_role_required", APPLICANT_ROLE_REQUIRED)


def require_own_subject(caller: Caller, subject_id: str) -> None:
    """第十九条: a citizen or company files only about itself (`subject_id` normalised)."""
    if own_subject(caller) != subject_id:
        raise Problem(
            403,
            "not_own_subject",
            "公民、法人只能就本人（本单位）的数据申请校核",
            field="subject_id",
            rule="own_subject_only",
        )


def require_provider(caller: Caller, request: CorrectionRequest) -> None:
    if caller.acting_dept != request.provider_dept:
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
    """Evidence comes from whoever filed the request, or from its subject."""
    dept = caller.acting_dept
    if caller.sub == request.applicant_sub or (dept and dept == request.applicant_dept):
        return
    if own_subject(caller) == request.subject_id:
        return
    raise Problem(403, "not_applicant", "只有申请人可以补充证明材料")


def require_evidence_access(caller: Caller, request: CorrectionRequest) -> None:
    """The files themselves only for those who may see the subject's full data (subject, provider, applicant)."""
    if not sees_full_identifier(caller, request):
        raise Problem(403, "evidence_restricted", "证明材料含个人信息，仅申请人、数据主体和数据提供部门可以查看")


def require_lookup(caller: Caller, subject_id: str) -> None:
    """第十九条第三款: any department (and the bureau) may ask about anyone; a citizen or company about itself."""
    if not (caller.acting_dept or caller.oversees or own_subject(caller) == subject_id):
        raise Problem(403, "lookup_not_allowed", "只有政务部门可以查询他人数据的校核状态")


def quality_scope(caller: Caller, provider_dept: str | None) -> str | None:
    """The provider department whose figures `caller` reads: any (or the one asked for) for the bureau and
    auditors, its own for a department."""
    if caller.oversees:
        return provider_dept
    dept = caller.acting_dept
    if dept is None:
        raise Problem(403, "department_role_required", QUALITY_ROLE_REQUIRED)
    if provider_dept and provider_dept != dept:
        raise Problem(403, "not_your_department", "部门只能查看本部门提供的数据的质量")
    return dept
