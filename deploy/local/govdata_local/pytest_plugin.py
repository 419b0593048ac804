"""The platform's pytest plugin (registered by the repository's conftest.py): tests in layers, on real components.

Layers, by the folder a test lives in:
- `unit/` — pure functions and fixed files: no database, no broker, no network (refused at collection);
- `integration/` — one service (or the gateway, or a shared module) against real Postgres, SQLite where the
  dialect matters, and the real broker only where events must travel;
- `contract/` — event and API contracts; `e2e/` — the platform as processes, through the gateway;
- `browser/` — the platform as `make run` starts it, used by people in real Chromium (Playwright, axe).
`make test` runs every layer, on two pytest-xdist workers; `make test-fast` runs `-m "unit or contract"`.

Parallel runs (pytest-xdist, `--dist loadfile`): each worker is a pytest session of its own, with its own broker
(the services' consumer groups have fixed names, `<service>-svc`: two workers' apps on one broker would split each
other's partitions), its own migrated databases (names carry a random run id), temporary folders and ports. A
test file runs whole, in its order, on one worker; the e2e and browser folders, which start the whole platform
once for their tests, each run whole on one worker, and first: they are the longest units (but not their
`own_platform/` tests, which start platforms of their own).

Databases: each service's migrations run once per backend per session (one Postgres database, one SQLite
template file); each test gets that database emptied back to its migrated state (Postgres) or a fresh copy of
the template (SQLite). Tests run on Postgres; a test marked `@pytest.mark.backends("postgres", "sqlite")`
also runs on SQLite, the embedded default of `make run` — for what the dialect changes (search, timestamps,
outbox, locking).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from govdata_shared.settings import REPO_ROOT, Settings
from govdata_shared.testing import MovableClock, TestTokens, running_app

from govdata_local.broker import LOCAL_BROKER_GROUP_TIMING, LocalBroker
from govdata_local.postgres import PrivatePostgres, choose_server, create_database, drop_database, libpq_url

if TYPE_CHECKING:  # the app factory and alembic load only when a test starts a service (test-fast never does)
    import httpx
    from fastapi import FastAPI
    from govdata_shared.service import ServiceSpec

LAYERS = {
    "unit": "pure functions and fixed files: no database, no broker, no network",
    "integration": "one component against real Postgres/SQLite (and the real broker where events travel)",
    "contract": "event and API contracts",
    "e2e": "the platform as processes, through the gateway",
    "browser": "the platform as make run starts it, in real Chromium (Playwright, axe)",
}
# Fixtures that reach a server: a unit or contract test asking for one is in the wrong folder.
IO_FIXTURES = frozenset(
    {"broker_bootstrap", "own_broker", "postgres_server", "postgres_database", "migrated", "service_app"}
)
BACKENDS = ("postgres", "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    for layer, meaning in LAYERS.items():
        config.addinivalue_line("markers", f"{layer}: {meaning} (set from the test's folder)")
    config.addinivalue_line(
        "markers", "backends(*names): database backends to run on (postgres, sqlite); default postgres only"
    )
    config.addinivalue_line(
        "markers", "broker: the service under test runs with the real broker (producer, relay, consumer)"
    )


def layer_of(item: pytest.Item) -> str | None:
    parts = item.path.relative_to(item.config.rootpath).parts
    return next((part for part in parts if part in LAYERS), None)


# --------------------------------------------------------------------------------------------- parallel runs

# Layers whose tests share one platform, started once for the folder (package scope): a parallel run gives each
# such folder to one worker whole, so the platform starts once, not once per worker.
PLATFORM_LAYERS = ("e2e", "browser")


# Tests that start a platform of their own (a broker they may freeze, a gateway they may kill) and never use the
# folder's shared one: each file is a unit like any other, so they run beside the shared platform's tests.
OWN_PLATFORM = "own_platform"


def platform_folder(nodeid: str) -> str | None:
    """`tests/e2e` for `tests/e2e/test_x.py::test_y` (and likewise browser/); None for a test of another layer
    and for one under an `own_platform/` folder."""
    parts = nodeid.split("::", 1)[0].split("/")[:-1]
    layer = next((i for i, part in enumerate(parts) if part in LAYERS), None)
    if layer is None or parts[layer] not in PLATFORM_LAYERS or OWN_PLATFORM in parts[layer:]:
        return None
    return "/".join(parts[: layer + 1])


# Seconds the longest units took in a full run (tests/durations.json; only their order matters). They are handed
# out first, longest first: xdist's own order (most tests first) left units of one or three long tests, which start
# processes of their own, to the end, where one ran alone for most of a minute while the other workers idled.
DURATIONS = REPO_ROOT / "tests" / "durations.json"


def hand_out_order(queue: OrderedDict[str, Any], folders: set[str], durations: dict[str, float]) -> None:
    """Reorder xdist's queue of units in place: platform folders, then the units of `durations` longest first,
    then the rest as they were."""
    for unit in sorted(durations.keys() & queue.keys(), key=durations.__getitem__):
        queue.move_to_end(unit, last=False)  # the longest ends up first
    for folder in folders & queue.keys():
        queue.move_to_end(folder, last=False)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, with each platform folder one unit; the platform folders, then the units known to be
    long (longest first), are handed out before the rest."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    durations: dict[str, float] = json.loads(DURATIONS.read_text(encoding="utf-8")) if DURATIONS.exists() else {}

    class PlatformFolders(LoadFileScheduling):
        def __init__(self, config: pytest.Config, log: Any) -> None:
            super().__init__(config, log)
            self.folders: set[str] = set()

        def _split_scope(self, nodeid: str) -> str:
            if folder := platform_folder(nodeid):
                self.folders.add(folder)
                return folder
            return super()._split_scope(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            hand_out_order(self.workqueue, self.folders, durations)
            super()._assign_work_unit(node)

    return PlatformFolders(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        layer = layer_of(item)
        if layer is None:
            problems.append(f"{item.nodeid}: not under a layer folder ({', '.join(LAYERS)})")
            continue
        item.add_marker(layer)
        if layer in ("unit", "contract") and (used := IO_FIXTURES & set(getattr(item, "fixturenames", ()))):
            problems.append(f"{item.nodeid}: a {layer} test may not use {', '.join(sorted(used))}")
    if problems:
        raise pytest.UsageError("tests out of their layer:\n  " + "\n  ".join(problems))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    explicit = {
        name.strip()
        for marker in metafunc.definition.iter_markers("parametrize")
        for name in (marker.args[0].split(",") if isinstance(marker.args[0], str) else marker.args[0])
    }
    if "backend" in explicit:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else ("postgres",)
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: unknown backends {sorted(unknown)}")
    metafunc.parametrize("backend", names)


# --------------------------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def broker_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a running Kafka-protocol broker for the whole test session: GOVDATA_TEST_KAFKA's in a
    run in one process, else one started here — in a parallel run, one for each worker (see the module's doc)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    given = os.environ.get("GOVDATA_TEST_KAFKA")
    if given and worker is None:
        yield given
        return
    with LocalBroker(log_file=REPO_ROOT / ".data" / "logs" / f"test-broker-{worker or 'main'}.log") as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of the Postgres server (no database): `make test` passes the one it chose in GOVDATA_TEST_POSTGRES."""
    private: PrivatePostgres | None = None
    try:
        server, private, _version = choose_server()
    except RuntimeError as exc:
        pytest.fail(f"{exc}; tests need the real server", pytrace=False)
    try:
        yield server
    finally:
        if private is not None:
            private.stop()


