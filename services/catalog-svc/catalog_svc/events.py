"""Events catalog-svc publishes and consumes; their schemas live in govdata_shared.contracts.catalog."""

from __future__ import annotations

from typing import Any

from govdata_shared.consumer import Handler
from govdata_shared.contracts.catalog import (  # noqa: F401 - the event types and payloads of this service
    DEMAND_MET,
    DEMAND_RECORDED,
    OVERLAP_ALLOWED,
    RESOURCE_PUBLISHED,
    RESOURCE_REFRESHED,
    RESOURCE_REJECTED,
    RESOURCE_RETIRED,
    RESOURCE_SUBMITTED,
    RESOURCE_SUPERSEDED,
    REVIEW_OVERDUE,
    UPDATE_OVERDUE,
    UPDATE_TRIGGER_RECORDED,
    ResourceEventData,
)

CONSUMED_TOPICS: tuple[str, ...] = ()
HANDLERS: dict[str, Handler] = {}
DEFAULT_HANDLER: Handler | None = None


def snapshot_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"code": i["code"], "name": i["name"], "type": i["type"], "authoritative": bool(i.get("authoritative"))}
        for i in items
    ]
