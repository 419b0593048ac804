"""The whole platform as real processes for end-to-end tests: four services under uvicorn and the gateway,
each service on its own fresh Postgres database, all on the session's real broker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from govdata_shared.broker import LOCAL_BROKER_GROUP_TIMING, free_port
from govdata_shared.settings import REPO_ROOT
from govdata_shared.testing import create_database, drop_database

SERVICES = ("catalog", "sharing", "verification", "audit")
DEMO_CLIENTS = REPO_ROOT / "deploy" / "demo" / "clients.yaml"


@dataclass
class Platform:
    gateway: str
    service_urls: dict[str, str]
    data_dir: Path
    database_urls: dict[str, str]
    provider: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)

    def start(self, name: str) -> None:
        args, env = self.commands[name]
        log = open(self.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        self.processes[name] = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, name: str) -> None:
        process = self.processes[name]
        process.terminate()
        process.wait(timeout=10)

    def wait_healthy(self, timeout: float = 60) -> None:
        _wait(f"{self.gateway}/healthz", self.processes, timeout)

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


def _wait(url: str, processes: dict[str, subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


@pytest.fixture(scope="session")
def platform(broker_bootstrap: str, tmp_path_factory) -> Iterator[Platform]:
    run = uuid.uuid4().hex[:8]
    data_dir = tmp_path_factory.mktemp("platform")
    gateway_port = free_port()
    provider_port = free_port()
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in SERVICES}
    databases = {name: f"govdata_test_e2e_{name}_{run}" for name in SERVICES}
    db_urls = {name: asyncio.run(create_database(db)) for name, db in databases.items()}
    base_env = {
        **os.environ,
        "GOVDATA_DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": broker_bootstrap,
        "KAFKA_FETCH_MAX_WAIT_MS": "20",
        **{key.upper(): str(value) for key, value in LOCAL_BROKER_GROUP_TIMING.items()},
        "OUTBOX_SWEEP_INTERVAL_SECONDS": "0.2",
        "GOVDATA_JWKS_URL": f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json",
        "GOVDATA_CLIENTS_FILE": str(DEMO_CLIENTS),
        "LOG_LEVEL": "WARNING",
        "USAGE_FLUSH_SECONDS": "1",
        **{f"{name.upper()}_URL": url for name, url in urls.items()},
    }
    platform = Platform(f"http://127.0.0.1:{gateway_port}", urls, data_dir, db_urls)
    logs = data_dir / "logs"
    logs.mkdir()
    try:
        for name in SERVICES:
            env = {**base_env, "SERVICE_NAME": name, "DATABASE_URL": db_urls[name]}
            port = urls[name].rsplit(":", 1)[1]
            platform.commands[name] = (
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"{name}_svc.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    port,
                    "--no-access-log",
                ],
                env,
            )
        platform.provider = f"http://127.0.0.1:{provider_port}"
        platform.commands["provider"] = (
            [sys.executable, str(REPO_ROOT / "deploy" / "demo" / "provider.py"), "--port", str(provider_port)],
            base_env,
        )
        platform.commands["gateway"] = (
            [sys.executable, "-m", "govdata_gateway"],
            {**base_env, "GATEWAY_PORT": str(gateway_port)},
        )
        for name in platform.commands:
            platform.start(name)
        platform.wait_healthy()
        yield platform
    except Exception:
        for log in sorted(logs.glob("*.log")):
            sys.stderr.write(f"----- {log.name}\n{log.read_text(errors='replace')[-4000:]}\n")
        raise
    finally:
        for process in platform.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in platform.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for db in databases.values():
            asyncio.run(drop_database(db))
