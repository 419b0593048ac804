"""Event contracts: one place that says what each event type's `data` carries.

Producers call `validated_data(type, data)` before staging an event and consumers `parse_data(event)` when
applying it, so both sides are held to the same schema; tests/contract checks every registered type. Each
service registers its types in its `events.py` (`@event_contract("catalog.resource.published")`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from govdata_shared.events import Event, topic_for

M = TypeVar("M", bound=type[BaseModel])

EVENT_CONTRACTS: dict[str, type[BaseModel]] = {}


class EventData(BaseModel):
    """Base of every event payload: unknown fields are allowed (consumers ignore what they don't know)."""

    model_config = ConfigDict(extra="allow", frozen=True)


def event_contract(*event_types: str) -> Callable[[M], M]:
    def register(model: M) -> M:
        for event_type in event_types:
            topic_for(event_type)
            if EVENT_CONTRACTS.get(event_type, model) is not model:
                raise ValueError(f"event type {event_type} already has a contract")
            EVENT_CONTRACTS[event_type] = model
        return model

    return register


def validated_data(event_type: str, data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    model = EVENT_CONTRACTS.get(event_type)
    if model is None:
        raise KeyError(f"no contract for event type {event_type}; register one with @event_contract")
    instance = data if isinstance(data, model) else model.model_validate(data)
    return instance.model_dump(mode="json")


def parse_data(event: Event) -> BaseModel:
    return EVENT_CONTRACTS[event.type].model_validate(event.data)


# Register every area's contracts when the registry is imported (one place for all event schemas).
from govdata_shared.contracts import access, catalog, identity, notify, sharing, verification  # noqa: E402, F401
