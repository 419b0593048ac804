"""State machines as explicit transition tables: `(status, action) → next status`, with the 409 every service
gives for a step its table does not hold.

    REVISION = StateMachine(
        {(RevisionStatus.DRAFT, "submit"): RevisionStatus.SUBMITTED, ...},
        status_labels={RevisionStatus.DRAFT: "草稿", ...},
        action_labels={"submit": "提交审核", ...},
    )
    revision.status = REVISION.next(revision.status, "submit")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from govdata_shared.errors import Problem

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Refusal:
    """A refused step that breaks a named rule (e.g. 第十九条: a deadline is extended once), said in its own words."""

    rule: str
    detail: str | None = None


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    transitions: Mapping[tuple[S, str], S]
    status_labels: Mapping[S, str]
    action_labels: Mapping[str, str]
    code: str = "invalid_transition"
    subject: str = "当前状态"  # how the refusal names what is in that state (e.g. 授权当前状态)
    refusals: Mapping[tuple[S, str], Refusal] = field(default_factory=dict)
    default_rule: str | None = None  # the `rule` of a refusal no entry of `refusals` names

    def next(self, status: str, action: str) -> S:
        """The next status, or a 409 naming the current state and the refused step."""
        try:
            return self.transitions[(status, action)]  # type: ignore[index]  # StrEnum keys match plain strings
        except KeyError:
            raise self.refused(status, action) from None

    def allows(self, status: str, action: str) -> bool:
        return (status, action) in self.transitions

    def refused(self, status: str, action: str) -> Problem:
        refusal = self.refusals.get((status, action))  # type: ignore[call-overload]
        detail = (refusal.detail if refusal else None) or (
            f"{self.subject}为“{self.status_labels.get(status, status)}”，"  # type: ignore[call-overload]
            f"不能{self.action_labels.get(action, action)}"
        )
        rule = refusal.rule if refusal else self.default_rule
        extra = {"rule": rule} if rule else {}
        return Problem(409, self.code, detail, status_now=str(status), action=action, **extra)
