"""`/api/identity`: the bureau provisions departments, systems, clients and people through the gateway, over real
HTTP on the registry's migrated database — secrets shown once and kept as hashes, the rotation's grace period,
one identity.* event per change (masked), every input rule and every attacker refused. Then, on the platform with
the real broker and two gateway replicas: a disabled client or person is refused everywhere within a second."""

from __future__ import annotations

import copy
import functools
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from govdata_gateway import passwords
from govdata_gateway.clients import password_policy_violation
from govdata_gateway.identity import SIGNING_KEY, setup_identity, utc_now
from govdata_gateway.keys import SigningKey
from govdata_gateway.registry.api import ROUTES
from govdata_gateway.registry.models import ClientRecord, Department, Person
from govdata_gateway.settings import GatewaySettings
from govdata_shared.contracts.sharing import GRANT_CREATED
from govdata_shared.db import Database
from govdata_shared.errors import PROBLEM_JSON
from govdata_shared.outbox import outbox_table
from govdata_shared.testing import MovableClock
from jose import jwk, jwt

from gateway.tests.seeds import hashed, place_signing_key

ISSUER = "urn:yichuan:govdata:gateway"
AUDIENCE = "govdata-api"
CITIZEN_ID = "410329198503120015"
SEED: dict[str, Any] = {
    "departments": [
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
        {"code": "YC-GA", "name": "伊川县公安局"},
    ],
    "systems": [{"id": "ga-zonghe", "dept": "YC-GA", "name": "公安综合业务系统"}],
    "clients": [
        {
            "client_id": "bureau",
            "client_secret": "s-bureau",
            "dept": "YC-ZSJ",
            "roles": ["bureau_admin"],
            "name": "县大数据局管理员",
        },
        {"client_id": "ga-system", "client_secret": "s-ga", "dept": "YC-GA", "roles": ["dept_operator"]},
        {"client_id": "auditor-1", "client_secret": "s-aud", "dept": "YC-ZSJ", "roles": ["auditor"]},
        {"client_id": "citizen-1", "client_secret": "s-cit", "roles": ["citizen"], "subject_id": "34052419800101001X"},
    ],
}
SECRETS = {c["client_id"]: c["client_secret"] for c in SEED["clients"]}


# --------------------------------------------------------------------------------------------- harness


