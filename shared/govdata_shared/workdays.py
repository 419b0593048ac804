"""Working-day calendar for statutory deadlines.

Deadlines on the platform are counted in Chinese working days (工作日), including the State Council's
make-up workdays (调休), which fall on weekends. The modules that use this calendar implement the rules:

* 第十四条 — catalog updates within 5 / 10 working days;
* 第十九条 — corrections (校核) within 10 working days, one extension of at most 10;
* 第二十九条 — sharing review within 3 working days, provider decision within 5.

Where the answer for a day comes from, in order of precedence:

1. 1 January (元旦) is never a workday, whatever the year and whatever the override table says.
2. The administrator-maintained override table (``Mapping[date, bool]``, date -> is_workday), so an
   arrangement published after the installed library (or a local one) can be entered without a release.
3. ``chinese_calendar`` for the years it publishes (the State Council's arrangement, make-up days included).
4. For any other year, a rule-based estimate: weekends are off, every holiday ``holidays.China`` knows for
   that year is off (fixed and lunar holidays, plus its "observed" substitutes), make-up workdays are
   unknown. Answers from this rule are *estimated*, and so is any deadline whose range touches them.

Counting follows 民法典第二百零一条: the day of receipt is not counted, so a deadline of n working days is the
n-th working day after the start date (received Thursday 2026-11-26, 3 working days -> Tuesday 2026-12-01).
All dates are calendar dates in Asia/Shanghai; use :func:`today_in_shanghai` to obtain "today".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
from chinese_calendar import constants as _cc_constants

__all__ = [
    "DEFAULT_CALENDAR",
    "PUBLISHED_YEARS",
    "SHANGHAI",
    "Deadline",
    "WorkdayCalendar",
    "add_working_days",
    "is_workday",
    "today_in_shanghai",
    "working_days_between",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ONE_DAY = timedelta(days=1)


def _published_years() -> range:
    """Years for which the installed ``chinese_calendar`` has the State Council's arrangement.

    Derived from the library's own tables the same way the library validates input (min..max year of its
    holiday table), so upgrading the package extends the range without touching this module.
    """
    years = [d.year for d in _cc_constants.holidays]
    return range(min(years), max(years) + 1)


PUBLISHED_YEARS: range = _published_years()


@functools.cache
def _published_is_workday(d: date) -> bool:
    # Cached: the library rescans its whole table on every call to validate the year, and supervision
    # reports count days for thousands of requests. Bounded by the number of published dates.
    return bool(chinese_calendar.is_workday(d))


@functools.lru_cache(maxsize=64)
def _estimated_holidays(year: int) -> frozenset[date]:
    """Days off that ``holidays.China`` knows for an unpublished year (fixed, lunar and observed days)."""
    return frozenset(holidays.China(years=year).keys())


def _is_new_year(d: date) -> bool:
    return d.month == 1 and d.day == 1


def _check_date(d: object, name: str = "d") -> date:
    # datetime is a subclass of date but never equals a date key in the override table and carries a time
    # zone question; reject it rather than give a silently wrong answer.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{name} must be a datetime.date (not {type(d).__name__}); see today_in_shanghai()")
    return d


@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed deadline.

    ``due`` is the last day (inclusive) on which the act is on time. ``estimated`` is True when any day
    counted or skipped in ``(start, due]`` fell in a year without a published arrangement and was not
    covered by the override table — the date may move once the State Council publishes that year.
    """

    due: date
    estimated: bool


class WorkdayCalendar:
    """Chinese working-day calendar with an administrator-maintained override table.

    ``overrides`` maps a date to whether it is a workday; services load it from their database and build a
    new calendar when it changes (the table is copied, so later changes to the source mapping are not seen).
    An override declaring 1 January a workday is rejected: New Year's Day is a statutory holiday.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        table: dict[date, bool] = {}
        for d, is_work in (overrides or {}).items():
            _check_date(d, "override key")
            if not isinstance(is_work, bool):
                raise TypeError(f"override for {d.isoformat()} must be a bool, got {type(is_work).__name__}")
            if is_work and _is_new_year(d):
                raise ValueError(f"override declares {d.isoformat()} a workday; 1 January is never one")
            table[d] = is_work
        self.overrides: Mapping[date, bool] = MappingProxyType(table)

    @staticmethod
    def is_published(year: int) -> bool:
        """True when the installed calendar library has the official arrangement for ``year``."""
        return year in PUBLISHED_YEARS

    def is_estimated(self, d: date) -> bool:
        """True when ``d``'s year is not published and no override covers ``d``."""
        _check_date(d)
        return d not in self.overrides and not self.is_published(d.year)

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day (see the module docstring for the order of sources)."""
        _check_date(d)
        if _is_new_year(d):
            return False
        override = self.overrides.get(d)
        if override is not None:
            return override
        if self.is_published(d.year):
            try:
                return _published_is_workday(d)
            except NotImplementedError:
                # PUBLISHED_YEARS mirrors the library's own range check; fall through defensively anyway.
                pass
        return d.weekday() < 5 and d not in _estimated_holidays(d.year)

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The n-th working day after ``start`` (the day of receipt itself is not counted).

        ``n`` must be >= 1. Example: ``add_working_days(date(2026, 11, 26), 3)`` -> 2026-12-01.
        """
        _check_date(start, "start")
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n < 1:
            raise ValueError(f"n must be >= 1 working day, got {n}")
        d = start
        estimated = False
        remaining = n
        while remaining:
            d += _ONE_DAY
            # Skipped days matter too: an estimated holiday might turn out to be a make-up workday.
            estimated = estimated or self.is_estimated(d)
            if self.is_workday(d):
                remaining -= 1
        return Deadline(due=d, estimated=estimated)

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in ``(start, end]``; 0 when ``end <= start``."""
        _check_date(start, "start")
        _check_date(end, "end")
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            count += self.is_workday(d)
            d += _ONE_DAY
        return count


DEFAULT_CALENDAR = WorkdayCalendar()
"""Calendar without overrides, for callers that have no override table at hand."""


def add_working_days(start: date, n: int) -> Deadline:
    """:meth:`WorkdayCalendar.add_working_days` on :data:`DEFAULT_CALENDAR`."""
    return DEFAULT_CALENDAR.add_working_days(start, n)


def is_workday(d: date) -> bool:
    """:meth:`WorkdayCalendar.is_workday` on :data:`DEFAULT_CALENDAR`."""
    return DEFAULT_CALENDAR.is_workday(d)


def working_days_between(start: date, end: date, calendar: WorkdayCalendar | None = None) -> int:
    """Working days in ``(start, end]`` by ``calendar`` (default: :data:`DEFAULT_CALENDAR`).

    Used for "how many working days late" (start = due date, end = completion date) and for durations.
    """
    return (calendar or DEFAULT_CALENDAR).working_days_between(start, end)


def today_in_shanghai(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai; ``now`` (timezone-aware) may be injected for tests and replays."""
    if now is None:
        return datetime.now(SHANGHAI).date()
    if now.tzinfo is None or now.utcoffset() is None:
        # A naive datetime could be UTC or local time; guessing would shift deadlines by a day at night.
        raise ValueError("now must be timezone-aware")
    return now.astimezone(SHANGHAI).date()
