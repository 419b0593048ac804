"""The idempotent consumer: at-least-once delivery in, exactly-once effect out.

For each fetch (whatever partitions it spans) the consumer opens one database transaction, records the events'
ids as processed by it — on Postgres one `INSERT … ON CONFLICT DO NOTHING RETURNING`, which also tells which ids
were there already — applies the handlers to the new ones only, and commits. Only then does it commit
the Kafka offsets — manual commits only — so a crash anywhere re-delivers, and the recorded ids turn the
re-delivery into a no-op. An event that keeps failing is written to `failed_event` with its payload (nothing
is lost, and the partition is not blocked) and counted in metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_shared.db import Database
from govdata_shared.events import Event
from govdata_shared.kafka import client_options
from govdata_shared.outbox import metadata
from govdata_shared.settings import Settings
from govdata_shared.tasks import cancel_and_wait

log = logging.getLogger("govdata.consumer")

processed_event_table = sa.Table(
    "processed_event",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("partition", sa.Integer(), nullable=False),
    sa.Column("offset", sa.BigInteger(), nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
)
_CLAIM_POSTGRES = (
    sa.text(
        'INSERT INTO processed_event (consumer, event_id, event_type, topic, "partition", "offset", processed_at) '
        "SELECT :consumer, b.event_id, b.event_type, b.topic, b.partition, b.offset, :processed_at "
        "FROM unnest(:event_ids, :event_types, :topics, :partitions, :offsets) "
        'AS b(event_id, event_type, topic, "partition", "offset") '
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
    .bindparams(
        sa.bindparam("processed_at", type_=sa.DateTime(timezone=True)),
        sa.bindparam("event_ids", type_=postgresql.ARRAY(sa.String)),
        sa.bindparam("event_types", type_=postgresql.ARRAY(sa.String)),
        sa.bindparam("topics", type_=postgresql.ARRAY(sa.String)),
        sa.bindparam("partitions", type_=postgresql.ARRAY(sa.Integer)),
        sa.bindparam("offsets", type_=postgresql.ARRAY(sa.BigInteger)),
    )
    .columns(sa.column("event_id", sa.String))
)
failed_event_table = sa.Table(
    "failed_event",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("consumer", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=True),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("partition", sa.Integer(), nullable=False),
    sa.Column("offset", sa.BigInteger(), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
)

EVENTS_CONSUMED = Counter("govdata_events_consumed_total", "Events applied by a consumer", ["consumer", "topic"])
EVENTS_DUPLICATE = Counter("govdata_events_duplicate_total", "Re-delivered events skipped", ["consumer"])
EVENTS_FAILED = Counter("govdata_events_failed_total", "Events set aside after failing", ["consumer"])

Handler = Callable[[AsyncSession, Event], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[Event]], Awaitable[None]]


@dataclass(frozen=True)
class _Delivery:
    record: ConsumerRecord
    event: Event | None
    error: str | None = None


class IdempotentConsumer:
    """Consumes `topics` in consumer group `name` and applies `handlers[event.type]` exactly once per event.

    Event types without a handler are recorded as processed (so the bookkeeping stays complete) and skipped.
    `default_handler`, when given, receives every event without a specific handler; `batch_handler` receives
    all new events of a batch at once, in delivery order, inside the same transaction (audit-svc appends them
    to its chain in one go).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        name: str,
        topics: tuple[str, ...],
        handlers: Mapping[str, Handler] | None = None,
        default_handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        # Up to 2,000 events a transaction: audit-svc's ingest went from 8,700 to 9,300 events/s over 500
        # (bench/audit.py); 5,000 gained nothing more.
        max_records: int = 2000,
        partition_fetch_bytes: int = 1024 * 1024,  # aiokafka's default
        retry_attempts: int = 3,
    ) -> None:
        self.db = db
        self.settings = settings
        self.name = name
        # The series exists at 0 from the start, so an alert's increase() sees the first failure.
        EVENTS_FAILED.labels(name)
        self.topics = topics
        self.handlers = dict(handlers or {})
        self.default_handler = default_handler
        self.batch_handler = batch_handler
        self.max_records = max_records
        self.partition_fetch_bytes = partition_fetch_bytes
        self.retry_attempts = retry_attempts
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            **client_options(self.settings),
            group_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            max_poll_records=self.max_records,
            max_partition_fetch_bytes=self.partition_fetch_bytes,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            rebalance_timeout_ms=self.settings.kafka_rebalance_timeout_ms,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._consumer:
            await self._consumer.stop()
            self._consumer = None

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000, max_records=self.max_records)
            if batches:
                await self._process_with_retry(batches)

    async def _process_with_retry(self, batches: Mapping[TopicPartition, list[ConsumerRecord]]) -> None:
        # Everything one fetch returned is one transaction, whichever partitions it came from: with a transaction
        # per partition, a fetch spread over many partitions cost a round of statements and a commit for a handful
        # of events each. Order within each partition is kept; there is none between partitions to keep.
        records = [record for partition in batches.values() for record in partition]
        deliveries = [self._decode(r) for r in records]
        for attempt in range(1, self.retry_attempts + 1):
            try:
                await self.apply(deliveries)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "batch of %d from %d partitions failed (attempt %d)",
                    len(records),
                    len(batches),
                    attempt,
                    exc_info=True,
                )
                await asyncio.sleep(0.2 * attempt)
        else:
            # The batch keeps failing: apply one event per transaction so only the culprits are set aside.
            for delivery in deliveries:
                try:
                    await self.apply([delivery])
                except Exception as exc:  # noqa: BLE001 - set aside with its error, not lost
                    await self._set_aside(delivery, repr(exc))
        assert self._consumer is not None
        await self._consumer.commit({tp: partition[-1].offset + 1 for tp, partition in batches.items()})

    def _decode(self, record: ConsumerRecord) -> _Delivery:
        try:
            return _Delivery(record, Event.from_json(record.value))
        except (ValidationError, ValueError) as exc:
            return _Delivery(record, None, f"undecodable event: {exc}")

    async def apply(self, deliveries: list[_Delivery]) -> int:
        """Apply new events of `deliveries` in one transaction; returns how many were new."""
        processed_at = datetime.now(UTC)
        async with self.db.session() as session:
            fresh: dict[str, _Delivery] = {}  # the first delivery of each event id, in delivery order
            undecodable = [d for d in deliveries if d.event is None]
            for delivery in undecodable:
                await self._record_failure(session, delivery, delivery.error or "undecodable")
            for delivery in deliveries:
                if delivery.event is None:
                    continue
                if delivery.event.id in fresh:
                    EVENTS_DUPLICATE.labels(self.name).inc()
                else:
                    fresh[delivery.event.id] = delivery
            new = await self._claim(session, list(fresh.values()), processed_at)
            new_events: list[Event] = []
            for delivery in fresh.values():
                event = delivery.event
                assert event is not None
                if event.id not in new:
                    EVENTS_DUPLICATE.labels(self.name).inc()
                    continue
                handler = self.handlers.get(event.type, self.default_handler)
                if handler is not None:
                    await handler(session, event)
                new_events.append(event)
            if new_events and self.batch_handler is not None:
                await self.batch_handler(session, new_events)
        for delivery in undecodable:
            self._report_set_aside(delivery, delivery.error or "undecodable")
        consumed: dict[str, int] = {}
        for event in new_events:
            topic = fresh[event.id].record.topic
            consumed[topic] = consumed.get(topic, 0) + 1
        for topic, count in consumed.items():
            EVENTS_CONSUMED.labels(self.name, topic).inc(count)
        return len(new_events)

    async def _claim(self, session: AsyncSession, deliveries: list[_Delivery], processed_at: datetime) -> set[str]:
        """Record `deliveries` as processed by this consumer, in the caller's transaction; returns the ids that
        were not recorded before (the others are re-deliveries). A rollback takes the claims back with the
        effects."""
        if not deliveries:
            return set()
        if session.get_bind().dialect.name == "postgresql":
            # One statement for the whole batch, whatever its size: claim and find the new ones at once.
            rows = await session.execute(
                _CLAIM_POSTGRES,
                {
                    "consumer": self.name,
                    "processed_at": processed_at,
                    "event_ids": [d.event.id for d in deliveries],
                    "event_types": [d.event.type for d in deliveries],
                    "topics": [d.record.topic for d in deliveries],
                    "partitions": [d.record.partition for d in deliveries],
                    "offsets": [d.record.offset for d in deliveries],
                },
            )
            return set(rows.scalars())
        ids = [d.event.id for d in deliveries]
        seen = set(
            (
                await session.execute(
                    sa.select(processed_event_table.c.event_id).where(
                        processed_event_table.c.consumer == self.name, processed_event_table.c.event_id.in_(ids)
                    )
                )
            ).scalars()
        )
        new = [d for d in deliveries if d.event.id not in seen]
        if new:
            await session.execute(
                processed_event_table.insert(),
                [
                    dict(
                        consumer=self.name,
                        event_id=d.event.id,
                        event_type=d.event.type,
                        topic=d.record.topic,
                        partition=d.record.partition,
                        offset=d.record.offset,
                        processed_at=processed_at,
                    )
                    for d in new
                ],
            )
        return {d.event.id for d in new}

    async def _set_aside(self, delivery: _Delivery, error: str) -> None:
        async with self.db.session() as session:
            await self._record_failure(session, delivery, error)
        self._report_set_aside(delivery, error)

    def _report_set_aside(self, delivery: _Delivery, error: str) -> None:
        """Log and count a set-aside event once its row is committed (a batch attempt that rolls back and is
        retried would count it again)."""
        EVENTS_FAILED.labels(self.name).inc()
        log.error(
            "event set aside by %s at %s/%d@%d: %s",
            self.name,
            delivery.record.topic,
            delivery.record.partition,
            delivery.record.offset,
            error,
        )

    async def _record_failure(self, session: AsyncSession, delivery: _Delivery, error: str) -> None:
        await session.execute(
            failed_event_table.insert().values(
                consumer=self.name,
                event_id=delivery.event.id if delivery.event else None,
                topic=delivery.record.topic,
                partition=delivery.record.partition,
                offset=delivery.record.offset,
                error=error[:4000],
                payload=(delivery.record.value or b"").decode("utf-8", "replace"),
                failed_at=datetime.now(UTC),
            )
        )
