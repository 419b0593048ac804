"""The outbox, relay and idempotent consumer against real Postgres and the real broker.

The central promise: events written with a domain change reach every consumer, and each consumer applies
each event exactly once, even when the relay dies mid-way and the broker delivers some events twice.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from aiokafka.errors import KafkaConnectionError
from govdata_shared.consumer import IdempotentConsumer, failed_event_table, processed_event_table
from govdata_shared.db import Database
from govdata_shared.events import Event, new_event, topic_for
from govdata_shared.kafka import ensure_topics, make_producer
from govdata_shared.outbox import OutboxRelay, add_event, metadata, outbox_table
from govdata_shared.testing import read_topic
from prometheus_client import REGISTRY

effect_metadata = sa.MetaData()
# No unique constraint on purpose: a second application of an event would show as a second row.
effect_table = sa.Table(
    "effect",
    effect_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
)
EVENT_TYPE = "catalog.outbox_test.recorded"


async def _database(url: str) -> Database:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(effect_metadata.create_all)
    return db


class RelayKilled(Exception):
    pass


class DyingProducer:
    """A real producer that dies after `kill_after` sends — after Kafka has the messages but before the relay
    could mark them published, the worst moment for a crash."""

    def __init__(self, producer, kill_after: int) -> None:
        self.producer = producer
        self.kill_after = kill_after
        self.sent = 0
        self.killed = asyncio.Event()

    async def send(self, *args, **kwargs):
        if self.sent >= self.kill_after:
            await self.producer.flush()
            self.killed.set()
            raise RelayKilled
        self.sent += 1
        return await self.producer.send(*args, **kwargs)


def _handler_for(run: str):
    async def apply(session, event: Event) -> None:
        if event.data.get("run") == run:
            await session.execute(effect_table.insert().values(event_id=event.id, n=event.data["n"]))

    return apply


async def _count(db: Database, query) -> int:
    async with db.session() as session:
        return (await session.execute(query)).scalar_one()


async def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_thousand_events_survive_relay_crash_and_duplicates_exactly_once(postgres_database, settings_for):
    settings = settings_for()
    await ensure_topics(settings)
    source = await _database(await postgres_database("outbox_src"))
    sink = await _database(await postgres_database("outbox_sink"))
    run = uuid.uuid4().hex
    group = f"test-consumer-{run[:8]}"
    handlers = {EVENT_TYPE: _handler_for(run)}

    # Write 1,000 events in small transactions, as a service would while serving requests.
    produced_ids: list[str] = []

    async def write_events() -> None:
        for start in range(0, 1000, 20):
            async with source.session() as session:
                for n in range(start, start + 20):
                    event = new_event(
                        EVENT_TYPE,
                        f"agg-{n % 37}",
                        {"run": run, "n": n},
                        version=n,
                        actor="test",
                        dept="YC-GA",
                        source="test",
                    )
                    await add_event(session, event)
                    produced_ids.append(event.id)
            await asyncio.sleep(0)

    consumer = IdempotentConsumer(
        sink, settings, name=group, topics=(topic_for(EVENT_TYPE),), handlers=handlers, max_records=50
    )
    await consumer.start()

    real_producer = make_producer(settings)
    await real_producer.start()
    dying = DyingProducer(real_producer, kill_after=350)
    relay = OutboxRelay(source, dying, sweep_interval=0.05, batch_size=100)
    relay.start()
    writer = asyncio.create_task(write_events())
    await asyncio.wait_for(dying.killed.wait(), 30)
    await relay.stop()  # the relay is dead; its last batch reached Kafka but was never marked published
    await writer

    unpublished = await _count(source, sa.select(sa.func.count()).where(outbox_table.c.published_at.is_(None)))
    assert 600 <= unpublished < 1000

    # The consumer is also killed mid-way and replaced, so a batch may be applied without its offset commit.
    await _wait_for(lambda: _positive(sink), 30, "the first consumer to apply something")
    await consumer.stop()
    consumer = IdempotentConsumer(
        sink, settings, name=group, topics=(topic_for(EVENT_TYPE),), handlers=handlers, max_records=50
    )
    await consumer.start()

    # Restart the relay with a fresh producer: it re-publishes the unmarked batch (duplicates) and the rest.
    restarted = OutboxRelay(source, real_producer, sweep_interval=0.05, batch_size=100)
    restarted.start()
    try:
        await _wait_for(
            lambda: _is_zero(source, sa.select(sa.func.count()).where(outbox_table.c.published_at.is_(None))),
            30,
            "the outbox to drain",
        )
        await _wait_for(
            lambda: _at_least(sink, sa.select(sa.func.count(sa.distinct(effect_table.c.event_id))), 1000),
            60,
            "the consumer to apply all 1,000 events",
        )
        await asyncio.sleep(1.0)  # let any late duplicate arrive before counting
    finally:
        await restarted.stop()
        await consumer.stop()
        await real_producer.stop()

    # Kafka really carried duplicates of our events...
    delivered = [
        e.id
        for e in await read_topic(settings.kafka_bootstrap_servers, topic_for(EVENT_TYPE))
        if e.data.get("run") == run
    ]
    assert len(set(delivered)) == 1000
    assert len(delivered) > 1000, "the crash should have caused some events to be published twice"

    # ...and the consumer applied each exactly once and lost none.
    async with sink.session() as session:
        applied = (await session.execute(sa.select(effect_table.c.event_id, effect_table.c.n))).all()
        processed = (
            await session.execute(
                sa.select(sa.func.count()).where(
                    processed_event_table.c.consumer == group,
                    processed_event_table.c.event_type == EVENT_TYPE,
                )
            )
        ).scalar_one()
    assert len(applied) == 1000
    assert {row.event_id for row in applied} == set(produced_ids)
    assert sorted(row.n for row in applied) == list(range(1000))
    assert processed >= 1000
    await source.dispose()
    await sink.dispose()


async def _positive(db: Database) -> bool:
    return await _count(db, sa.select(sa.func.count()).select_from(effect_table)) > 0


async def _is_zero(db: Database, query) -> bool:
    return await _count(db, query) == 0


async def _at_least(db: Database, query, n: int) -> bool:
    return await _count(db, query) >= n


async def test_event_that_keeps_failing_is_set_aside_and_the_rest_applied(postgres_database, settings_for):
    settings = settings_for()
    await ensure_topics(settings)
    sink = await _database(await postgres_database("consumer_poison"))
    run = uuid.uuid4().hex
    group = f"test-poison-{run[:8]}"

    async def apply(session, event: Event) -> None:
        if event.data.get("run") != run:
            return
        if event.data["n"] == 3:
            raise ValueError("cannot apply event 3")
        await session.execute(effect_table.insert().values(event_id=event.id, n=event.data["n"]))

    producer = make_producer(settings)
    await producer.start()
    events = [
        new_event(EVENT_TYPE, "poison", {"run": run, "n": n}, version=n, actor="t", dept=None, source="test")
        for n in range(6)
    ]
    for event in events:
        await producer.send_and_wait(event.topic, event.to_json(), key=b"poison")
    await producer.send_and_wait(topic_for(EVENT_TYPE), b"{not json", key=b"poison")
    await producer.stop()

    consumer = IdempotentConsumer(
        sink,
        settings,
        name=group,
        topics=(topic_for(EVENT_TYPE),),
        handlers={EVENT_TYPE: apply},
        retry_attempts=2,
    )
    assert failed_metric(group) == 0  # exported before the first failure, so increase() can see that one
    await consumer.start()
    try:
        await _wait_for(
            lambda: _at_least(sink, sa.select(sa.func.count()).select_from(effect_table), 5),
            30,
            "five good events",
        )
        await _wait_for(
            lambda: _at_least(sink, sa.select(sa.func.count()).select_from(failed_event_table), 2),
            30,
            "two set-aside events",
        )
    finally:
        await consumer.stop()
    async with sink.session() as session:
        ns = sorted((await session.execute(sa.select(effect_table.c.n))).scalars())
        failed = (await session.execute(sa.select(failed_event_table))).mappings().all()
    assert ns == [0, 1, 2, 4, 5]
    failed_ids = {row["event_id"] for row in failed if row["consumer"] == group}
    assert events[3].id in failed_ids
    assert None in failed_ids  # the undecodable message, kept with its payload
    assert any(row["payload"] == "{not json" for row in failed)
    assert failed_metric(group) == 2
    await sink.dispose()


def failed_metric(consumer: str) -> float | None:
    return REGISTRY.get_sample_value("govdata_events_failed_total", {"consumer": consumer})


class RefusingProducer:
    """Kafka refusing every send, as while the brokers are unreachable."""

    def __init__(self) -> None:
        self.attempts = 0

    async def send(self, *args, **kwargs):
        self.attempts += 1
        raise KafkaConnectionError("brokers unreachable")


async def test_failing_relay_passes_are_counted_and_rows_stay_pending(postgres_database):
    source = await _database(await postgres_database("outbox_refused"))
    async with source.session() as session:
        await add_event(
            session,
            new_event(EVENT_TYPE, "refused", {"n": 1}, version=1, actor="t", dept=None, source="test"),
        )
    before = REGISTRY.get_sample_value("govdata_outbox_relay_failures_total")
    producer = RefusingProducer()
    relay = OutboxRelay(source, producer, sweep_interval=0.05)
    relay.start()

    async def failures() -> float:
        return REGISTRY.get_sample_value("govdata_outbox_relay_failures_total") - before

    try:
        await _wait_for(lambda: _at_least_value(failures, 2), 10, "two refused passes")
    finally:
        await relay.stop()  # during the 2 s back-off after the second failure: no third attempt
    # Each refused pass is one failure, and the row is still there to send.
    assert await failures() == producer.attempts == 2
    unpublished = await _count(source, sa.select(sa.func.count()).where(outbox_table.c.published_at.is_(None)))
    assert unpublished == 1
    await source.dispose()


async def _at_least_value(read, n: float) -> bool:
    return await read() >= n


async def test_new_event_masks_identifiers_in_data_and_subject():
    event = new_event(
        "verification.request.submitted",
        "34052419800101001X",
        {"subject_id": "34052419800101001X", "note": "企业 91350100M0001TGQXM 申请"},
        version=1,
        actor="citizen-1",
        dept=None,
        source="verification-svc",
    )
    raw = event.to_json().decode()
    assert "34052419800101001X" not in raw
    assert "91350100M0001TGQXM" not in raw
    assert event.data["subject_id"].startswith("3405") and event.data["subject_id"].endswith("001X")
    assert event.topic == "govdata.verification.v1"


def test_unknown_event_area_is_refused_at_the_producer():
    with pytest.raises(ValueError, match="belongs to no topic"):
        new_event("nothing.happened", "x", {}, version=1, actor=None, dept=None, source="t")
