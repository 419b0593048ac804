"""A small real platform around the gateway for data-plane tests — nothing mocked:

- the session's Kafka-protocol broker (`broker_bootstrap`), events produced with `new_event` + `validated_data`;
- a snapshot server (aiohttp, real HTTP) answering catalog-svc's `GET /api/catalog/internal/interfaces` (and
  `…/{id}`, which the gateway reads on a `published` event) and sharing-svc's `GET /api/sharing/internal/grants`
  in their documented shapes, verifying the gateway's token the way the services do (signature, audience, role
  `gateway`); resource events sent through `Events` change its entries first, as catalog-svc's database changes;
- a departmental provider (aiohttp) serving realistic 户籍人口 records with more fields than any grant gives;
- the real gateway (`create_app`) on a port of its own.

Each test works with fresh resource and grant ids, so tests sharing the broker do not see each other's data.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.structs import RecordMetadata
from govdata_gateway.app import create_app
from govdata_gateway.dataplane import DATAPLANE, DataPlane
from govdata_gateway.keys import SigningKey
from govdata_gateway.settings import GatewaySettings
from govdata_shared.auth import StaticKeySet, TokenVerifier
from govdata_shared.contracts import validated_data
from govdata_shared.contracts.catalog import RESOURCE_PUBLISHED, RESOURCE_RETIRED
from govdata_shared.errors import PROBLEM_JSON, Problem
from govdata_shared.events import new_event, topic_for
from govdata_shared.settings import REPO_ROOT
from govdata_shared.workdays import today_in_shanghai
from multidict import CIMultiDict

from gateway.tests.seeds import hashed, place_signing_key

ISSUER = "urn:yichuan:govdata:gateway"
API_AUDIENCE = "govdata-api"
HOLDER, PROVIDER, OTHER = "YC-MZ", "YC-GA", "YC-RS"
HOLDER_SYSTEM = "mz-dibao"  # the 应用系统 of YC-MZ the grants are made to (第二十九条); mz-system is its client
GRANTED = ["xm", "xb", "csrq"]
CREDENTIAL = {"X-Api-Key": "ga-upstream-secret-7f3a", "Authorization": "Basic Z2E6dXBzdHJlYW0="}

CLIENTS = {
    "departments": [
        {"code": PROVIDER, "name": "伊川县公安局"},
        {"code": HOLDER, "name": "伊川县民政局"},
        {"code": OTHER, "name": "伊川县人力资源和社会保障局"},
    ],
    "systems": [
        {"id": HOLDER_SYSTEM, "dept": HOLDER, "name": "民政低保审批系统"},
        {"id": "mz-yanglao", "dept": HOLDER, "name": "民政养老服务管理系统"},
        {"id": "rs-shebao", "dept": OTHER, "name": "社会保险经办系统"},
    ],
    "clients": [
        {"client_id": "ga-system", "client_secret": "s-ga", "dept": PROVIDER, "roles": ["dept_operator"]},
        {
            "client_id": "mz-system",
            "client_secret": "s-mz",
            "dept": HOLDER,
            "roles": ["dept_operator"],
            "system": HOLDER_SYSTEM,
        },
        {
            "client_id": "mz-yanglao",
            "client_secret": "s-mz-yanglao",
            "dept": HOLDER,
            "roles": ["dept_operator"],
            "system": "mz-yanglao",
        },
        {"client_id": "mz-head", "client_secret": "s-mz-head", "dept": HOLDER, "roles": ["dept_head"]},
        {
            "client_id": "rs-system",
            "client_secret": "s-rs",
            "dept": OTHER,
            "roles": ["dept_operator"],
            "system": "rs-shebao",
        },
        {"client_id": "citizen-1", "client_secret": "s-cit", "roles": ["citizen"], "subject_id": "34052419800101001X"},
    ],
}
SECRETS = {c["client_id"]: c["client_secret"] for c in CLIENTS["clients"]}

# 户籍人口 records as a provider's system returns them: more fields than any grant gives.
PERSONS = [
    {
        "id": "p1",
        "xm": "张伟",
        "xb": "男",
        "csrq": "1985-03-12",
        "sfzh": "410329198503120015",
        "hjdz": "河南省洛阳市伊川县城关镇人民东路12号",
        "lxdh": "13803790001",
        "mz": "汉族",
        "jhzk": {"code": "20", "label": "已婚"},
    },
    {
        "id": "p2",
        "xm": "李娜",
        "xb": "女",
        "csrq": "1992-11-02",
        "sfzh": "410329199211020028",
        "hjdz": "河南省洛阳市伊川县鸣皋镇鸣皋村3组",
        "lxdh": "13903790002",
        "mz": "回族",
        "jhzk": {"code": "10", "label": "未婚"},
    },
    {
        "id": "p3",
        "xm": "王建国",
        "xb": "男",
        "csrq": "1960-07-01",
        "sfzh": "410329196007010031",
        "hjdz": "河南省洛阳市伊川县白沙镇白沙村",
        "lxdh": "13703790003",
        "mz": "汉族",
        "jhzk": {"code": "20", "label": "已婚"},
    },
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(app: web.Application, port: int | None = None) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port or 0)
    await site.start()
    host, bound = runner.addresses[0][:2]
    return runner, f"http://{host}:{bound}"


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.02) -> float:
    """Poll `check` until true; the seconds it took. Fails the test after `timeout`."""
    started = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def expect_problem(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == PROBLEM_JSON, (resp.content_type, text)
    body = json.loads(text)
    assert body["status"] == status and body["code"] == code and body["detail"], body
    return body


# --------------------------------------------------------------------------------------------- data builders


def today() -> date:
    return today_in_shanghai()


def interface(provider_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": provider_url,
        "methods": ["GET"],
        "path_prefixes": ["/population/persons", "/population/list", "/population/misc"],
        "rate_limit": 1000,
        "credential_ref": "ga-population",
        **overrides,
    }


def resource_event_data(resource_id: str, iface: dict[str, Any] | None, *, status: str = "published", revision=1):
    return {
        "resource_id": resource_id,
        "code": f"YC-GA-{resource_id[-6:]}",
        "name": "伊川县户籍人口基本信息",
        "provider_dept": PROVIDER,
        "status": status,
        "revision": revision,
        "revision_status": "published" if status == "published" else status,
        "category": "base",
        "format": "json",
        "sharing_type": "conditional",
        "sharing_method": "interface",
        "open_type": "closed",
        "security_level": "internal",
        "update_cycle": "daily",
        "items": [
            {"code": code, "name": name, "type": "string"}
            for code, name in [
                ("xm", "姓名"),
                ("xb", "性别"),
                ("csrq", "出生日期"),
                ("sfzh", "公民身份号码"),
                ("hjdz", "户籍地址"),
                ("lxdh", "联系电话"),
            ]
        ],
        "interface": iface,
    }


def snapshot_resource(resource_id: str, iface: dict[str, Any] | None, version: int, status="published"):
    """One entry of catalog-svc's interface snapshot (service.interface_snapshot)."""
    data = resource_event_data(resource_id, iface, status=status)
    return {
        "resource_id": resource_id,
        "provider_dept": PROVIDER,
        "status": status,
        "version": version,
        "revision": 1,
        "sharing_type": "conditional",
        "items": [{**item, "authoritative": False} for item in data["items"]],
        "interface": iface,
    }


