"""Rules of correction requests (校核, 第十九条) and their lifecycle, as plain functions.

Lifecycle: open → extended (once) → resolved, or open → resolved. Overdue is not a state: a request is overdue
while it is unresolved after its deadline, and a resolution after the deadline is late (`on_time` false).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from govdata_shared.errors import Problem, validation_problem
from govdata_shared.identifiers import (
    InvalidIdentifier,
    ValidatedId,
    validate_credit_code,
    validate_resident_id,
)
from govdata_shared.states import Refusal, StateMachine
from govdata_shared.workdays import DEFAULT_CALENDAR, Deadline, WorkdayCalendar


class CorrectionStatus(StrEnum):
    """校核申请的状态"""

    OPEN = "open"  # 待校核
    EXTENDED = "extended"  # 已延期
    RESOLVED = "resolved"  # 已办结


class SubjectType(StrEnum):
    """主体类型"""

    PERSON = "person"  # 公民，公民身份号码
    ORG = "org"  # 法人和其他组织，统一社会信用代码


class Outcome(StrEnum):
    """办结结果"""

    CORRECTED = "corrected"  # 已更正
    NO_ERROR = "no_error"  # 数据无误


class ApplicantKind(StrEnum):
    """申请人类别"""

    CITIZEN = "citizen"  # 公民、法人（本人或本单位的数据）
    DEPARTMENT = "department"  # 政务部门


# 第十九条第二款: the provider verifies within 10 working days of receiving the request; its head may extend the
# period once, by at most 10 working days.
VERIFY_WORKING_DAYS = 10
MAX_EXTENSION_WORKING_DAYS = 10

CORRECTION = StateMachine(
    {
        (CorrectionStatus.OPEN, "extend"): CorrectionStatus.EXTENDED,  # 第十九条: 延长校核期限 — once
        (CorrectionStatus.OPEN, "resolve"): CorrectionStatus.RESOLVED,
        (CorrectionStatus.EXTENDED, "resolve"): CorrectionStatus.RESOLVED,
    },
    status_labels={
        CorrectionStatus.OPEN: "待校核",
        CorrectionStatus.EXTENDED: "已延期",
        CorrectionStatus.RESOLVED: "已办结",
    },
    action_labels={"extend": "延长校核期限", "resolve": "办结"},
    refusals={
        (CorrectionStatus.EXTENDED, "extend"): Refusal("extend_once", "校核期限只能延长一次（第十九条）"),
        (CorrectionStatus.RESOLVED, "resolve"): Refusal("resolve_once"),
    },
    default_rule="invalid_transition",
)
"""The request's lifecycle: `CORRECTION.next(status, action)` or a 409 `invalid_transition` naming the rule."""

UNRESOLVED_STATUSES = frozenset({CorrectionStatus.OPEN, CorrectionStatus.EXTENDED})

# A correction can only be about a resource others can see in the catalog (the catalog's resource statuses).
ACCEPTING_RESOURCE_STATUSES = frozenset({"published"})
RETIRED_RESOURCE_STATUS = "retired"

# Evidence files (证明材料): what a county office can open and print.
EVIDENCE_MAX_BYTES = 8 * 1024 * 1024  # below the 10 MiB request-body ceiling of every service
EVIDENCE_MAX_FILES = 20
EVIDENCE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


# --- identifiers ------------------------------------------------------------------------------------------


def normalise_identifier(value: str) -> str:
    """The stored form of an identifier (what the validators return): stripped, upper case."""
    return value.strip().upper()


def validate_subject(subject_type: str, value: str, today: date) -> ValidatedId:
    """The subject's identifier, validated (GB 11643 for persons, GB 32100 for organisations), or a 422 naming
    field `subject_id` and the rule it broke. A credit code failing only its check character passes, flagged."""
    try:
        if subject_type == SubjectType.PERSON:
            return validate_resident_id(value, today=today)
        if subject_type == SubjectType.ORG:
            return validate_credit_code(value)
        raise InvalidIdentifier("subject_type", "主体类型无效，应为 person 或 org")
    except InvalidIdentifier as exc:
        raise validation_problem([{"field": "subject_id", "rule": exc.rule, "detail": exc.message}]) from None


def validate_any_identifier(value: str, today: date) -> ValidatedId:
    """An identifier whose kind the caller did not say: a 身份证号 when it has that shape (17 digits and a digit
    or X), else a 统一社会信用代码. An all-digit value that fails as a 身份证号 counts as a credit code only if its
    check character holds — otherwise a mistyped 身份证号 would pass as a pilot-region code."""
    stripped = value.strip()
    if len(stripped) == 18 and stripped[:17].isascii() and stripped[:17].isdigit():
        try:
            return validate_resident_id(stripped, today=today)
        except InvalidIdentifier as person_error:
            error = person_error
        try:
            org = validate_credit_code(stripped)
        except InvalidIdentifier:
            org = None
        if org is not None and not org.check_failed:
            return org
    else:
        try:
            return validate_credit_code(stripped)
        except InvalidIdentifier as org_error:
            error = org_error
    raise validation_problem([{"field": "subject_id", "rule": error.rule, "detail": error.message}])


