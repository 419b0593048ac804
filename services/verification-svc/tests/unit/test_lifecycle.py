"""第十九条 as pure rules: the request's lifecycle, its 10-working-day deadline, the one extension of at most 10
working days while the period runs, and when a request is overdue (dates given, no clock)."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_shared.errors import Problem
from govdata_shared.workdays import Deadline
from verification_svc.domain import (
    CORRECTION,
    CorrectionStatus,
    extended_deadline,
    is_overdue,
    require_extendable_on,
    verification_deadline,
)


def refusal(status: str, action: str) -> Problem:
    with pytest.raises(Problem) as refused:
        CORRECTION.next(status, action)
    return refused.value


def test_a_request_is_extended_at_most_once_and_resolved_once():
    assert CORRECTION.next("open", "extend") is CorrectionStatus.EXTENDED
    assert CORRECTION.next("open", "resolve") is CorrectionStatus.RESOLVED
    assert CORRECTION.next("extended", "resolve") is CorrectionStatus.RESOLVED
    once = refusal("extended", "extend")
    assert (once.status, once.code, once.rule) == (409, "invalid_transition", "extend_once")
    resolved = refusal("resolved", "resolve")
    assert (resolved.status, resolved.code, resolved.rule) == (409, "invalid_transition", "resolve_once")
    assert refusal("resolved", "extend").status == 409


def test_a_second_extension_is_refused_in_the_words_of_article_19():
    once = refusal(CorrectionStatus.EXTENDED, "extend")
    assert once.detail == "校核期限只能延长一次（第十九条）"
    assert once.extra == {"status_now": "extended", "action": "extend"}


def test_a_second_resolution_names_the_state_and_the_step_in_chinese():
    again = refusal("resolved", "resolve")
    assert again.detail == "当前状态为“已办结”，不能办结"
    assert again.extra == {"status_now": "resolved", "action": "resolve"}


def test_a_refusal_no_rule_names_still_carries_the_rule_invalid_transition():
    late = refusal("resolved", "extend")
    assert late.rule == "invalid_transition"
    assert late.detail == "当前状态为“已办结”，不能延长校核期限"


def test_deadline_is_ten_working_days_after_receipt_not_counting_the_day_of_receipt():
    # Thursday 2026-11-26: 11/27, 11/30, 12/1, 12/2, 12/3, 12/4, 12/7, 12/8, 12/9, 12/10.
    assert verification_deadline(date(2026, 11, 26)) == Deadline(date(2026, 12, 10), False)


def test_a_december_request_skips_new_years_day_and_is_estimated():
    # 12/25, 12/28, 12/29, 12/30, 12/31, (2027-01-01 never a workday), 1/4, 1/5, 1/6, 1/7, 1/8.
    deadline = verification_deadline(date(2026, 12, 24))
    assert deadline.due == date(2027, 1, 8)
    assert deadline.estimated is True


def test_extension_counts_working_days_from_the_old_deadline_and_keeps_the_estimate_flag():
    assert extended_deadline(date(2026, 12, 10), False, 5).due == date(2026, 12, 17)
    assert extended_deadline(date(2026, 12, 10), False, 10).due == date(2026, 12, 24)
    assert extended_deadline(date(2026, 12, 10), True, 1).estimated is True
    for days in (0, 11):
        with pytest.raises(ValueError):
            extended_deadline(date(2026, 12, 10), False, days)


def test_the_period_may_be_extended_up_to_its_last_day_but_not_after():
    require_extendable_on(date(2026, 12, 10), today=date(2026, 12, 10))
    with pytest.raises(Problem) as refused:
        require_extendable_on(date(2026, 12, 10), today=date(2026, 12, 11))
    problem = refused.value
    assert (problem.status, problem.code, problem.rule) == (409, "deadline_passed", "extend_before_deadline")
    assert problem.extra == {"deadline": "2026-12-10"}


def test_a_request_is_overdue_only_while_unresolved_after_its_last_day():
    deadline = date(2026, 12, 10)
    assert not is_overdue("open", deadline, date(2026, 12, 10))
    assert is_overdue("open", deadline, date(2026, 12, 11))
    assert is_overdue("extended", deadline, date(2026, 12, 11))
    assert not is_overdue("resolved", deadline, date(2027, 1, 4))
