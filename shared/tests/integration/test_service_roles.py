"""Every component runs as a role that owns nothing (deploy/k8s/README.md "Secrets"): on real Postgres, for each
package with run-time grants, the migration command run as the owner with `--service-role` leaves a fresh role
able to do what the service does and nothing more, and closes the database to every other role."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import sqlalchemy as sa
from aiokafka.structs import ConsumerRecord
from alembic.script import ScriptDirectory
from catalog_svc.main import SPEC as CATALOG
from govdata_local.postgres import create_database, drop_database, libpq_url
from govdata_shared.consumer import IdempotentConsumer, failed_event_table, processed_event_table
from govdata_shared.db import Database
from govdata_shared.events import new_event
from govdata_shared.migrations import alembic_config
from govdata_shared.migrations import main as migrate_main
from govdata_shared.outbox import OutboxRelay, add_event, outbox_table
from govdata_shared.service import create_service_app
from govdata_shared.settings import Settings
from govdata_shared.testing import MovableClock, running_app
from sqlalchemy.engine import make_url

# Every package whose migrations declare run-time grants (`<package>.migrations.grants`).
PACKAGES = ("catalog_svc", "sharing_svc", "verification_svc", "notify_svc", "audit_svc", "govdata_gateway")


@dataclass
class Granted:
    package: str
    owner_url: str  # SQLAlchemy URL, as the superuser who owns the database here
    role: str
    stranger: str  # a login role granted nothing

    def url(self, role: str, driver: str = "postgresql+asyncpg") -> str:
        """The database's URL as `role` (the test server trusts its local logins: no password)."""
        return make_url(self.owner_url).set(drivername=driver, username=role).render_as_string(hide_password=False)

    async def connect(self, role: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.url(role, "postgresql"))


async def migrate(package: str, url: str, role: str) -> int:
    # The migration Job's command line; alembic runs an event loop of its own.
    return await asyncio.to_thread(migrate_main, [package, "--url", url, "--service-role", role])


@pytest.fixture(scope="module", params=PACKAGES)
async def granted(request: pytest.FixtureRequest, postgres_server: str) -> AsyncIterator[Granted]:
    """A fresh database of the package, migrated as the owner and granted to a fresh login role; another fresh
    role that could connect before the migration. Dropped afterwards, the database first (with what was granted
    in it, and the sessions of the roles), then the roles."""
    package, run = request.param, uuid.uuid4().hex[:8]
    label = package.removesuffix("_svc").replace("govdata_", "")
    name = f"govdata_test_roles_{label}_{run}"
    role, stranger = f"govdata_test_{label}_app_{run}", f"govdata_test_{label}_stranger_{run}"
    admin = await asyncpg.connect(libpq_url(postgres_server, "postgres"))
    try:
        owner_url = await create_database(postgres_server, name)
        for login in (role, stranger):
            await admin.execute(f'CREATE ROLE "{login}" LOGIN')
        setup = Granted(package, owner_url, role, stranger)
        before = await setup.connect(stranger)  # PUBLIC may connect to a new database: the migration changes that
        await before.close()
        assert await migrate(package, owner_url, role) == 0
        yield setup
    finally:
        await drop_database(postgres_server, name)
        for login in (role, stranger):
            await admin.execute(f'DROP ROLE IF EXISTS "{login}"')
        await admin.close()


