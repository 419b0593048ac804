"""Events audit-svc consumes: every event of every topic, appended to the chain once per event id.

audit-svc publishes nothing. Its consumer hands each batch's new events to `append_batch` in delivery order,
inside the transaction that also records their ids as processed (IdempotentConsumer).
"""

from __future__ import annotations

from govdata_shared.consumer import Handler
from govdata_shared.events import ALL_TOPICS, Event
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc.chain import append_events

CONSUMED_TOPICS: tuple[str, ...] = ALL_TOPICS
HANDLERS: dict[str, Handler] = {}


async def append_batch(session: AsyncSession, events: list[Event]) -> None:
    """The consumer's batch handler: the batch's new events, appended to the chain in delivery order."""
    await append_events(session, events)


BATCH_HANDLER = append_batch
