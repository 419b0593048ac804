"""Events cross the services over the real broker: what catalog-svc commits to its outbox reaches the
consumers of sharing-svc, verification-svc, audit-svc and notify-svc, each of which records it exactly once."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from govdata_shared.consumer import processed_event_table
from govdata_shared.db import Database
from govdata_shared.events import new_event
from govdata_shared.outbox import add_event


async def _processed(url: str, event_id: str) -> list[str]:
    db = Database(url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                sa.select(processed_event_table.c.consumer).where(processed_event_table.c.event_id == event_id)
            )
            return list(rows.scalars())
    finally:
        await db.dispose()


async def test_catalog_event_reaches_every_consumer_once(platform):
    catalog = Database(platform.database_urls["catalog"])
    event = new_event(
        "catalog.wiring_test.recorded",
        "res-wiring",
        {"note": "联调"},
        version=1,
        actor="ga-system",
        dept="YC-GA",
        source="catalog-svc",
    )
    async with catalog.session() as session:
        await add_event(session, event)  # picked up by the running catalog-svc's relay sweep
    await catalog.dispose()

    expected = {
        "sharing": ["sharing-svc"],
        "verification": ["verification-svc"],
        "audit": ["audit-svc"],
        "notify": ["notify-svc"],
    }
    seen: dict[str, list[str]] = {}
    for _ in range(150):
        seen = {name: await _processed(platform.database_urls[name], event.id) for name in expected}
        if seen == expected:
            break
        await asyncio.sleep(0.1)
    assert seen == expected
    # catalog-svc does not consume its own topic
    assert await _processed(platform.database_urls["catalog"], event.id) == []
