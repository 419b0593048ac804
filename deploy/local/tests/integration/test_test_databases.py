"""The databases the tests stand on: a private Postgres where none answers, and migrated databases that every
test finds exactly as the migrations left them."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from govdata_local.broker import free_port
from govdata_local.postgres import choose_server, create_database, drop_database, server_version
from govdata_shared.db import Database
from govdata_shared.events import new_event
from govdata_shared.migrations import upgrade_async
from govdata_shared.outbox import add_event, outbox_table


def test_without_a_server_a_private_postgres_is_started_and_migrations_run_on_it(monkeypatch):
    monkeypatch.delenv("GOVDATA_TEST_POSTGRES", raising=False)
    monkeypatch.delenv("CI", raising=False)
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}"
    server, private, version = choose_server(default=nobody)
    try:
        assert private is not None and server != nobody
        assert version.startswith("16")

        async def migrate() -> list[str]:
            url = await create_database(server, "govdata_test_private")
            try:
                await upgrade_async("catalog_svc", url)
                db = Database(url)
                async with db.engine.connect() as conn:
                    tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
                await db.dispose()
                return tables
            finally:
                await drop_database(server, "govdata_test_private")

        assert {"resource", "outbox", "alembic_version"} <= set(asyncio.run(migrate()))
    finally:
        if private is not None:
            private.stop()
    with pytest.raises(OSError):
        asyncio.run(server_version(server, timeout=2))


@pytest.mark.parametrize("where", ["GOVDATA_TEST_POSTGRES", "CI"])
def test_a_named_server_or_ci_never_falls_back_to_a_private_one(monkeypatch, where):
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}"
    monkeypatch.delenv("GOVDATA_TEST_POSTGRES", raising=False)
    if where == "CI":
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.setenv("GOVDATA_TEST_POSTGRES", nobody)
    with pytest.raises(RuntimeError, match="unreachable"):
        choose_server(default=nobody)


def _event(n: int):
    return new_event("access.reset_test.recorded", f"s-{n}", {"n": n}, version=1, actor="t", dept=None, source="t")


@pytest.mark.backends("postgres", "sqlite")
async def test_each_test_gets_the_migrated_state_back_sequences_and_seed_rows_included(migrated, backend, tmp_path):
    async def outbox_and_head(url: str) -> tuple[list[int], tuple]:
        db = Database(url)
        try:
            async with db.session() as session:
                seqs = list((await session.execute(sa.select(outbox_table.c.seq))).scalars())
                head = (await session.execute(sa.text("SELECT seq, hash FROM audit_chain_head"))).one()
            return seqs, tuple(head)
        finally:
            await db.dispose()

    url = await migrated.fresh("audit_svc", backend, tmp_path)
    assert await outbox_and_head(url) == ([], (0, bytes(32)))
    db = Database(url)
    async with db.session() as session:
        for n in range(3):
            await add_event(session, _event(n))
        await session.execute(sa.text("UPDATE audit_chain_head SET seq = 7, hash = :h"), {"h": b"\x01" * 32})
    await db.dispose()
    assert await outbox_and_head(url) == ([1, 2, 3], (7, b"\x01" * 32))

    again = await migrated.fresh("audit_svc", backend, tmp_path)
    assert await outbox_and_head(again) == ([], (0, bytes(32)))
    db = Database(again)
    async with db.session() as session:
        await add_event(session, _event(9))
    await db.dispose()
    assert (await outbox_and_head(again))[0] == [1]  # numbering starts over
