"""Who may read or change what in the catalog, written once: query clauses for what a caller may see, checks on
a loaded row, and the route-level rules the routes declare.

Everyone authenticated reads the published catalog (published and retired resources); a resource not yet
published is seen only by its provider department, the bureau and auditors.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends
from govdata_shared.auth import DEPARTMENT_ROLES, Caller, CurrentCaller, Role, require_department, requires_role
from govdata_shared.errors import Problem

from catalog_svc.domain import ResourceStatus
from catalog_svc.models import Demand, Resource

# 第十四条: the county bureau (县政务服务和大数据管理局) reviews catalog submissions and rules on 一数一源 overlaps.
bureau_only = requires_role(
    Role.BUREAU_ADMIN, code="bureau_role_required", detail="只有县政务服务和大数据管理局可以审核"
)
# 第二十三条: the catalog goes to the city platform; the bureau and auditors may pull it too.
export_allowed = requires_role(
    Role.BUREAU_ADMIN,
    Role.CITY_PLATFORM,
    Role.AUDITOR,
    code="export_not_allowed",
    detail="只有县政务服务和大数据管理局和市级平台可以导出目录",
)

# The provider department retires its resource, the bureau any (第十四条); checked against the resource after.
retires_resources = requires_role(
    Role.BUREAU_ADMIN,
    *DEPARTMENT_ROLES,
    code="department_role_required",
    detail="只有资源的提供部门或县政务服务和大数据管理局可以停用资源",
)
# 第十二条: the bureau reviews the demand list and closes a demand as met; the requesting department cannot close
# its own demand by itself.
meets_demands = requires_role(
    Role.BUREAU_ADMIN,
    code="bureau_role_required",
    detail="只有县政务服务和大数据管理局可以确认需求已满足，提出需求的部门不能自行关闭需求",
)

# 第十四条: a department records its own update triggers, the bureau one for any department.
records_triggers = requires_role(
    Role.BUREAU_ADMIN,
    *DEPARTMENT_ROLES,
    code="department_role_required",
    detail="只有部门经办人、负责人或县政务服务和大数据管理局可以登记目录更新事由",
)

# 第十三条: the bureau breaks the catalog down into each department's 责任清单.
assigns_responsibilities = requires_role(
    Role.BUREAU_ADMIN, code="bureau_role_required", detail="只有县政务服务和大数据管理局可以下达或撤销责任清单条目"
)
# 第十六条, 第四十一条(三): the list of items collected by several departments is for the bureau and auditors.
oversight_only = requires_role(
    Role.BUREAU_ADMIN,
    Role.AUDITOR,
    code="oversight_role_required",
    detail="只有县政务服务和大数据管理局和审计监督人员可以查看",
)

_SHOWN_TO_EVERYONE = (ResourceStatus.PUBLISHED, ResourceStatus.RETIRED)


# --- resources ---------------------------------------------------------------------------------------------


def sees_unpublished(caller: Caller, resource: Resource) -> bool:
    """The provider department, the bureau and auditors see a resource's drafts and pending revisions."""
    return caller.oversees or caller.dept == resource.provider_dept


def sees_interface_address(caller: Caller, resource: Resource) -> bool:
    """API.md "Catalog": a provider's system address (`interface.base_url`) is for its own department's staff, the
    bureau and the gateway; other departments, citizens, auditors and the city platform see what may be called
    only."""
    return (
        caller.is_bureau
        or caller.has_role(Role.GATEWAY)
        or (caller.acting_dept is not None and caller.acting_dept == resource.provider_dept)
    )


def readable_resource(caller: Caller) -> sa.ColumnElement[bool]:
    """The resources `caller` may see: once published (also after retirement) everyone's; before that only
    the provider department's, the bureau's and auditors'."""
    if caller.oversees:
        return sa.true()
    shown = sa.or_(Resource.published_version.is_not(None), Resource.status == ResourceStatus.RETIRED)
    return sa.or_(shown, Resource.provider_dept == caller.dept) if caller.dept else shown


def listing_dept(caller: Caller, status: str, provider_dept: str | None) -> str | None:
    """The provider department a listing of `status` is narrowed to: unpublished statuses only for the
    caller's own department, unless the caller oversees every department."""
    if status in _SHOWN_TO_EVERYONE or caller.oversees:
        return provider_dept
    if not caller.dept:
        raise Problem(403, "department_role_required", "只有部门可以查看未发布的资源")
    if provider_dept and provider_dept != caller.dept:
        raise Problem(403, "not_your_department", "只能查看本部门未发布的资源")
    return caller.dept


def require_provider(caller: Caller, resource: Resource) -> None:
    """Only the provider department's staff change its resources."""
    require_department(caller)
    if caller.dept != resource.provider_dept:
        raise Problem(
            403,
            "not_provider",
            f"只有提供方部门 {resource.provider_dept} 可以修改该资源",
            provider_dept=resource.provider_dept,
        )


def require_retirer(caller: Caller, resource: Resource) -> None:
    """The provider department retires its resource; the bureau may retire any."""
    if not caller.is_bureau:
        require_provider(caller, resource)


# --- department lists --------------------------------------------------------------------------------------


def department_scope(caller: CurrentCaller) -> str | None:
    """The department whose records a list shows: None (every department) for the bureau and auditors, the
    caller's own for department staff; anyone else 403."""
    return None if caller.oversees else require_department(caller)


DepartmentScope = Annotated[str | None, Depends(department_scope)]
"""Route parameter: the department a list is narrowed to (None: all of them)."""


def require_department_reader(caller: Caller, dept: str) -> None:
    """第十三条: a department's responsibility list is for that department, the bureau and auditors."""
    if not (caller.oversees or caller.dept == dept):
        raise Problem(403, "not_your_department", "只能查看本部门的责任清单")


def readable_demand(caller: Caller, role: str | None = None) -> sa.ColumnElement[bool]:
    """第十二条: the demands `caller` may see — the bureau and auditors every one; a department those it made
    (`role` requester), those addressed to it (`role` supplier) and, without `role`, also those the bureau routed
    away from it."""
    if caller.oversees:
        return sa.true()
    dept = caller.acting_dept
    if dept is None:
        return sa.false()
    if role == "requester":
        return Demand.dept == dept
    if role == "supplier":
        return Demand.supplier_dept == dept
    return sa.or_(Demand.dept == dept, Demand.supplier_dept == dept, Demand.routed_from == dept)


def require_supplier(caller: Caller, demand: Demand) -> None:
    """第十二条: only the department the demand is addressed to answers it."""
    if require_department(caller) != demand.supplier_dept:
        raise Problem(
            403,
            "not_supplier",
            f"只有需求所指向的提供部门 {demand.supplier_dept} 可以答复该需求",
            supplier_dept=demand.supplier_dept,
        )
