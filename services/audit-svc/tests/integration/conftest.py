"""audit-svc under test: the real app on its migrated database, an injected clock, tokens for the people of
govdata_shared.testing.PEOPLE, and helpers to build events, append them through the consumer's batch handler, and
tamper with stored rows the way an intruder would.

Without the broker the app runs no consumer, so the log holds exactly what a test appends; tests marked `broker`
send through the real broker to the service's own consumer instead."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from audit_svc.events import append_batch
from audit_svc.main import SPEC
from govdata_shared.events import Event
from govdata_shared.testing import MovableClock, ServiceUnderTest

# Monday 2026-03-02, 10:00 in Shanghai.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def make_event(
    type: str,
    subject: str,
    data: dict[str, Any] | None = None,
    *,
    time: datetime = NOW,
    dept: str | None = None,
    actor: str | None = "system",
    event_id: str | None = None,
) -> Event:
    """An event as it arrives from the broker (built directly, so tests can also send what producers would not,
    such as an unmasked identifier)."""
    area = type.split(".", 1)[0]
    return Event(
        id=event_id or str(uuid.uuid4()),
        source=f"/govdata/{area}-svc" if area != "access" else "/govdata/gateway",
        type=type,
        subject=subject,
        time=time,
        data=data or {},
        actor=actor,
        dept=dept,
        version=1,
    )


class Audit(ServiceUnderTest):
    """The running app plus helpers that speak as the departments and reach into the database."""

    event = staticmethod(make_event)
    NOW = NOW

    def __init__(self, client, app, tokens, clock: MovableClock, backend: str) -> None:
        super().__init__("audit", client, app, tokens, clock)
        self.backend = backend

    async def get(self, path: str, who: str = "auditor", **params):
        return await super().get(path, who, **params)

    async def eventually(self, probe, seconds: float = 30.0):
        """Poll `probe()` until it returns something truthy (broker tests: the consumer works in the background)."""
        for _ in range(int(seconds * 10)):
            if result := await probe():
                return result
            await asyncio.sleep(0.1)
        raise AssertionError(f"nothing after {seconds}s")

    async def append(self, events: list[Event]) -> None:
        """Through the consumer's batch handler, in one transaction, as the consumer does."""
        async with self.db.session() as session:
            await append_batch(session, events)

    async def rows(self) -> list[dict]:
        async with self.db.session() as session:
            result = await session.execute(sa.text("SELECT seq, event_id, record FROM audit_log ORDER BY seq"))
            return [dict(r._mapping) for r in result]

    async def tamper(self, *statements: str) -> None:
        """Change stored rows behind the service's back: on Postgres the superuser switches the append-only
        triggers off for the change; on SQLite the triggers are dropped."""
        async with self.db.session() as session:
            if self.backend == "postgres":
                await session.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            else:
                await session.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
                await session.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
            for statement in statements:
                await session.execute(sa.text(statement))
            if self.backend == "postgres":
                await session.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))

    async def tamper_access(self, *statements: str) -> None:
        """Change stored access records behind the service's back (their update trigger switched off)."""
        async with self.db.session() as session:
            if self.backend == "postgres":
                await session.execute(sa.text("ALTER TABLE access_record DISABLE TRIGGER USER"))
            else:
                await session.execute(sa.text("DROP TRIGGER IF EXISTS access_record_no_update"))
            for statement in statements:
                await session.execute(sa.text(statement))
            if self.backend == "postgres":
                await session.execute(sa.text("ALTER TABLE access_record ENABLE TRIGGER USER"))
            await session.commit()


@pytest.fixture
async def audit(service_app, test_tokens, backend):
    clock = MovableClock(NOW)
    app, client = await service_app(SPEC, clock=clock)
    return Audit(client, app, test_tokens, clock, backend)
