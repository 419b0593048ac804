"""The lifecycle of a resource's revisions (domain.REVISION): which steps each status allows, and the 409 naming
the status and the refused step for every other."""

from __future__ import annotations

import pytest
from catalog_svc.domain import PENDING_STATUSES, PUBLIC_REVISION_STATUSES, REVISION, RevisionStatus
from govdata_shared.errors import Problem

ACTIONS = ("edit", "submit", "approve", "reject", "supersede", "withdraw")
ALLOWED = {
    (RevisionStatus.DRAFT, "edit"): RevisionStatus.DRAFT,
    (RevisionStatus.REJECTED, "edit"): RevisionStatus.DRAFT,
    (RevisionStatus.DRAFT, "submit"): RevisionStatus.SUBMITTED,
    (RevisionStatus.REJECTED, "submit"): RevisionStatus.SUBMITTED,
    (RevisionStatus.SUBMITTED, "approve"): RevisionStatus.PUBLISHED,
    (RevisionStatus.SUBMITTED, "reject"): RevisionStatus.REJECTED,
    (RevisionStatus.PUBLISHED, "supersede"): RevisionStatus.SUPERSEDED,
    (RevisionStatus.DRAFT, "withdraw"): RevisionStatus.WITHDRAWN,
    (RevisionStatus.SUBMITTED, "withdraw"): RevisionStatus.WITHDRAWN,
    (RevisionStatus.REJECTED, "withdraw"): RevisionStatus.WITHDRAWN,
}


@pytest.mark.parametrize(("step", "after"), ALLOWED.items(), ids=lambda v: "-".join(v) if isinstance(v, tuple) else v)
def test_each_allowed_step_leads_to_its_status(step, after):
    status, action = step
    assert REVISION.next(status, action) == after
    assert REVISION.next(str(status), action) == after  # the plain string a row holds


@pytest.mark.parametrize(
    ("status", "action"), [(s, a) for s in RevisionStatus for a in ACTIONS if (s, a) not in ALLOWED]
)
def test_every_other_step_is_a_409_invalid_transition(status, action):
    with pytest.raises(Problem) as refused:
        REVISION.next(status, action)
    problem = refused.value
    assert problem.status == 409 and problem.code == "invalid_transition"
    assert problem.extra == {"status_now": status.value, "action": action}


def test_the_refusal_names_the_status_and_the_step_in_chinese():
    with pytest.raises(Problem) as refused:
        REVISION.next("submitted", "submit")
    assert refused.value.detail == "当前状态为“待审核”，不能提交审核"
    with pytest.raises(Problem) as refused:
        REVISION.next("published", "edit")
    assert refused.value.detail == "当前状态为“已发布”，不能修改"
    with pytest.raises(Problem) as refused:
        REVISION.next("superseded", "withdraw")
    assert refused.value.detail == "当前状态为“已被新版本替代”，不能撤回"


def test_published_superseded_and_withdrawn_revisions_are_final_but_for_supersession():
    for status in (RevisionStatus.SUPERSEDED, RevisionStatus.WITHDRAWN):
        assert not any(REVISION.allows(status, action) for action in ACTIONS)
    assert [a for a in ACTIONS if REVISION.allows(RevisionStatus.PUBLISHED, a)] == ["supersede"]


def test_pending_revisions_are_those_not_yet_decided_and_the_public_sees_only_published_ones():
    assert {s for s in RevisionStatus if REVISION.allows(s, "withdraw")} == PENDING_STATUSES
    assert {RevisionStatus.PUBLISHED, RevisionStatus.SUPERSEDED} == PUBLIC_REVISION_STATUSES
