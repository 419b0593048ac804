"""Sharing rules and state machines (第二十四–二十九条): statuses, the stages of a request and who decides
them, the grant state machine, the grant period, inactivity and the 需求单 attachment — plain functions and
tables, with any date or calendar given by the caller."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from govdata_shared.states import StateMachine
from govdata_shared.workdays import DEFAULT_CALENDAR, Deadline, WorkdayCalendar

BUREAU_DEPT = "YC-ZSJ"  # 县政务服务和大数据管理局 runs the platform review and delivery


class ResourceStatus(StrEnum):
    """What the catalog projection knows of a resource: only published ones can be requested."""

    PUBLISHED = "published"
    RETIRED = "retired"


class SharingType(StrEnum):
    """共享类型 of a catalog resource (第二十四条): the path a request follows."""

    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享: cannot be requested, only disputed (第二十七条)


class RequestStatus(StrEnum):
    """共享申请 status: a stage waiting for its decider, or the outcome."""

    PLATFORM_REVIEW = "platform_review"  # 平台审核
    PROVIDER_REVIEW = "provider_review"  # 提供方审批
    DELIVERY = "delivery"  # 平台交付
    GRANTED = "granted"
    REJECTED = "rejected"


class Decider(StrEnum):
    BUREAU = "bureau"
    PROVIDER = "provider"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


# 第二十九条(一): unconditional — the platform reviews within 3 working days, then shares.
# 第二十九条(二): conditional — the provider decides within 5 working days (a refusal states its reasons), then
# the platform delivers within 3 working days of the approval.
STAGE_WORKING_DAYS: dict[RequestStatus, int] = {
    RequestStatus.PLATFORM_REVIEW: 3,
    RequestStatus.PROVIDER_REVIEW: 5,
    RequestStatus.DELIVERY: 3,
}
FIRST_STAGE: dict[SharingType, RequestStatus] = {
    SharingType.UNCONDITIONAL: RequestStatus.PLATFORM_REVIEW,
    SharingType.CONDITIONAL: RequestStatus.PROVIDER_REVIEW,
}


def request_path(resource_type: str, resource_items: list[dict], requested: list[str]) -> SharingType:
    """The path a request takes (第二十九条): conditional when the resource is, or when any requested item is
    shared only on conditions (第二十四条 仅能够部分提供); unconditional otherwise."""
    stricter = {item["code"] for item in resource_items if item.get("sharing_type") == SharingType.CONDITIONAL}
    if resource_type == SharingType.CONDITIONAL or stricter & set(requested):
        return SharingType.CONDITIONAL
    return SharingType.UNCONDITIONAL


NEXT_STAGE: dict[RequestStatus, RequestStatus] = {
    RequestStatus.PLATFORM_REVIEW: RequestStatus.GRANTED,
    RequestStatus.PROVIDER_REVIEW: RequestStatus.DELIVERY,
    RequestStatus.DELIVERY: RequestStatus.GRANTED,
}
STAGE_DECIDER: dict[RequestStatus, Decider] = {
    RequestStatus.PLATFORM_REVIEW: Decider.BUREAU,
    RequestStatus.PROVIDER_REVIEW: Decider.PROVIDER,
    RequestStatus.DELIVERY: Decider.BUREAU,
}
STAGE_LABELS: dict[RequestStatus, str] = {
    RequestStatus.PLATFORM_REVIEW: "平台审核",
    RequestStatus.PROVIDER_REVIEW: "提供方审批",
    RequestStatus.DELIVERY: "平台交付",
}


# 第二十九条(二): the provider decides what it shares and may agree to only some of the requested items; the
# platform's stages (its review of an unconditional request, the delivery) pass on what was requested or agreed.
ITEMS_DECIDED_AT: frozenset[RequestStatus] = frozenset({RequestStatus.PLATFORM_REVIEW, RequestStatus.PROVIDER_REVIEW})
ITEMS_CHOSEN_AT: frozenset[RequestStatus] = frozenset({RequestStatus.PROVIDER_REVIEW})
# 第二十九条(二): the provider approves on the sealed 需求单 the requester attached; without it there is nothing to
# approve on (a refusal stays possible, stating its reasons).
ATTACHMENT_REQUIRED_AT: frozenset[RequestStatus] = frozenset({RequestStatus.PROVIDER_REVIEW})


def is_open(status: str) -> bool:
    """A request still waits for a stage decision (then its requester may still attach the 需求单)."""
    return status in STAGE_DECIDER


def stage_deadline(start: date, stage: str, calendar: WorkdayCalendar = DEFAULT_CALENDAR) -> Deadline:
    """The last day of `stage` begun on `start`: the day of receipt does not count (民法典第二百零一条)."""
    return calendar.add_working_days(start, STAGE_WORKING_DAYS[RequestStatus(stage)])


def responsible_dept(stage: str, provider_dept: str) -> str:
    """Who has to act on an open stage: the bureau, or the provider department."""
    return BUREAU_DEPT if STAGE_DECIDER[RequestStatus(stage)] is Decider.BUREAU else provider_dept


def decided_on_time(deadline: date | None, today: date) -> bool:
    return deadline is None or today <= deadline


def item_choice_violations(requested: list[str], chosen: list[str]) -> list[dict]:
    """What is wrong with the items a provider agrees to: none at all, one that was not requested, or one named
    twice (all under the field `items`)."""
    if not chosen:
        detail = "至少同意一项信息项；全部不同意请驳回并说明具体理由"
        return [{"field": "items", "rule": "at_least_one_item", "detail": detail}]
    errors = [
        {"field": "items", "rule": "requested_item", "detail": f"{code} 不是本申请所申请的信息项"}
        for code in dict.fromkeys(chosen)
        if code not in requested
    ]
    if len(set(chosen)) != len(chosen):
        errors.append({"field": "items", "rule": "unique_items", "detail": "信息项重复"})
    return errors


def approved_items(requested: list[str], chosen: list[str] | None) -> list[str]:
    """The items a grant will carry: those chosen (in the order requested), or every requested one when none were
    named."""
    if chosen is None:
        return list(requested)
    agreed = set(chosen)
    return [code for code in requested if code in agreed]


class GrantStatus(StrEnum):
    """接口授权 status; only an active grant opens data at the gateway."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    EXPIRED = "expired"
    REVOKED_INACTIVE = "revoked_inactive"


