"""Sharing rules and state machines (第二十四–二十九条), as plain functions and transition tables."""

from __future__ import annotations

from datetime import date, datetime

from govdata_shared.errors import Problem

BUREAU_DEPT = "YC-ZSJ"  # 县政务服务和大数据管理局 runs the platform review and delivery

# 第二十九条(一): unconditional — the platform reviews within 3 working days, then shares.
# 第二十九条(二): conditional — the provider decides within 5 working days (a refusal states its reasons), then
# the platform delivers within 3 working days of the approval.
STAGE_WORKING_DAYS = {"platform_review": 3, "provider_review": 5, "delivery": 3}
FIRST_STAGE = {"unconditional": "platform_review", "conditional": "provider_review"}
NEXT_STAGE = {"platform_review": "granted", "provider_review": "delivery", "delivery": "granted"}
STAGE_DECIDER = {"platform_review": "bureau", "provider_review": "provider", "delivery": "bureau"}
STAGE_LABELS = {"platform_review": "平台审核", "provider_review": "提供方审批", "delivery": "平台交付"}

# Grant status machine: (status, action) → new status.
GRANT_TRANSITIONS: dict[tuple[str, str], str] = {
    ("active", "suspend"): "suspended",  # 第二十九条: misuse or risk — the provider may pause the service
    ("suspended", "resume"): "active",
    ("active", "terminate"): "terminated",
    ("suspended", "terminate"): "terminated",
    ("active", "expire"): "expired",  # past valid_to: apply again (第二十九条)
    ("suspended", "expire"): "expired",
    ("active", "revoke_inactive"): "revoked_inactive",  # unused for three months and not seasonal
}
GRANT_ACTION_LABELS = {
    "suspend": "暂停",
    "resume": "恢复",
    "terminate": "终止",
    "expire": "到期",
    "revoke_inactive": "收回",
}
GRANT_STATUS_LABELS = {
    "active": "有效",
    "suspended": "已暂停",
    "terminated": "已终止",
    "expired": "已到期",
    "revoked_inactive": "已收回（长期未使用）",
}

INACTIVITY_MONTHS = 3


def grant_transition(status: str, action: str) -> str:
    try:
        return GRANT_TRANSITIONS[(status, action)]
    except KeyError:
        raise Problem(
            409,
            "invalid_grant_transition",
            f"授权当前状态为“{GRANT_STATUS_LABELS.get(status, status)}”，不能{GRANT_ACTION_LABELS.get(action, action)}",
            status_now=status,
            action=action,
        ) from None


def period_violations(valid_from: date, valid_to: date, today: date) -> list[dict]:
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
