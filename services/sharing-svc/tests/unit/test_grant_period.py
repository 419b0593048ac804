"""The period a grant may run (at most one year, not over before it is granted) and the three months of
disuse after which a provider may revoke it (第二十九条)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sharing_svc.domain import inactivity_cutoff, months_before, period_violations

TODAY = date(2026, 11, 26)


def rules(valid_from: date, valid_to: date, today: date = TODAY) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in period_violations(valid_from, valid_to, today)]


def test_a_period_of_less_than_a_year_from_today_is_fine():
    assert rules(date(2026, 12, 1), date(2027, 11, 30)) == []


def test_a_period_of_a_single_day_is_fine():
    assert rules(TODAY, TODAY) == []


def test_valid_to_before_valid_from_is_refused():
    assert rules(date(2026, 12, 10), date(2026, 12, 9)) == [("valid_to", "after_valid_from")]


def test_a_period_reaching_the_same_day_a_year_later_is_more_than_a_year():
    assert rules(date(2026, 12, 1), date(2027, 12, 1)) == [("valid_to", "at_most_one_year")]


@pytest.mark.parametrize(
    ("valid_to", "expected"),
    [
        (date(2029, 2, 28), []),
        (date(2029, 3, 1), [("valid_to", "at_most_one_year")]),
    ],
)
def test_a_period_starting_on_29_february_may_run_to_28_february_of_the_next_year(valid_to, expected):
    assert rules(date(2028, 2, 29), valid_to, today=date(2028, 2, 1)) == expected


def test_a_period_ending_before_today_is_refused_and_today_itself_is_fine():
    assert rules(date(2026, 1, 1), date(2026, 6, 30)) == [("valid_to", "not_in_past")]
    assert rules(date(2026, 1, 1), TODAY) == []


def test_each_broken_rule_is_named_with_its_own_detail():
    errors = period_violations(date(2026, 6, 30), date(2026, 6, 1), TODAY)
    assert [(e["rule"], e["detail"]) for e in errors] == [
        ("after_valid_from", "授权截止日期不能早于开始日期"),
        ("not_in_past", "授权截止日期已过"),
    ]


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2027, 2, 26, 3, 0, tzinfo=UTC), 3, datetime(2026, 11, 26, 3, 0, tzinfo=UTC)),
        (datetime(2027, 7, 15, 8, 30, tzinfo=UTC), 3, datetime(2027, 4, 15, 8, 30, tzinfo=UTC)),
        (datetime(2027, 12, 10, tzinfo=UTC), 12, datetime(2026, 12, 10, tzinfo=UTC)),
    ],
)
def test_months_before_is_the_same_day_and_time_months_earlier(moment, months, expected):
    assert months_before(moment, months) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2027, 1, 15, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC)),
        (datetime(2027, 3, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        (datetime(2027, 2, 28, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)),
    ],
)
def test_months_before_wraps_into_the_previous_year(moment, expected):
    assert months_before(moment, 3) == expected


def test_months_before_wraps_over_more_than_a_year():
    assert months_before(datetime(2027, 2, 10, tzinfo=UTC), 15) == datetime(2025, 11, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2027, 5, 31, 9, 0, tzinfo=UTC), datetime(2027, 2, 28, 9, 0, tzinfo=UTC)),
        (datetime(2028, 5, 31, 9, 0, tzinfo=UTC), datetime(2028, 2, 29, 9, 0, tzinfo=UTC)),  # leap year
        (datetime(2027, 7, 31, tzinfo=UTC), datetime(2027, 4, 30, tzinfo=UTC)),
        (datetime(2027, 12, 31, tzinfo=UTC), datetime(2027, 9, 30, tzinfo=UTC)),
    ],
)
def test_months_before_clamps_to_the_end_of_a_shorter_month(moment, expected):
    assert months_before(moment, 3) == expected


def test_months_before_keeps_the_time_zone():
    shanghai = timezone(timedelta(hours=8))
    assert months_before(datetime(2027, 3, 31, 23, 0, tzinfo=shanghai), 1) == datetime(
        2027, 2, 28, 23, 0, tzinfo=shanghai
    )


def test_grants_count_as_unused_after_three_months():
    assert inactivity_cutoff(datetime(2027, 2, 26, 3, 0, tzinfo=UTC)) == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