class GrantAction(StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"
    TERMINATE = "terminate"
    EXPIRE = "expire"
    REVOKE_INACTIVE = "revoke_inactive"


GRANT = StateMachine(
    {
        # 第二十九条: misuse or risk — the provider may pause the service
        (GrantStatus.ACTIVE, GrantAction.SUSPEND): GrantStatus.SUSPENDED,
        (GrantStatus.SUSPENDED, GrantAction.RESUME): GrantStatus.ACTIVE,
        (GrantStatus.ACTIVE, GrantAction.TERMINATE): GrantStatus.TERMINATED,
        (GrantStatus.SUSPENDED, GrantAction.TERMINATE): GrantStatus.TERMINATED,
        # past valid_to: apply again (第二十九条)
        (GrantStatus.ACTIVE, GrantAction.EXPIRE): GrantStatus.EXPIRED,
        (GrantStatus.SUSPENDED, GrantAction.EXPIRE): GrantStatus.EXPIRED,
        # 第二十九条: unused for three months and not seasonal
        (GrantStatus.ACTIVE, GrantAction.REVOKE_INACTIVE): GrantStatus.REVOKED_INACTIVE,
    },
    status_labels={
        GrantStatus.ACTIVE: "有效",
        GrantStatus.SUSPENDED: "已暂停",
        GrantStatus.TERMINATED: "已终止",
        GrantStatus.EXPIRED: "已到期",
        GrantStatus.REVOKED_INACTIVE: "已收回（长期未使用）",
    },
    action_labels={
        GrantAction.SUSPEND: "暂停",
        GrantAction.RESUME: "恢复",
        GrantAction.TERMINATE: "终止",
        GrantAction.EXPIRE: "到期",
        GrantAction.REVOKE_INACTIVE: "收回",
    },
    code="invalid_grant_transition",
    subject="授权当前状态",
)
# The provider (or the bureau) says why it pauses or ends a grant; expiry and revocation say it themselves.
REASON_REQUIRED = frozenset({GrantAction.SUSPEND, GrantAction.TERMINATE})
EXPIRY_REASON = "授权期满（第二十九条）"
INACTIVITY_REASON = "超过三个月未使用接口（第二十九条）"
LIVE_GRANT_STATUSES = (GrantStatus.ACTIVE, GrantStatus.SUSPENDED)  # those expiry still ends

INACTIVITY_MONTHS = 3  # 第二十九条: unused for three months (seasonal applications excepted)


class DisputeStatus(StrEnum):
    """共享异议 (第二十七条) status."""

    OPEN = "open"
    RESOLVED = "resolved"


class DisputeOutcome(StrEnum):
    """What the bureau's decision on a dispute orders (第二十七条)."""

    DISMISSED = "dismissed"  # the sharing stands
    UPHELD = "upheld"  # the requester is right; the resolution says what follows
    GRANT_ORDERED = "grant_ordered"  # the refused request is granted as requested
    SHARING_CHANGE_ORDERED = "sharing_change_ordered"  # the provider is to register a changed sharing type


# 第二十七条 sets no term for the bureau's coordination; the platform gives it ten working days from the dispute,
# as 第十四条 gives a department to update its catalog and 第十九条 a provider to correct its data.
DISPUTE_DECISION_WORKING_DAYS = 10


def dispute_deadline(opened_on: date) -> Deadline:
    return DEFAULT_CALENDAR.add_working_days(opened_on, DISPUTE_DECISION_WORKING_DAYS)


def period_violations(valid_from: date, valid_to: date, today: date) -> list[dict]:
    """What is wrong with a requested grant period: it ends before it starts, runs a year or more, or is over."""
    errors = []
    if valid_to < valid_from:
        errors.append({"field": "valid_to", "rule": "after_valid_from", "detail": "授权截止日期不能早于开始日期"})
    elif valid_to >= _one_year_after(valid_from):
        errors.append({"field": "valid_to", "rule": "at_most_one_year", "detail": "授权期限最长一年，期满需重新申请"})
    if valid_to < today:
        errors.append({"field": "valid_to", "rule": "not_in_past", "detail": "授权截止日期已过"})
    return errors


def _one_year_after(start: date) -> date:
    """A grant runs at most one year: from 2026-12-01 the last allowed day is 2027-11-30."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, month=3, day=1)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day-of-month `months` earlier (clamped to the month's end)."""
    month = moment.month - months
    year = moment.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def inactivity_cutoff(now: datetime) -> datetime:
    """Grants last used (or, never used, created) before this moment count as unused (第二十九条)."""
    return months_before(now, INACTIVITY_MONTHS)


# 第二十九条(二): the 需求单 with the requester's seal, as a PDF or an image, recognised by its first bytes.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {b"%PDF": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png"}


def attachment_type(content: bytes) -> str | None:
    """The media type of an acceptable 需求单, or None for any other file."""
    return next((media for magic, media in ATTACHMENT_TYPES.items() if content.startswith(magic)), None)