# --- filing and resolving ---------------------------------------------------------------------------------


def filing_violations(
    resource_items: Iterable[str], items: list[str], claimed_values: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every way the items in question do not fit the resource, each naming its field and rule."""
    known = set(resource_items)
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item not in known:
            errors.append(
                {"field": f"items[{index}]", "rule": "unknown_item", "detail": f"资源中没有信息项 {item}", "item": item}
            )
        elif item in seen:
            errors.append({"field": f"items[{index}]", "rule": "duplicate_item", "detail": f"信息项 {item} 重复"})
        seen.add(item)
    for item in claimed_values:
        if item not in seen:
            errors.append(
                {
                    "field": f"claimed_values.{item}",
                    "rule": "not_in_items",
                    "detail": f"信息项 {item} 不在申请校核的信息项中",
                }
            )
    return errors


def resolution_violations(
    request_items: Iterable[str], outcome: str, note: str | None, corrected_values: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """A resolution says what was corrected (`corrected`) or explains why nothing was (`no_error`)."""
    errors: list[dict[str, Any]] = []
    items = set(request_items)
    if outcome == Outcome.CORRECTED:
        if not corrected_values:
            errors.append(
                {
                    "field": "corrected_values",
                    "rule": "required_when_corrected",
                    "detail": "办结为“已更正”时必须给出更正后的值",
                }
            )
        for item in corrected_values or {}:
            if item not in items:
                errors.append(
                    {
                        "field": f"corrected_values.{item}",
                        "rule": "not_in_items",
                        "detail": f"信息项 {item} 不在申请校核的信息项中",
                    }
                )
    else:
        if not (note and note.strip()):
            errors.append(
                {"field": "note", "rule": "required_when_no_error", "detail": "办结为“数据无误”时必须说明理由"}
            )
        if corrected_values:
            errors.append(
                {
                    "field": "corrected_values",
                    "rule": "not_allowed_when_no_error",
                    "detail": "数据无误时不应给出更正后的值",
                }
            )
    return errors


# --- deadlines --------------------------------------------------------------------------------------------


def verification_deadline(received_on: date, calendar: WorkdayCalendar = DEFAULT_CALENDAR) -> Deadline:
    """第十九条: 10 working days from receipt (the day of receipt is not counted)."""
    return calendar.add_working_days(received_on, VERIFY_WORKING_DAYS)


def extended_deadline(
    deadline: date, estimated: bool, days: int, calendar: WorkdayCalendar = DEFAULT_CALENDAR
) -> Deadline:
    """The deadline moved by `days` working days (1..10, 第十九条); estimated if either part is."""
    if not 1 <= days <= MAX_EXTENSION_WORKING_DAYS:
        raise ValueError(f"an extension is 1..{MAX_EXTENSION_WORKING_DAYS} working days, got {days}")
    moved = calendar.add_working_days(deadline, days)
    return Deadline(due=moved.due, estimated=estimated or moved.estimated)


def require_extendable_on(deadline: date, today: date) -> None:
    """第十九条: the period is extended while it runs — on its last day at the latest — or a 409."""
    if today > deadline:
        raise Problem(
            409,
            "deadline_passed",
            f"校核期限 {deadline.isoformat()} 已过，不能再延长",
            rule="extend_before_deadline",
            deadline=deadline.isoformat(),
        )


def is_overdue(status: str, deadline: date, today: date) -> bool:
    return status in UNRESOLVED_STATUSES and today > deadline


# --- evidence ---------------------------------------------------------------------------------------------


def sniff_evidence_type(head: bytes) -> str | None:
    """The file's type from its first bytes (PDF, JPEG, PNG), whatever the client claimed; None otherwise."""
    for signature, content_type in EVIDENCE_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def evidence_filename(name: str | None) -> str:
    """The name a file is kept under: the client's name without any folder, at most 200 characters."""
    base = PurePosixPath((name or "").replace("\\", "/")).name.strip()
    return (base or "evidence")[:200]


# --- data quality (第二十条) -------------------------------------------------------------------------------


@dataclass
class QualityTally:
    received: int = 0
    corrected: int = 0
    no_error: int = 0
    open: int = 0
    overdue: int = 0
    days: list[int] | None = None

    def add(
        self, *, status: str, outcome: str | None, deadline: date, on_time: bool | None, days: int | None, today: date
    ) -> None:
        self.received += 1
        if outcome == Outcome.CORRECTED:
            self.corrected += 1
        elif outcome == Outcome.NO_ERROR:
            self.no_error += 1
        if status in UNRESOLVED_STATUSES:
            self.open += 1
            if today > deadline:
                self.overdue += 1
        elif on_time is False:
            self.overdue += 1
        if days is not None:
            self.days = [*(self.days or []), days]

    def figures(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "corrected": self.corrected,
            "no_error": self.no_error,
            "open": self.open,
            "overdue": self.overdue,
            "median_working_days": float(statistics.median(self.days)) if self.days else None,
        }