@dataclass
class Gw:
    """A gateway with identity only (no broker): the token endpoint and /api/identity."""

    http: TestClient
    db: Database
    key: SigningKey
    tmp: Path

    async def token(self, client_id: str, secret: str | None = None) -> str:
        resp = await self.token_response(client_id, secret or SECRETS[client_id])
        assert resp.status == 200, await resp.text()
        return (await resp.json())["access_token"]

    async def token_response(self, client_id: str, secret: str):
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        return await self.http.post("/auth/token", data=form)

    async def call(self, method: str, path: str, token: str | None = None, body: Any = None, **kw: Any):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            kw["json"] = body
        return await self.http.request(method, f"/api/identity{path}", headers=headers, **kw)

    async def ok(self, method: str, path: str, token: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        resp = await self.call(method, path, token, body)
        text = await resp.text()
        assert resp.status == status, text
        assert resp.headers["Cache-Control"] == "no-store"
        return json.loads(text)

    async def outbox(self) -> list[dict[str, Any]]:
        async with self.db.reading() as session:
            rows = await session.execute(sa.select(outbox_table.c.payload).order_by(outbox_table.c.seq))
            return [orjson.loads(p) for p in rows.scalars()]

    async def row(self, model: type, ident: str) -> Any:
        async with self.db.reading() as session:
            return await session.get(model, ident)

    def sign(self, **claims: Any) -> str:
        now = int(time.time())
        base = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        return self.key.sign({**base, **claims})


def settings_for(tmp: Path, database_url: str, **overrides: Any) -> GatewaySettings:
    clients = tmp / "clients.yaml"
    clients.write_text(yaml.safe_dump(hashed(SEED), allow_unicode=True), encoding="utf-8")
    values: dict[str, Any] = {
        "database_url": database_url,
        "migrate_on_start": False,
        "govdata_data_dir": tmp / "data",
        "govdata_clients_file": clients,
        "govdata_jwt_generate_key": True,
        "govdata_jwt_issuer": ISSUER,
        "govdata_jwt_audience": AUDIENCE,
        **overrides,
    }
    settings = GatewaySettings(**values)
    if not {"govdata_jwt_key_file", "govdata_jwt_generate_key"} & overrides.keys():
        place_signing_key(settings.signing_key_path())  # made once per process (gateway/tests/seeds.py)
    return settings


async def running(
    tmp: Path, database_url: str, clock: MovableClock | None = None, **overrides: Any
) -> AsyncIterator[Gw]:
    app = web.Application()
    setup_identity(app, settings_for(tmp, database_url, **overrides), relay=False, clock=clock or utc_now)
    db = Database(database_url)
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        yield Gw(http, db, app[SIGNING_KEY], tmp)
    await db.dispose()


@pytest.fixture
async def db_url(migrated, backend, tmp_path: Path) -> str:
    return await migrated.fresh("govdata_gateway", backend, tmp_path)


@pytest.fixture
async def gw(tmp_path: Path, db_url: str) -> AsyncIterator[Gw]:
    async for gateway in running(tmp_path, db_url):
        yield gateway


@pytest.fixture
async def bureau(gw: Gw) -> str:
    return await gw.token("bureau")


async def expect_problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == PROBLEM_JSON, text
    body = json.loads(text)
    assert body["code"] == code and body["status"] == status and body["detail"], body
    return body


async def provision(gw: Gw, token: str, suffix: str = "") -> dict[str, Any]:
    """Department → system → client of that system → person, as a bureau administrator does it."""
    dept = await gw.ok("POST", "/departments", token, {"code": f"YC-MZ{suffix}", "name": "伊川县民政局"}, 201)
    system = await gw.ok(
        "POST", "/systems", token, {"id": f"mz-dibao{suffix}", "dept": dept["code"], "name": "民政低保审批系统"}, 201
    )
    client = await gw.ok(
        "POST",
        "/clients",
        token,
        {
            "client_id": f"mz-dibao-app{suffix}",
            "name": "低保审批系统接口",
            "dept": dept["code"],
            "roles": ["dept_operator"],
            "system": system["id"],
        },
        201,
    )
    user = await gw.ok(
        "POST",
        "/users",
        token,
        {"username": f"zhangmin{suffix}", "name": "张敏", "dept": dept["code"], "roles": ["dept_operator"]},
        201,
    )
    return {"dept": dept, "system": system, "client": client, "user": user}


# --------------------------------------------------------------------------------------------- provisioning


@pytest.mark.backends("postgres", "sqlite")  # timestamps, JSON roles and the outbox on both
async def test_a_bureau_admin_provisions_a_department_a_system_a_client_of_it_and_a_person(gw: Gw, bureau: str):
    made = await provision(gw, bureau)
    assert made["dept"] == {
        "code": "YC-MZ",
        "name": "伊川县民政局",
        "disabled": False,
        "version": 1,
        "created_at": made["dept"]["created_at"],
        "updated_at": made["dept"]["created_at"],
    }
    assert made["system"]["dept"] == "YC-MZ" and made["system"]["version"] == 1
    client = made["client"]
    assert (client["dept"], client["system"], client["roles"]) == ("YC-MZ", "mz-dibao", ["dept_operator"])
    secret = client["client_secret"]
    assert len(secret) >= 43  # 256 random bits, URL-safe

    # The client signs in with its secret and acts for its system.
    token = await gw.token("mz-dibao-app", secret)
    me = await gw.ok("GET", "/me", token)
    assert me == {
        "sub": "mz-dibao-app",
        "name": "低保审批系统接口",
        "dept": "YC-MZ",
        "roles": ["dept_operator"],
        "system": "mz-dibao",
    }

    user = made["user"]
    password = user["temporary_password"]
    assert user["must_change_password"] is True and user["dept"] == "YC-MZ"
    assert password_policy_violation(password, "zhangmin") is None
    stored = await gw.row(Person, "zhangmin")
    assert stored.must_change_password and passwords.verify_secret(password, stored.password_hash)
    assert stored.password_hash.startswith("$argon2id$")
    assert (await gw.row(ClientRecord, "mz-dibao-app")).secret_hash.startswith("$argon2id$")


async def test_the_secret_and_the_temporary_password_are_shown_once_and_never_again(gw: Gw, bureau: str):
    made = await provision(gw, bureau)
    secret, password = made["client"]["client_secret"], made["user"]["temporary_password"]
    listed = {}
    for kind in ("departments", "systems", "clients", "users"):
        listed[kind] = await gw.ok("GET", f"/{kind}", bureau)
        text = json.dumps(listed[kind], ensure_ascii=False)
        for leaked in (secret, password, "$argon2", "hash", "client_secret", "temporary_password", "totp_secret"):
            assert leaked not in text, (kind, leaked)
    clients = {c["client_id"]: c for c in listed["clients"]["items"]}
    assert listed["clients"]["total"] == len(SEED["clients"]) + 1
    assert clients["mz-dibao-app"]["system"] == "mz-dibao"
    assert clients["citizen-1"]["subject_id"] == "3405**********001X"  # the bureau is not the subject
    assert {u["username"] for u in listed["users"]["items"]} == {"zhangmin"}
    assert [d["code"] for d in listed["departments"]["items"]] == ["YC-GA", "YC-MZ", "YC-ZSJ"]
    # The secret works; a second look at the client shows no secret.
    await gw.token("mz-dibao-app", secret)
    assert "client_secret" not in clients["mz-dibao-app"]


async def test_a_citizen_is_created_with_a_valid_identifier_that_never_leaves_unmasked(gw: Gw, bureau: str):
    user = await gw.ok(
        "POST",
        "/users",
        bureau,
        {"username": "wangjg", "name": "王建国", "roles": ["citizen"], "subject_id": CITIZEN_ID},
        201,
    )
    assert user["subject_id"] == "4103**********0015" and user["dept"] is None
    assert (await gw.row(Person, "wangjg")).subject_id == CITIZEN_ID
    text = json.dumps(await gw.outbox(), ensure_ascii=False)
    assert CITIZEN_ID not in text and "4103**********0015" in text


@pytest.mark.backends("postgres", "sqlite")  # timestamps, JSON roles and the outbox on both
async def test_every_change_is_one_identity_event_in_the_outbox_masked_and_without_secrets(gw: Gw, bureau: str):
    before = len(await gw.outbox())
    made = await provision(gw, bureau)
    await gw.ok("POST", "/users", bureau, {"username": "wangjg", "roles": ["citizen"], "subject_id": CITIZEN_ID}, 201)
    rotated = await gw.ok("POST", "/clients/mz-dibao-app/rotate-secret", bureau)
    await gw.ok("POST", "/clients/mz-dibao-app/disable", bureau)
    await gw.ok("POST", "/clients/mz-dibao-app/disable", bureau)  # already disabled: no change, no event
    reset = await gw.ok("POST", "/users/zhangmin/reset-password", bureau)
    await gw.ok("POST", "/users/zhangmin/disable", bureau)

    events = (await gw.outbox())[before:]
    assert [(e["type"], e["subject"], e["version"]) for e in events] == [
        ("identity.department.created", "department:YC-MZ", 1),
        ("identity.system.created", "system:mz-dibao", 1),
        ("identity.client.created", "client:mz-dibao-app", 1),
        ("identity.user.created", "user:zhangmin", 1),
        ("identity.user.created", "user:wangjg", 1),
        ("identity.client.secret_rotated", "client:mz-dibao-app", 2),
        ("identity.client.disabled", "client:mz-dibao-app", 3),
        ("identity.user.password_reset", "user:zhangmin", 2),
        ("identity.user.disabled", "user:zhangmin", 3),
    ]
    assert all(e["actor"] == "bureau" and e["source"] == "/govdata/gateway" for e in events)
    assert events[6]["data"]["disabled"] is True and events[6]["dept"] == "YC-MZ"
    assert events[4]["data"]["subject_id"] == "4103**********0015"
    text = json.dumps(events, ensure_ascii=False)
    for secret in (
        made["client"]["client_secret"],
        rotated["client_secret"],
        made["user"]["temporary_password"],
        reset["temporary_password"],
        CITIZEN_ID,
        "$argon2",
    ):
        assert secret not in text


async def test_a_reset_password_replaces_the_old_one_and_must_be_changed(gw: Gw, bureau: str):
    made = await provision(gw, bureau)
    reset = await gw.ok("POST", "/users/zhangmin/reset-password", bureau)
    assert reset["must_change_password"] is True and reset["temporary_password"] != made["user"]["temporary_password"]
    stored = await gw.row(Person, "zhangmin")
    assert passwords.verify_secret(reset["temporary_password"], stored.password_hash)
    assert not passwords.verify_secret(made["user"]["temporary_password"], stored.password_hash)
    assert stored.must_change_password and stored.password_changed_at is not None


async def test_a_disabled_person_cannot_have_the_password_reset(gw: Gw, bureau: str):
    await provision(gw, bureau)
    disabled = await gw.ok("POST", "/users/zhangmin/disable", bureau)
    assert disabled["disabled"] is True and disabled["version"] == 2
    await expect_problem(await gw.call("POST", "/users/zhangmin/reset-password", bureau), 409, "user_disabled")


# --------------------------------------------------------------------------------------------- secrets


async def test_a_disabled_client_gets_no_token(gw: Gw, bureau: str):
    made = await provision(gw, bureau)
    secret = made["client"]["client_secret"]
    await gw.token("mz-dibao-app", secret)
    disabled = await gw.ok("POST", "/clients/mz-dibao-app/disable", bureau)
    assert disabled["disabled"] is True
    await expect_problem(await gw.token_response("mz-dibao-app", secret), 401, "invalid_client")
    await expect_problem(await gw.call("POST", "/clients/mz-dibao-app/rotate-secret", bureau), 409, "client_disabled")


@pytest.mark.backends("postgres", "sqlite")  # timestamps, JSON roles and the outbox on both
async def test_after_a_rotation_both_secrets_work_until_the_grace_period_ends(tmp_path: Path, db_url: str):
    grace, clock = 3600, MovableClock()
    async for gw in running(tmp_path, db_url, clock, govdata_secret_rotation_grace_seconds=grace):
        bureau = await gw.token("bureau")
        old = (await provision(gw, bureau))["client"]["client_secret"]
        rotated = await gw.ok("POST", "/clients/mz-dibao-app/rotate-secret", bureau)
        new = rotated["client_secret"]
        assert new != old and rotated["previous_secret_valid_until"]
        listed = await gw.ok("GET", "/clients", bureau)
        assert "client_secret" not in json.dumps(listed) and new not in json.dumps(listed)

        await gw.token("mz-dibao-app", new)
        assert rotated["previous_secret_valid_until"] == (clock.now + timedelta(seconds=grace)).isoformat()
        clock.advance(seconds=grace - 1)
        await gw.token("mz-dibao-app", old)  # within the grace period
        clock.advance(seconds=2)
        await expect_problem(await gw.token_response("mz-dibao-app", old), 401, "invalid_client")
        await gw.token("mz-dibao-app", new)


async def test_with_no_grace_period_the_old_secret_ends_at_the_rotation(tmp_path: Path, db_url: str):
    async for gw in running(tmp_path, db_url, govdata_secret_rotation_grace_seconds=0):
        bureau = await gw.token("bureau")
        old = (await provision(gw, bureau))["client"]["client_secret"]
        await gw.token("mz-dibao-app", old)
        rotated = await gw.ok("POST", "/clients/mz-dibao-app/rotate-secret", bureau)
        assert rotated["previous_secret_valid_until"] is None
        await expect_problem(await gw.token_response("mz-dibao-app", old), 401, "invalid_client")
        await gw.token("mz-dibao-app", rotated["client_secret"])


# --------------------------------------------------------------------------------------------- input rules

GOOD_CLIENT = {"client_id": "ga-new", "dept": "YC-GA", "roles": ["dept_operator"], "system": "ga-zonghe"}


@pytest.mark.parametrize(
    ("path", "body", "field", "rule"),
    [
        ("/departments", {"name": "无编码"}, "code", "required"),
        ("/departments", {"code": "YC MZ", "name": "空格"}, "code", "id_format"),
        ("/departments", {"code": "YC-" + "X" * 40, "name": "太长"}, "code", "id_format"),
        ("/departments", {"code": "YC-JY", "name": "  "}, "name", "non_empty_string"),
        ("/departments", {"code": "YC-JY", "name": "教育局", "disabled": True}, "disabled", "unknown_field"),
        ("/systems", {"id": "jy-1", "dept": "YC-NONE", "name": "系统"}, "dept", "known_department"),
        ("/systems", {"id": "jy-1", "name": "系统"}, "dept", "required"),
        ("/clients", {**GOOD_CLIENT, "client_secret": "mine"}, "client_secret", "unknown_field"),
        ("/clients", {**GOOD_CLIENT, "client_id": "-bad"}, "client_id", "id_format"),
        ("/clients", {**GOOD_CLIENT, "roles": ["superuser"]}, "roles", "known_role"),
        ("/clients", {**GOOD_CLIENT, "roles": ["gateway"]}, "roles", "assignable_role"),
        ("/clients", {**GOOD_CLIENT, "roles": []}, "roles", "required"),
        ("/clients", {**GOOD_CLIENT, "roles": "dept_operator"}, "roles", "type"),
        ("/clients", {**GOOD_CLIENT, "dept": None}, "dept", "required"),
        ("/clients", {**GOOD_CLIENT, "dept": "YC-ZSJ"}, "system", "system_of_department"),
        ("/clients", {**GOOD_CLIENT, "system": "nowhere"}, "system", "known_system"),
        ("/clients", {**GOOD_CLIENT, "subject_id": CITIZEN_ID}, "subject_id", "only_for_citizens"),
        ("/clients", {**GOOD_CLIENT, "redirect_uris": ["https://portal/#x"]}, "redirect_uris", "redirect_uri"),
        ("/clients", {**GOOD_CLIENT, "redirect_uris": ["javascript:alert(1)"]}, "redirect_uris", "redirect_uri"),
        (
            "/clients",
            {"client_id": "c-2", "roles": ["citizen"], "dept": "YC-GA", "subject_id": CITIZEN_ID},
            "dept",
            "citizen_has_no_department",
        ),
        (
            "/clients",
            {"client_id": "c-2", "roles": ["citizen", "dept_operator"], "subject_id": CITIZEN_ID},
            "roles",
            "citizen_only_role",
        ),
        ("/users", {"username": "li", "roles": ["citizen"]}, "subject_id", "required"),
        (
            "/users",
            {"username": "li", "roles": ["citizen"], "subject_id": "410329198503120016"},
            "subject_id",
            "check_digit",
        ),
        ("/users", {"username": "li", "roles": ["citizen"], "subject_id": "4103291985"}, "subject_id", "length"),
        ("/users", {"username": "li", "roles": ["citizen"], "subject_id": "91410329MA4"}, "subject_id", "length"),
        ("/users", {"username": "li", "dept": "YC-GA", "roles": ["city_platform"]}, "roles", "assignable_role"),
        ("/users", {"username": "li", "dept": "YC-GA", "roles": []}, "roles", "required"),
        ("/users", {"username": "li", "roles": ["dept_head"]}, "dept", "required"),
        (
            "/users",
            {"username": "li", "roles": ["dept_head"], "dept": "YC-GA", "password": "x"},
            "password",
            "unknown_field",
        ),
        ("/users", {"username": "li wei", "roles": ["auditor"], "dept": "YC-ZSJ"}, "username", "id_format"),
    ],
)
async def test_invalid_input_is_422_naming_field_and_rule(gw: Gw, bureau: str, path, body, field, rule):
    before = await gw.outbox()
    problem = await expect_problem(await gw.call("POST", path, bureau, body), 422, "validation_failed")
    assert (problem["field"], problem["rule"]) == (field, rule), problem
    assert {"field": field, "rule": rule} in [{"field": e["field"], "rule": e["rule"]} for e in problem["errors"]]
    assert await gw.outbox() == before  # nothing written


async def test_every_broken_rule_of_a_body_is_named_at_once(gw: Gw, bureau: str):
    body = {"client_id": "", "roles": ["root"], "dept": "YC-NONE", "system": "ga-zonghe", "colour": "red"}
    problem = await expect_problem(await gw.call("POST", "/clients", bureau, body), 422, "validation_failed")
    assert {(e["field"], e["rule"]) for e in problem["errors"]} == {
        ("colour", "unknown_field"),
        ("client_id", "id_format"),
        ("roles", "known_role"),
        ("dept", "known_department"),
        ("system", "system_of_department"),
    }


async def test_a_body_that_is_no_json_object_is_422(gw: Gw, bureau: str):
    headers = {"Authorization": f"Bearer {bureau}", "Content-Type": "application/json"}
    for raw in (b"{not json", b"[1, 2]", b""):
        resp = await gw.http.post("/api/identity/departments", data=raw, headers=headers)
        problem = await expect_problem(resp, 422, "validation_failed")
        assert (problem["field"], problem["rule"]) == ("body", "json_object")
    resp = await gw.http.post(
        "/api/identity/departments", data="code=YC-X", headers={**headers, "Content-Type": "text/plain"}
    )
    await expect_problem(resp, 415, "unsupported_media_type")


async def test_a_system_or_client_of_a_disabled_department_or_system_is_refused(tmp_path: Path, db_url: str):
    seed = copy.deepcopy(SEED)
    seed["departments"].append({"code": "YC-OLD", "name": "已撤并部门", "disabled": True})
    seed["systems"].append({"id": "ga-old", "dept": "YC-GA", "name": "旧系统", "disabled": True})
    (tmp_path / "seed").mkdir()
    app = web.Application()
    settings = settings_for(tmp_path / "seed", db_url)
    settings.govdata_clients_file.write_text(yaml.safe_dump(seed, allow_unicode=True), encoding="utf-8")
    setup_identity(app, settings, relay=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        gw = Gw(http, Database(db_url), app[SIGNING_KEY], tmp_path)
        bureau = await gw.token("bureau")
        problem = await expect_problem(
            await gw.call("POST", "/systems", bureau, {"id": "x-1", "dept": "YC-OLD", "name": "新系统"}),
            422,
            "validation_failed",
        )
        assert (problem["field"], problem["rule"]) == ("dept", "active_department")
        problem = await expect_problem(
            await gw.call("POST", "/clients", bureau, {**GOOD_CLIENT, "system": "ga-old"}), 422, "validation_failed"
        )
        assert (problem["field"], problem["rule"]) == ("system", "active_system")
        await gw.db.dispose()


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/departments", {"code": "YC-GA", "name": "重复"}, "department_exists"),
        ("/systems", {"id": "ga-zonghe", "dept": "YC-GA", "name": "重复"}, "system_exists"),
        ("/clients", {**GOOD_CLIENT, "client_id": "ga-system"}, "client_exists"),
        ("/users", {"username": "zhangmin", "dept": "YC-GA", "roles": ["dept_head"]}, "user_exists"),
        ("/users", {"username": "ga-system", "dept": "YC-GA", "roles": ["dept_head"]}, "name_in_use"),
        ("/clients", {**GOOD_CLIENT, "client_id": "zhangmin"}, "name_in_use"),
    ],
)
async def test_a_duplicate_is_409(gw: Gw, bureau: str, path, body, code):
    await gw.ok("POST", "/users", bureau, {"username": "zhangmin", "dept": "YC-GA", "roles": ["dept_operator"]}, 201)
    before = await gw.outbox()
    await expect_problem(await gw.call("POST", path, bureau, body), 409, code)
    assert await gw.outbox() == before


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/clients/nobody/rotate-secret", "client_not_found"),
        ("/clients/nobody/disable", "client_not_found"),
        ("/users/nobody/disable", "user_not_found"),
        ("/users/nobody/reset-password", "user_not_found"),
    ],
)
async def test_an_unknown_id_is_404(gw: Gw, bureau: str, path, code):
    body = await expect_problem(await gw.call("POST", path, bureau), 404, code)
    assert "nobody" in body["detail"]


