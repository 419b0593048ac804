"""Several relays on one Postgres outbox (several replicas of a service): each row is published once."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa
from govdata_shared.db import Database
from govdata_shared.events import new_event, topic_for
from govdata_shared.kafka import ensure_topics, make_producer
from govdata_shared.migrations import upgrade_async
from govdata_shared.outbox import OutboxRelay, add_event, outbox_table
from govdata_shared.testing import read_topic

EVENT_TYPE = "sharing.relay_test.recorded"


async def test_three_relays_share_the_outbox_without_publishing_a_row_twice(postgres_database, settings_for):
    settings = settings_for()
    await ensure_topics(settings)
    url = await postgres_database("relays")
    await upgrade_async("sharing_svc", url)  # the real migrations create the outbox
    db = Database(url)
    run = uuid.uuid4().hex
    async with db.session() as session:
        for n in range(600):
            await add_event(
                session,
                new_event(
                    EVENT_TYPE, f"g-{n}", {"run": run, "n": n}, version=1, actor="t", dept=None, source="sharing-svc"
                ),
            )
    producers = [make_producer(settings) for _ in range(3)]
    for producer in producers:
        await producer.start()
    # Separate Database objects: separate connection pools, as separate replicas would have.
    replicas = [Database(url) for _ in range(3)]
    relays = [
        OutboxRelay(replica, producer, sweep_interval=0.05, batch_size=50)
        for replica, producer in zip(replicas, producers, strict=True)
    ]
    for relay in relays:
        relay.start()
    try:
        for _ in range(300):
            async with db.session() as session:
                pending = (
                    await session.execute(sa.select(sa.func.count()).where(outbox_table.c.published_at.is_(None)))
                ).scalar_one()
            if pending == 0:
                break
            await asyncio.sleep(0.05)
        assert pending == 0
    finally:
        for relay in relays:
            await relay.stop()
        for producer in producers:
            await producer.stop()
    ns: list[int] = []
    for _ in range(50):  # acknowledged records can take a moment to become readable on the local broker
        ns = [
            e.data["n"]
            for e in await read_topic(settings.kafka_bootstrap_servers, topic_for(EVENT_TYPE))
            if e.data.get("run") == run
        ]
        if len(set(ns)) == 600:
            break
        await asyncio.sleep(0.1)
    assert sorted(ns) == list(range(600))  # all of them, none twice
    for database in (db, *replicas):
        await database.dispose()
