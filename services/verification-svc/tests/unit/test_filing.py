"""What a request and its answer must say (第十九条): the items in question belong to the resource, and a
resolution gives the corrected values or the reason nothing was wrong."""

from __future__ import annotations

from typing import get_args

from verification_svc import domain
from verification_svc.schemas import OutcomeValue


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
    assert errors[0]["item"] == "salary"


def test_a_request_about_known_items_with_their_claimed_values_has_no_violation():
    assert domain.filing_violations(["name", "gender"], ["gender"], {"gender": "女"}) == []


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


def test_the_outcomes_a_request_accepts_are_the_outcomes_of_the_domain():
    assert set(get_args(OutcomeValue)) == {o.value for o in domain.Outcome}
