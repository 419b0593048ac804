"""第二十条: the quality figures of a set of requests."""

from __future__ import annotations

from datetime import date

from verification_svc.domain import QualityTally


def test_quality_counts_late_resolutions_and_open_requests_past_the_deadline_as_overdue():
    tally = QualityTally()
    today = date(2026, 11, 18)
    deadline = date(2026, 11, 16)
    tally.add(status="resolved", outcome="corrected", deadline=deadline, on_time=True, days=3, today=today)
    tally.add(status="resolved", outcome="no_error", deadline=deadline, on_time=True, days=5, today=today)
    tally.add(status="resolved", outcome="corrected", deadline=deadline, on_time=False, days=12, today=today)
    tally.add(status="open", outcome=None, deadline=deadline, on_time=None, days=None, today=today)
    tally.add(status="extended", outcome=None, deadline=date(2026, 11, 30), on_time=None, days=None, today=today)
    assert tally.figures() == {
        "received": 5,
        "corrected": 2,
        "no_error": 1,
        "open": 2,
        "overdue": 2,
        "median_working_days": 5.0,
    }


def test_no_resolved_request_means_no_median():
    tally = QualityTally()
    tally.add(
        status="open", outcome=None, deadline=date(2026, 12, 10), on_time=None, days=None, today=date(2026, 12, 1)
    )
    assert tally.figures()["median_working_days"] is None and tally.figures()["overdue"] == 0
