"""When a step is reminded and how its messages read: working days of the Chinese calendar (weekends, holidays and
调休 make-up days), the article and the date in every message, the reminder period per kind from the setting."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_shared.auth import Role
from govdata_shared.testing import caller_of
from notify_svc import access
from notify_svc.domain import RULES, StepKind, overdue_body, reminder_body, reminder_due, working_days_left
from notify_svc.main import NotifySettings
from pydantic import ValidationError

MONDAY_DEADLINE = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 12, 3), False),  # Thursday: two working days left
        (date(2026, 12, 4), True),  # Friday: the working day before
        (date(2026, 12, 5), False),  # Saturday and Sunday: one working day left, but nobody is at work
        (date(2026, 12, 6), False),
        (date(2026, 12, 7), True),  # the deadline itself, when Friday's reminder was not sent
        (date(2026, 12, 8), False),  # passed: the 逾期通报's turn
    ],
)
def test_a_monday_deadline_is_reminded_on_friday_not_over_the_weekend(today, due):
    assert reminder_due(MONDAY_DEADLINE, today, 1) is due


def test_working_days_left_skip_the_national_day_holiday_and_count_its_make_up_saturday():
    # 2026: 10-01…10-07 off, Saturday 10-10 a make-up working day (调休).
    assert working_days_left(date(2026, 10, 8), date(2026, 9, 30)) == 1
    assert reminder_due(date(2026, 10, 8), date(2026, 9, 30), 1)
    assert not reminder_due(date(2026, 10, 8), date(2026, 10, 5), 1)
    assert working_days_left(date(2026, 10, 12), date(2026, 10, 10)) == 1
    assert reminder_due(date(2026, 10, 12), date(2026, 10, 10), 1)
    assert working_days_left(date(2026, 9, 30), date(2026, 10, 8)) == -1  # late by one working day


def test_messages_state_the_title_the_date_with_its_weekday_and_the_article():
    title = "共享申请「户籍人口基本信息」的提供方审批"
    assert reminder_body(title, MONDAY_DEADLINE, 1, "第二十九条") == (
        f"{title}将于 2026-12-07（星期一）到期（第二十九条），还剩 1 个工作日，请及时办理。"
    )
    assert "将于今天 2026-12-07（星期一）到期（第二十九条）" in reminder_body(title, MONDAY_DEADLINE, 0, "第二十九条")
    assert overdue_body(title, MONDAY_DEADLINE, 2, "第二十九条") == (
        f"{title}已于 2026-12-07（星期一）到期（第二十九条），已逾期 2 个工作日，请尽快办理。"
    )


def test_every_kind_cites_its_article_and_who_acts():
    articles = {kind: rule.article for kind, rule in RULES.items()}
    assert articles[StepKind.RESOURCE_REVIEW] == articles[StepKind.UPDATE_SUBMISSION] == "第十四条"
    assert articles[StepKind.CORRECTION] == "第十九条"
    assert articles[StepKind.DISPUTE_ANSWER] == articles[StepKind.DISPUTE_DECISION] == "第二十七条"
    assert {articles[k] for k in (StepKind.PLATFORM_REVIEW, StepKind.PROVIDER_REVIEW, StepKind.DELIVERY)} == {
        "第二十九条"
    }
    assert RULES[StepKind.PROVIDER_REVIEW].roles == (Role.DEPT_OPERATOR,)
    assert Role.DEPT_HEAD in RULES[StepKind.CORRECTION].roles  # the head extends a correction
    assert set(RULES) == set(StepKind)


def test_nobody_but_the_bureau_and_department_staff_is_waited_for():
    for who in ("citizen", "auditor", "city", "gateway"):
        caller = caller_of(who)
        assert str(access.waiting_for(caller)) == "false"
        assert str(access.addressed_to(caller)) == "false"


def test_reminder_period_per_kind_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("NOTIFY_REMIND_WORKING_DAYS", '{"provider_review": 2, "correction": 3}')
    assert NotifySettings().notify_remind_working_days == {"provider_review": 2, "correction": 3}
    monkeypatch.setenv("NOTIFY_REMIND_WORKING_DAYS", '{"provider_reveiw": 2}')
    with pytest.raises(ValidationError, match="provider_reveiw"):
        NotifySettings()
    monkeypatch.setenv("NOTIFY_REMIND_WORKING_DAYS", '{"delivery": -1}')
    with pytest.raises(ValidationError, match="negative"):
        NotifySettings()
