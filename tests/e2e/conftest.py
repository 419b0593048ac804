"""The whole platform as real processes for end-to-end tests: five services under uvicorn, the gateway and the
portal behind it, each service on its own fresh Postgres database, all on the session's real broker."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from govdata_local.broker import LOCAL_BROKER_GROUP_TIMING, LocalBroker, free_port
from govdata_local.platform import DATABASES, DEMO_CLIENTS, SERVICES, ProcessPlatform
from govdata_local.postgres import create_database, drop_database


@dataclass
class Platform(ProcessPlatform):
    """The running platform, plus what tests need to reach it."""

    data_dir: Path = Path()
    service_urls: dict[str, str] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    provider: str = ""
    portal: str = ""  # the portal's own address (people reach it through the gateway)
    broker: LocalBroker | None = None  # set when the platform has a broker of its own

    @property
    def gateway(self) -> str:
        return self.gateway_url

    def token(self, client_id: str, secret: str | None = None, **form: str) -> str:
        response = httpx.post(
            f"{self.gateway}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret or f"demo-{client_id}",
                **form,
            },
        )
        response.raise_for_status()
        return response.json()["access_token"]


def platform_env(data_dir: Path, broker: str, gateway_port: int, urls: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "GOVDATA_DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": broker,
        **{key.upper(): str(value) for key, value in LOCAL_BROKER_GROUP_TIMING.items()},
        "OUTBOX_SWEEP_INTERVAL_SECONDS": "0.2",
        "GOVDATA_JWKS_URL": f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json",
        "GOVDATA_CLIENTS_FILE": str(DEMO_CLIENTS),
        "LOG_LEVEL": "WARNING",
        "GATEWAY_ACCESS_FLUSH_SECONDS": "0.2",
        "GOVDATA_CHECK_INTERVAL_SECONDS": "1",
        **{f"{name.upper()}_URL": url for name, url in urls.items()},
    }


def launch(data_dir: Path, broker: str, database_urls: dict[str, str], *, provider: bool = True) -> Platform:
    """Start the services, the gateway on `database_urls` (by name, see DATABASES) and the portal, and (optionally)
    the demo provider; wait until healthy."""
    gateway_port = free_port()
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in SERVICES}
    env = platform_env(data_dir, broker, gateway_port, urls)
    platform = Platform(
        f"http://127.0.0.1:{gateway_port}",
        log_dir=data_dir / "logs",
        data_dir=data_dir,
        service_urls=urls,
        database_urls=database_urls,
    )
    platform.add_services(env, urls, database_urls)
    portal_port = free_port()
    platform.portal = f"http://127.0.0.1:{portal_port}"
    platform.add_gateway(env, gateway_port, database_urls["gateway"], portal_port=portal_port)
    if provider:
        provider_port = free_port()
        platform.provider = f"http://127.0.0.1:{provider_port}"
        platform.add_demo_provider(env, provider_port)
    try:
        platform.start_all()
        platform.wait_healthy(timeout=60)
    except Exception:
        sys.stderr.write(platform.log_tails())
        platform.stop_all()
        raise
    return platform


# Package scope (this folder is a package for that): the platform stops once the folder's tests are done, before a
# parallel worker goes on to other tests, whose service apps join the same consumer groups on its broker.
@pytest.fixture(scope="package")
async def platform(broker_bootstrap: str, postgres_server: str, tmp_path_factory) -> AsyncIterator[Platform]:
    run = uuid.uuid4().hex[:8]
    databases = {name: f"govdata_test_e2e_{name}_{run}" for name in DATABASES}
    urls = {name: await create_database(postgres_server, db) for name, db in databases.items()}
    try:
        running = launch(tmp_path_factory.mktemp("platform"), broker_bootstrap, urls)
        try:
            yield running
        finally:
            running.stop_all()
    finally:
        for db in databases.values():
            await drop_database(postgres_server, db)


@pytest.fixture
def embedded_platform(tmp_path: Path) -> Iterator[Platform]:
    """The embedded default of `make run` — every service on its own SQLite file, and the demo provider — on a
    broker of its own, which a test may freeze (SIGSTOP) without disturbing the other tests."""
    with LocalBroker(log_file=tmp_path / "logs" / "broker.log") as broker:
        urls = {name: f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}" for name in DATABASES}
        running = launch(tmp_path, broker.bootstrap_servers, urls)
        running.broker = broker
        try:
            yield running
        finally:
            running.stop_all()
