"""Who may read the audit trail and the supervision figures, written once and declared on the routes.

The whole trail (events, verification, exports, the annual report) is for auditors and the bureau (第三十八条:
the bureau evaluates every department; auditors read what it reads). A department's own figures are also for
that department's staff. A department's 第三十九条 work report is written by its own staff and read by them and the
overseers. The 第三十八条 evaluation is read by the overseers whole and by a department's staff for its own row; its
configuration, 改进意见 and publication are the bureau's; once published (第三十七条) anyone reads the results.
"""

from __future__ import annotations

from govdata_shared.auth import Caller, CurrentCaller, Role, requires_role, role_gate
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


# 第三十九条 work reports: a department's own staff write its report; the overseers read every department's.


def require_work_report_author(caller: Caller, dept: str | None = None) -> str:
    """The department whose report the caller writes (its operators and heads); 403 for anyone else, and for the
    report of another department."""
    own = caller.acting_dept
    if own is None:
        raise Problem(403, "department_role_required", "年度工作报告由本部门的经办人或负责人提交")
    if dept is not None and dept != own:
        raise Problem(403, "not_your_department", "部门只能提交本部门的年度工作报告", dept=dept)
    return own


def require_work_report_reader(caller: Caller, dept: str) -> None:
    """The overseers, or the staff of `dept`; 403 naming the department for anyone else."""
    if not (caller.oversees or caller.acting_dept == dept):
        raise Problem(403, "not_your_department", "部门只能查看本部门的年度工作报告", dept=dept)


def work_report_scope(caller: Caller, dept: str | None) -> str | None:
    """Whose reports a list may hold: None (every department's) for the overseers, the caller's own department for
    its staff; 403 when they ask for another department's, or when the caller acts for none."""
    if caller.oversees:
        return None
    own = caller.acting_dept
    if own is None:
        raise Problem(403, "work_report_forbidden", "只有部门工作人员、审计监督人员和县大数据局可以查看年度工作报告")
    if dept and dept != own:
        raise Problem(403, "not_your_department", "部门只能查看本部门的年度工作报告", dept=dept)
    return own


# 第三十八条 evaluation: the bureau evaluates, auditors read what it reads, a department sees its own row.

require_bureau = requires_role(
    Role.BUREAU_ADMIN,
    code="bureau_role_required",
    detail="评价办法、改进意见和评价结果的公布由县政务服务和大数据管理局负责",
)
"""The bureau alone: changes of the evaluation's configuration, 改进意见, publication."""


@role_gate
async def require_evaluation_reader(caller: CurrentCaller) -> Caller:
    """The overseers, or the staff of a department (who see their own row); 403 for anyone else."""
    if caller.oversees or caller.acting_dept is not None:
        return caller
    raise Problem(403, "evaluation_forbidden", "考核评价结果供县大数据局、审计监督人员和各部门（本部门）查看")


def evaluation_scope(caller: Caller) -> str | None:
    """Whose rows an evaluation shows the caller: None (every department's) for the overseers, else the caller's own
    department."""
    return None if caller.oversees else caller.acting_dept
