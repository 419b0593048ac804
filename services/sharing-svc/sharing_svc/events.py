"""Events sharing-svc consumes (catalog for its projection, the gateway's usage) and publishes (schemas in
govdata_shared.contracts.sharing)."""

from __future__ import annotations

from govdata_shared.consumer import Handler
from govdata_shared.contracts import access as access_events
from govdata_shared.contracts import catalog as catalog_events
from govdata_shared.events import TOPICS

from sharing_svc.service import apply_catalog_event, apply_usage

CONSUMED_TOPICS: tuple[str, ...] = (TOPICS["catalog"], TOPICS["access"])
HANDLERS: dict[str, Handler] = {
    catalog_events.RESOURCE_PUBLISHED: apply_catalog_event,
    catalog_events.RESOURCE_RETIRED: apply_catalog_event,
    access_events.ACCESS_USAGE: apply_usage,
}
DEFAULT_HANDLER: Handler | None = None
