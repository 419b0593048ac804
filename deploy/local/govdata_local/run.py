"""`make run` (`python -m govdata_local.run`): the whole platform on one machine — broker, five services, the
gateway and the portal behind it, on SQLite files.

Starts the local Kafka-protocol broker (unless KAFKA_BOOTSTRAP_SERVERS names one), each service under
uvicorn on its loopback port, then the gateway and the portal (on the port of PORTAL_URL, 8105; the gateway
serves it at `/`); waits until the gateway's /healthz reports every service and the portal, prints where to go
(the gateway's Prometheus metrics too: 127.0.0.1:9464, or GATEWAY_METRICS_PORT), the demo people and clients,
and stops everything in reverse order on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from govdata_gateway.settings import GatewaySettings
from govdata_shared.auth import ROLE_LABELS
from govdata_shared.settings import REPO_ROOT

from govdata_local.broker import LOCAL_BROKER_GROUP_TIMING, LocalBroker, free_port
from govdata_local.platform import DATABASES, DEMO_CLIENTS, ProcessPlatform


def main() -> int:
    settings = GatewaySettings()
    data_dir = settings.govdata_data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("GOVDATA_DATA_DIR", str(data_dir))
    env["GOVDATA_JWKS_URL"] = f"http://127.0.0.1:{settings.gateway_port}/.well-known/jwks.json"

    broker = None
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        port = 9092 if _port_free(9092) else free_port()
        broker = LocalBroker(port=port, log_file=data_dir / "logs" / "broker.log").start()
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        env.setdefault("KAFKA_ENABLE_IDEMPOTENCE", "false")
        for key, value in LOCAL_BROKER_GROUP_TIMING.items():
            env.setdefault(key.upper(), str(value))
    # The gateway's Prometheus metrics: on loopback, 9464 as documented unless taken (then any free port).
    metrics_port = settings.gateway_metrics_port
    if "GATEWAY_METRICS_PORT" not in os.environ and not _port_free(metrics_port):
        metrics_port = free_port()
    env["GATEWAY_METRICS_PORT"] = str(metrics_port)
    gateway = f"http://127.0.0.1:{settings.gateway_port}"
    platform = ProcessPlatform(gateway)
    # Each service owns its database, and the gateway its registry: CATALOG_DATABASE_URL … GATEWAY_DATABASE_URL,
    # else a SQLite file each.
    databases = {n: os.environ.get(f"{n.upper()}_DATABASE_URL") or settings.sqlite_url(n) for n in DATABASES}
    platform.add_services(env, settings.service_urls(), databases)
    # PORTAL_URL="" runs the gateway without the portal.
    portal_port = urlsplit(settings.portal_url).port if settings.portal_url else None
    platform.add_gateway(env, settings.gateway_port, databases["gateway"], portal_port=portal_port)
    demo = settings.govdata_clients_file is None or settings.govdata_demo
    if demo:
        platform.add_demo_provider(env, 8900)
    try:
        # Before anything starts: a `kill` while the services start or the demo loads stops them all too (it
        # left them running, holding their ports, when these were set only once the platform was up).
        signal.signal(signal.SIGTERM, _interrupt)
        # Started in the background (`make run &`), a shell sets SIGINT to "ignore" and Python keeps that:
        # `kill -INT` would then do nothing. Ctrl-C and kill -INT stop everything either way.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        platform.start_all()
        health = platform.wait_healthy()
        if demo:
            _load_demo(gateway)
        _print_welcome(gateway, health, broker, settings, portal=portal_port is not None, metrics_port=metrics_port)
        while not platform.exited():
            time.sleep(0.5)
        print("a process stopped; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", file=sys.stderr)
        return 0
    finally:
        platform.stop_all()
        if broker:
            broker.stop()


def _load_demo(gateway: str) -> None:
    sys.path.insert(0, str(REPO_ROOT / "deploy" / "demo"))
    from load import DemoLoader

    print("loading the demo catalog through the gateway…", flush=True)
    loader = DemoLoader(gateway)
    counts = loader.load_catalog()
    print(
        f"  demo catalog: {counts.get('published', 0)} published, {counts.get('existing', 0)} already there"
        + (f", {counts['failed']} failed (see above)" if counts.get("failed") else ""),
        flush=True,
    )
    for line in loader.load_requests():
        print(f"  {line}", flush=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _print_welcome(
    gateway: str,
    health: dict,
    broker: LocalBroker | None,
    settings: GatewaySettings,
    *,
    portal: bool,
    metrics_port: int,
) -> None:
    clients_file = Path(settings.govdata_clients_file or DEMO_CLIENTS)
    print("\n伊川县政务大数据平台 is running")
    if portal:
        print(f"  portal      {gateway}/    (共享平台门户)")
    print(f"  API docs    {gateway}/api/docs    (OpenAPI: {gateway}/api/openapi.json)")
    print(f"  gateway     {gateway}    (health: {health.get('services')})")
    print(f"  JWKS        {gateway}/.well-known/jwks.json")
    if metrics_port:
        host = "127.0.0.1" if settings.gateway_metrics_host == "0.0.0.0" else settings.gateway_metrics_host
        print(f"  metrics     http://{host}:{metrics_port}/metrics    (Prometheus; not on the public port)")
    print(f"  broker      {broker.bootstrap_servers if broker else os.environ['KAFKA_BOOTSTRAP_SERVERS']}")
    print(f"  data        {settings.govdata_data_dir}")
    if settings.govdata_clients_file is None:
        clients = yaml.safe_load(clients_file.read_text(encoding="utf-8"))
        source = clients_file.relative_to(REPO_ROOT)
        print(f"\nDemo people (from {source}; bureau admins and auditors enrol a TOTP app at first sign-in):")
        for user in _one_per_role(clients.get("users", [])):
            roles = "、".join(ROLE_LABELS.get(role, role) for role in user.get("roles", []))
            print(
                f"  {user['username']:<10} {user.get('password', '(hashed)'):<18} {user.get('dept', '-'):<8} "
                f"{user.get('name', '')}（{roles}）"
            )
        print(f"\nDemo clients (from {source}):")
        for client in clients.get("clients", []):
            print(
                f"  {client['client_id']:<16} {client.get('client_secret', '(hashed)'):<24} "
                f"{client.get('dept', '-'):<8} {','.join(client.get('roles', []))}"
            )
        first = clients["clients"][0]
        print(
            "\nTry:\n"
            f"  curl -s -d grant_type=client_credentials -d client_id={first['client_id']} "
            f"-d client_secret={first.get('client_secret')} {gateway}/auth/token"
        )
    print("\nCtrl-C stops everything.", flush=True)


def _one_per_role(users: list[dict]) -> list[dict]:
    """The first person of each role (in the file's order)."""
    seen: set[str] = set()
    chosen = []
    for user in users:
        roles = set(user.get("roles", []))
        if roles - seen:
            chosen.append(user)
            seen |= roles
    return chosen


if __name__ == "__main__":
    sys.exit(main())