async def test_identity_paths_are_answered_by_the_gateway_not_proxied(gw: Gw, bureau: str):
    await expect_problem(await gw.call("GET", "/nothing-here", bureau), 404, "not_found")
    resp = await gw.call("DELETE", "/departments", bureau)
    await expect_problem(resp, 405, "method_not_allowed")
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    resp = await gw.call("GET", "/clients/ga-system/disable", bureau)
    await expect_problem(resp, 405, "method_not_allowed")


# --------------------------------------------------------------------------------------------- attackers


def _path(route: str) -> str:
    return route.replace("{client_id}", "ga-system").replace("{username}", "zhangmin")


ADMIN_ROUTES = [(m, _path(p), roles) for m, p, _, _, roles in ROUTES if roles is not None]


@functools.cache
def attacker_key() -> tuple[SigningKey, Any]:
    """A key the gateway never trusted (one per test process: generating one costs ~50 ms), and its jose form."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(key), jwk.construct(key, "RS256")


ROLE_OF = {"ga-system": "dept_operator", "auditor-1": "auditor", "citizen-1": "citizen"}


@pytest.mark.parametrize(("method", "path", "roles"), ADMIN_ROUTES)
async def test_callers_without_a_valid_bureau_token_are_refused_and_change_nothing(gw: Gw, method, path, roles):
    await gw.ok(
        "POST",
        "/users",
        await gw.token("bureau"),
        {"username": "zhangmin", "dept": "YC-GA", "roles": ["dept_operator"]},
        201,
    )
    before = await gw.outbox()
    body = {"code": "YC-EVIL", "name": "x"}
    attacker, pem = attacker_key()
    now = int(time.time())
    bureau_claims = {"sub": "bureau", "client_id": "bureau", "dept": "YC-ZSJ", "roles": ["bureau_admin"]}

    resp = await gw.call(method, path, None, body)
    await expect_problem(resp, 401, "unauthenticated")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    # Signed with another key, under that key's kid and under the gateway's own kid.
    forged = attacker.sign({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, **bureau_claims})
    assert (await expect_problem(await gw.call(method, path, forged, body), 401, "invalid_token"))[
        "reason"
    ] == "unknown_key"
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, **bureau_claims},
        pem,
        algorithm="RS256",
        headers={"kid": gw.key.kid},
    )
    assert (await expect_problem(await gw.call(method, path, forged, body), 401, "invalid_token"))[
        "reason"
    ] == "bad_signature"
    expired = gw.sign(**bureau_claims, iat=now - 1000, nbf=now - 1000, exp=now - 600)
    assert (await expect_problem(await gw.call(method, path, expired, body), 401, "invalid_token"))[
        "reason"
    ] == "expired"
    data_token = gw.sign(**bureau_claims, aud="govdata-data", scope="grant:grt-1")
    assert (await expect_problem(await gw.call(method, path, data_token, body), 401, "invalid_token"))[
        "reason"
    ] == "wrong_audience"
    for who, role in ROLE_OF.items():
        if role in roles:  # the departments' codes and names are for every member of staff to read
            assert method == "GET" and path == "/departments"
            continue
        problem = await expect_problem(await gw.call(method, path, await gw.token(who), body), 403, "forbidden_role")
        assert problem["required_roles"] == list(roles)
    assert await gw.outbox() == before
    assert not (await gw.row(ClientRecord, "ga-system")).disabled


async def test_staff_read_the_departments_and_a_citizen_does_not(gw: Gw, bureau: str):
    """第十二条: a department names the department a demand is for, so it reads the registry's departments."""
    for who in ("ga-system", "auditor-1"):
        listing = await gw.ok("GET", "/departments", await gw.token(who))
        assert "YC-GA" in {d["code"] for d in listing["items"]}
    await expect_problem(await gw.call("GET", "/departments", await gw.token("citizen-1")), 403, "forbidden_role")
    await expect_problem(await gw.call("GET", "/systems", await gw.token("ga-system")), 403, "forbidden_role")


