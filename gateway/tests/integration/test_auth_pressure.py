"""The token endpoint under guessing, over real HTTP on the registry's migrated database: once the hashing budget
is spent, secrets not verified before are refused at once (503, Retry-After), unhashed, uncounted and without a
database read, whichever client — existing or not — they name, while clients whose secret was verified before
keep getting tokens; a client locked at an address is refused there without reading the database, by the replica
that locked it and by one that read the lock once; and failures at once on two replicas are each counted. The
figures under load are bench/auth.py's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from govdata_gateway import passwords
from govdata_gateway.identity import REGISTRY, setup_identity
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin.models import AuthFailure
from govdata_shared.errors import PROBLEM_JSON

pytestmark = pytest.mark.backends("postgres", "sqlite")

SECRET = "s-Yichuan#2026"
STORED = passwords.hash_secret(SECRET)  # one hash for every client: seeding costs no hashing
SYSTEMS = [f"yc-system-{n:02d}" for n in range(12)]
CLIENTS: dict[str, Any] = {
    "departments": [{"code": "YC-MZ", "name": "伊川县民政局"}],
    "clients": [
        {"client_id": c, "client_secret_hash": STORED, "dept": "YC-MZ", "roles": ["dept_operator"]}
        for c in ["mz-system", *SYSTEMS]
    ],
}


class Clock:
    """The budget's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def gateway(tmp_path: Path, db_url: str, replica: str = "a") -> AsyncIterator[TestClient]:
    clients_file = tmp_path / "clients.yaml"
    clients_file.write_text(yaml.safe_dump(CLIENTS, allow_unicode=True), encoding="utf-8")
    settings = GatewaySettings(
        database_url=db_url,
        migrate_on_start=False,
        govdata_data_dir=tmp_path / replica / "data",
        govdata_clients_file=clients_file,
        govdata_jwt_key_file=tmp_path / replica / "keys" / "signing.pem",
        auth_trusted_proxies="127.0.0.1",  # so that each guess can come from an address of its own
        auth_max_failures=3,
    )
    app = web.Application()
    setup_identity(app, settings, relay=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def db_url(migrated, backend: str, tmp_path: Path) -> str:
    return await migrated.fresh("govdata_gateway", backend, tmp_path)


def token_request(client: TestClient, client_id: str, secret: str, address: str = "198.18.0.1"):
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return client.post("/auth/token", data=form, headers={"X-Forwarded-For": address})


async def answer(resp: Any) -> tuple[int, str]:
    body = await resp.json(content_type=None)
    if resp.status >= 400:
        assert resp.content_type == PROBLEM_JSON and body["detail"], body
    return resp.status, body.get("code", "")


class Checkouts:
    """Counts the registry database's connection checkouts: zero means the database was not touched."""

    def __init__(self, client: TestClient) -> None:
        self.count = 0
        self.engine = client.app[REGISTRY].db.engine.sync_engine
        sa.event.listen(self.engine, "checkout", self._checked_out)

    def _checked_out(self, *_: Any) -> None:
        self.count += 1

    def stop(self) -> None:
        sa.event.remove(self.engine, "checkout", self._checked_out)


async def failures_on_record(client: TestClient) -> int:
    async with client.app[REGISTRY].db.reading() as session:
        return (await session.execute(sa.select(sa.func.count()).select_from(AuthFailure))).scalar_one()


async def test_once_the_hashing_budget_is_spent_guesses_are_refused_unhashed_and_cached_clients_go_on(
    tmp_path: Path, db_url: str
) -> None:
    async with gateway(tmp_path, db_url) as gw:
        registry = gw.app[REGISTRY]
        assert await answer(await token_request(gw, "mz-system", SECRET, "10.0.0.5")) == (200, "")
        # A budget with room for one check while nothing is owed, paid back only when the test moves its clock.
        clock = Clock()
        registry.budget = passwords.VerificationBudget(cpu_share=0.0001, burst=0, max_wait=0, clock=clock)
        hashed = registry.hash_verifications

        assert await answer(await token_request(gw, SYSTEMS[0], "guess-0")) == (401, "invalid_client")
        assert registry.hash_verifications == hashed + 1
        on_record = await failures_on_record(gw)

        # Guesses from ever new addresses, at existing and unknown clients alike, and a right secret not verified
        # before: all refused alike, at once, without hashing, counting or reading the database.
        checkouts = Checkouts(gw)
        guesses = [(c, f"guess-{n}") for n, c in enumerate(SYSTEMS[1:], 1)] + [("nobody-1", "x"), ("nobody-2", "y")]
        guesses.append((SYSTEMS[1], SECRET))
        answers = await asyncio.gather(*(token_request(gw, c, s, f"198.18.1.{n}") for n, (c, s) in enumerate(guesses)))
        checkouts.stop()
        assert [await answer(r) for r in answers] == [(503, "temporarily_unavailable")] * len(guesses)
        assert all(int(r.headers["Retry-After"]) >= 1 for r in answers)
        assert checkouts.count == 0
        assert registry.hash_verifications == hashed + 1
        assert await failures_on_record(gw) == on_record

        # A client whose secret was verified before needs no hashing: it keeps getting tokens.
        assert await answer(await token_request(gw, "mz-system", SECRET, "10.0.0.5")) == (200, "")

        # Once the budget is paid back, secrets are judged again.
        clock.now += 10_000
        assert await answer(await token_request(gw, SYSTEMS[1], SECRET)) == (200, "")
        assert registry.hash_verifications == hashed + 2


async def test_a_locked_client_is_refused_without_reading_the_database_by_every_replica(
    tmp_path: Path, db_url: str
) -> None:
    async with gateway(tmp_path, db_url) as first, gateway(tmp_path, db_url, "b") as second:
        for n in range(2):
            assert await answer(await token_request(first, "mz-system", f"guess-{n}")) == (401, "invalid_client")
        assert await answer(await token_request(first, "mz-system", "guess-2")) == (429, "too_many_failed_attempts")

        # The replica that locked it refuses from memory, the right secret too, and hashes nothing.
        hashed = first.app[REGISTRY].hash_verifications
        checkouts = Checkouts(first)
        for secret in ("guess-3", "guess-4", SECRET):
            assert await answer(await token_request(first, "mz-system", secret)) == (429, "too_many_failed_attempts")
        checkouts.stop()
        assert checkouts.count == 0 and first.app[REGISTRY].hash_verifications == hashed

        # Another replica reads the lock once, then refuses from memory too.
        assert await answer(await token_request(second, "mz-system", SECRET)) == (429, "too_many_failed_attempts")
        checkouts = Checkouts(second)
        assert await answer(await token_request(second, "mz-system", SECRET)) == (429, "too_many_failed_attempts")
        checkouts.stop()
        assert checkouts.count == 0

        # The lock is the address's: the client's own system elsewhere gets its token.
        assert await answer(await token_request(second, "mz-system", SECRET, "10.0.0.5")) == (200, "")


async def test_failures_at_once_on_two_replicas_are_each_counted(tmp_path: Path, db_url: str) -> None:
    async with gateway(tmp_path, db_url) as first, gateway(tmp_path, db_url, "b") as second:
        assert await answer(await token_request(first, SYSTEMS[0], "guess-0")) == (401, "invalid_client")
        # Both read one failure on record; each counts in one statement while the record is as it read it, else
        # under the row's lock: the second and third failures, the third locking.
        guesses = [token_request(gw, SYSTEMS[0], f"guess-{n}") for n, gw in enumerate((first, second), 1)]
        answers = [await answer(r) for r in await asyncio.gather(*guesses)]
        assert sorted(answers) == [(401, "invalid_client"), (429, "too_many_failed_attempts")]
        assert await answer(await token_request(second, SYSTEMS[0], SECRET)) == (429, "too_many_failed_attempts")
