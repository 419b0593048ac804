"""The platform as processes on one machine: the five services under uvicorn, the gateway, the portal behind it
and (optionally) the demo provider, started in order and stopped in reverse. `make run` uses it, and so do the
end-to-end and browser tests.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from govdata_shared.settings import REPO_ROOT

from govdata_local.broker import free_port

SERVICES = ("catalog", "sharing", "verification", "audit", "notify")
DATABASES = (*SERVICES, "gateway")  # each service's, and the gateway's identity registry
DEMO_CLIENTS = REPO_ROOT / "deploy" / "demo" / "clients.yaml"
DEMO_PROVIDER = REPO_ROOT / "deploy" / "demo" / "provider.py"
GRACE_SECONDS = 5.0  # a service stops in about a second; one that has not by then is told again, then killed
DEMO_PORTAL_SECRET = "demo-portal"  # the portal client's secret in the demo clients file


def service_command(name: str, port: int | str, log_level: str = "warning") -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"{name}_svc.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        log_level,
    ]


@dataclass
class ProcessPlatform:
    """Processes by name, each with the command and environment that (re)starts it."""

    gateway_url: str
    log_dir: Path | None = None  # None: the processes write to this terminal
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def add(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.commands[name] = (args, env)

    def add_services(self, env: dict[str, str], urls: dict[str, str], database_urls: dict[str, str]) -> None:
        """The services, each on its loopback port and its own database."""
        for name in SERVICES:
            service_env = {**env, "SERVICE_NAME": name, "DATABASE_URL": database_urls[name]}
            self.add(name, service_command(name, urls[name].rsplit(":", 1)[1]), service_env)

    def add_gateway(self, env: dict[str, str], port: int, database_url: str, *, portal_port: int | None = None) -> None:
        """The gateway on `port`, its identity registry in `database_url`; with `portal_port`, the portal on that
        port too, started after the gateway and served by it at `/` (without, the gateway serves the portal at
        `env`'s PORTAL_URL, or none)."""
        gateway = f"http://127.0.0.1:{port}"
        gateway_env = {**env, "GATEWAY_PORT": str(port), "DATABASE_URL": database_url}
        # Its Prometheus listener (loopback by default): a free port unless `env` names one, so that several
        # platforms (parallel test workers) never compete for the default 9464.
        gateway_env.setdefault("GATEWAY_METRICS_PORT", str(free_port()))
        gateway_env.setdefault("GATEWAY_WORKERS", "1")  # one process, as `make run` runs it
        if portal_port is None:
            gateway_env.setdefault("PORTAL_URL", "")
        else:
            gateway_env["PORTAL_URL"] = f"http://127.0.0.1:{portal_port}"
        self.add("gateway", [sys.executable, "-m", "govdata_gateway"], gateway_env)
        if portal_port is not None:
            portal_env = {
                **env,
                "PORTAL_HOST": "127.0.0.1",
                "PORTAL_PORT": str(portal_port),
                "GATEWAY_URL": gateway,
                # Browsers reach the portal through the gateway: its sign-in comes back there.
                "PORTAL_PUBLIC_URL": env.get("PORTAL_PUBLIC_URL", gateway),
                "PORTAL_CLIENT_SECRET": env.get("PORTAL_CLIENT_SECRET", DEMO_PORTAL_SECRET),
            }
            self.add("portal", [sys.executable, "-m", "govdata_portal"], portal_env)

    def add_demo_provider(self, env: dict[str, str], port: int) -> None:
        self.add("provider", [sys.executable, str(DEMO_PROVIDER), "--port", str(port)], env)

    def start(self, name: str) -> None:
        args, env = self.commands[name]
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop_all()
            self._logs.append(out)
        self.processes[name] = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT if out else None)

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def stop(self, name: str, timeout: float = GRACE_SECONDS) -> None:
        self._stop([self.processes[name]], timeout)

    def stop_all(self) -> None:
        self._stop(list(reversed(self.processes.values())), GRACE_SECONDS)
        for log in self._logs:
            log.close()
        self._logs.clear()

    @staticmethod
    def _stop(processes: list[subprocess.Popen], grace: float) -> None:
        """Ctrl-C to each (a graceful stop), a second Ctrl-C to those still running after `grace` seconds (uvicorn
        then stops without waiting), and SIGKILL two seconds later."""
        for signum, wait in ((signal.SIGINT, grace), (signal.SIGINT, 2.0), (signal.SIGKILL, None)):
            running = [p for p in processes if p.poll() is None]
            for process in running:
                process.send_signal(signum)
            deadline = time.monotonic() + (wait or 10.0)
            for process in running:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))

    def exited(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def wait_healthy(self, timeout: float = 90.0) -> dict:
        """The gateway's /healthz body once every service (and the portal) answers; fails early when a process
        exits."""
        url = f"{self.gateway_url}/healthz"
        deadline = time.monotonic() + timeout
        last: dict = {}
        while time.monotonic() < deadline:
            if dead := self.exited():
                raise RuntimeError(f"{', '.join(dead)} exited early; see {self.log_dir or 'the output above'}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                last = json.loads(exc.read() or b"{}")
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the platform did not become healthy within {timeout:.0f}s: {last}")

    def log_tails(self, chars: int = 4000) -> str:
        if self.log_dir is None:
            return ""
        return "".join(
            f"----- {log.name}\n{log.read_text(errors='replace')[-chars:]}\n"
            for log in sorted(self.log_dir.glob("*.log"))
        )
