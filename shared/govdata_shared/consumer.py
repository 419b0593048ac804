"""The idempotent consumer: at-least-once delivery in, exactly-once effect out.

For each fetched batch the consumer opens one database transaction, skips events whose id is already recorded
for this consumer, applies the handler to the rest, records their ids, and commits. Only then does it commit
the Kafka offsets — manual commits only — so a crash anywhere re-delivers, and the recorded ids turn the
re-delivery into a no-op. An event that keeps failing is written to `failed_event` with its payload (nothing
is lost, and the partition is not blocked) and counted in metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_shared.db import Database
from govdata_shared.events import Event
from govdata_shared.kafka import client_options
from govdata_shared.outbox import metadata
from govdata_shared.settings import Settings

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
        max_records: int = 500,
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
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            rebalance_timeout_ms=self.settings.kafka_rebalance_timeout_ms,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer:
            await self._consumer.stop()
            self._consumer = None

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000, max_records=self.max_records)
            for tp, records in batches.items():
                await self._process_with_retry(tp, records)

    async def _process_with_retry(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        deliveries = [self._decode(r) for r in records]
        for attempt in range(1, self.retry_attempts + 1):
            try:
                await self.apply(deliveries)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("batch of %d on %s failed (attempt %d)", len(records), tp, attempt, exc_info=True)
                await asyncio.sleep(0.2 * attempt)
        else:
            # The batch keeps failing: apply one event per transaction so only the culprits are set aside.
            for delivery in deliveries:
                try:
                    await self.apply([delivery])
                except Exception as exc:  # noqa: BLE001 - set aside with its error, not lost
                    await self._set_aside(delivery, repr(exc))
        assert self._consumer is not None
        await self._consumer.commit({tp: records[-1].offset + 1})

    def _decode(self, record: ConsumerRecord) -> _Delivery:
        try:
            return _Delivery(record, Event.from_json(record.value))
        except (ValidationError, ValueError) as exc:
            return _Delivery(record, None, f"undecodable event: {exc}")

    async def apply(self, deliveries: list[_Delivery]) -> int:
        """Apply new events of `deliveries` in one transaction; returns how many were new."""
        applied = 0
        async with self.db.session() as session:
            ids = [d.event.id for d in deliveries if d.event is not None]
            seen = set()
            if ids:
                seen = set(
                    (
                        await session.execute(
                            sa.select(processed_event_table.c.event_id).where(
                                processed_event_table.c.consumer == self.name,
                                processed_event_table.c.event_id.in_(ids),
                            )
                        )
                    ).scalars()
                )
            rows = []
            new_events: list[Event] = []
            for delivery in deliveries:
                if delivery.event is None:
                    await self._record_failure(session, delivery, delivery.error or "undecodable")
                    continue
                event = delivery.event
                if event.id in seen:
                    EVENTS_DUPLICATE.labels(self.name).inc()
                    continue
                seen.add(event.id)
                handler = self.handlers.get(event.type, self.default_handler)
                if handler is not None:
                    await handler(session, event)
                new_events.append(event)
                rows.append(
                    dict(
                        consumer=self.name,
                        event_id=event.id,
                        event_type=event.type,
                        topic=delivery.record.topic,
                        partition=delivery.record.partition,
                        offset=delivery.record.offset,
                        processed_at=datetime.now(UTC),
                    )
                )
            if new_events and self.batch_handler is not None:
                await self.batch_handler(session, new_events)
            if rows:
                await session.execute(processed_event_table.insert(), rows)
                applied = len(rows)
        for row in rows:
            EVENTS_CONSUMED.labels(self.name, row["topic"]).inc()
        return applied

    async def _set_aside(self, delivery: _Delivery, error: str) -> None:
        async with self.db.session() as session:
            await self._record_failure(session, delivery, error)

    async def _record_failure(self, session: AsyncSession, delivery: _Delivery, error: str) -> None:
        EVENTS_FAILED.labels(self.name).inc()
        log.error(
            "event set aside by %s at %s/%d@%d: %s",
            self.name,
            delivery.record.topic,
            delivery.record.partition,
            delivery.record.offset,
            error,
        )
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
