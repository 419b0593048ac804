"""The oversight pages' rules: the bar chart's geometry, days in Yichuan as the audit API's instants, a record's
summary, the year selector, and the registry's body from a form."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_portal.oversight import account_body, bar_chart, event_summary, event_window, parse_day, year_choices


def test_bars_are_proportional_to_the_values_and_stand_on_one_axis() -> None:
    chart = bar_chart([("YC-GA", 8), ("YC-MZ", 2), ("YC-RS", 0), ("YC-SCJ", 6)], plot_height=200)
    heights = [bar.height for bar in chart.bars]
    assert heights == [200, 50, 0, 150]  # the tallest reaches the top of the plot
    assert {bar.y + bar.height for bar in chart.bars} == {chart.baseline}
    assert chart.maximum == 8 and chart.height > chart.baseline


def test_bars_sit_in_equal_slots_left_to_right_inside_the_chart() -> None:
    chart = bar_chart([("A", 1), ("B", 1), ("C", 1)], slot=80, bar_width=40, side=10)
    assert [bar.x for bar in chart.bars] == [30, 110, 190]
    assert [bar.middle for bar in chart.bars] == [50, 130, 210]
    assert chart.width == 10 + 3 * 80 + 10
    assert all(bar.x + bar.width <= chart.width for bar in chart.bars)


def test_a_figure_of_zeros_and_an_empty_year_draw_no_bar_above_the_axis() -> None:
    assert [bar.height for bar in bar_chart([("A", 0), ("B", 0)]).bars] == [0, 0]
    empty = bar_chart([])
    assert empty.bars == [] and empty.width > 0


def test_days_in_yichuan_become_the_apis_half_open_window_of_instants() -> None:
    assert event_window(date(2025, 3, 3), date(2025, 3, 3)) == (
        "2025-03-03T00:00:00+08:00",
        "2025-03-04T00:00:00+08:00",  # `to` is exclusive: the whole last day is included
    )
    assert event_window(None, date(2025, 12, 31)) == (None, "2026-01-01T00:00:00+08:00")
    assert event_window(None, None) == (None, None)


@pytest.mark.parametrize("typed", ["2025-02-30", "2025-3-3", "20250303", "yesterday"])
def test_only_real_calendar_days_are_taken(typed: str) -> None:
    assert parse_day(typed) is None


def test_a_records_summary_names_what_it_is_about_with_identifiers_masked() -> None:
    entry = {
        "subject": "req-1",
        "data": {"request_id": "req-1", "resource_id": "res-ga-1", "stage": "provider_review", "extra": "x"},
    }
    assert event_summary(entry) == "资源 res-ga-1；申请 req-1；环节 provider_review"
    leaked = {"subject": "c-1", "data": {"reason": "证件号 410329198503120015 不符"}}
    assert "410329198503120015" not in event_summary(leaked) and "4103" in event_summary(leaked)
    assert event_summary({"subject": "user:wangfang", "data": {}}) == "user:wangfang"


def test_the_year_selector_offers_six_years_and_keeps_an_older_one_shown() -> None:
    assert year_choices(2026, 2025) == [2026, 2025, 2024, 2023, 2022, 2021]
    assert year_choices(2026, 2015)[-1] == 2015


def test_the_registrys_body_leaves_empty_fields_out_and_keeps_roles_a_list() -> None:
    typed = {"username": "wangfang", "name": "王芳", "dept": "", "roles": ["citizen"], "subject_id": ""}
    body = account_body(typed, ["username", "name", "dept", "roles", "subject_id"])
    assert body == {"username": "wangfang", "name": "王芳", "roles": ["citizen"]}
