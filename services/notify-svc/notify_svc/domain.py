"""The steps that wait for someone, and when to remind and report them — plain tables and functions, with any
date or calendar given by the caller.

A step (待办事项) is one act a department or the bureau owes on an aggregate of another service: the bureau's
review of a submitted resource, a department's catalog update after a trigger, a stage of a share request, the
answer to a correction, a dispute's answer and decision, a demand's review and answer. Each kind says who acts
(the responsible department's roles, or the bureau), which article sets its term, and where the portal shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from govdata_shared.auth import Role
from govdata_shared.workdays import DEFAULT_CALENDAR, WorkdayCalendar

BUREAU_DEPT = "YC-ZSJ"  # 县政务服务和大数据管理局: reviews the catalog, runs the platform stages, decides disputes


class StepKind(StrEnum):
    RESOURCE_REVIEW = "resource_review"  # 目录审核
    UPDATE_SUBMISSION = "update_submission"  # 目录更新申请
    PLATFORM_REVIEW = "platform_review"  # 平台审核
    PROVIDER_REVIEW = "provider_review"  # 提供方审批
    DELIVERY = "delivery"  # 平台交付
    CORRECTION = "correction"  # 数据校核
    DISPUTE_ANSWER = "dispute_answer"  # 异议答复
    DISPUTE_DECISION = "dispute_decision"  # 异议处理
    DEMAND_REVIEW = "demand_review"  # 需求审核
    DEMAND_ANSWER = "demand_answer"  # 需求答复


class Aggregate(StrEnum):
    """The record of another service a step belongs to."""

    RESOURCE = "resource"
    TRIGGER = "trigger"
    REQUEST = "request"
    CORRECTION = "correction"
    DISPUTE = "dispute"
    DEMAND = "demand"


class MessageKind(StrEnum):
    REMINDER = "reminder"  # 到期提醒
    OVERDUE = "overdue"  # 逾期通报


@dataclass(frozen=True)
class StepRule:
    label: str
    aggregate: Aggregate
    article: str
    roles: tuple[str, ...]  # who acts: bureau_admin, or these roles of the responsible department
    title: str  # with {name}: the resource's, the demand's …
    link: str  # the portal page, with {id}: the aggregate id


BUREAU = (Role.BUREAU_ADMIN.value,)
OPERATORS = (Role.DEPT_OPERATOR.value,)
OPERATORS_AND_HEAD = (Role.DEPT_OPERATOR.value, Role.DEPT_HEAD.value)

RULES: dict[StepKind, StepRule] = {
    # 第十四条: the bureau reviews a submitted catalog entry within 5 working days.
    StepKind.RESOURCE_REVIEW: StepRule(
        "目录审核", Aggregate.RESOURCE, "第十四条", BUREAU, "资源「{name}」的目录审核", "/review/catalog/{id}"
    ),
    # 第十四条: a department applies for the catalog update within 10 working days of the change.
    StepKind.UPDATE_SUBMISSION: StepRule(
        "目录更新申请", Aggregate.TRIGGER, "第十四条", OPERATORS, "目录更新（{name}）的更新申请", "/triggers"
    ),
    # 第二十九条(一): the platform reviews an unconditional request within 3 working days.
    StepKind.PLATFORM_REVIEW: StepRule(
        "平台审核", Aggregate.REQUEST, "第二十九条", BUREAU, "共享申请「{name}」的平台审核", "/requests/{id}"
    ),
    # 第二十九条(二): the provider decides a conditional request within 5 working days.
    StepKind.PROVIDER_REVIEW: StepRule(
        "提供方审批", Aggregate.REQUEST, "第二十九条", OPERATORS, "共享申请「{name}」的提供方审批", "/requests/{id}"
    ),
    # 第二十九条(二): the platform delivers within 3 working days of the provider's approval.
    StepKind.DELIVERY: StepRule(
        "平台交付", Aggregate.REQUEST, "第二十九条", BUREAU, "共享申请「{name}」的平台交付", "/requests/{id}"
    ),
    # 第十九条: the provider answers within 10 working days; its head may extend once.
    StepKind.CORRECTION: StepRule(
        "数据校核",
        Aggregate.CORRECTION,
        "第十九条",
        OPERATORS_AND_HEAD,
        "「{name}」数据校核申请的办理",
        "/corrections/{id}",
    ),
    # 第二十七条: the bureau settles a dispute together with the provider, who states its view first.
    StepKind.DISPUTE_ANSWER: StepRule(
        "异议答复", Aggregate.DISPUTE, "第二十七条", OPERATORS, "共享异议「{name}」的提供部门答复", "/disputes/{id}"
    ),
    StepKind.DISPUTE_DECISION: StepRule(
        "异议处理", Aggregate.DISPUTE, "第二十七条", BUREAU, "共享异议「{name}」的协调处理", "/disputes/{id}"
    ),
    # 第十二条: the bureau reviews the demand list; the supplying department answers a demand. No term is set.
    StepKind.DEMAND_REVIEW: StepRule(
        "需求审核", Aggregate.DEMAND, "第十二条", BUREAU, "数据需求「{name}」的审核", "/demands/{id}"
    ),
    StepKind.DEMAND_ANSWER: StepRule(
        "需求答复", Aggregate.DEMAND, "第十二条", OPERATORS, "数据需求「{name}」的答复", "/demands/{id}"
    ),
}

# How many working days before its deadline a step is reminded of, unless NOTIFY_REMIND_WORKING_DAYS says
# otherwise for its kind.
DEFAULT_REMIND_WORKING_DAYS = 1

TRIGGER_KIND_LABELS = {"law_changed": "法律法规修改", "duties_changed": "行政管理职能变更"}
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def roles_text(roles: tuple[str, ...] | list[str]) -> str:
    """The stored form of a step's roles: space-delimited with a space at each end, so one role is one LIKE."""
    return f" {' '.join(roles)} "


