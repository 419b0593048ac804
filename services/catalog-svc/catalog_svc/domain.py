"""Catalog rules and the lifecycle of a resource's revisions, as plain functions (no database, no app).

Lifecycle: draft → submitted → published | rejected; a published resource changes through a new revision
(draft → submitted → published) whose publication supersedes the old one; retired ends the resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from govdata_shared.states import Refusal, StateMachine

# --- enumerations (wire values in English; the Chinese term is the label people see) ---------------------


class Category(StrEnum):
    """目录分类"""

    BASE = "base"  # 基础
    THEME = "theme"  # 主题
    DEPARTMENT = "department"  # 部门


class ResourceFormat(StrEnum):
    """资源格式"""

    FILE = "file"  # 电子文件
    SPREADSHEET = "spreadsheet"  # 电子表格
    DATABASE = "database"  # 数据库
    IMAGE = "image"  # 图形图像
    STREAM = "stream"  # 流媒体
    SELF_DESCRIBING = "self_describing"  # 自描述格式
    API = "api"  # 服务接口


class ItemType(StrEnum):
    """信息项数据类型: 字符 数值 货币 日期 日期时间 逻辑 备注 通用 双精度 整型 浮点"""

    C = "C"
    N = "N"
    Y = "Y"
    D = "D"
    T = "T"
    L = "L"
    M = "M"
    G = "G"
    B = "B"
    I = "I"  # noqa: E741 - the standard's letter
    F = "F"


class SharingType(StrEnum):
    """共享类型 (第二十四条)"""

    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享


class SharingMethod(StrEnum):
    PLATFORM_API = "platform_api"  # 平台接口
    FILE = "file"  # 文件
    DATABASE = "database"  # 数据库


class OpenType(StrEnum):
    """开放类型"""

    OPEN = "open"  # 无条件开放
    CONDITIONAL_OPEN = "conditional_open"  # 有条件开放
    CLOSED = "closed"  # 不予开放


class SecurityLevel(StrEnum):
    """安全级别"""

    PUBLIC = "1"  # 公开
    INTERNAL = "2"  # 内部
    SENSITIVE = "3"  # 敏感
    IMPORTANT = "4"  # 重要


class UpdateCycle(StrEnum):
    """更新周期"""

    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"
    OTHER = "other"


class RevisionStatus(StrEnum):
    """Status of one revision (版本) of a resource's metadata."""

    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 待审核
    PUBLISHED = "published"  # 已发布
    REJECTED = "rejected"  # 已退回
    SUPERSEDED = "superseded"  # 已被新版本替代
    WITHDRAWN = "withdrawn"  # 已撤回


