"""Schema migrations per service with alembic.

Each service keeps `<package>/migrations/` (env.py + versions/). Its env.py is two lines that call
`run_env()`; migrations run at start-up (`MIGRATE_ON_START`) or by command:

    python -m govdata_shared.migrations catalog_svc            # upgrade to head
    python -m govdata_shared.migrations catalog_svc --url ...  # another database
    python -m govdata_shared.migrations audit_svc --service-role audit_writer   # then grant the run-time role

In production every component runs as a role that owns nothing (so it can neither change the schema nor switch
off audit-svc's append-only triggers): the migration runs as the owner and then grants that role exactly
`<package>.migrations.grants`'s `SERVICE_GRANTS`, and closes the database to everyone else — PUBLIC loses CONNECT
and TEMPORARY, the role gets CONNECT. The grants are applied on every run (GRANT and REVOKE are idempotent), so a
new table's grant lands with the migration that adds it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.resources
import sys

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(package: str, url: str) -> Config:
    location = importlib.resources.files(package).joinpath("migrations")
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(package: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(package, url), revision)


async def upgrade_async(package: str, url: str, revision: str = "head") -> None:
    # env.py runs its own event loop; give it a thread of its own.
    await asyncio.to_thread(upgrade, package, url, revision)


def service_grants(package: str, url: str, role: str) -> list[str]:
    """The GRANT statements of `package` for `role` (quoted). Refuses, before anything is migrated, a package
    that declares none (a role granted nothing would only fail later, at the service's first query) and a
    database that is not Postgres."""
    try:
        module = importlib.import_module(f"{package}.migrations.grants")
    except ModuleNotFoundError:
        raise SystemExit(f"{package} declares no run-time grants (no {package}.migrations.grants)") from None
    if not url.startswith("postgresql"):
        raise SystemExit("a service role is a Postgres setting; this database is not Postgres")
    return [statement.format(role=quote_identifier(role)) for statement in module.SERVICE_GRANTS]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect_grants(database: str, role: str) -> list[str]:
    """Only `role` (and the owner, and superusers) may connect to `database`: Postgres lets PUBLIC connect to
    every database and create temporary tables in it by default."""
    quoted = quote_identifier(database)
    return [
        f"REVOKE CONNECT, TEMPORARY ON DATABASE {quoted} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {quoted} TO {quote_identifier(role)}",
    ]


def apply_grants(url: str, statements: list[str], role: str | None = None) -> None:
    """Run `statements` in one transaction; with `role`, then also `connect_grants` of the URL's database."""

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.execute(sa.text(statement))
                if role is not None:
                    database = (await connection.execute(sa.text("SELECT current_database()"))).scalar_one()
                    for statement in connect_grants(database, role):
                        await connection.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


def run_env() -> None:
    """Body of every service's migrations/env.py (online mode, async engines)."""
    url = context.config.get_main_option("sqlalchemy.url")

    def do_run(connection: sa.Connection) -> None:
        context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(do_run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


def create_event_tables() -> None:
    """The outbox and consumer bookkeeping every service has; call from its first migration."""
    from alembic import op

    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["seq"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "processed_event",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "failed_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )


def main(argv: list[str] | None = None) -> int:
    from govdata_shared.settings import Settings

    parser = argparse.ArgumentParser(description="Apply a service's migrations.")
    parser.add_argument("package", help="service package, e.g. catalog_svc")
    parser.add_argument("--url", help="database URL (default: DATABASE_URL or the service's SQLite file)")
    parser.add_argument("--revision", default="head")
    parser.add_argument("--service-role", help="then grant this role the run-time grants (DATABASE_SERVICE_ROLE)")
    args = parser.parse_args(argv)
    settings = Settings(service_name=args.package.removesuffix("_svc"))
    url = args.url or settings.effective_database_url()
    role = args.service_role or settings.database_service_role
    grants = service_grants(args.package, url, role) if role else []
    upgrade(args.package, url, args.revision)
    print(f"{args.package}: migrated to {args.revision}")
    if grants:
        apply_grants(url, grants, role)
        print(f"{args.package}: {len(grants)} grants to role {role}; only it connects besides the owner")
    return 0


if __name__ == "__main__":
    sys.exit(main())
