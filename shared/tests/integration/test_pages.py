"""Kept listing pages (govdata_shared.pages) on the services' real migrated databases, SQLite and Postgres: every
table a listing could read advances the data version, a writing transaction advances it once and only when it
commits, crossing writers do not deadlock on it, and a kept page is answered only while the version stands."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from govdata_shared.db import Database
from govdata_shared.pages import DATA_VERSION, PageCache, data_version_gaps

# The services whose listings keep their pages by the data version (audit's trail goes by its chain head).
PACKAGES = ("catalog_svc", "sharing_svc", "verification_svc")

pytestmark = pytest.mark.backends("sqlite", "postgres")


@pytest.fixture
async def verification_db(migrated, backend, tmp_path):
    db = Database(await migrated.fresh("verification_svc", backend, tmp_path))
    yield db
    await db.dispose()


async def version(db: Database) -> int:
    async with db.reading() as session:
        return (await session.execute(sa.text(DATA_VERSION))).scalar_one()


def insert_resource(resource_id: str) -> sa.TextClause:
    return sa.text(
        "INSERT INTO verifiable_resource"
        " (resource_id, provider_dept, name, items, status, revision, event_version, updated_at)"
        f" VALUES ('{resource_id}', 'YC-GA', '户籍', '[]', 'published', 1, 1, '2026-12-01 00:00:00+00')"
    )


@pytest.mark.parametrize("package", PACKAGES)
async def test_every_table_but_the_bookkeeping_advances_the_version(migrated, backend, tmp_path, package):
    db = Database(await migrated.fresh(package, backend, tmp_path))
    try:
        async with db.engine.connect() as conn:
            gaps = await conn.run_sync(data_version_gaps)
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await db.dispose()
    assert gaps == [], f"{package}: tables a listing could read with no data-version trigger"
    assert "data_version" in tables


async def test_a_transaction_advances_the_version_once_when_it_commits(verification_db):
    db = verification_db
    before = await version(db)
    async with db.session() as session:
        await session.execute(insert_resource("res-a"))
        await session.execute(insert_resource("res-b"))
        await session.execute(sa.text("UPDATE verifiable_resource SET name = '婚姻' WHERE resource_id = 'res-a'"))
    assert await version(db) == before + (1 if db.is_postgres else 3)  # SQLite: once a row, still one writer
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await session.execute(sa.text("DELETE FROM verifiable_resource"))
            raise RuntimeError("rolled back")
    assert await version(db) == before + (1 if db.is_postgres else 3), "a rolled-back change leaves it"
    async with db.session() as session:
        await session.execute(sa.text("DELETE FROM verifiable_resource WHERE resource_id = 'res-b'"))
    assert await version(db) > before + 1


@pytest.mark.parametrize("backend", ["postgres"])
async def test_writers_crossing_rows_do_not_deadlock_on_the_version(verification_db):
    """Each transaction takes the version's row only at its commit, after its other locks: one that waits for
    another's row never holds the version meanwhile."""
    db = verification_db
    async with db.session() as session:
        await session.execute(insert_resource("res-a"))
        await session.execute(insert_resource("res-b"))
    before = await version(db)
    first_holds_a, second_holds_b = asyncio.Event(), asyncio.Event()

    async def write(mine: str, theirs: str, holding: asyncio.Event, other: asyncio.Event) -> None:
        async with db.session() as session:
            await session.execute(sa.text(f"UPDATE verifiable_resource SET name = 'x' WHERE resource_id = '{mine}'"))
            holding.set()
            await other.wait()
            if mine == "res-a":  # the first one waits for the second's row; the second commits meanwhile
                await session.execute(
                    sa.text(f"UPDATE verifiable_resource SET name = 'y' WHERE resource_id = '{theirs}'")
                )

    await asyncio.wait_for(
        asyncio.gather(
            write("res-a", "res-b", first_holds_a, second_holds_b),
            write("res-b", "res-a", second_holds_b, first_holds_a),
        ),
        timeout=10,
    )
    assert await version(db) == before + 2