@pytest.fixture
async def postgres_database(postgres_server: str) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: `url = await postgres_database("catalog")` gives a fresh, empty database for this test."""
    created: list[str] = []
    run = uuid.uuid4().hex[:8]

    async def make(label: str) -> str:
        name = f"govdata_test_{label}_{run}"
        created.append(name)
        return await create_database(postgres_server, name)

    yield make
    for name in created:
        await drop_database(postgres_server, name)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Factory: the bootstrap servers of a broker of this test's own, started on the first call (a tenth of a
    second) and stopped after the test. The services consume in consumer groups of fixed names (`<service>-svc`):
    on the session's broker a service's consumer would start at whatever earlier tests — which ones depends on
    the order and on the worker — left in its topics and its group, and still be appending that backlog while
    the test checks its own events."""
    started: list[LocalBroker] = []

    def bootstrap() -> str:
        if not started:
            started.append(LocalBroker(log_file=tmp_path / "broker.log").start())
        return started[0].bootstrap_servers

    yield bootstrap
    for broker in started:
        broker.stop()


@pytest.fixture
def settings_for(own_broker: Callable[[], str], tmp_path: Path) -> Callable[..., Settings]:
    """Settings pointing at a broker of this test's own (`own_broker`, started when settings name no other) and
    a temporary data dir; keyword overrides win."""

    def make(settings_class: type[Settings] = Settings, **overrides: Any) -> Settings:
        values: dict[str, Any] = dict(
            kafka_fetch_max_wait_ms=20,
            **LOCAL_BROKER_GROUP_TIMING,
            govdata_data_dir=tmp_path,
            outbox_sweep_interval_seconds=0.2,
            log_json=False,
        )
        values.update(overrides)
        if "kafka_bootstrap_servers" not in values:
            values["kafka_bootstrap_servers"] = own_broker()
        return settings_class(**values)

    return make


@pytest.fixture(scope="session")
def test_tokens() -> TestTokens:
    return TestTokens()


