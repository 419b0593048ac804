"""Events of the gateway's data plane (topic govdata.access.v1).

`access.records` is what the gateway produces: one event carries a batch of per-call access records, every data
call allowed or denied (第三十二条: users answer for what they pulled, so every call is kept). Its subject is the
gateway instance that wrote the batch. `access.usage` and `access.denied` are older per-grant sums and
per-denial events, still readable in the trail but no longer produced.
"""

from __future__ import annotations

from datetime import datetime

from govdata_shared.contracts import EventData, event_contract

ACCESS_USAGE = "access.usage"  # calls aggregated per grant over a window, not one event per call
ACCESS_DENIED = "access.denied"
ACCESS_RECORDS = "access.records"

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
# What became of a call that passed every check (the record's `outcome` is one of these or a denial reason).
CALL_OUTCOMES = (
    "ok",
    "upstream_error",  # the provider answered with an error status
    "upstream_unavailable",
    "upstream_timeout",
    "upstream_not_allowed",  # the provider's address is outside GOVDATA_UPSTREAM_ALLOWED_NETWORKS
    "unfilterable_response",
    "not_ready",  # the gateway had not yet loaded grants and resources
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


class AccessRecord(EventData):
    """One data call as the gateway saw it. `path` keeps the query string with identifiers masked; `records` is
    the number of records returned after filtering (0 when refused); `id` is the gateway's own, unique per call
    (the request id may come from the caller, so it cannot be the key)."""

    id: str
    time: datetime
    grant_id: str | None = None
    client_id: str | None = None
    system: str | None = None
    holder_dept: str | None = None
    provider_dept: str | None = None
    resource_id: str
    method: str
    path: str
    status: int
    outcome: str
    records: int = 0
    bytes: int = 0
    duration_ms: float = 0.0
    request_id: str | None = None


@event_contract(ACCESS_RECORDS)
class RecordsData(EventData):
    gateway: str  # the instance (its spool) that wrote the batch
    records: list[AccessRecord]