def step_title(kind: str, name: str) -> str:
    return RULES[StepKind(kind)].title.format(name=name)


def step_link(kind: str, aggregate_id: str) -> str:
    return RULES[StepKind(kind)].link.format(id=aggregate_id)


def working_days_left(deadline: date, today: date, calendar: WorkdayCalendar = DEFAULT_CALENDAR) -> int:
    """Working days from today to the deadline, today not counted: 0 on the deadline itself, 1 on the working day
    before it (Friday for a Monday deadline, and also over the weekend between); negative once it passed, by the
    working days it is late."""
    if today <= deadline:
        return calendar.working_days_between(today, deadline)
    return -calendar.working_days_between(deadline, today)


def remind_days_for(kind: str, configured: dict[str, int]) -> int:
    return configured.get(kind, DEFAULT_REMIND_WORKING_DAYS)


def reminder_due(deadline: date, today: date, remind_days: int, calendar: WorkdayCalendar = DEFAULT_CALENDAR) -> bool:
    """A step is reminded on a working day on which it has at most `remind_days` working days left and its
    deadline has not passed: a Monday deadline with one day is reminded on Friday, never on the weekend."""
    return (
        today <= deadline and calendar.is_workday(today) and working_days_left(deadline, today, calendar) <= remind_days
    )


def is_overdue(deadline: date | None, today: date) -> bool:
    return deadline is not None and today > deadline


def date_text(day: date) -> str:
    """2026-12-07（星期一）"""
    return f"{day.isoformat()}（{WEEKDAYS[day.weekday()]}）"


def reminder_subject(title: str) -> str:
    return f"到期提醒：{title}"


def reminder_body(title: str, deadline: date, left: int, article: str) -> str:
    """共享申请「…」的提供方审批将于 2026-12-07（星期一）到期（第二十九条），还剩 1 个工作日，请及时办理。"""
    if left <= 0:
        return f"{title}将于今天 {date_text(deadline)}到期（{article}），请于今日办结。"
    return f"{title}将于 {date_text(deadline)}到期（{article}），还剩 {left} 个工作日，请及时办理。"


def overdue_subject(title: str) -> str:
    return f"逾期通报：{title}"


def overdue_body(title: str, deadline: date, late: int, article: str) -> str:
    """共享申请「…」的提供方审批已于 2026-12-07（星期一）到期（第二十九条），已逾期 1 个工作日，请尽快办理。"""
    late_text = f"已逾期 {late} 个工作日" if late > 0 else "已逾期"
    return f"{title}已于 {date_text(deadline)}到期（{article}），{late_text}，请尽快办理。"
