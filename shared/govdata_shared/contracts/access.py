"""Events of the gateway's data plane (topic govdata.access.v1). Subjects: the grant id (or the resource id
when a denied call names no valid grant)."""

from __future__ import annotations

from datetime import datetime

from govdata_shared.contracts import EventData, event_contract

ACCESS_USAGE = "access.usage"  # calls aggregated per grant over a window, not one event per call
ACCESS_DENIED = "access.denied"

# Why a data call was refused. Those marked outside a grant are 第四十一条(四) violations when a valid grant
# token of another resource, path or period is used.
DENIAL_REASONS = (
    "missing_token",
    "invalid_token",  # bad signature, expired, wrong audience …
    "wrong_resource",  # a grant token for another resource
    "outside_interface",  # path or method the resource's interface does not offer
    "grant_not_active",  # suspended, terminated, expired, revoked
    "outside_window",  # before valid_from or after valid_to
    "unknown_grant",
    "rate_limited",
    "client_disabled",  # a still-valid grant token of a client the bureau disabled (or of its department/system)
)
OUTSIDE_GRANT_REASONS = frozenset({"wrong_resource", "outside_interface", "grant_not_active", "outside_window"})


@event_contract(ACCESS_USAGE)
class UsageData(EventData):
    grant_id: str
    holder_dept: str
    provider_dept: str
    resource_id: str
    calls: int
    window_start: datetime
    window_end: datetime
    last_used_at: datetime


@event_contract(ACCESS_DENIED)
class DeniedData(EventData):
    reason: str
    resource_id: str
    method: str
    path: str
    at: datetime
    grant_id: str | None = None
    holder_dept: str | None = None
    provider_dept: str | None = None
    client_id: str | None = None
    status: int  # the HTTP status returned (401, 403, 429)
