"""Deadlines as people read them: "截止 2026-12-08（还剩 3 个工作日）" or "已逾期 2 个工作日", counted on the
services' working-day calendar (govdata_shared.workdays), today taken in Asia/Shanghai."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from govdata_shared.workdays import working_days_between


@dataclass(frozen=True)
class DeadlineBadge:
    due: date
    overdue: bool
    working_days: int  # left (including the due day) while on time; late once overdue
    text: str
    estimated: bool = False

    @property
    def tone(self) -> str:
        """The badge's colour: red when late, orange on the last two working days, blue otherwise."""
        if self.overdue:
            return "danger"
        return "warning" if self.working_days <= 2 else "info"


def deadline_badge(due: date, today: date, *, estimated: bool = False) -> DeadlineBadge:
    """The badge of a deadline `due` (the last day on time) seen on `today`.

    The days left count the working days after today up to and including the due day, as the services count a
    deadline forward from the day of receipt; on the due day itself none are left and the badge says so.
    """
    if due < today:
        late = working_days_between(due, today)
        # Passed over a weekend or holiday only: late, though no working day has been lost yet.
        text = f"已逾期 {late} 个工作日" if late else "已逾期"
        return DeadlineBadge(due, True, late, f"{text}（截止 {due.isoformat()}）", estimated)
    left = working_days_between(today, due)
    text = f"截止 {due.isoformat()}（{f'还剩 {left} 个工作日' if left else '今天到期'}）"
    if estimated:
        text += "，按预估日历"
    return DeadlineBadge(due, False, left, text, estimated)


def parse_date(value: Any) -> date | None:
    """A date as the API writes it (`2026-12-08`); None when there is none or it is not a date."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def due_badge(due: Any, today: date, estimated: Any = False) -> DeadlineBadge | None:
    """The badge of a deadline as the API gives it (an ISO date, or nothing once the matter is decided)."""
    day = parse_date(due)
    return deadline_badge(day, today, estimated=bool(estimated)) if day else None
