"""The rules of 第十九条 as pure functions: the lifecycle, deadlines, identifiers, evidence types, quality."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_shared.errors import Problem
from verification_svc import domain


def test_a_request_is_extended_at_most_once_and_resolved_once():
    assert domain.transition("open", "extend") == "extended"
    assert domain.transition("open", "resolve") == "resolved"
    assert domain.transition("extended", "resolve") == "resolved"
    with pytest.raises(Problem) as once:
        domain.transition("extended", "extend")
    assert once.value.status == 409 and once.value.rule == "extend_once"
    with pytest.raises(Problem) as resolved:
        domain.transition("resolved", "resolve")
    assert resolved.value.status == 409 and resolved.value.rule == "resolve_once"
    with pytest.raises(Problem):
        domain.transition("resolved", "extend")


def test_deadline_is_ten_working_days_after_receipt_not_counting_the_day_of_receipt():
    # Thursday 2026-11-26: 11/27, 11/30, 12/1, 12/2, 12/3, 12/4, 12/7, 12/8, 12/9, 12/10.
    assert domain.verification_deadline(date(2026, 11, 26)) == domain.Deadline(date(2026, 12, 10), False)


def test_a_december_request_skips_new_years_day_and_is_estimated():
    # 12/25, 12/28, 12/29, 12/30, 12/31, (2027-01-01 never a workday), 1/4, 1/5, 1/6, 1/7, 1/8.
    deadline = domain.verification_deadline(date(2026, 12, 24))
    assert deadline.due == date(2027, 1, 8)
    assert deadline.estimated is True


def test_extension_counts_working_days_from_the_old_deadline_and_keeps_the_estimate_flag():
    assert domain.extended_deadline(date(2026, 12, 10), False, 5).due == date(2026, 12, 17)
    assert domain.extended_deadline(date(2026, 12, 10), True, 1).estimated is True
    for days in (0, 11):
        with pytest.raises(ValueError):
            domain.extended_deadline(date(2026, 12, 10), False, days)


@pytest.mark.parametrize(
    ("subject_type", "value", "rule"),
    [
        ("person", "340524198001010010", "check_digit"),
        ("person", "340524198013010013", "birth_date"),
        ("person", "3405241980010100", "length"),
        ("person", "990524198001010019", "region"),
        ("org", "9135010M0001TGQXM", "length"),
        ("org", "91350100M0001TGQXI", "charset"),
    ],
)
def test_invalid_identifiers_are_422_naming_the_field_and_rule(subject_type, value, rule):
    with pytest.raises(Problem) as refused:
        domain.validate_subject(subject_type, value, date(2026, 11, 26))
    assert refused.value.status == 422
    assert refused.value.field == "subject_id" and refused.value.rule == rule


def test_pilot_region_credit_code_passes_with_its_flag():
    validated = domain.validate_subject("org", "91350100m0001tgqxm", date(2026, 11, 26))
    assert validated.value == "91350100M0001TGQXM" and validated.check_failed is True
    assert domain.validate_subject("org", "91110000600037341L", date(2026, 11, 26)).check_failed is False


def test_lookup_identifier_of_unknown_kind_is_read_by_its_shape():
    assert domain.validate_any_identifier("34052419800101001x", date(2026, 11, 26)).kind == "resident_id"
    assert domain.validate_any_identifier("91350100M0001TGQXM", date(2026, 11, 26)).kind == "credit_code"
    with pytest.raises(Problem) as refused:
        domain.validate_any_identifier("340524198001010010", date(2026, 11, 26))
    assert refused.value.rule == "check_digit"


def test_items_in_question_must_be_items_of_the_resource():
    errors = domain.filing_violations(
        ["name", "household_address"], ["household_address", "salary", "household_address"], {"name": "张三"}
    )
    assert [(e["field"], e["rule"]) for e in errors] == [
        ("items[1]", "unknown_item"),
        ("items[2]", "duplicate_item"),
        ("claimed_values.name", "not_in_items"),
    ]
    assert "salary" in errors[0]["detail"]


def test_a_resolution_says_what_was_corrected_or_why_nothing_was():
    items = ["household_address"]
    assert domain.resolution_violations(items, "corrected", None, {"household_address": "新地址"}) == []
    assert domain.resolution_violations(items, "no_error", "经核实，登记地址无误", None) == []
    rules = [e["rule"] for e in domain.resolution_violations(items, "corrected", None, None)]
    assert rules == ["required_when_corrected"]
    rules = [e["rule"] for e in domain.resolution_violations(items, "corrected", None, {"name": "x"})]
    assert rules == ["not_in_items"]
    rules = [e["rule"] for e in domain.resolution_violations(items, "no_error", "  ", {"household_address": "x"})]
    assert rules == ["required_when_no_error", "not_allowed_when_no_error"]


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"MZ\x90\x00", None),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_evidence_type_comes_from_the_content(head, content_type):
    assert domain.sniff_evidence_type(head) == content_type


def test_quality_counts_late_resolutions_and_open_requests_past_the_deadline_as_overdue():
    tally = domain.QualityTally()
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
