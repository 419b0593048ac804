"""Pytest fixtures for the real components tests use: the Kafka-protocol broker and Postgres.

Registered by the repository's root conftest.py. `make test` starts one broker for the whole run and passes
it in `KAFKA_BOOTSTRAP_SERVERS`; without it, the fixture starts its own. Postgres is the server on
`GOVDATA_TEST_POSTGRES` (default postgresql://postgres@127.0.0.1:5432); an unreachable server fails the run,
it never skips tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from govdata_shared.broker import LOCAL_BROKER_GROUP_TIMING, LocalBroker
from govdata_shared.events import Event
from govdata_shared.settings import Settings

POSTGRES = os.environ.get("GOVDATA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
_DB_NAME = re.compile(r"^[a-z0-9_]{1,60}$")


@pytest.fixture(scope="session")
def broker_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a running Kafka-protocol broker for the whole test session."""
    given = os.environ.get("GOVDATA_TEST_KAFKA")
    if given:
        yield given
        return
    with LocalBroker() as broker:
        yield broker.bootstrap_servers


async def create_database(name: str) -> str:
    """Drop and create database `name`; returns its SQLAlchemy async URL."""
    if not _DB_NAME.match(name):
        raise ValueError(f"unsafe database name {name!r}")
    try:
        conn = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"Postgres at {POSTGRES} is unreachable ({exc}); tests need the real server", pytrace=False)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await conn.close()
    return POSTGRES.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def postgres_database() -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: `url = await postgres_database("catalog")` gives a fresh, empty database for this test."""
    created: list[str] = []
    run = uuid.uuid4().hex[:8]

    async def make(label: str) -> str:
        name = f"govdata_test_{label}_{run}"
        created.append(name)
        return await create_database(name)

    yield make
    for name in created:
        await drop_database(name)


@pytest.fixture
def settings_for(broker_bootstrap: str, tmp_path) -> Callable[..., Settings]:
    """Settings pointing at the test broker and a temporary data dir; keyword overrides win."""

    def make(**overrides) -> Settings:
        values = dict(
            kafka_bootstrap_servers=broker_bootstrap,
            kafka_fetch_max_wait_ms=20,
            **LOCAL_BROKER_GROUP_TIMING,
            govdata_data_dir=tmp_path,
            outbox_sweep_interval_seconds=0.2,
            log_json=False,
        )
        values.update(overrides)
        return Settings(**values)

    return make


async def read_topic(bootstrap_servers: str, topic: str) -> list[Event]:
    """Every event the topic holds now, duplicates included, read from the beginning without a group."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await reader.start()
    events: list[Event] = []
    try:
        cluster = await reader._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        end = await reader.end_offsets(partitions)
        while [tp for tp, offset in end.items() if await reader.position(tp) < offset]:
            for records in (await reader.getmany(timeout_ms=500)).values():
                events.extend(Event.from_json(record.value) for record in records)
    finally:
        await reader.stop()
    return events


@contextlib.asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run a service app's lifespan (migrations, broker, relay, consumer) and talk to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client
