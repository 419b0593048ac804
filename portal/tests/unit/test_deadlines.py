"""Deadline badges count working days on the services' calendar (调休 included), today in Asia/Shanghai."""

from __future__ import annotations

from datetime import date

from govdata_portal.deadlines import deadline_badge

THURSDAY = date(2026, 11, 26)


def test_days_left_count_the_working_days_after_today_up_to_the_due_day() -> None:
    badge = deadline_badge(date(2026, 12, 1), THURSDAY)  # Fri, Mon, Tue
    assert badge.text == "截止 2026-12-01（还剩 3 个工作日）"
    assert not badge.overdue and badge.working_days == 3 and badge.tone == "info"


def test_the_last_two_working_days_are_marked_and_the_due_day_says_today() -> None:
    assert deadline_badge(date(2026, 11, 30), THURSDAY).tone == "warning"  # Fri, Mon
    due_today = deadline_badge(THURSDAY, THURSDAY)
    assert due_today.text == "截止 2026-11-26（今天到期）" and not due_today.overdue


def test_a_holiday_is_not_a_working_day_left() -> None:
    # 2026-10-01..07 is the National Day holiday; 2026-09-30 (Wednesday) → 2026-10-09 (Friday).
    badge = deadline_badge(date(2026, 10, 9), date(2026, 9, 30))
    assert badge.working_days == 2, badge  # 10-08 and 10-09 only


def test_an_overdue_deadline_says_by_how_many_working_days() -> None:
    badge = deadline_badge(THURSDAY, date(2026, 12, 1))
    assert badge.overdue and badge.tone == "danger"
    assert badge.text == "已逾期 3 个工作日（截止 2026-11-26）"


def test_a_deadline_passed_over_a_weekend_only_is_overdue_without_a_count() -> None:
    badge = deadline_badge(date(2026, 11, 27), date(2026, 11, 29))  # Friday, seen on Sunday
    assert badge.overdue and badge.text == "已逾期（截止 2026-11-27）"


def test_an_estimated_deadline_says_so() -> None:
    assert deadline_badge(date(2027, 3, 3), date(2027, 3, 1), estimated=True).text.endswith("，按预估日历")
