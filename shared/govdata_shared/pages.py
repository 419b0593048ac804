"""Pages of a listing kept while the rows under them are unchanged.

A listing page is a function of what the caller may see, the query and the rows it reads (and, for some, of the
day). The portal asks for the same first pages on every visit, and rendering one costs milliseconds of CPU
(queries, models, JSON), so each page is kept, as its JSON, beside the version of the data it was made from.

The version is one row the database itself moves forward (`create_data_version`): a trigger on every table a
listing reads advances it in the transaction that changes the table, so a change is seen at the next request
whichever process made it: this one, another replica, a migration or an operator's SQL. A request reads the
version first (one row, before its own transaction begins: Database.read_value), then either answers with the
kept page or renders a new one, in a transaction that starts after that read, and keeps it under the version
read before. A page rendered while a change commits is thus kept under the older version and made again at the
next request: a kept page may be made again needlessly, never answered once its data has changed.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from govdata_shared.auth import Caller
from govdata_shared.db import DATABASE, Database

PAGES_SERVED = Counter("govdata_listing_pages_total", "Listing pages answered, kept or rendered", ["listing", "kept"])

DATA_VERSION_TABLE = "data_version"
DATA_VERSION = f"SELECT version FROM {DATA_VERSION_TABLE}"
"""The version that the triggers of `create_data_version` advance."""

_VERSIONS_READ = "govdata_data_versions_read"  # session.info: statement → the version this session read

# Bookkeeping of the shared outbox and consumer: written on every event sent or taken, read by no listing.
_BOOKKEEPING = frozenset({"outbox", "processed_event", "failed_event", "alembic_version", DATA_VERSION_TABLE})


async def data_version(session: AsyncSession, statement: str = DATA_VERSION) -> Any:
    """The data version for this reading session (Database.reading), read once before its transaction begins:
    every layer of a request that keeps something by version (kept pages, the catalog's ranked windows) keys it
    by the same reading, with one round trip."""
    read = session.info.setdefault(_VERSIONS_READ, {})
    if statement not in read:
        read[statement] = await session.info[DATABASE].read_value(session, statement)
    return read[statement]


def department_view(caller: Caller) -> Hashable:
    """The view key of a listing whose rules read only the caller's department and roles (whether it oversees,
    acts for a department, is the bureau or the gateway): people of one department and role share its pages."""
    return (caller.dept, caller.roles)


def identity_view(caller: Caller) -> Hashable:
    """The view key of a listing whose rules read more of the caller (a citizen's own records): everything the
    request's identity carries but its token id, so its pages are kept per person."""
    return (caller.sub, caller.dept, caller.roles, caller.subject_id, caller.client_id, caller.scope)


def json_of(adapter: TypeAdapter[Any], value: Any) -> bytes:
    """`value` (ORM rows or models) as the JSON of the route's response model, validated and serialized once."""
    return adapter.dump_json(adapter.validate_python(value, from_attributes=True))


@dataclass(slots=True)
class _Kept:
    version: Any
    body: bytes


class _Store:
    """The kept pages of one listing in one database, the least recently asked-for dropped beyond max_bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.pages: OrderedDict[Hashable, _Kept] = OrderedDict()
        self.bytes = 0

    def get(self, key: Hashable, version: Any) -> bytes | None:
        kept = self.pages.get(key)
        if kept is None or kept.version != version:
            return None
        self.pages.move_to_end(key)
        return kept.body

    def keep(self, key: Hashable, version: Any, body: bytes) -> None:
        old = self.pages.pop(key, None)
        if old is not None:
            self.bytes -= len(old.body)
        if len(body) > self.max_bytes:
            return
        self.pages[key] = _Kept(version, body)
        self.bytes += len(body)
        while self.bytes > self.max_bytes:
            _, dropped = self.pages.popitem(last=False)
            self.bytes -= len(dropped.body)


class PageCache:
    """The kept pages of one listing, up to `max_bytes` of JSON for each database it is read from (a process
    reads one; a test run many, one after another, whose versions would otherwise collide). `version`: the query
    of the listing's data version, one row and one value."""

    def __init__(self, listing: str, version: str = DATA_VERSION, *, max_bytes: int = 16 << 20) -> None:
        self.listing = listing
        self.version = version
        self.max_bytes = max_bytes
        self._stores: weakref.WeakKeyDictionary[Database, _Store] = weakref.WeakKeyDictionary()
        self._served_kept = PAGES_SERVED.labels(listing, "true")  # bound once: looked up on every request
        self._served_rendered = PAGES_SERVED.labels(listing, "false")

    async def respond(self, session: AsyncSession, key: Hashable, render: Callable[[], Awaitable[bytes]]) -> Response:
        """The page for `key` (the caller's view, the query and whatever else the page depends on) as a JSON
        response: the kept one while the data version is unchanged, else `render()`'s, kept from then on.
        `session`: the route's reading session (Database.reading), which a kept page leaves unused."""
        db: Database = session.info[DATABASE]
        version = await data_version(session, self.version)
        store = self.store(db)
        body = store.get(key, version)
        if body is not None:
            self._served_kept.inc()
            return _json(body)
        body = await render()
        store.keep(key, version, body)
        self._served_rendered.inc()
        return _json(body)

    def store(self, db: Database) -> _Store:
        store = self._stores.get(db)
        if store is None:
            store = self._stores[db] = _Store(self.max_bytes)
        return store


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


# --------------------------------------------------------------------------------------------- migrations

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION govdata_advance_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction, at its commit (the trigger is deferred): the row is locked only for the instant
    -- before the commit, after every other lock the transaction takes, so writers cannot deadlock on it.
    IF current_setting('govdata.data_version_advanced', true) IS DISTINCT FROM 'yes' THEN
        UPDATE {DATA_VERSION_TABLE} SET version = version + 1;
        PERFORM set_config('govdata.data_version_advanced', 'yes', true);
    END IF;
    RETURN NULL;
END $$
"""


def create_data_version(tables: list[str]) -> None:
    """The data version and its triggers on `tables` (every table a listing reads); call from a migration, and
    again for a table added later (`add_data_version_triggers`). A SQLite table rebuilt by `batch_alter_table`
    loses its triggers: add them again after (tests/check: `data_version_gaps`)."""
    from alembic import op

    op.create_table(
        DATA_VERSION_TABLE,
        sa.Column(
            "id",
            sa.Integer(),
            sa.CheckConstraint("id = 1", name="ck_data_version_one_row"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.execute(f"INSERT INTO {DATA_VERSION_TABLE} (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
    add_data_version_triggers(tables)


def add_data_version_triggers(tables: list[str]) -> None:
    from alembic import op

    postgres = op.get_bind().dialect.name == "postgresql"
    for table in tables:
        if postgres:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION govdata_advance_data_version()"
            )
        else:
            for change in ("insert", "update", "delete"):
                op.execute(
                    f"CREATE TRIGGER {table}_data_version_{change} AFTER {change.upper()} ON {table} "
                    f"BEGIN UPDATE {DATA_VERSION_TABLE} SET version = version + 1; END"
                )


def drop_data_version(tables: list[str]) -> None:
    from alembic import op

    postgres = op.get_bind().dialect.name == "postgresql"
    for table in tables:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")
        else:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version_{change}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS govdata_advance_data_version()")
    op.drop_table(DATA_VERSION_TABLE)


def data_version_gaps(connection: sa.Connection) -> list[str]:
    """The tables of the database whose changes would not advance the data version (all but the shared
    bookkeeping should): what a test asserts empty for every service."""
    tables = set(sa.inspect(connection).get_table_names()) - _BOOKKEEPING
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            sa.text(
                # deferred, per row, on INSERT (4), DELETE (8) and UPDATE (16)
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = c.relname || '_data_version' AND t.tgdeferrable AND t.tgtype & 29 = 29"
            )
        )
        return sorted(tables - {name for (name,) in rows})
    triggers: dict[str, set[str]] = {}
    for table, name in connection.execute(sa.text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")):
        triggers.setdefault(table, set()).add(name)
    # SQLite's full-text index (a virtual table and its shadow tables) follows a watched table; it takes no trigger.
    virtual = (
        connection.execute(
            sa.text("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")
        )
        .scalars()
        .all()
    )
    return sorted(
        table
        for table in tables
        if not any(table == v or table.startswith(v + "_") for v in virtual)
        and not {f"{table}_data_version_{c}" for c in ("insert", "update", "delete")} <= triggers.get(table, set())
    )
