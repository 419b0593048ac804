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
from datetime import UTC, datetime, timedelta

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
async def running_app(app: FastAPI, *, verifier=None, clock=None) -> AsyncIterator[httpx.AsyncClient]:
    """Run a service app's lifespan (migrations, broker, relay, consumer) and talk to it in-process.

    `verifier` (e.g. `TestTokens.verifier()`) and `clock` replace the app's after start-up.
    """
    async with app.router.lifespan_context(app):
        if verifier is not None:
            app.state.token_verifier = verifier
        if clock is not None:
            app.state.clock = clock
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


class TestTokens:
    """Signs platform tokens for service tests with a key of its own, and gives the matching verifier.

    Services verify against the gateway's JWKS in production; in a service's own tests the app's verifier is
    replaced by `tokens.verifier()` so tests need no gateway.
    """

    __test__ = False  # not a test class, despite the name

    def __init__(self, issuer: str = "urn:yichuan:govdata:gateway", audience: str = "govdata-api") -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jose import jwk

        self.issuer = issuer
        self.audience = audience
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._key = jwk.construct(self._private, algorithm="RS256")
        public = self._key.public_key().to_dict()
        self.kid = "test-key"
        self.jwks = {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def verifier(self):
        from govdata_shared.auth import StaticKeySet, TokenVerifier

        return TokenVerifier(StaticKeySet(self.jwks), issuer=self.issuer, audience=self.audience)

    def token(
        self,
        sub: str,
        dept: str | None = None,
        roles: tuple[str, ...] | list[str] = (),
        subject_id: str | None = None,
        ttl: int = 600,
        **claims,
    ) -> str:
        import time

        from jose import jws

        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "client_id": sub,
            "roles": list(roles),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "scope": "api",
            **claims,
        }
        if dept is not None:
            payload["dept"] = dept
        if subject_id is not None:
            payload["subject_id"] = subject_id
        return jws.sign(payload, self._key, headers={"kid": self.kid}, algorithm="RS256")

    def headers(self, sub: str, dept: str | None = None, roles: tuple[str, ...] | list[str] = (), **kw) -> dict:
        return {"Authorization": f"Bearer {self.token(sub, dept, roles, **kw)}"}


@pytest.fixture(scope="session")
def test_tokens() -> TestTokens:
    return TestTokens()


class MovableClock:
    """An injectable clock for deadline tests: `clock.set(datetime(...))`, `clock.advance(days=3)`."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def outbox_events(app: FastAPI, subject: str | None = None) -> list[dict]:
    """The events a running service app has staged in its outbox, oldest first (what its relay publishes)."""
    import orjson
    import sqlalchemy as sa

    from govdata_shared.outbox import outbox_table

    query = sa.select(outbox_table.c.payload).order_by(outbox_table.c.seq)
    if subject is not None:
        query = query.where(outbox_table.c.key == subject)
    async with app.state.db.session() as session:
        return [orjson.loads(p) for p in (await session.execute(query)).scalars()]