class ResourceStatus(StrEnum):
    """Status of the resource as a whole: its first revision's until it is published, then published until
    it is retired (a later revision under review leaves it published)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    PUBLISHED = "published"
    RETIRED = "retired"  # 已停用


class DemandStatus(StrEnum):
    """需求清单 entry (第十二条): the bureau reviews it, the supplying department answers it, and the bureau closes it
    as met; the requesting department cannot close its own demand."""

    SUBMITTED = "submitted"  # 待审核: waits for the bureau
    ACCEPTED = "accepted"  # 已受理: waits for the supplier's answer (also after the bureau routed it)
    REJECTED = "rejected"  # 已驳回 by the bureau, with a reason
    PROMISED = "promised"  # 已承诺: the supplier will provide by a date
    CANNOT_PROVIDE = "cannot_provide"  # 无法提供: the supplier cannot, and says why
    MET = "met"  # 已满足


class DemandReview(StrEnum):
    ACCEPT = "accept"
    ROUTE = "route"  # to another supplying department
    REJECT = "reject"


class DemandAnswer(StrEnum):
    WILL_PROVIDE = "will_provide"
    CANNOT_PROVIDE = "cannot_provide"


# 第十二条: the bureau reviews the demand list (审核、汇总); actions are the review decisions, the supplier's answers
# and `meet`. The supplier may change its answer until the demand is met (a new date, or cannot after all, or can
# after all). Only the bureau closes a demand as met, once it is accepted and not answered "cannot".
DEMAND = StateMachine(
    {
        (DemandStatus.SUBMITTED, DemandReview.ACCEPT): DemandStatus.ACCEPTED,
        (DemandStatus.SUBMITTED, DemandReview.ROUTE): DemandStatus.ACCEPTED,
        (DemandStatus.SUBMITTED, DemandReview.REJECT): DemandStatus.REJECTED,
        **{
            (status, answer): DemandStatus.CANNOT_PROVIDE
            if answer == DemandAnswer.CANNOT_PROVIDE
            else DemandStatus.PROMISED
            for status in (DemandStatus.ACCEPTED, DemandStatus.PROMISED, DemandStatus.CANNOT_PROVIDE)
            for answer in DemandAnswer
        },
        (DemandStatus.ACCEPTED, "meet"): DemandStatus.MET,
        (DemandStatus.PROMISED, "meet"): DemandStatus.MET,
    },
    status_labels={
        DemandStatus.SUBMITTED: "待审核",
        DemandStatus.ACCEPTED: "已受理",
        DemandStatus.REJECTED: "已驳回",
        DemandStatus.PROMISED: "已承诺提供",
        DemandStatus.CANNOT_PROVIDE: "无法提供",
        DemandStatus.MET: "已满足",
    },
    action_labels={
        DemandReview.ACCEPT: "受理",
        DemandReview.ROUTE: "转交其他部门",
        DemandReview.REJECT: "驳回",
        DemandAnswer.WILL_PROVIDE: "答复承诺提供",
        DemandAnswer.CANNOT_PROVIDE: "答复无法提供",
        "meet": "确认已满足",
    },
    code="invalid_demand_transition",
    subject="需求当前状态",
    refusals={
        **{
            (DemandStatus.SUBMITTED, action): Refusal("review_first", "需求尚未经县政务服务和大数据管理局审核受理")
            for action in (*DemandAnswer, "meet")
        },
        (DemandStatus.CANNOT_PROVIDE, "meet"): Refusal(
            "supplier_cannot_provide", "提供部门已答复无法提供；提供部门改为承诺提供后，才能确认需求已满足"
        ),
    },
    default_rule="demand_status",
)
# Not yet met or rejected (`GET /demands?status=open`).
OPEN_DEMAND_STATUSES = frozenset(
    {DemandStatus.SUBMITTED, DemandStatus.ACCEPTED, DemandStatus.PROMISED, DemandStatus.CANNOT_PROVIDE}
)


# --- deadlines ----------------------------------------------------------------------------------------------

# 第十四条: the bureau reviews a catalog submission within 5 working days of receiving it, and a department
# applies for the update within 10 working days of a law or its duties changing.
REVIEW_WORKING_DAYS = 5
UPDATE_SUBMIT_WORKING_DAYS = 10


def reviewed_on_time(review_deadline: date | None, today: date) -> bool:
    """第十四条: was the review done by its deadline (a revision submitted without one counts as on time)."""
    return review_deadline is None or today <= review_deadline


# --- the revision state machine -------------------------------------------------------------------------

REVISION = StateMachine(
    {
        (RevisionStatus.DRAFT, "edit"): RevisionStatus.DRAFT,
        (RevisionStatus.REJECTED, "edit"): RevisionStatus.DRAFT,
        (RevisionStatus.DRAFT, "submit"): RevisionStatus.SUBMITTED,
        (RevisionStatus.REJECTED, "submit"): RevisionStatus.SUBMITTED,
        (RevisionStatus.SUBMITTED, "approve"): RevisionStatus.PUBLISHED,
        (RevisionStatus.SUBMITTED, "reject"): RevisionStatus.REJECTED,
        (RevisionStatus.PUBLISHED, "supersede"): RevisionStatus.SUPERSEDED,
        (RevisionStatus.DRAFT, "withdraw"): RevisionStatus.WITHDRAWN,
        (RevisionStatus.SUBMITTED, "withdraw"): RevisionStatus.WITHDRAWN,
        (RevisionStatus.REJECTED, "withdraw"): RevisionStatus.WITHDRAWN,
    },
    status_labels={
        RevisionStatus.DRAFT: "草稿",
        RevisionStatus.SUBMITTED: "待审核",
        RevisionStatus.PUBLISHED: "已发布",
        RevisionStatus.REJECTED: "已退回",
        RevisionStatus.SUPERSEDED: "已被新版本替代",
        RevisionStatus.WITHDRAWN: "已撤回",
    },
    action_labels={"edit": "修改", "submit": "提交审核", "approve": "审核通过", "reject": "退回", "withdraw": "撤回"},
)

# A revision not yet decided: it blocks another revision and is withdrawn when the resource retires.
PENDING_STATUSES = frozenset({RevisionStatus.DRAFT, RevisionStatus.SUBMITTED, RevisionStatus.REJECTED})
# What everyone may see of a resource's history; the provider and the overseers see every revision.
PUBLIC_REVISION_STATUSES = frozenset({RevisionStatus.PUBLISHED, RevisionStatus.SUPERSEDED})


# --- metadata rules -----------------------------------------------------------------------------------------

# The class digit of the code (类) follows the catalog category.
CATEGORY_CLASS_DIGIT = {Category.BASE: "1", Category.THEME: "2", Category.DEPARTMENT: "3"}


class _Item(Protocol):
    code: str


class ResourceMetadata(Protocol):
    """What the rules read of a resource's metadata (schemas.ResourceFields has it)."""

    code: str
    category: Category
    items: Sequence[_Item]
    sharing_type: SharingType
    sharing_conditions: str | None
    legal_basis: str | None
    sharing_method: SharingMethod
    open_type: OpenType
    open_conditions: str | None
    interface: object | None


