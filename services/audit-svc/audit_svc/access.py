"""Who may read the audit trail and the supervision figures, written once and declared on the routes.

The whole trail (events, verification, exports, the annual report) is for auditors and the bureau (第三十八条:
the bureau evaluates every department; auditors read what it reads). A department's own figures are also for
that department's staff.
"""

from __future__ import annotations

from govdata_shared.auth import Caller, CurrentCaller, Role, requires_role
from govdata_shared.errors import Problem

require_reader = requires_role(
    Role.AUDITOR,
    Role.BUREAU_ADMIN,
    code="auditor_role_required",
    detail="只有审计监督人员和县政务服务和大数据管理局可以查看审计日志",
)
"""Auditors and the bureau: `dependencies=[Depends(require_reader)]` on every route of the whole trail."""


async def require_department_report_reader(dept: str, caller: CurrentCaller) -> Caller:
    """A dependency for the figures of department `dept` (the route's path parameter): the overseers, or that
    department's own operators and heads; any other caller gets 403 naming the department."""
    if caller.oversees or caller.acting_dept == dept:
        return caller
    raise Problem(403, "not_your_department", "部门只能查看本部门的监督数据", dept=dept)
