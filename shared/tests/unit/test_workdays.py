"""Working-day calendar: published years, estimates, overrides and 民法典第二百零一条 counting."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from govdata_shared.workdays import (
    DEFAULT_CALENDAR,
    PUBLISHED_YEARS,
    Deadline,
    WorkdayCalendar,
    add_working_days,
    is_workday,
    today_in_shanghai,
    working_days_between,
)


def test_published_years_come_from_chinese_calendar() -> None:
    assert 2026 in PUBLISHED_YEARS
    # The installed chinesecalendar 1.11.0 stops at 2026; if an upgrade publishes 2027, the estimate tests
    # below that assume 2027 is unpublished need new dates.
    assert 2027 not in PUBLISHED_YEARS
    assert not WorkdayCalendar.is_published(2027)


def test_make_up_saturday_is_a_workday() -> None:
    assert date(2026, 10, 10).weekday() == 5
    assert is_workday(date(2026, 10, 10))
    assert not DEFAULT_CALENDAR.is_estimated(date(2026, 10, 10))


@pytest.mark.parametrize("day", range(1, 8))
def test_national_day_week_is_off(day: int) -> None:
    assert not is_workday(date(2026, 10, day))


def test_ordinary_days_in_a_published_year() -> None:
    assert is_workday(date(2026, 11, 26))  # Thursday
    assert not is_workday(date(2026, 11, 28))  # Saturday


@pytest.mark.parametrize("year", [2026, 2027, 2028, 2030, 2040])
def test_new_years_day_is_never_a_workday(year: int) -> None:
    assert not is_workday(date(year, 1, 1))


def test_override_cannot_make_new_years_day_a_workday() -> None:
    with pytest.raises(ValueError, match="1 January"):
        WorkdayCalendar({date(2030, 1, 1): True})


def test_three_working_days_from_thursday() -> None:
    assert add_working_days(date(2026, 11, 26), 3) == Deadline(due=date(2026, 12, 1), estimated=False)


def test_one_working_day_skips_the_weekend() -> None:
    # Received Friday: the next working day is Monday.
    assert add_working_days(date(2026, 11, 27), 1).due == date(2026, 11, 30)


def test_deadline_across_the_national_day_holiday() -> None:
    # Received Wednesday 2026-09-30: 10-01..07 are off, Sat 10-10 is a make-up workday.
    # 10-08 (1), 10-09 (2), 10-10 (3).
    assert add_working_days(date(2026, 9, 30), 3) == Deadline(due=date(2026, 10, 10), estimated=False)


def test_deadline_into_an_unpublished_year_is_estimated() -> None:
    # Received Thursday 2026-12-24, 10 working days, assuming 2027-01-01 off and weekends off:
    # Fri 12-25 (1), [Sat 26, Sun 27], Mon 28 (2), Tue 29 (3), Wed 30 (4), Thu 31 (5),
    # [Fri 2027-01-01 New Year, Sat 02, Sun 03], Mon 04 (6), Tue 05 (7), Wed 06 (8), Thu 07 (9), Fri 08 (10).
    deadline = add_working_days(date(2026, 12, 24), 10)
    assert deadline == Deadline(due=date(2027, 1, 8), estimated=True)


def test_skipped_estimated_days_also_flag_the_deadline() -> None:
    # Received Thursday 2026-12-31, 1 working day: 2027-01-01..03 are skipped (2027 unknown), due Mon 01-04.
    assert add_working_days(date(2026, 12, 31), 1) == Deadline(due=date(2027, 1, 4), estimated=True)


def test_spring_festival_2027_is_off_in_the_estimate() -> None:
    # holidays.China(2027): eve Fri 02-05, festival Sat 02-06..Mon 02-08, observed Tue 02-09 and Wed 02-10.
    for day in range(5, 11):
        d = date(2027, 2, day)
        assert not is_workday(d), d
        assert DEFAULT_CALENDAR.is_estimated(d)
    assert is_workday(date(2027, 2, 4))
    assert is_workday(date(2027, 2, 11))
    # Received Thursday 2027-02-04, 1 working day: the whole festival is skipped.
    assert add_working_days(date(2027, 2, 4), 1) == Deadline(due=date(2027, 2, 11), estimated=True)


def test_other_estimated_holidays_2027() -> None:
    assert not is_workday(date(2027, 10, 1))  # National Day, Friday
    assert not is_workday(date(2027, 10, 4))  # observed Monday
    assert is_workday(date(2027, 3, 3))  # ordinary Wednesday
    assert DEFAULT_CALENDAR.is_estimated(date(2027, 3, 3))


def test_override_makes_a_day_a_workday_and_not_estimated() -> None:
    sat = date(2027, 1, 9)  # Saturday, a plausible make-up day once 2027 is published
    cal = WorkdayCalendar({sat: True})
    assert not DEFAULT_CALENDAR.is_workday(sat)
    assert cal.is_workday(sat)
    assert DEFAULT_CALENDAR.is_estimated(sat)
    assert not cal.is_estimated(sat)


def test_override_makes_a_day_a_holiday() -> None:
    thu = date(2026, 11, 26)
    cal = WorkdayCalendar({thu: False})
    assert not cal.is_workday(thu)
    assert not cal.is_estimated(thu)
    # From Wednesday 11-25, 3 working days: normally Thu 26, Fri 27, Mon 30; with 11-26 off, Tue 12-01.
    assert add_working_days(date(2026, 11, 25), 3).due == date(2026, 11, 30)
    assert cal.add_working_days(date(2026, 11, 25), 3) == Deadline(due=date(2026, 12, 1), estimated=False)


def test_overrides_covering_every_unpublished_day_clear_the_estimated_flag() -> None:
    # Same deadline as above; an administrator enters the 2027 New Year arrangement (01-01..01-03 off,
    # nothing else changed) and the ordinary 2027 days of the range.
    overrides = {date(2027, 1, 1) + timedelta(days=i): False for i in range(3)}
    overrides |= {date(2027, 1, 4) + timedelta(days=i): True for i in range(5)}
    cal = WorkdayCalendar(overrides)
    assert cal.add_working_days(date(2026, 12, 24), 10) == Deadline(due=date(2027, 1, 8), estimated=False)


def test_override_table_is_a_snapshot() -> None:
    source = {date(2026, 11, 26): False}
    cal = WorkdayCalendar(source)
    source[date(2026, 11, 27)] = False
    assert cal.is_workday(date(2026, 11, 27))
    with pytest.raises(TypeError):
        cal.overrides[date(2026, 11, 27)] = False  # type: ignore[index]


@pytest.mark.parametrize("n", [0, -1])
def test_n_must_be_positive(n: int) -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 11, 26), n)


def test_datetime_is_rejected() -> None:
    with pytest.raises(TypeError):
        add_working_days(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), 3)
    with pytest.raises(TypeError):
        is_workday(datetime(2026, 11, 26, 9, 0))


def test_working_days_between() -> None:
    # (Thu 11-26, Tue 12-01]: Fri 27, Mon 30, Tue 01.
    assert working_days_between(date(2026, 11, 26), date(2026, 12, 1)) == 3
    assert working_days_between(date(2026, 11, 26), date(2026, 11, 26)) == 0
    assert working_days_between(date(2026, 12, 1), date(2026, 11, 26)) == 0
    # (Wed 09-30, Sat 10-10]: 10-08, 10-09 and the make-up Saturday.
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 10), DEFAULT_CALENDAR) == 3
    cal = WorkdayCalendar({date(2026, 11, 30): False})
    assert working_days_between(date(2026, 11, 26), date(2026, 12, 1), cal) == 2


def test_working_days_between_inverts_add_working_days() -> None:
    start = date(2026, 12, 24)
    for n in (1, 5, 10, 30):
        assert working_days_between(start, add_working_days(start, n).due) == n


def test_today_in_shanghai() -> None:
    assert today_in_shanghai(datetime(2026, 11, 26, 17, 0, tzinfo=UTC)) == date(2026, 11, 27)
    assert today_in_shanghai(datetime(2026, 11, 26, 15, 59, tzinfo=UTC)) == date(2026, 11, 26)
    assert today_in_shanghai(datetime(2026, 11, 26, 8, 0, tzinfo=timezone(timedelta(hours=-8)))) == date(2026, 11, 27)
    assert isinstance(today_in_shanghai(), date)


def test_today_in_shanghai_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError):
        today_in_shanghai(datetime(2026, 11, 26, 17, 0))