# --------------------------------------------------------------------------------------------- who am I


async def test_me_answers_anyone_with_a_valid_api_token_with_the_registry_name(gw: Gw, bureau: str):
    assert await gw.ok("GET", "/me", bureau) == {
        "sub": "bureau",
        "name": "县大数据局管理员",
        "dept": "YC-ZSJ",
        "roles": ["bureau_admin"],
    }
    citizen = await gw.ok("GET", "/me", await gw.token("citizen-1"))
    assert citizen == {"sub": "citizen-1", "name": None, "dept": None, "roles": ["citizen"]}
    await gw.ok(
        "POST", "/users", bureau, {"username": "zhangmin", "name": "张敏", "dept": "YC-GA", "roles": ["dept_head"]}, 201
    )
    # A person's token (the portal's, after sign-in): `sub` is the username, `client_id` the portal.
    person = gw.sign(sub="zhangmin", client_id="portal", dept="YC-GA", roles=["dept_head"])
    assert (await gw.ok("GET", "/me", person))["name"] == "张敏"
    await expect_problem(await gw.call("GET", "/me"), 401, "unauthenticated")
    expired = gw.sign(sub="zhangmin", exp=int(time.time()) - 600, iat=int(time.time()) - 900)
    await expect_problem(await gw.call("GET", "/me", expired), 401, "invalid_token")


