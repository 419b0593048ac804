"""Events audit-svc consumes: every event of every topic, appended to the chain once per event id (a batch of
access records as one summary record).

audit-svc publishes nothing. Its consumer hands each batch's new events to `append_batch` in delivery order,
inside the transaction that also records their ids as processed (IdempotentConsumer).
"""

from __future__ import annotations

from datetime import UTC, datetime

from govdata_shared.consumer import Handler
from govdata_shared.contracts.access import ACCESS_RECORDS
from govdata_shared.events import ALL_TOPICS, Event
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc import access_records
from audit_svc.chain import append_events

CONSUMED_TOPICS: tuple[str, ...] = ALL_TOPICS
HANDLERS: dict[str, Handler] = {}


async def append_batch(session: AsyncSession, events: list[Event]) -> None:
    """The consumer's batch handler: the batch's new events, appended to the chain in delivery order. A batch of
    access records is stored beside the chain and chained as one summary with its digest (access_records.py)."""
    received_at = datetime.now(UTC)
    batches = [event for event in events if event.type == ACCESS_RECORDS]
    summaries = await access_records.ingest(session, batches, received_at) if batches else {}
    chained = [
        summaries[event.id] if event.type == ACCESS_RECORDS else event
        for event in events
        if event.type != ACCESS_RECORDS or event.id in summaries
    ]
    await append_events(session, chained, received_at)


BATCH_HANDLER = append_batch
# An access.records event carries up to 500 calls (~225 KB). With aiokafka's 1 MiB a partition, a fetch held
# four of them; with 4 MiB up to eighteen, and one transaction pipelines them all (bench/audit.py --access-records,
# two runs each: 16,167 and 18,296 records/s → 20,251 and 20,785). At most 6 partitions × 4 MiB = 24 MiB a fetch.
PARTITION_FETCH_BYTES = 4 * 1024 * 1024
