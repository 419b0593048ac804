"""Catalog rules and the lifecycle of a resource's revisions, as plain functions.

Lifecycle: draft → submitted → published | rejected; a published resource changes through a new revision
(draft → submitted → published) whose publication supersedes the old one; retired ends the resource.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from govdata_shared.errors import Problem

from catalog_svc.schemas import Category, OpenType, ResourceFields, SharingMethod, SharingType, UpdateCycle

# 第十四条: the bureau reviews a catalog submission within 5 working days of receiving it, and a department
# applies for the update within 10 working days of a law or its duties changing.
REVIEW_WORKING_DAYS = 5
UPDATE_SUBMIT_WORKING_DAYS = 10

# Revision state machine: (status, action) → new status.
REVISION_TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "edit"): "draft",
    ("rejected", "edit"): "draft",
    ("draft", "submit"): "submitted",
    ("rejected", "submit"): "submitted",
    ("submitted", "approve"): "published",
    ("submitted", "reject"): "rejected",
    ("published", "supersede"): "superseded",
    ("draft", "withdraw"): "withdrawn",
    ("submitted", "withdraw"): "withdrawn",
    ("rejected", "withdraw"): "withdrawn",
}
PENDING_STATUSES = frozenset({"draft", "submitted", "rejected"})

ACTION_LABELS = {"edit": "修改", "submit": "提交审核", "approve": "审核通过", "reject": "退回", "withdraw": "撤回"}
STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待审核",
    "published": "已发布",
    "rejected": "已退回",
    "superseded": "已被新版本替代",
    "withdrawn": "已撤回",
    "retired": "已停用",
}

# The class digit of the code (类) follows the catalog category.
CATEGORY_CLASS_DIGIT = {Category.BASE: "1", Category.THEME: "2", Category.DEPARTMENT: "3"}

# How long data may go without a refresh before it is late for its update cycle (采集责任清单, 第十三条).
REFRESH_INTERVALS: dict[UpdateCycle, timedelta | None] = {
    UpdateCycle.REALTIME: timedelta(days=1),
    UpdateCycle.DAILY: timedelta(days=2),
    UpdateCycle.WEEKLY: timedelta(days=8),
    UpdateCycle.MONTHLY: timedelta(days=32),
    UpdateCycle.QUARTERLY: timedelta(days=93),
    UpdateCycle.SEMIANNUAL: timedelta(days=184),
    UpdateCycle.ANNUAL: timedelta(days=367),
    UpdateCycle.OTHER: None,
}


def transition(status: str, action: str) -> str:
    """The revision's next status, or a 409 naming what is and is not possible."""
    try:
        return REVISION_TRANSITIONS[(status, action)]
    except KeyError:
        raise Problem(
            409,
            "invalid_transition",
            f"当前状态为“{STATUS_LABELS.get(status, status)}”，不能{ACTION_LABELS.get(action, action)}",
            status_now=status,
            action=action,
        ) from None


def rule_violations(fields: ResourceFields) -> list[dict[str, Any]]:
    """Every rule the resource's metadata breaks, each naming its field and rule."""
    errors: list[dict[str, Any]] = []

    def fail(field: str, rule: str, detail: str) -> None:
        errors.append({"field": field, "rule": rule, "detail": detail})

    # 第二十五条(二): base databases' items are a common need of all departments — shared unconditionally.
    if fields.category == Category.BASE and fields.sharing_type != SharingType.UNCONDITIONAL:
        fail("sharing_type", "base_must_share_unconditionally", "基础类资源必须无条件共享（第二十五条第二项）")
    if fields.sharing_type == SharingType.CONDITIONAL and not _filled(fields.sharing_conditions):
        fail("sharing_conditions", "required_when_conditional", "有条件共享的资源必须写明共享条件")
    # 第二十五条(一): conditional and none-shared resources need a legal or policy basis.
    if fields.sharing_type in (SharingType.CONDITIONAL, SharingType.NONE) and not _filled(fields.legal_basis):
        fail(
            "legal_basis",
            "legal_basis_required",
            "有条件共享和不予共享的资源必须有法律、行政法规或党中央、国务院政策依据（第二十五条第一项）",
        )
    if fields.sharing_type == SharingType.NONE and fields.open_type != OpenType.CLOSED:
        fail("open_type", "none_shared_must_be_closed", "不予共享的资源不得向社会开放")
    if fields.open_type == OpenType.CONDITIONAL_OPEN and not _filled(fields.open_conditions):
        fail("open_conditions", "required_when_conditional_open", "有条件开放的资源必须写明开放条件")
    if fields.code[0] != CATEGORY_CLASS_DIGIT[fields.category]:
        fail(
            "code",
            "code_class_mismatch",
            f"信息资源代码的类码应为 {CATEGORY_CLASS_DIGIT[fields.category]}"
            f"（与目录分类 {fields.category.value} 一致）",
        )
    seen: set[str] = set()
    for index, item in enumerate(fields.items):
        if item.code in seen:
            fail(f"items[{index}].code", "duplicate_item_code", f"信息项代码 {item.code} 重复")
        seen.add(item.code)
    if (
        fields.sharing_method == SharingMethod.PLATFORM_API
        and fields.sharing_type != SharingType.NONE
        and fields.interface is None
    ):
        fail("interface", "required_for_platform_api", "通过平台接口共享的资源必须登记接口信息")
    return errors


def _filled(value: str | None) -> bool:
    return bool(value and value.strip())


def refresh_due(cycle: UpdateCycle, last: datetime | None) -> datetime | None:
    interval = REFRESH_INTERVALS[cycle]
    if interval is None or last is None:
        return None
    return last + interval


def is_refresh_late(cycle: UpdateCycle, last: datetime | None, now: datetime) -> bool:
    due = refresh_due(cycle, last)
    return due is not None and now > due