# --------------------------------------------------------------------------------------------- migrated databases


@dataclass
class _PostgresState:
    """One migrated Postgres database and what emptying it back to its migrated state takes."""

    url: str
    conn: asyncpg.Connection
    reset_sql: str
    seed: list[tuple[str, list[asyncpg.Record]]] = field(default_factory=list)

    async def reset(self) -> None:
        async with self.conn.transaction():
            # Replica mode switches off user triggers (audit-svc's append-only guards) and foreign-key checks.
            await self.conn.execute("SET LOCAL session_replication_role = replica")
            await self.conn.execute(self.reset_sql)
            for table, rows in self.seed:
                columns = list(rows[0].keys())
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
                await self.conn.executemany(
                    f'INSERT INTO "{table}" ({names}) VALUES ({marks})', [tuple(r) for r in rows]
                )


class MigratedDatabases:
    """Each service package's migrations, run once per backend per session."""

    def __init__(self, server: str, folder: Path) -> None:
        self.server = server
        self.folder = folder
        self.run = uuid.uuid4().hex[:8]
        self._postgres: dict[str, _PostgresState] = {}
        self._templates: dict[str, Path] = {}

    async def fresh(self, package: str, backend: str, folder: Path) -> str:
        """A database of `package` at its migrated state, for one test: its URL."""
        if backend == "sqlite":
            target = folder / f"{package}.db"
            shutil.copyfile(await self._sqlite_template(package), target)
            return f"sqlite+aiosqlite:///{target}"
        state = await self._postgres_state(package)
        await state.reset()
        return state.url

    async def _sqlite_template(self, package: str) -> Path:
        from govdata_shared.migrations import upgrade_async

        if package not in self._templates:
            path = self.folder / f"{package}.template.db"
            await upgrade_async(package, f"sqlite+aiosqlite:///{path}")
            self._templates[package] = path
        return self._templates[package]

    async def _postgres_state(self, package: str) -> _PostgresState:
        if package in self._postgres:
            return self._postgres[package]
        from govdata_shared.migrations import upgrade_async

        name = f"govdata_test_{package.removesuffix('_svc')}_{self.run}"
        url = await create_database(self.server, name)
        await upgrade_async(package, url)
        conn = await asyncpg.connect(libpq_url(self.server, name))
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        sequences = [r["name"] for r in await conn.fetch("SELECT sequencename AS name FROM pg_sequences")]
        seed = [(t, rows) for t in tables if (rows := await conn.fetch(f'SELECT * FROM "{t}"'))]
        statements = [f'DELETE FROM "{t}"' for t in tables]
        statements += [f"SELECT setval('\"{s}\"', 1, false)" for s in sequences]
        state = _PostgresState(url, conn, ";\n".join(statements), seed)
        self._postgres[package] = state
        return state

    async def close(self) -> None:
        for package, state in self._postgres.items():
            await state.conn.close()
            await drop_database(self.server, f"govdata_test_{package.removesuffix('_svc')}_{self.run}")


@pytest.fixture(scope="session")
async def migrated(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MigratedDatabases]:
    databases = MigratedDatabases(postgres_server, tmp_path_factory.mktemp("migrated"))
    yield databases
    await databases.close()


ServiceStarter = Callable[..., Awaitable[tuple["FastAPI", "httpx.AsyncClient"]]]


@pytest.fixture
async def service_app(
    request: pytest.FixtureRequest,
    backend: str,
    migrated: MigratedDatabases,
    settings_for,
    broker_bootstrap: str,
    test_tokens: TestTokens,
    tmp_path: Path,
) -> AsyncIterator[ServiceStarter]:
    """Factory: `app, client = await service_app(SPEC, clock=clock)` runs a service on its migrated database of
    this test's backend, with the test tokens' verifier. Without the broker unless the test is marked
    `@pytest.mark.broker` — no relay, no consumer, no periodic work: the outbox holds what would be published.
    With the broker, on a broker of the test's own (`own_broker`)."""
    from govdata_shared.service import create_service_app

    marked = request.node.get_closest_marker("broker") is not None
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            spec: ServiceSpec, *, broker: bool = marked, clock: MovableClock | None = None, **settings: Any
        ) -> tuple[FastAPI, httpx.AsyncClient]:
            url = await migrated.fresh(spec.package, backend, tmp_path)
            if not broker:  # never reached: the session's broker, so no broker is started for nothing
                settings.setdefault("kafka_bootstrap_servers", broker_bootstrap)
            app = create_service_app(
                spec,
                settings_for(
                    spec.settings_class, service_name=spec.name, database_url=url, migrate_on_start=False, **settings
                ),
                broker=broker,
            )
            client = await stack.enter_async_context(running_app(app, verifier=test_tokens.verifier(), clock=clock))
            return app, client

        yield start
