"""Production's arrangement on real Postgres: migrations run as the owner, then `--service-role` grants the
run-time role; the service, running as that role, consumes and appends as usual but can neither change stored
rows nor switch the append-only triggers off (README "Append-only in production")."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa
from audit_svc.main import AuditSettings, create_app
from govdata_shared.events import Event, topic_for
from govdata_shared.migrations import main as migrate_main
from govdata_shared.testing import MovableClock, running_app


@pytest.fixture
async def writer(postgres_database):
    """(owner URL, the run-time role's URL, role name) of a fresh, migrated and granted database."""
    owner_url = await postgres_database("audit_role")
    role = f"govdata_test_audit_writer_{uuid.uuid4().hex[:8]}"
    plain = owner_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(plain)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        # The migration Job's command line, as the owner (here the superuser owns the database).
        code = await asyncio.to_thread(migrate_main, ["audit_svc", "--url", owner_url, "--service-role", role])
        assert code == 0
        _, _, rest = owner_url.partition("@")
        yield owner_url, f"postgresql+asyncpg://{role}@{rest}", role
    finally:
        # Its grants in this database, its sessions (the app's pool is disposed by now), then the role itself.
        await admin.execute(f'DROP OWNED BY "{role}"')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def test_the_service_runs_as_its_role_and_cannot_change_the_log(writer, settings_for, test_tokens):
    _, writer_url, _ = writer
    settings = settings_for(AuditSettings, service_name="audit", database_url=writer_url, migrate_on_start=False)
    app = create_app(settings)
    async with running_app(app, verifier=test_tokens.verifier(), clock=MovableClock()) as client:
        grant = f"grant-{uuid.uuid4().hex[:8]}"
        events = usage_events(grant)
        for event in events:
            await app.state.producer.send_and_wait(topic_for(event.type), event.to_json(), key=grant.encode())

        async def stored() -> list[str]:
            async with app.state.db.session() as session:
                query = sa.text("SELECT event_id FROM audit_log WHERE subject = :s ORDER BY seq")
                return list((await session.execute(query, {"s": grant})).scalars())

        for _ in range(300):
            if len(ids := await stored()) == len(events):
                break
            await asyncio.sleep(0.1)
        assert ids == [e.id for e in events], "the consumer appends as the service role"
        auditor = test_tokens.headers("auditor", "YC-ZSJ", ["auditor"])
        verified = (await client.get("/api/audit/verify", headers=auditor)).json()
        assert verified["ok"] is True and verified["checked"] >= len(events)

    attempts = {
        "UPDATE audit_log SET actor = 'x'": "permission denied",
        "DELETE FROM audit_log": "permission denied",
        "TRUNCATE audit_log": "permission denied",
        "ALTER TABLE audit_log DISABLE TRIGGER USER": "must be owner",
        "DROP TABLE audit_log": "must be owner",
        "DELETE FROM audit_chain_head": "permission denied",
    }
    conn = await asyncpg.connect(writer_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        for statement, refusal in attempts.items():
            with pytest.raises(asyncpg.PostgresError) as refused:
                await conn.execute(statement)
            assert refusal in str(refused.value), f"{statement}: {refused.value}"
        await conn.execute("GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO PUBLIC")  # a non-owner: only a warning
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            assert not await conn.fetchval("SELECT has_table_privilege('audit_log', $1)", privilege), privilege
        count = await conn.fetchval("SELECT count(*) FROM audit_log WHERE subject = $1", grant)
        assert count == len(events), "nothing was changed"
    finally:
        await conn.close()


def usage_events(grant: str) -> list[Event]:
    return [
        Event(
            id=str(uuid.uuid4()),
            source="/govdata/gateway",
            type="access.usage",
            subject=grant,
            time=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
            data={"grant_id": grant, "holder_dept": "YC-MZ", "calls": calls},
            actor="gateway",
            dept="YC-MZ",
            version=1,
        )
        for calls in (3, 1, 4)
    ]
