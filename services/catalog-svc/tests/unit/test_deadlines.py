"""Deadlines the catalog keeps, on given dates: data refreshed within its update cycle (采集责任清单, 第十三条) and the
bureau's review by its deadline (第十四条)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from catalog_svc.domain import REFRESH_INTERVALS, UpdateCycle, is_refresh_late, refresh_due, reviewed_on_time

LAST = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cycle", "days"),
    [
        (UpdateCycle.REALTIME, 1),
        (UpdateCycle.DAILY, 2),
        (UpdateCycle.WEEKLY, 8),
        (UpdateCycle.MONTHLY, 32),
        (UpdateCycle.QUARTERLY, 93),
        (UpdateCycle.SEMIANNUAL, 184),
        (UpdateCycle.ANNUAL, 367),
    ],
)
def test_data_is_due_again_one_cycle_and_a_margin_after_its_last_refresh(cycle, days):
    due = refresh_due(cycle, LAST)
    assert due == LAST + timedelta(days=days)
    assert not is_refresh_late(cycle, LAST, due)  # at the due moment it is still on time
    assert is_refresh_late(cycle, LAST, due + timedelta(seconds=1))


def test_every_update_cycle_has_an_interval():
    assert set(REFRESH_INTERVALS) == set(UpdateCycle)


def test_data_with_an_irregular_cycle_is_never_late():
    assert refresh_due(UpdateCycle.OTHER, LAST) is None
    assert not is_refresh_late(UpdateCycle.OTHER, LAST, LAST + timedelta(days=3650))


def test_data_never_refreshed_nor_published_has_no_due_date():
    assert refresh_due(UpdateCycle.DAILY, None) is None
    assert not is_refresh_late(UpdateCycle.DAILY, None, LAST)


def test_a_daily_resource_unrefreshed_for_three_days_is_late():
    assert is_refresh_late(UpdateCycle.DAILY, LAST, LAST + timedelta(days=3))
    assert not is_refresh_late(UpdateCycle.DAILY, LAST, LAST + timedelta(days=1, hours=23))


@pytest.mark.parametrize(
    ("today", "on_time"),
    [(date(2026, 12, 2), True), (date(2026, 12, 3), True), (date(2026, 12, 4), False)],
)
def test_a_review_is_on_time_up_to_and_including_its_deadline_day(today, on_time):
    # 第十四条: submitted Thursday 2026-11-26, 5 working days → Thursday 2026-12-03.
    assert reviewed_on_time(date(2026, 12, 3), today) is on_time


def test_a_revision_reviewed_without_a_deadline_counts_as_on_time():
    assert reviewed_on_time(None, date(2030, 1, 1))