def grant_data(grant_id: str, resource_id: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "grant_id": grant_id,
        "request_id": "req-" + grant_id,
        "holder_dept": HOLDER,
        "holder_system": HOLDER_SYSTEM,
        "provider_dept": PROVIDER,
        "resource_id": resource_id,
        "items": list(GRANTED),
        "purpose": "最低生活保障资格核查",
        "valid_from": (today() - timedelta(days=30)).isoformat(),
        "valid_to": (today() + timedelta(days=180)).isoformat(),
        "status": "active",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------------------------- servers


@dataclass
class Seen:
    method: str
    raw_path: str
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class Provider:
    """The departmental provider's system (户籍人口 records)."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)

    def app(self) -> web.Application:
        async def record(request: web.Request) -> None:
            self.seen.append(
                Seen(request.method, request.rel_url.raw_path_qs, CIMultiDict(request.headers), await request.read())
            )

        async def persons(request: web.Request) -> web.Response:
            await record(request)
            page = int(request.query.get("page", "1"))
            return web.json_response(
                {
                    "items": PERSONS,
                    "total": len(PERSONS),
                    "page": page,
                    "size": 20,
                    "next": None,
                    "query": {"sql": "select * from hj_person"},
                    "operator": "ga-dba",
                }
            )

        async def person(request: web.Request) -> web.Response:
            await record(request)
            match = [p for p in PERSONS if p["id"] == request.match_info["pid"]]
            if not match:
                return web.json_response({"error": "not found", "searched": "hj_person"}, status=404)
            return web.json_response(match[0])

        async def listing(request: web.Request) -> web.Response:
            await record(request)
            return web.json_response([*PERSONS, "stray-scalar", 42])

        async def misc(request: web.Request) -> web.Response:
            await record(request)
            kind = request.match_info["kind"]
            if kind == "text":
                return web.Response(text="xm,sfzh\n张伟,410329198503120015\n", content_type="text/csv")
            if kind == "error":
                return web.json_response({"error": "db down", "last_row": PERSONS[0]}, status=500)
            if kind == "busy":
                return web.json_response(PERSONS[0], status=503, headers={"Retry-After": "7"})
            if kind == "empty":
                return web.Response(status=204)
            if kind == "scalar":
                return web.json_response("410329198503120015")
            if kind == "redirect":
                raise web.HTTPFound("http://127.0.0.1:1/elsewhere")
            if kind == "cookie":
                resp = web.json_response(PERSONS[1])
                resp.set_cookie("session", "provider-session-1")
                return resp
            return web.json_response({"kind": kind})

        async def query(request: web.Request) -> web.Response:
            await record(request)
            asked = json.loads(self.seen[-1].body or b"{}")
            match = [p for p in PERSONS if p["sfzh"] == asked.get("sfzh")]
            return web.json_response(match[0] if match else {})

        async def admin(request: web.Request) -> web.Response:
            await record(request)
            return web.json_response({"admin": True, "users": 12})

        app = web.Application()
        app.router.add_get("/population/persons", persons)
        app.router.add_get("/population/persons/{pid}", person)
        app.router.add_post("/population/persons/query", query)
        app.router.add_get("/population/list", listing)
        app.router.add_get("/population/misc/{kind}", misc)
        app.router.add_get("/population/admin", admin)
        app.router.add_get("/admin/{tail:.*}", admin)
        app.router.add_get("/{tail:.*}", admin)
        return app


@dataclass
class Snapshots:
    """catalog-svc's and sharing-svc's snapshot endpoints, with the documented shapes."""

    verifier: TokenVerifier
    resources: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0  # answer 503 to this many requests (services not up yet)
    before_grants: Callable[[], Awaitable[None]] | None = None  # runs while serving the sharing snapshot
    calls: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        async def check(request: web.Request) -> web.Response | None:
            self.calls.append(request.path)
            if self.fail_next > 0:
                self.fail_next -= 1
                return web.json_response({"status": "starting"}, status=503)
            header = request.headers.get("Authorization", "")
            try:
                caller = await self.verifier.verify(header.removeprefix("Bearer "))
            except Problem as problem:
                return web.json_response({"code": problem.code}, status=401)
            if "gateway" not in caller.roles or caller.sub != "gateway":
                return web.json_response({"code": "gateway_only"}, status=403)
            return None

        async def interfaces(request: web.Request) -> web.Response:
            return await check(request) or web.json_response(self.resources)

        async def interface(request: web.Request) -> web.Response:
            refused = await check(request)
            if refused is not None:
                return refused
            entry = self.entry(request.match_info["resource_id"])
            return web.json_response(entry) if entry else web.json_response({"code": "not_found"}, status=404)

        async def grants(request: web.Request) -> web.Response:
            refused = await check(request)
            if refused is not None:
                return refused
            if self.before_grants is not None:
                await self.before_grants()
            return web.json_response(self.grants)

        app = web.Application()
        app.router.add_get("/api/catalog/internal/interfaces", interfaces)
        app.router.add_get("/api/catalog/internal/interfaces/{resource_id}", interface)
        app.router.add_get("/api/sharing/internal/grants", grants)
        return app

    def entry(self, resource_id: str) -> dict[str, Any] | None:
        return next((r for r in reversed(self.resources) if r["resource_id"] == resource_id), None)

    def record(self, data: dict[str, Any], version: int) -> None:
        """catalog-svc's database after a resource event of `version` (a newer one than it holds)."""
        held = self.entry(data["resource_id"])
        if held is not None and held["version"] >= version:
            return
        entry = snapshot_resource(data["resource_id"], data["interface"], version, status=data["status"])
        entry["revision"] = data["revision"]
        if held is None:
            self.resources.append(entry)
        else:
            held.update(entry)


class Events:
    """Produces platform events to the real broker, as catalog-svc's and sharing-svc's relays do."""

    def __init__(self, producer: AIOKafkaProducer, snapshots: Snapshots | None = None) -> None:
        self.producer = producer
        self.snapshots = snapshots

    async def send(self, event_type: str, subject: str, data: dict[str, Any], version: int) -> RecordMetadata:
        event = new_event(
            event_type,
            subject,
            validated_data(event_type, data),
            version=version,
            actor="test",
            dept=data.get("provider_dept"),
            source=event_type.split(".")[0] + "-svc",
        )
        return await self.producer.send_and_wait(topic_for(event_type), event.to_json(), key=subject.encode())

    async def grant(self, event_type: str, data: dict[str, Any], version: int) -> RecordMetadata:
        return await self.send(event_type, data["grant_id"], data, version)

    async def resource(self, event_type: str, data: dict[str, Any], version: int) -> RecordMetadata:
        """As catalog-svc does: the change is in its database (where the gateway reads the interface's address
        from) before the event, which carries no address, is on the bus."""
        if self.snapshots is not None and event_type in (RESOURCE_PUBLISHED, RESOURCE_RETIRED):
            self.snapshots.record(data, version)
        return await self.send(event_type, data["resource_id"], data, version)


@dataclass
class Gateway:
    url: str
    app: web.Application
    settings: GatewaySettings
    runner: web.AppRunner
    http: aiohttp.ClientSession

    @property
    def plane(self) -> DataPlane:
        return self.app[DATAPLANE]

    async def token(self, client_id: str, scope: str = "api") -> aiohttp.ClientResponse:
        return await self.http.post(
            f"{self.url}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": SECRETS[client_id],
                "scope": scope,
            },
        )

    async def grant_token(self, grant_id: str, client_id: str = "mz-system") -> str:
        resp = await self.token(client_id, f"grant:{grant_id}")
        body = await resp.json(content_type=None)
        assert resp.status == 200, body
        return body["access_token"]

    def call(self, token: str | None, resource_id: str, path: str, method: str = "GET", **kw: Any):
        headers = dict(kw.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = aiohttp.client.URL(f"{self.url}/data/{resource_id}{path}", encoded=True)
        return self.http.request(method, url, headers=headers, **kw)

    async def status(self, token: str | None, resource_id: str, path: str, method: str = "GET") -> int:
        async with self.call(token, resource_id, path, method) as resp:
            await resp.read()
            return resp.status

    async def caught_up(self, meta: RecordMetadata, timeout: float = 10.0) -> None:
        """Wait until the gateway's projection feed has read past `meta`'s record."""
        tp = TopicPartition(meta.topic, meta.partition)

        async def past() -> bool:
            position = await self.plane.feed.position(tp)
            return position is not None and position > meta.offset

        await until(past, timeout)

    async def stop(self) -> None:
        await self.runner.cleanup()


@dataclass
class Platform:
    """Provider + snapshots + events; `start_gateway()` starts a gateway over them."""

    tmp: Path
    broker: str
    provider: Provider
    snapshots: Snapshots
    events: Events
    key: SigningKey
    http: aiohttp.ClientSession
    database_url: str  # the identity registry's, shared by every gateway of the test (replicas)
    gateways: list[Gateway] = field(default_factory=list)

    # Test modules cannot import this conftest (importlib import mode): they reach its helpers through here.
    HOLDER, PROVIDER, OTHER, HOLDER_SYSTEM = HOLDER, PROVIDER, OTHER, HOLDER_SYSTEM
    GRANTED, PERSONS, CREDENTIAL, ISSUER, API_AUDIENCE = GRANTED, PERSONS, CREDENTIAL, ISSUER, API_AUDIENCE
    SECRETS = SECRETS
    until = staticmethod(until)
    expect_problem = staticmethod(expect_problem)
    grant_data = staticmethod(grant_data)
    resource_event_data = staticmethod(resource_event_data)
    snapshot_resource = staticmethod(snapshot_resource)
    today = staticmethod(today)
    free_port = staticmethod(free_port)

    def process_env(self, data_dir: str, **overrides: str) -> dict[str, str]:
        """The environment of `python -m govdata_gateway` over this platform (its registry, signing key, clients,
        credentials, broker and snapshots), its data in `data_dir` under the test's folder; `overrides` on top."""
        return {
            **os.environ,
            "GATEWAY_HOST": "127.0.0.1",
            "DATABASE_URL": self.database_url,
            "MIGRATE_ON_START": "false",
            "GOVDATA_DATA_DIR": str(self.tmp / data_dir),
            "GOVDATA_CLIENTS_FILE": str(self.tmp / "clients.yaml"),
            "GOVDATA_JWT_KEY_FILE": str(self.tmp / "keys" / "gateway-signing-key.pem"),
            "GOVDATA_JWT_GENERATE_KEY": "false",
            "GOVDATA_JWT_ISSUER": ISSUER,
            "GOVDATA_JWT_AUDIENCE": API_AUDIENCE,
            "GOVDATA_UPSTREAM_CREDENTIALS_FILE": str(self.tmp / "credentials.yaml"),
            "KAFKA_BOOTSTRAP_SERVERS": self.broker,
            "CATALOG_URL": self.snapshots.url,
            "SHARING_URL": self.snapshots.url,
            "PORTAL_URL": "",
            "LOG_JSON": "false",
            **overrides,
        }

    async def gateway_process(self, env: dict[str, str], log_name: str) -> tuple[asyncio.subprocess.Process, Path]:
        """`python -m govdata_gateway` started with `env`, its output in `log_name` under the test's folder."""
        log_file = self.tmp / log_name
        with log_file.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "govdata_gateway", env=env, cwd=REPO_ROOT, stdout=out, stderr=out
            )
        return process, log_file

    def interface(self, **overrides: Any) -> dict[str, Any]:
        return interface(self.provider.url, **overrides)

    def new_ids(self) -> tuple[str, str]:
        suffix = uuid.uuid4().hex[:10]
        return f"res-{suffix}", f"grt-{suffix}"

    def add_resource(self, resource_id: str, version: int = 3, **iface: Any) -> None:
        self.snapshots.resources.append(snapshot_resource(resource_id, interface(self.provider.url, **iface), version))

    def add_grant(self, grant_id: str, resource_id: str, version: int = 1, **overrides: Any) -> dict[str, Any]:
        data = grant_data(grant_id, resource_id, **overrides)
        self.snapshots.grants.append({**data, "version": version})
        return data

    async def setup(self, **iface: Any) -> tuple[str, str, dict[str, Any]]:
        """A published resource and an active grant of it to YC-MZ, in the snapshots."""
        rid, gid = self.new_ids()
        self.add_resource(rid, **iface)
        return rid, gid, self.add_grant(gid, rid)

    async def start_gateway(self, *, wait_ready: bool = True, **overrides: Any) -> Gateway:
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "migrate_on_start": False,
            "govdata_data_dir": self.tmp / "data",
            "govdata_clients_file": self.tmp / "clients.yaml",
            "govdata_jwt_key_file": self.tmp / "keys" / "gateway-signing-key.pem",
            "govdata_jwt_generate_key": False,
            "govdata_jwt_issuer": ISSUER,
            "govdata_jwt_audience": API_AUDIENCE,
            "govdata_upstream_credentials_file": self.tmp / "credentials.yaml",
            "kafka_bootstrap_servers": self.broker,
            "catalog_url": self.snapshots.url,
            "sharing_url": self.snapshots.url,
            # The other services are not running: an address nothing listens on, not their default ports, which
            # a `make run` beside the tests would answer on.
            **{f"{name}_url": "http://127.0.0.1:9" for name in ("verification", "audit", "notify")},
            "gateway_access_flush_seconds": 0.2,
            # Each gateway (replicas in one test too) spools its access records in a directory of its own.
            "gateway_access_spool_dir": self.tmp / f"access-spool-{len(self.gateways)}",
            "gateway_bootstrap_retry_max_seconds": 0.3,
            "log_json": False,
        }
        values.update(overrides)
        settings = GatewaySettings(**values)
        app = create_app(settings)
        runner, url = await serve(app)
        gateway = Gateway(url, app, settings, runner, self.http)
        self.gateways.append(gateway)
        if wait_ready:
            await until(lambda: self.ready(gateway), timeout=20)
        return gateway

    async def ready(self, gateway: Gateway) -> bool:
        async with self.http.get(f"{gateway.url}/readyz") as resp:
            return resp.status == 200


