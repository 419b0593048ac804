"""Events of sharing-svc (topic govdata.sharing.v1): share requests on the paths of 第二十九条, grants and
disputes (第二十七条). Subjects: the request id, the grant id or the dispute id."""

from __future__ import annotations

from datetime import date, datetime

from govdata_shared.contracts import EventData, event_contract

REQUEST_SUBMITTED = "sharing.request.submitted"
REQUEST_APPROVED = "sharing.request.approved"  # one stage decided; `next_status` says what follows
REQUEST_REJECTED = "sharing.request.rejected"
REQUEST_OVERDUE = "sharing.request.overdue"
GRANT_CREATED = "sharing.grant.created"
GRANT_SUSPENDED = "sharing.grant.suspended"
GRANT_RESUMED = "sharing.grant.resumed"
GRANT_TERMINATED = "sharing.grant.terminated"
GRANT_EXPIRED = "sharing.grant.expired"
GRANT_REVOKED = "sharing.grant.revoked_inactive"
GRANT_USED = "sharing.grant.used"  # last_used_at moved forward (from the gateway's usage reports)
DISPUTE_OPENED = "sharing.dispute.opened"
DISPUTE_RESOLVED = "sharing.dispute.resolved"
DISPUTE_ANSWERED = "sharing.dispute.answered"  # the provider department's answer (第二十七条: 会同提供部门)

GRANT_EVENTS = (
    GRANT_CREATED,
    GRANT_SUSPENDED,
    GRANT_RESUMED,
    GRANT_TERMINATED,
    GRANT_EXPIRED,
    GRANT_REVOKED,
    GRANT_USED,
)


@event_contract(REQUEST_SUBMITTED)
class RequestSubmittedData(EventData):
    request_id: str
    requester_dept: str
    provider_dept: str
    resource_id: str
    items: list[str]
    path: str  # unconditional | conditional
    status: str  # platform_review | provider_review
    deadline: date
    deadline_estimated: bool
    valid_from: date
    valid_to: date
    seasonal: bool = False


@event_contract(REQUEST_APPROVED, REQUEST_REJECTED)
class RequestDecisionData(EventData):
    request_id: str
    requester_dept: str
    provider_dept: str
    resource_id: str
    stage: str  # the stage decided: platform_review | provider_review | delivery
    decided_by_dept: str
    deadline: date  # of the stage decided
    on_time: bool
    next_status: str  # provider_review → delivery → granted; platform_review → granted; or rejected
    next_deadline: date | None = None
    grant_id: str | None = None
    reason: str | None = None
    # The items approved so far: the provider may approve fewer than were requested (第二十九条); the grant carries
    # only these. None on a rejection.
    approved_items: list[str] | None = None
    refused_items: list[str] | None = None  # requested items the provider did not agree to; `reason` says why


@event_contract(REQUEST_OVERDUE)
class RequestOverdueData(EventData):
    request_id: str
    requester_dept: str
    provider_dept: str
    resource_id: str
    stage: str
    responsible_dept: str  # who has to act: the bureau (YC-ZSJ) or the provider
    deadline: date
    deadline_estimated: bool


@event_contract(*GRANT_EVENTS)
class GrantData(EventData):
    """The grant as it is after the change; the gateway keeps its projection from these."""

    grant_id: str
    request_id: str
    holder_dept: str
    holder_system: str
    provider_dept: str
    resource_id: str
    items: list[str]
    purpose: str
    valid_from: date
    valid_to: date
    status: str  # active | suspended | terminated | expired | revoked_inactive
    seasonal: bool = False
    last_used_at: datetime | None = None
    reason: str | None = None


@event_contract(DISPUTE_OPENED, DISPUTE_ANSWERED, DISPUTE_RESOLVED)
class DisputeData(EventData):
    """Each event names both parties (requester_dept, provider_dept): both are told of every step."""

    dispute_id: str
    requester_dept: str
    resource_id: str
    provider_dept: str | None = None
    request_id: str | None = None
    status: str  # open | resolved
    reason: str | None = None
    resolution: str | None = None
    deadline: date | None = None  # the bureau decides by then (ten working days from opening)
    provider_answer: str | None = None
    outcome: str | None = None  # dismissed | upheld | grant_ordered | sharing_change_ordered
    grant_id: str | None = None  # the grant a grant_ordered decision made
    ordered_sharing_type: str | None = None  # what a sharing_change_ordered decision asks the provider to register