async def test_every_table_is_granted_to_the_role_which_owns_nothing(granted: Granted) -> None:
    conn = await granted.connect(granted.role)
    try:
        assert await conn.fetchval("SELECT current_user") == granted.role
        tables = await public_tables(conn)
        assert "alembic_version" in tables
        # A table added by a migration without its grant in grants.py fails here.
        ungranted = [
            t
            for t in tables
            if t != "alembic_version"
            and not await conn.fetchval("SELECT has_table_privilege($1, 'SELECT, INSERT, UPDATE, DELETE')", t)
        ]
        assert not ungranted, f"{granted.package}: no grant on {ungranted} (migrations/grants.py)"
        beyond = [
            t
            for t in tables
            if await conn.fetchval("SELECT has_table_privilege($1, 'TRUNCATE, REFERENCES, TRIGGER')", t)
        ]
        assert not beyond, f"{granted.package}: TRUNCATE, REFERENCES or TRIGGER on {beyond}"
        sequences = [r["name"] for r in await conn.fetch("SELECT sequencename AS name FROM pg_sequences")]
        assert sequences, "every schema has the outbox's sequence at least"
        unusable = [s for s in sequences if not await conn.fetchval("SELECT has_sequence_privilege($1, 'USAGE')", s)]
        assert not unusable, f"{granted.package}: no USAGE on {unusable}"
        owned = await conn.fetchval(
            "SELECT count(*) FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND deptype = 'o'"
            " AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        assert owned == 0, f"{granted.role} owns {owned} objects"
    finally:
        await conn.close()


async def test_the_role_cannot_change_the_schema_nor_its_revision(granted: Granted) -> None:
    head = ScriptDirectory.from_config(alembic_config(granted.package, granted.owner_url)).get_current_head()
    conn = await granted.connect(granted.role)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == head, "the revision is readable"
        tables = await public_tables(conn)
        attempts = {
            "CREATE TABLE probe (id integer)": "permission denied for schema public",
            "CREATE TEMPORARY TABLE probe (id integer)": "permission denied to create temporary tables",
            "CREATE SCHEMA probe": "permission denied for database",
            "INSERT INTO alembic_version VALUES ('probe')": "permission denied for table alembic_version",
            "UPDATE alembic_version SET version_num = 'probe'": "permission denied for table alembic_version",
            "DELETE FROM alembic_version": "permission denied for table alembic_version",
        }
        for table in tables:
            attempts[f'ALTER TABLE "{table}" ADD COLUMN probe integer'] = f"must be owner of table {table}"
            attempts[f'DROP TABLE "{table}"'] = f"must be owner of table {table}"
        for statement, refusal in attempts.items():
            with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
                await conn.execute(statement)
            assert refusal in str(refused.value), f"{statement}: {refused.value}"
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == head
    finally:
        await conn.close()


async def test_no_other_role_may_connect(granted: Granted) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
        await granted.connect(granted.stranger)
    conn = await granted.connect(granted.role)
    try:
        for privilege in ("CONNECT", "TEMPORARY"):
            assert not await conn.fetchval(
                "SELECT has_database_privilege('public', current_database(), $1)", privilege
            ), f"PUBLIC keeps {privilege}"
    finally:
        await conn.close()


async def test_migrating_again_grants_the_same(granted: Granted) -> None:
    async def privileges() -> list[asyncpg.Record]:
        conn = await granted.connect(granted.role)
        try:
            return await conn.fetch(
                "SELECT 'database', datacl::text FROM pg_database WHERE datname = current_database()"
                " UNION ALL SELECT c.relname, c.relacl::text FROM pg_class c"
                " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S')"
                " UNION ALL SELECT c.relname || '.' || a.attname, a.attacl::text FROM pg_attribute a"
                " JOIN pg_class c ON c.oid = a.attrelid"
                " WHERE c.relnamespace = 'public'::regnamespace AND a.attacl IS NOT NULL ORDER BY 1"
            )
        finally:
            await conn.close()

    first = await privileges()
    assert any(granted.role in (acl or "") for _, acl in first)
    assert await migrate(granted.package, granted.owner_url, granted.role) == 0
    assert await privileges() == first


async def test_the_shared_event_machinery_works_as_the_role(granted: Granted) -> None:
    """What every component does with its event tables: stage in the outbox, relay (lock, mark, prune), consume
    (look up, record) and set aside an event that cannot be read."""
    db = Database(granted.url(granted.role))
    try:
        event = new_event("identity.roles_test.recorded", "t-1", {}, version=1, actor=None, dept=None, source="/t")
        async with db.session() as session:
            await add_event(session, event)
        relay = OutboxRelay(db, SentProducer(), retention=timedelta(0))
        assert await relay.publish_pending() == 1
        await relay.delete_published()
        consumer = IdempotentConsumer(db, Settings(), name="roles-test", topics=())
        first, again, unreadable = record(event.to_json(), 1), record(event.to_json(), 2), record(b"{", 3)
        assert await consumer.apply([consumer._decode(first)]) == 1
        assert await consumer.apply([consumer._decode(again), consumer._decode(unreadable)]) == 0
        async with db.reading() as session:
            assert (await session.execute(sa.select(sa.func.count()).select_from(outbox_table))).scalar_one() == 0
            processed = sa.select(processed_event_table.c.event_id).where(
                processed_event_table.c.consumer == "roles-test"
            )
            assert list((await session.execute(processed)).scalars()) == [event.id]
            failed = sa.select(sa.func.count(failed_event_table.c.id))
            assert (await session.execute(failed)).scalar_one() == 1, "the unreadable one, set aside"
    finally:
        await db.dispose()


@pytest.mark.parametrize("granted", [CATALOG.package], indirect=True)
async def test_the_catalog_registers_reviews_and_finds_a_resource_as_the_role(granted: Granted, test_tokens, tmp_path):
    settings = Settings(
        service_name="catalog",
        database_url=granted.url(granted.role),
        migrate_on_start=False,
        govdata_data_dir=tmp_path,
        log_json=False,
    )
    app = create_service_app(CATALOG, settings, broker=False)
    clock = MovableClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    async with running_app(app, verifier=test_tokens.verifier(), clock=clock) as client:
        created = await client.post("/api/catalog/resources", json=POPULATION, headers=test_tokens.as_("ga"))
        assert created.status_code == 201, created.text
        resource = created.json()["id"]
        submitted = await client.post(f"/api/catalog/resources/{resource}/submit", headers=test_tokens.as_("ga"))
        assert submitted.status_code == 200, submitted.text
        reviewed = await client.post(
            f"/api/catalog/resources/{resource}/review", json={"decision": "approve"}, headers=test_tokens.as_("bureau")
        )
        assert reviewed.status_code == 200, reviewed.text
        found = await client.get("/api/catalog/resources", params={"q": "户籍人口"}, headers=test_tokens.as_("rs"))
        assert found.status_code == 200, found.text
        assert [r["id"] for r in found.json()["items"]] == [resource]


def test_a_package_without_declared_grants_is_refused_a_role(tmp_path, monkeypatch) -> None:
    """Before anything is migrated: a role granted nothing would only fail at the service's first query."""
    migrations = tmp_path / "ungranted_svc" / "migrations"
    migrations.mkdir(parents=True)
    (migrations.parent / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    url = f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"
    with pytest.raises(SystemExit, match="declares no run-time grants"):
        migrate_main(["ungranted_svc", "--url", url, "--service-role", "x"])
    assert not (tmp_path / "u.db").exists(), "nothing was migrated"


class SentProducer:
    """Stands in for Kafka: every send is acknowledged at once."""

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future:
        sent = asyncio.get_running_loop().create_future()
        sent.set_result(None)
        return sent


async def public_tables(conn: asyncpg.Connection) -> list[str]:
    return [r["name"] for r in await conn.fetch("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")]


def record(value: bytes, offset: int) -> ConsumerRecord:
    return ConsumerRecord("govdata.identity.v1", 0, offset, 0, 0, None, value, None, 0, len(value), ())


POPULATION = {
    "code": "101001/000001",
    "name": "户籍人口基本信息",
    "summary": "伊川县户籍人口的姓名、性别、出生日期等基本信息，供各部门办理业务核验身份使用。",
    "category": "base",
    "format": "api",
    "items": [
        {"code": "id_number", "name": "公民身份号码", "type": "C", "length": 18, "authoritative": True},
        {"code": "name", "name": "姓名", "type": "C", "length": 50},
    ],
    "sharing_type": "unconditional",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {"base_url": "http://127.0.0.1:8900/ga/population", "path_prefixes": ["/records"]},
    "no_state_secrets": True,
}
