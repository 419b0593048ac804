"""The Postgres server the tests use, and databases on it.

`GOVDATA_TEST_POSTGRES` names a server (default postgresql://postgres@127.0.0.1:5432). When it is unset and
nothing answers there, `make test` starts a private PostgreSQL 16 for the run from the `pgserver` wheel
(listening on a Unix socket in a temporary folder) and stops it afterwards — so the README's two commands also
hold on a laptop. In CI (`CI` set) the machine's server must answer: an unreachable one fails the run.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
_DB_NAME = re.compile(r"^[a-z0-9_]{1,60}$")


def database_url(server: str, name: str, *, driver: str = "postgresql+asyncpg") -> str:
    """The URL of database `name` on `server` (a TCP or a Unix-socket server URL), for SQLAlchemy by default."""
    url = make_url(server).set(drivername=driver, database=name)
    return url.render_as_string(hide_password=False)


def libpq_url(server: str, name: str) -> str:
    """The same as a plain postgresql:// URL, as asyncpg and libpq take it."""
    return database_url(server, name, driver="postgresql")


async def server_version(server: str, timeout: float = 5) -> str:
    conn = await asyncpg.connect(libpq_url(server, "postgres"), timeout=timeout)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def _check_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"unsafe database name {name!r}")


async def create_database(server: str, name: str) -> str:
    """Drop and create database `name`; returns its SQLAlchemy async URL."""
    _check_name(name)
    conn = await asyncpg.connect(libpq_url(server, "postgres"), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await conn.close()
    return database_url(server, name)


async def drop_database(server: str, name: str) -> None:
    _check_name(name)
    conn = await asyncpg.connect(libpq_url(server, "postgres"), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class PrivatePostgres:
    """A PostgreSQL 16 of our own (the `pgserver` wheel's binaries) in a temporary folder, for one test run."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._server = None

    def start(self) -> str:
        self._folder = Path(tempfile.mkdtemp(prefix="govdata-pg-"))
        with _quiet():
            import pgserver  # a development dependency only

            self._server = pgserver.get_server(self._folder / "pgdata", cleanup_mode="stop")
            uri = make_url(self._server.get_uri())
        # pgserver listens on a socket only: keep its user and host (the socket folder), nothing else.
        server = URL.create(uri.drivername, username=uri.username, host=uri.host, port=uri.port, query=uri.query)
        return server.render_as_string(hide_password=False)

    def stop(self) -> None:
        if self._server is not None:
            with _quiet():
                self._server.cleanup()
            # pgserver also cleans up at exit, logging into streams pytest has closed by then: done already.
            atexit.unregister(self._server._cleanup)
            self._server = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pgserver's platformdirs warns whenever XDG_RUNTIME_DIR is unset (CI, root shells): nothing to act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def choose_server(default: str = DEFAULT_SERVER) -> tuple[str, PrivatePostgres | None, str]:
    """(server URL, the private server started for it or None, its version). Raises when none can be had."""
    given = os.environ.get("GOVDATA_TEST_POSTGRES")
    server = given or default
    try:
        return server, None, asyncio.run(server_version(server))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if given or os.environ.get("CI"):
            raise RuntimeError(f"Postgres at {server} is unreachable: {exc}") from exc
    private = PrivatePostgres()
    try:
        server = private.start()
        return server, private, asyncio.run(server_version(server))
    except BaseException:
        private.stop()
        raise
