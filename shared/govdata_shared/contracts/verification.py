"""Events of verification-svc (topic govdata.verification.v1): correction requests (校核, 第十九条).

Subject: the request id. Every payload names the request, the resource, the provider department responsible for
the answer and the current deadline, so audit-svc can count corrections on time and overdue per department
without asking. The data subject's identifier is personal data: it travels masked (``3405**********001X``)
and the contract refuses an unmasked one. Free text the applicant wrote (description, values) never travels.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import field_validator

from govdata_shared.contracts import EventData, event_contract

REQUEST_SUBMITTED = "verification.request.submitted"
REQUEST_EXTENDED = "verification.request.extended"
REQUEST_RESOLVED = "verification.request.resolved"
REQUEST_OVERDUE = "verification.request.overdue"

REQUEST_EVENTS = (REQUEST_SUBMITTED, REQUEST_EXTENDED, REQUEST_RESOLVED, REQUEST_OVERDUE)


class CorrectionRequestData(EventData):
    """What every event of a correction request carries."""

    request_id: str
    resource_id: str
    provider_dept: str  # who must answer within the deadline
    subject_type: Literal["person", "org"]
    subject_id: str  # masked: first 4 and last 4 characters only
    subject_id_check_failed: bool = False  # a pilot-region credit code that fails its check character
    applicant_kind: Literal["citizen", "department"]
    applicant_dept: str | None = None  # the department that filed it, when one did
    items: list[str]  # item codes in question (never their values)
    status: Literal["open", "extended", "resolved"]  # after the event
    received_on: date  # Asia/Shanghai
    deadline: date  # the current deadline (after an extension, the extended one)
    deadline_estimated: bool  # the deadline counts days of a year whose holidays are not yet published

    @field_validator("subject_id")
    @classmethod
    def _masked(cls, value: str) -> str:
        if "*" not in value:
            raise ValueError("subject_id must be masked in events (mask_identifier)")
        return value


@event_contract(REQUEST_SUBMITTED)
class RequestSubmittedData(CorrectionRequestData):
    pass


@event_contract(REQUEST_EXTENDED)
class RequestExtendedData(CorrectionRequestData):
    """第十九条: one extension of at most 10 working days, approved by the provider's head; `deadline` is the new
    deadline."""

    days: int
    reason: str
    previous_deadline: date
    approved_by: str


@event_contract(REQUEST_RESOLVED)
class RequestResolvedData(CorrectionRequestData):
    outcome: Literal["corrected", "no_error"]
    corrected_items: list[str]  # item codes whose values were corrected (values stay in the service)
    resolved_on: date
    on_time: bool  # resolved on or before `deadline`
    working_days_taken: int  # working days from receipt (not counted) to resolution
    extended: bool


@event_contract(REQUEST_OVERDUE)
class RequestOverdueData(CorrectionRequestData):
    """Emitted once, the first time the service sees the request open after its deadline."""

    detected_on: date
    extended: bool
