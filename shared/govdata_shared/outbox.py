"""Transactional outbox and its relay.

A service writes its events with `await add_event(session, event)` inside the same transaction as the domain
change, so an event exists if and only if the change committed. The relay publishes pending rows right after
each such commit and on a periodic sweep (catching what a crash left behind). With several replicas on
Postgres, `FOR UPDATE SKIP LOCKED` hands each pending row to one relay at a time. A row is marked published
only after Kafka acknowledged it, so a crash in between re-publishes it: delivery is at-least-once and
consumers dedupe by event id.

While it waits for Kafka the relay never holds what the service's writers need: on Postgres it holds row locks
on the outbox rows it sends (writers only insert new rows); on SQLite, where any write transaction locks the
whole database, it reads the batch without a lock, sends it outside any transaction and marks it in a short
write of its own — so a stalled broker delays events, never the service's API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_shared.db import OUTBOX_DIRTY, Database
from govdata_shared.events import Event
from govdata_shared.tasks import cancel_and_wait

log = logging.getLogger("govdata.outbox")

metadata = sa.MetaData()
outbox_table = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
)

EVENTS_PUBLISHED = Counter("govdata_events_published_total", "Events relayed from the outbox", ["topic"])
OUTBOX_PENDING = Gauge("govdata_outbox_pending", "Outbox rows left pending after the last relay pass")
# While Kafka refuses, the gauge above keeps its last value: the failures say so (an alert watches them).
RELAY_FAILURES = Counter("govdata_outbox_relay_failures_total", "Outbox relay passes that failed (rows stay pending)")


async def add_event(session: AsyncSession, event: Event) -> None:
    """Stage `event` in the caller's transaction; it is published only if that transaction commits."""
    await session.execute(
        outbox_table.insert().values(
            event_id=event.id,
            topic=event.topic,
            key=event.subject,
            event_type=event.type,
            payload=event.to_json().decode(),
            created_at=datetime.now(UTC),
        )
    )
    session.info[OUTBOX_DIRTY] = True


class OutboxRelay:
    """Moves committed outbox rows to Kafka; one per service process."""

    def __init__(
        self,
        db: Database,
        producer: AIOKafkaProducer,
        *,
        sweep_interval: float = 1.0,
        batch_size: int = 500,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.db = db
        self.producer = producer
        self.sweep_interval = sweep_interval
        self.batch_size = batch_size
        self.retention = retention
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one pass at a time in this process (SQLite has no SKIP LOCKED)
        db.on_outbox_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        failures = 0
        last_cleanup = datetime.min.replace(tzinfo=UTC)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_interval)
            self._wake.clear()
            try:
                while await self.publish_pending() == self.batch_size:
                    pass
                failures = 0
                if datetime.now(UTC) - last_cleanup > timedelta(hours=1):
                    await self.delete_published()
                    last_cleanup = datetime.now(UTC)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                RELAY_FAILURES.inc()
                log.exception("outbox relay pass failed (%d in a row); rows stay pending", failures)
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows in commit order; returns how many were published."""
        async with self._lock:
            if self.db.is_postgres:
                async with self.db.session() as session:
                    rows = await self._pending(session, skip_locked=True)
                    await self._send(rows)
                    await self._mark(session, rows)
            else:
                async with self.db.reading() as session:
                    rows = await self._pending(session, skip_locked=False)
                await self._send(rows)
                if rows:
                    async with self.db.session() as session:
                        await self._mark(session, rows)
        for row in rows:
            EVENTS_PUBLISHED.labels(row.topic).inc()
        OUTBOX_PENDING.set(0 if len(rows) < self.batch_size else self.batch_size)
        return len(rows)

    async def _pending(self, session: AsyncSession, *, skip_locked: bool) -> list[sa.Row]:
        query = (
            sa.select(outbox_table.c.seq, outbox_table.c.topic, outbox_table.c.key, outbox_table.c.payload)
            .where(outbox_table.c.published_at.is_(None))
            .order_by(outbox_table.c.seq)
            .limit(self.batch_size)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return list((await session.execute(query)).all())

    async def _send(self, rows: list[sa.Row]) -> None:
        """Send the whole batch, then wait for every acknowledgement (raises if any is refused)."""
        futures = [await self.producer.send(row.topic, row.payload.encode(), key=row.key.encode()) for row in rows]
        await asyncio.gather(*futures)

    async def _mark(self, session: AsyncSession, rows: list[sa.Row]) -> None:
        if rows:
            await session.execute(
                outbox_table.update()
                .where(outbox_table.c.seq.in_([row.seq for row in rows]))
                .values(published_at=datetime.now(UTC))
            )

    async def delete_published(self) -> None:
        cutoff = datetime.now(UTC) - self.retention
        async with self.db.session() as session:
            await session.execute(
                outbox_table.delete().where(
                    outbox_table.c.published_at.is_not(None), outbox_table.c.published_at < cutoff
                )
            )