@pytest.fixture
async def platform(broker_bootstrap: str, tmp_path: Path, migrated, backend: str) -> AsyncIterator[Platform]:
    # The secrets hashed and the signing key made once per test process (gateway/tests/seeds.py).
    (tmp_path / "clients.yaml").write_text(yaml.safe_dump(hashed(CLIENTS), allow_unicode=True), encoding="utf-8")
    (tmp_path / "credentials.yaml").write_text(yaml.safe_dump({"ga-population": CREDENTIAL}), encoding="utf-8")
    key = SigningKey.load(place_signing_key(tmp_path / "keys" / "gateway-signing-key.pem"))
    verifier = TokenVerifier(StaticKeySet(key.jwks()), issuer=ISSUER, audience=API_AUDIENCE)
    provider, snapshots = Provider(), Snapshots(verifier)
    producer = AIOKafkaProducer(bootstrap_servers=broker_bootstrap, acks="all", linger_ms=0)
    await producer.start()
    runners: list[web.AppRunner] = []
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
    platform = None
    try:
        runner, provider.url = await serve(provider.app())
        runners.append(runner)
        runner, snapshots.url = await serve(snapshots.app())
        runners.append(runner)
        database_url = await migrated.fresh("govdata_gateway", backend, tmp_path)
        platform = Platform(
            tmp_path, broker_bootstrap, provider, snapshots, Events(producer, snapshots), key, http, database_url
        )
        yield platform
    finally:
        if platform is not None:
            for gateway in platform.gateways:
                await gateway.stop()
        for runner in runners:
            await runner.cleanup()
        await http.close()
        await producer.stop()
