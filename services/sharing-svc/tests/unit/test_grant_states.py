"""The grant state machine (第二十九条): the provider (or the bureau) suspends, resumes and terminates; the
platform ends grants at valid_to and revokes those unused for three months. Every other step is a 409."""

from __future__ import annotations

import pytest
from govdata_shared.errors import Problem
from sharing_svc.domain import GRANT, GrantAction, GrantStatus

ALLOWED = [
    ("active", "suspend", "suspended"),
    ("suspended", "resume", "active"),
    ("active", "terminate", "terminated"),
    ("suspended", "terminate", "terminated"),
    ("active", "expire", "expired"),
    ("suspended", "expire", "expired"),
    ("active", "revoke_inactive", "revoked_inactive"),
]


@pytest.mark.parametrize(("status", "action", "after"), ALLOWED)
def test_an_allowed_step_gives_the_next_status(status, action, after):
    assert GRANT.next(status, action) == after
    assert isinstance(GRANT.next(status, action), GrantStatus)


def test_the_table_holds_exactly_those_steps():
    assert {(str(s), str(a)): str(n) for (s, a), n in GRANT.transitions.items()} == {(s, a): n for s, a, n in ALLOWED}


def test_every_step_of_the_table_is_a_status_and_an_action_with_a_label():
    for status, action in GRANT.transitions:
        assert status in GRANT.status_labels and action in GRANT.action_labels
    assert set(GRANT.status_labels) == set(GrantStatus)
    assert set(GRANT.action_labels) == set(GrantAction)


def test_a_terminated_grant_cannot_be_resumed():
    with pytest.raises(Problem) as refused:
        GRANT.next("terminated", "resume")
    problem = refused.value
    assert (problem.status, problem.code) == (409, "invalid_grant_transition")
    assert problem.detail == "授权当前状态为“已终止”，不能恢复"
    assert problem.extra == {"status_now": "terminated", "action": "resume"}
    assert problem.rule is None


@pytest.mark.parametrize(
    ("status", "action", "detail"),
    [
        ("active", "resume", "授权当前状态为“有效”，不能恢复"),
        ("suspended", "suspend", "授权当前状态为“已暂停”，不能暂停"),
        ("suspended", "revoke_inactive", "授权当前状态为“已暂停”，不能收回"),
        ("expired", "resume", "授权当前状态为“已到期”，不能恢复"),
        ("revoked_inactive", "terminate", "授权当前状态为“已收回（长期未使用）”，不能终止"),
        ("terminated", "expire", "授权当前状态为“已终止”，不能到期"),
    ],
)
def test_a_step_outside_the_table_names_the_state_and_the_refused_action(status, action, detail):
    assert not GRANT.allows(status, action)
    with pytest.raises(Problem) as refused:
        GRANT.next(status, action)
    assert refused.value.status == 409 and refused.value.detail == detail
