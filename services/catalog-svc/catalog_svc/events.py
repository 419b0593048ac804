"""Events catalog-svc publishes and consumes. Schemas live in govdata_shared.contracts."""

from __future__ import annotations

from govdata_shared.consumer import Handler
from govdata_shared.events import ALL_TOPICS, TOPICS  # noqa: F401 - topic names for CONSUMED_TOPICS

CONSUMED_TOPICS: tuple[str, ...] = ()
HANDLERS: dict[str, Handler] = {}
DEFAULT_HANDLER: Handler | None = None
