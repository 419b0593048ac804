"""The rules of webhooks for departmental systems (issue 15), as pure functions: which events may be subscribed
to, which departments an event concerns, the signature, and the retry schedule.

- Subscribable: the events of the catalog, sharing and verification topics notify-svc consumes (`catalog.*`,
  `sharing.*`, `verification.*`), by exact type or by a prefix ending in `.*`. Identity events are not offered:
  they describe accounts and people, not a department's business.
- Who receives an event: a department's subscription only an event that concerns that department — the event is
  filed under it (`dept` of the envelope) or its payload names it as a party (`dept`, `provider_dept`,
  `requester_dept`, `supplier_dept`, `applicant_dept`, `holder_dept`, `responsible_dept`). Nothing else: a
  published resource of another department is not sent to everyone, although the catalog shows it. The bureau's
  subscriptions receive every event (第六条: it supervises every department's data work).
- 第二十二条: the sharing system runs on the e-government extranet, so a receiver's URL must lie inside the
  upstream allow-list (GOVDATA_UPSTREAM_ALLOWED_NETWORKS), checked at subscription and again at every attempt.
- Signature: `X-Govdata-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`, the timestamp (unix
  seconds) sent as `X-Govdata-Timestamp`, so a receiver can refuse a replayed old request.
- Retries: after a failed attempt n (non-2xx, timeout, refused connection) the next one waits 10 s · 2^(n-1), at
  most an hour; an attempt failing 24 h or more after the event was queued (or redelivered) is the last: `failed`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from govdata_shared.contracts import EVENT_CONTRACTS

from notify_svc.domain import BUREAU_DEPT

SUBSCRIBABLE_AREAS = ("catalog", "sharing", "verification")
PARTY_FIELDS = (
    "dept",
    "provider_dept",
    "requester_dept",
    "supplier_dept",
    "applicant_dept",
    "holder_dept",
    "responsible_dept",
)
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)

EVENT_HEADER = "X-Govdata-Event"
DELIVERY_HEADER = "X-Govdata-Delivery"
TIMESTAMP_HEADER = "X-Govdata-Timestamp"
SIGNATURE_HEADER = "X-Govdata-Signature"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # 待投递: waiting for its (next) attempt
    DELIVERED = "delivered"  # 已送达: the receiver answered 2xx
    FAILED = "failed"  # 投递失败: retried for 24 hours in vain; a redeliver starts again
    CANCELLED = "cancelled"  # 已取消: its subscription was disabled before it was sent


def subscribable_types() -> list[str]:
    """Every event type a subscription may name, sorted."""
    return sorted(t for t in EVENT_CONTRACTS if t.split(".", 1)[0] in SUBSCRIBABLE_AREAS)


def unknown_patterns(patterns: Iterable[str]) -> list[str]:
    """The entries of `patterns` that are neither a subscribable type nor a prefix (`sharing.request.*`) of one."""
    known = subscribable_types()
    return [p for p in patterns if not any(matches(p, t) for t in known)]


def matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def wants(patterns: Iterable[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)


def concerned_depts(envelope_dept: str | None, data: Mapping[str, Any]) -> set[str]:
    """The departments an event is about: the one it is filed under and every party its payload names."""
    depts = {envelope_dept} if envelope_dept else set()
    depts.update(value for name in PARTY_FIELDS if isinstance(value := data.get(name), str) and value)
    return depts


def receives(subscription_dept: str, concerned: set[str]) -> bool:
    """Whether a subscription of `subscription_dept` is sent an event concerning `concerned`."""
    return subscription_dept == BUREAU_DEPT or subscription_dept in concerned


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of X-Govdata-Signature: `sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}`."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 10 s, 20 s, 40 s, … at most an hour."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY)


def after_failure(attempts: int, now: datetime, retry_until: datetime) -> datetime | None:
    """When to try again after the `attempts`-th attempt failed at `now`; None once retried long enough."""
    if now >= retry_until:
        return None
    return now + retry_delay(attempts)