# Stricter terms rank higher: an item may narrow its resource's sharing, never widen it.
SHARING_STRICTNESS = {SharingType.UNCONDITIONAL: 0, SharingType.CONDITIONAL: 1, SharingType.NONE: 2}
SHARING_LABELS = {
    SharingType.UNCONDITIONAL: "无条件共享",
    SharingType.CONDITIONAL: "有条件共享",
    SharingType.NONE: "不予共享",
}


def rule_violations(fields: ResourceMetadata) -> list[dict[str, Any]]:
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
        # 第二十四条: a resource that can be provided only in part shares some items on stricter terms.
        own = getattr(item, "sharing_type", None)
        if fields.category == Category.BASE and own not in (None, SharingType.UNCONDITIONAL):
            fail(
                f"items[{index}].sharing_type",
                "base_must_share_unconditionally",
                "基础类资源的信息项必须无条件共享（第二十五条第二项）",
            )
        elif own is not None and SHARING_STRICTNESS[own] < SHARING_STRICTNESS[fields.sharing_type]:
            fail(
                f"items[{index}].sharing_type",
                "not_wider_than_resource",
                f"信息项 {item.code} 的共享类型不能比资源的共享类型更宽（资源为{SHARING_LABELS[fields.sharing_type]}）",
            )
    # 第十六条: natural persons' data is collected by 公民身份号码, organisations' by 统一社会信用代码.
    subjects = {getattr(item, "subject", None) for item in fields.items}
    identifiers = {getattr(item, "identifier", None) for item in fields.items}
    for subject, identifier, name in (
        ("person", "resident_id", "公民身份号码"),
        ("org", "credit_code", "统一社会信用代码"),
    ):
        if subject in subjects and identifier not in identifiers:
            fail(
                "items",
                f"{subject}_identifier_required",
                f"含有{'自然人' if subject == 'person' else '法人和其他组织'}数据的资源必须包含{name}信息项，"
                f"并将其标为关键标识（第十六条）",
            )
    # An unconditional resource with stricter items needs what a stricter resource needs (checked above for it).
    item_types = {getattr(item, "sharing_type", None) for item in fields.items}
    if fields.sharing_type != SharingType.UNCONDITIONAL:
        item_types = set()
    if SharingType.CONDITIONAL in item_types and not _filled(fields.sharing_conditions):
        fail("sharing_conditions", "required_when_conditional", "含有条件共享信息项的资源必须写明共享条件")
    if item_types & {SharingType.CONDITIONAL, SharingType.NONE} and not _filled(fields.legal_basis):
        fail(
            "legal_basis",
            "legal_basis_required",
            "含有条件共享或不予共享信息项的资源必须有法律、行政法规或党中央、国务院政策依据（第二十五条第一项）",
        )
    if (
        fields.sharing_method == SharingMethod.PLATFORM_API
        and fields.sharing_type != SharingType.NONE
        and fields.interface is None
    ):
        fail("interface", "required_for_platform_api", "通过平台接口共享的资源必须登记接口信息")
    return errors


