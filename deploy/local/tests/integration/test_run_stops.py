"""`make run` stops what it started whenever it is told to: a SIGTERM while the services are still starting stops
every one of them, so none is left holding the platform's ports for the next `make run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from govdata_local.broker import free_port

REPO = Path(__file__).resolve().parents[4]


def children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(c) for c in path.read_text().split()} if path.exists() else set()


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its parent's wait is missing


def test_a_sigterm_while_the_services_start_stops_them_all(tmp_path: Path) -> None:
    urls = {f"{name}_URL": f"http://127.0.0.1:{free_port()}" for name in ("CATALOG", "SHARING", "VERIFICATION")}
    urls |= {f"{name}_URL": f"http://127.0.0.1:{free_port()}" for name in ("AUDIT", "NOTIFY")}
    env = {
        **os.environ,
        **urls,
        "GOVDATA_DATA_DIR": str(tmp_path),
        "GATEWAY_PORT": str(free_port()),
        "GATEWAY_METRICS_PORT": str(free_port()),
        "PORTAL_URL": "",
        # A clients file of its own and no demo: no demo provider on its fixed port, no demo data to load.
        "GOVDATA_CLIENTS_FILE": str(REPO / "deploy" / "demo" / "clients.yaml"),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "govdata_local.run"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while len(started) < 6 and time.monotonic() < deadline:  # five services and the gateway, at least
            started |= children(runner.pid)
            time.sleep(0.05)
        assert len(started) >= 6, f"the runner started {len(started)} processes"
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=30) == 0
        left = [pid for pid in started if alive(pid)]
        assert left == [], "processes left running after the runner stopped"
    finally:
        for pid in started | children(runner.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if runner.poll() is None:
            runner.kill()