async def test_a_kept_page_is_answered_while_the_version_stands(verification_db):
    db, renders = verification_db, []
    pages = PageCache("test.pages")

    async def respond(key: str) -> bytes:
        async def render() -> bytes:
            async with db.reading() as fresh:  # the listing's own read, in its own transaction here
                count = (await fresh.execute(sa.text("SELECT count(*) FROM verifiable_resource"))).scalar_one()
            renders.append(key)
            return f'{{"key": "{key}", "count": {count}}}'.encode()

        async with db.reading() as session:
            response = await pages.respond(session, key, render)
        assert response.media_type == "application/json"
        return response.body

    assert await respond("a") == b'{"key": "a", "count": 0}'
    assert await respond("a") == b'{"key": "a", "count": 0}'
    assert await respond("b") == b'{"key": "b", "count": 0}'
    assert renders == ["a", "b"]
    async with db.session() as session:  # any writer: this process, another replica, an operator's SQL
        await session.execute(insert_resource("res-a"))
    assert await respond("a") == b'{"key": "a", "count": 1}'
    assert await respond("a") == b'{"key": "a", "count": 1}'
    assert renders == ["a", "b", "a"]

    other = Database(db.url)  # another engine on the same database keeps pages of its own
    try:
        async with other.reading() as session:
            assert (await pages.respond(session, "a", lambda: asyncio.sleep(0, b"{}"))).body == b"{}"
        assert list(pages.store(other).pages) == ["a"]
    finally:
        await other.dispose()


async def test_pages_beyond_the_limit_drop_the_least_recently_asked(verification_db):
    db = verification_db
    pages = PageCache("test.limit", max_bytes=30)

    async def respond(key: str, body: bytes) -> bytes:
        async with db.reading() as session:
            return (await pages.respond(session, key, lambda: asyncio.sleep(0, body))).body

    await respond("a", b"a" * 10)
    await respond("b", b"b" * 10)
    await respond("c", b"c" * 10)
    assert await respond("a", b"new") == b"a" * 10  # kept, and now the most recent
    await respond("d", b"d" * 10)  # over 30 bytes: b, the least recent, goes
    assert await respond("b", b"b2") == b"b2"
    assert await respond("c", b"c2") == b"c2"  # c went when b came back
    assert await respond("x", b"x" * 31) == b"x" * 31  # larger than the limit: answered, not kept
    assert await respond("x", b"again") == b"again"


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_cut_database_connection_is_a_503_and_the_next_request_reconnects(service_app, test_tokens):
    """No ping before each use (govdata_shared.db): a pooled connection that the server cut (a failover,
    PgBouncer restarting) fails the one request that finds it, as 503 with Retry-After, not 500; the pool drops
    it with every connection opened before it, and the next request answers."""
    from verification_svc.main import SPEC

    app, client = await service_app(SPEC)
    bureau = test_tokens.headers("zsj-admin", "YC-ZSJ", ["bureau_admin"])
    assert (await client.get("/api/verification/corrections", headers=bureau)).status_code == 200
    async with app.state.db.engine.connect() as pooled:  # the one connection the app's pool holds
        pid = (await pooled.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    other = Database(app.state.db.url)  # cut from outside the pool
    try:
        async with other.engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()
    cut = await client.get("/api/verification/corrections", headers=bureau)
    assert cut.status_code == 503, cut.text
    assert cut.json()["code"] == "database_unavailable" and cut.headers["retry-after"] == "1"
    again = await client.get("/api/verification/corrections", headers=bureau)
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("backend", ["postgres"])
async def test_postgres_sessions_run_without_jit(verification_db):
    """JIT compiles statements whose estimate passes jit_above_cost: 11 ms of a 92 ms catalog search at 100,000
    resources. The platform's statements take milliseconds, so its Postgres connections turn it off."""
    async with verification_db.reading() as session:
        assert (await session.execute(sa.text("SHOW jit"))).scalar_one() == "off"
    async with verification_db.session() as session:
        assert (await session.execute(sa.text("SHOW jit"))).scalar_one() == "off"
