"""Supervision figures of 第六章 as plain functions: which department a record counts for, counted once, the
report year and its bounds in Shanghai, grant states, denials and the annual CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from audit_svc import supervision


def test_a_report_covers_the_year_asked_for_else_the_previous_year_in_shanghai():
    assert supervision.report_year(None, datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) == 2025
    # 16:30 UTC on 31 December is already 1 January in Shanghai: the year just ended is the one reported.
    assert supervision.report_year(None, datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == 2026
    assert supervision.report_year(None, datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == 2025
    assert supervision.report_year(2023, datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) == 2023
    assert supervision.report_period(2025) == {"from": "2025-01-01", "to": "2025-12-31", "timezone": "Asia/Shanghai"}


def test_the_supervision_year_is_the_calendar_year_in_shanghai():
    start, end = supervision.year_bounds(2025)
    assert start == datetime(2024, 12, 31, 16, 0, tzinfo=UTC) and end == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)


def _grant(grant_id: str, status: str, time: str, holder: str = "YC-MZ") -> dict:
    return {
        "type": "sharing.grant.x",
        "time": time,
        "data": {"grant_id": grant_id, "holder_dept": holder, "status": status},
    }


def test_a_grant_counts_as_held_when_in_force_at_any_time_of_the_year_and_suspended_by_its_state_at_year_end():
    records = [
        _grant("g-old", "active", "2024-05-01T00:00:00.000000Z"),
        _grant("g-old", "expired", "2024-12-01T00:00:00.000000Z"),  # ended before the year: not held
        _grant("g-carry", "active", "2024-06-01T00:00:00.000000Z"),
        _grant("g-carry", "terminated", "2025-03-01T00:00:00.000000Z"),  # held until March
        _grant("g-new", "active", "2025-04-01T00:00:00.000000Z"),
        _grant("g-new", "suspended", "2025-09-01T00:00:00.000000Z"),
    ]
    tally = supervision.tally_grants(records, "2024-12-31T16:00:00.000000Z", {"g-new", "g-old"})
    assert tally == {"YC-MZ": {"grants_held": 2, "grants_used": 1, "grants_suspended": 1}}


def _record(seq: int, type: str, **data) -> dict:
    return {"seq": seq, "type": type, "time": "2025-06-01T00:00:00.000000Z", "data": data}


def test_repeated_notices_about_one_trigger_or_request_count_once():
    tally = supervision.tally_records(
        [
            _record(1, "catalog.update.overdue", trigger_id="t-1", dept="YC-MZ"),
            _record(2, "catalog.update.overdue", trigger_id="t-1", dept="YC-MZ"),
            _record(3, "verification.request.overdue", request_id="cr-1", provider_dept="YC-GA"),
            _record(4, "verification.request.resolved", request_id="cr-1", provider_dept="YC-GA", on_time=False),
        ]
    )
    assert tally == {
        "YC-MZ": {"catalog_updates_late": 1, "violations_late_catalog_updates": 1},
        # Overdue and then resolved late: one late correction (第四十一条第八项), counted once.
        "YC-GA": {"corrections_overdue": 1, "corrections_late": 1, "violations_late_corrections": 1},
    }


def test_share_decisions_count_for_the_deciding_department_once_per_request_and_stage():
    approved = "sharing.request.approved"
    tally = supervision.tally_records(
        [
            _record(1, approved, request_id="r-1", stage="provider_review", decided_by_dept="YC-GA", on_time=True),
            _record(2, approved, request_id="r-1", stage="provider_review", decided_by_dept="YC-GA", on_time=True),
            _record(3, approved, request_id="r-1", stage="delivery", decided_by_dept="YC-ZSJ", on_time=False),
        ]
    )
    assert tally == {
        "YC-GA": {"share_decisions_on_time": 1},
        "YC-ZSJ": {"share_decisions_late": 1, "share_deadlines_missed": 1},
    }


def test_only_calls_outside_a_grant_count_as_violations_among_denied_calls():
    tally = supervision.tally_denials([("YC-MZ", "wrong_resource", 2), ("YC-MZ", "rate_limited", 3), (None, "x", 1)])
    assert tally == {
        "YC-MZ": {"data_calls_denied": 5, "violations_calls_outside_grant": 2},
        None: {"data_calls_denied": 1},
    }
    merged = supervision.merge(tally, {"YC-MZ": {"grants_held": 1}})
    assert merged["YC-MZ"]["data_calls_denied"] == 5 and merged["YC-MZ"]["grants_held"] == 1
    assert set(merged["YC-MZ"]) == set(supervision.FIGURE_CODES)
    assert supervision.totals(merged)["data_calls_denied"] == 6  # the denial no department is named for counts


def test_the_annual_csv_has_a_bom_a_labelled_header_and_one_row_per_department():
    content = supervision.annual_csv(2025, [("YC-GA", {"corrections_late": 1}), ("合计", {"corrections_late": 1})])
    assert content.startswith("\ufeff".encode()) and b"\r\n" in content
    header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    assert header[:2] == ["年度", "部门"] and len(header) == 2 + len(supervision.FIGURES)
    assert "校核超时完成（第十九条第二款）" in header
    assert [row[:2] for row in rows] == [["2025", "YC-GA"], ["2025", "合计"]]
    assert dict(zip(header, rows[0], strict=True))["校核超时完成（第十九条第二款）"] == "1"


def _at(seq: int, type: str, time: str, **data) -> dict:
    return {"seq": seq, "type": type, "time": time, "data": data}


def test_responsibility_entries_are_met_by_the_department_s_own_resource_published_at_year_end():
    """第十三条: in force at year end and met by a published (not retired) resource of the department with the entry's
    code; another department's resource of that code does not meet it."""
    start = "2024-12-31T16:00:00.000000Z"
    assigned, withdrawn = "catalog.responsibility.assigned", "catalog.responsibility.withdrawn"
    records = [
        _at(
            1,
            "catalog.resource.published",
            "2024-03-01T00:00:00.000000Z",
            resource_id="r1",
            provider_dept="YC-GA",
            code="1/1",
        ),
        _at(
            2,
            "catalog.resource.published",
            "2024-03-01T00:00:00.000000Z",
            resource_id="r2",
            provider_dept="YC-MZ",
            code="1/2",
        ),
        _at(3, assigned, "2024-04-01T00:00:00.000000Z", entry_id="e1", dept="YC-GA", resource_code="1/1"),
        _at(4, assigned, "2025-02-01T00:00:00.000000Z", entry_id="e2", dept="YC-GA", resource_code="1/2"),
        _at(5, assigned, "2025-02-01T00:00:00.000000Z", entry_id="e3", dept="YC-GA", resource_code="1/3"),
        _at(6, withdrawn, "2025-05-01T00:00:00.000000Z", entry_id="e3", dept="YC-GA", resource_code="1/3"),
        _at(7, assigned, "2024-04-01T00:00:00.000000Z", entry_id="e4", dept="YC-MZ", resource_code="1/2"),
        _at(
            8,
            "catalog.resource.retired",
            "2025-09-01T00:00:00.000000Z",
            resource_id="r2",
            provider_dept="YC-MZ",
            code="1/2",
        ),
    ]
    assert supervision.tally_responsibilities(records, start) == {
        "YC-GA": {
            "responsibilities_assigned": 2,
            "responsibilities_withdrawn": 1,
            "responsibilities_in_force": 2,
            "responsibilities_met": 1,  # e1; e2's code is YC-MZ's resource
        },
        "YC-MZ": {"responsibilities_in_force": 1},  # e4: its resource retired
    }


def test_calls_served_and_failed_count_for_the_provider_and_refusals_not_at_all():
    rows = [
        ("YC-GA", "ok", 8),
        ("YC-GA", "upstream_timeout", 1),
        ("YC-GA", "rate_limited", 5),
        ("YC-MZ", "not_ready", 2),
    ]
    assert supervision.tally_service(rows) == {"YC-GA": {"data_calls_served": 8, "data_calls_failed": 1}}