def _filled(value: str | None) -> bool:
    return bool(value and value.strip())


# Values of the interface fields a provider may leave out (schemas.Interface has the same defaults).
INTERFACE_DEFAULTS: dict[str, Any] = {"methods": ["GET"], "path_prefixes": ["/"], "rate_limit": 20}


def interface_with_defaults(interface: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored interface with every defaulted field filled in (credential_ref kept: the gateway needs it)."""
    if not interface:
        return None
    filled = dict(interface)
    for name, value in INTERFACE_DEFAULTS.items():
        filled.setdefault(name, list(value) if isinstance(value, list) else value)
    return filled


# API.md "Catalog": the interface's address and credential reference only for the provider department, the bureau
# and the gateway; everyone else (and every event) sees what may be called, not where.
CONFIDENTIAL_INTERFACE_FIELDS = frozenset({"base_url", "credential_ref"})


def public_interface(interface: dict[str, Any] | None) -> dict[str, Any] | None:
    """The interface with its defaults and without its confidential fields."""
    filled = interface_with_defaults(interface)
    if filled is None:
        return None
    return {k: v for k, v in filled.items() if k not in CONFIDENTIAL_INTERFACE_FIELDS}


# --- data refresh (采集责任清单, 第十三条) -------------------------------------------------------------------

# How long data may go without a refresh before it is late for its update cycle.
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


def refresh_due(cycle: UpdateCycle, last: datetime | None) -> datetime | None:
    """When data last refreshed at `last` must be refreshed again; None for no cycle or no refresh yet."""
    interval = REFRESH_INTERVALS[cycle]
    if interval is None or last is None:
        return None
    return last + interval


def is_refresh_late(cycle: UpdateCycle, last: datetime | None, now: datetime) -> bool:
    due = refresh_due(cycle, last)
    return due is not None and now > due


class Fulfilment(StrEnum):
    """How a 责任清单 entry stands (第十三条), read from the catalog, never from the department's own word."""

    FULFILLED = "fulfilled"  # 已落实: the department's published resource of that code, refreshed on the cycle
    LATE = "late"  # 更新逾期: published, but not refreshed within the entry's cycle
    MISSING = "missing"  # 未编目: no published resource of the department carries that code
    WITHDRAWN = "withdrawn"  # 已撤销 by the bureau


def fulfilment(cycle: UpdateCycle, published: bool, last_refreshed: datetime | None, now: datetime) -> Fulfilment:
    """An entry's standing: `published` whether the department publishes the resource; `last_refreshed` its last
    refresh report, or its publication when none came. The entry's cycle is the bureau's and wins over the one the
    department gave its resource."""
    if not published:
        return Fulfilment.MISSING
    return Fulfilment.LATE if is_refresh_late(cycle, last_refreshed, now) else Fulfilment.FULFILLED