# --------------------------------------------------------------------------------------------- every replica
# The platform of conftest.py: real gateways (identity relay on) over the session's broker, sharing one registry.

JY, JY_SYSTEM, JY_CLIENT = "YC-JY", "jy-xueji", "jy-xueji-app"


def _with_bureau(platform) -> Path:
    data = yaml.safe_load((platform.tmp / "clients.yaml").read_text(encoding="utf-8"))
    data["departments"].append({"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"})
    data["clients"].append(
        {"client_id": "bureau", "client_secret": "s-bureau", "dept": "YC-ZSJ", "roles": ["bureau_admin"]}
    )
    path = platform.tmp / "clients-with-bureau.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def _post(platform, gateway, path: str, token: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with platform.http.post(f"{gateway.url}{path}", json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def _token(platform, gateway, client_id: str, secret: str, scope: str = "api") -> tuple[int, dict[str, Any]]:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": scope}
    async with platform.http.post(f"{gateway.url}/auth/token", data=form) as resp:
        return resp.status, await resp.json(content_type=None)


async def _api_status(platform, gateway, token: str) -> tuple[int, str | None]:
    """A call through the gateway's API routing to a service (here the snapshot server stands behind it)."""
    async with platform.http.get(
        f"{gateway.url}/api/catalog/whoami", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        body = await resp.read()
        code = json.loads(body).get("code") if resp.content_type == PROBLEM_JSON else None
        return resp.status, code


async def _replicas(platform):
    rid, gid = platform.new_ids()
    platform.add_resource(rid)
    clients_file = _with_bureau(platform)
    a = await platform.start_gateway(govdata_clients_file=clients_file)
    b = await platform.start_gateway(govdata_clients_file=clients_file)
    status, body = await _token(platform, a, "bureau", "s-bureau")
    assert status == 200, body
    return a, b, body["access_token"], rid, gid


async def test_a_disabled_client_is_refused_by_every_replica_within_a_second(platform):
    """Provision through /api/identity, get a grant token, disable the client: its next token request is refused
    and its still-valid grant token (and API token) stop working at both replicas within a second."""
    a, b, bureau, rid, gid = await _replicas(platform)
    for path, body in (
        ("/departments", {"code": JY, "name": "伊川县教育局"}),
        ("/systems", {"id": JY_SYSTEM, "dept": JY, "name": "学籍管理系统"}),
        ("/clients", {"client_id": JY_CLIENT, "dept": JY, "roles": ["dept_operator"], "system": JY_SYSTEM}),
    ):
        status, created = await _post(platform, a, f"/api/identity{path}", bureau, body)
        assert status == 201, created
    secret = created["client_secret"]
    # sharing-svc grants the data to the new system (第二十九条); both replicas learn it from the broker.
    meta = await platform.events.grant(
        GRANT_CREATED, platform.grant_data(gid, rid, holder_dept=JY, holder_system=JY_SYSTEM), 1
    )
    await a.caught_up(meta)
    await b.caught_up(meta)
    status, body = await _token(platform, b, JY_CLIENT, secret, f"grant:{gid}")
    assert status == 200, body
    grant_token = body["access_token"]
    status, body = await _token(platform, a, JY_CLIENT, secret)
    api_token = body["access_token"]
    for gateway in (a, b):
        assert await gateway.status(grant_token, rid, "/population/persons/p1") == 200
        assert (await _api_status(platform, gateway, api_token))[1] is None  # proxied

    started = time.monotonic()
    status, disabled = await _post(platform, a, f"/api/identity/clients/{JY_CLIENT}/disable", bureau)
    assert status == 200 and disabled["disabled"] is True

    async def refused_everywhere() -> bool:
        return all([await gateway.status(grant_token, rid, "/population/persons/p1") == 403 for gateway in (a, b)])

    await platform.until(refused_everywhere, timeout=1.0, interval=0.01)
    took = time.monotonic() - started
    print(f"\ndisable → grant token refused at both replicas: {took * 1000:.0f} ms")
    assert took < 1.0
    reached = len(platform.provider.seen)
    for gateway in (a, b):
        async with gateway.call(grant_token, rid, "/population/persons/p1") as resp:
            await platform.expect_problem(resp, 403, "client_disabled")
        status, body = await _token(platform, gateway, JY_CLIENT, secret, f"grant:{gid}")
        assert (status, body["code"]) == (401, "invalid_client")
        assert await _api_status(platform, gateway, api_token) == (403, "client_disabled")
    assert len(platform.provider.seen) == reached  # refused calls never reach the provider


async def test_a_disabled_person_s_still_valid_token_is_refused_before_proxying(platform):
    a, b, bureau, _, _ = await _replicas(platform)
    status, _ = await _post(
        platform,
        a,
        "/api/identity/users",
        bureau,
        {"username": "lisi", "dept": platform.HOLDER, "roles": ["dept_operator"]},
    )
    assert status == 201
    now = int(time.time())
    person = platform.key.sign(
        {
            "iss": platform.ISSUER,
            "aud": platform.API_AUDIENCE,
            "sub": "lisi",
            "client_id": "portal",
            "dept": platform.HOLDER,
            "roles": ["dept_operator"],
            "iat": now,
            "exp": now + 900,
        }
    )
    assert (await _api_status(platform, b, person))[1] is None
    started = time.monotonic()
    status, _ = await _post(platform, a, "/api/identity/users/lisi/disable", bureau)
    assert status == 200

    async def refused_everywhere() -> bool:
        return all([await _api_status(platform, g, person) == (403, "user_disabled") for g in (a, b)])

    await platform.until(refused_everywhere, timeout=1.0, interval=0.01)
    assert time.monotonic() - started < 1.0
    # Another person of the same department is not affected.
    other = platform.key.sign({"iss": platform.ISSUER, "aud": platform.API_AUDIENCE, "sub": "wangwu", "exp": now + 900})
    assert (await _api_status(platform, b, other))[1] is None


async def test_a_disabled_bureau_administrator_cannot_manage_the_registry(platform):
    a, b, bureau, _, _ = await _replicas(platform)
    status, created = await _post(
        platform,
        a,
        "/api/identity/clients",
        bureau,
        {"client_id": "bureau-2", "dept": "YC-ZSJ", "roles": ["bureau_admin"]},
    )
    assert status == 201, created
    status, body = await _token(platform, b, "bureau-2", created["client_secret"])
    second = body["access_token"]
    status, _ = await _post(
        platform, b, "/api/identity/departments", second, {"code": "YC-TY", "name": "伊川县退役军人事务局"}
    )
    assert status == 201
    await _post(platform, a, "/api/identity/clients/bureau-2/disable", bureau)

    async def refused() -> bool:
        status, body = await _post(
            platform, b, "/api/identity/departments", second, {"code": "YC-TJ", "name": "统计局"}
        )
        return (status, body.get("code")) == (403, "client_disabled")

    await platform.until(refused, timeout=1.0, interval=0.01)


@pytest.mark.backends("postgres", "sqlite")
async def test_a_nul_character_in_a_body_or_a_token_request_is_refused_naming_the_field(gw: Gw, bureau: str):
    """No Postgres text holds U+0000: a department named with one was a 500 at the insert. Refused up front,
    by field, and nothing is written."""
    named = await gw.call("POST", "/departments", bureau, {"code": "YC-MZ", "name": "伊川县\u0000民政局"})
    body = await expect_problem(named, 422, "validation_failed")
    assert (body["field"], body["rule"]) == ("name", "no_nul_character")
    assert await gw.row(Department, "YC-MZ") is None
    form = {"grant_type": "client_credentials", "client_id": "ga-system\x00", "client_secret": "s-ga"}
    token = await expect_problem(await gw.http.post("/auth/token", data=form), 400, "invalid_request")
    assert (token["field"], token["rule"]) == ("client_id", "no_nul_character")
    assert (await gw.call("POST", "/departments", bureau, {"code": "YC-MZ", "name": "伊川县民政局"})).status == 201
