"""Events of notify-svc (topic govdata.notify.v1): a reminder before a step's deadline and the 逾期通报 after it,
each sent once per step and deadline, so the audit trail shows who was told what and when.

Subject: the aggregate the step belongs to (the share request, correction, dispute, resource, trigger or demand);
the envelope's `dept` is the department addressed. No free text and no personal data travel: the message itself
stays in notify-svc.
"""

from __future__ import annotations

from datetime import date

from govdata_shared.contracts import EventData, event_contract

REMINDER_SENT = "notify.reminder.sent"
OVERDUE_NOTIFIED = "notify.overdue.notified"


@event_contract(REMINDER_SENT, OVERDUE_NOTIFIED)
class NoticeData(EventData):
    message_id: str
    step_id: str
    step_kind: str  # provider_review, correction, resource_review … (notify-svc's domain.StepKind)
    aggregate_type: str  # request | correction | dispute | resource | trigger | demand
    aggregate_id: str
    resource_id: str | None = None
    dept: str  # the department responsible for the step, addressed (its operators and its head)
    copied_to: list[str]  # the bureau, unless it is the department addressed
    deadline: date
    deadline_estimated: bool = False
    working_days_left: int  # at the time of sending; negative: working days overdue
    article: str  # the regulation's article the deadline comes from, e.g. 第二十九条
