"""Issue 4 end to end, as departmental systems drive it through the gateway: publish a resource, apply for one
of the department's 应用系统, approve on each path of 第二十九条, take a grant token (only the holder system's
client gets one), call the provider's data and get only granted fields; suspension, resumption and termination
take effect at the very next call; and the attacks are refused."""

from __future__ import annotations

import copy
import json
import os
import signal
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import yaml
from govdata_local.platform import DEMO_CLIENTS
from govdata_shared.settings import REPO_ROOT

# A minimal PDF standing for the sealed 需求单 of a conditional request (第二十九条(二)).
SEALED_FORM = b"%PDF-1.4\n" + "% 伊川县政务数据共享需求单 YC-GA\n".encode() + b"%%EOF\n"
FIXTURE = json.loads((REPO_ROOT / "deploy" / "demo" / "catalog.json").read_text(encoding="utf-8"))
# The 应用系统 each demo client is bound to (clients.yaml); the gateway seeds it, sharing-svc learns it by event.
SYSTEM_OF = {c["client_id"]: c.get("system") for c in yaml.safe_load(DEMO_CLIENTS.read_text("utf-8"))["clients"]}


def _fixture(name: str) -> dict:
    """A demo resource's body, declared free of state secrets (第二条) as the demo loader declares it."""
    return {**copy.deepcopy(next(r for r in FIXTURE["resources"] if r["name"] == name)), "no_state_secrets": True}


class Dept:
    """One department's system talking to the gateway."""

    def __init__(self, platform, client_id: str, secret: str | None = None, system: str | None = None) -> None:
        self.platform = platform
        self.client_id = client_id
        self.secret = secret or f"demo-{client_id}"
        self.system = system or SYSTEM_OF.get(client_id)
        token = platform.token(client_id, self.secret)
        self.http = httpx.Client(base_url=platform.gateway, timeout=10, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, json=None) -> httpx.Response:
        return self.http.post(path, json=json)

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(path, params=params)

    def grant_token(self, grant_id: str) -> httpx.Response:
        return httpx.post(
            f"{self.platform.gateway}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.secret,
                "scope": f"grant:{grant_id}",
            },
        )


def _publish(platform, owner: Dept, bureau: Dept, name: str, code: str, **interface) -> dict:
    body = _fixture(name)
    dept_path = body["interface"]["base_url"].split("127.0.0.1:8900", 1)[1]
    body["interface"] = {**body["interface"], "base_url": platform.provider + dept_path, **interface}
    body["code"] = code
    body.pop("provider_dept")
    created = owner.post("/api/catalog/resources", body)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert owner.post(f"/api/catalog/resources/{rid}/submit").status_code == 200
    published = bureau.post(f"/api/catalog/resources/{rid}/review", {"decision": "approve"})
    assert published.json()["status"] == "published"
    return published.json()


def _request_body(resource_id: str, items: list[str], system: str) -> dict:
    return {
        "resource_id": resource_id,
        "items": items,
        "purpose": "低保审核身份核验",
        "duty_basis": "《社会救助暂行办法》第十一条",
        "system": system,
        "valid_from": date.today().isoformat(),
        "valid_to": (date.today() + timedelta(days=300)).isoformat(),
    }


def _apply(requester: Dept, resource_id: str, items: list[str]) -> httpx.Response:
    """A request for the 应用系统 the requester's client is bound to."""
    body = _request_body(resource_id, items, requester.system)
    deadline = time.monotonic() + 15
    while True:  # sharing-svc learns of the resource and the system from the catalog's and identity events
        response = requester.post("/api/sharing/requests", body)
        not_yet = response.status_code == 404 or response.json().get("code") == "unknown_system"
        if not not_yet or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def _eventually(predicate, timeout: float = 5.0, what: str = "") -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def _data(platform, token: str, resource_id: str, path: str, method: str = "GET") -> httpx.Response:
    return httpx.request(
        method, f"{platform.gateway}/data/{resource_id}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


@pytest.fixture(scope="module")
def world(platform):
    ga, mz, rs, sj = (Dept(platform, c) for c in ("ga-system", "mz-system", "rs-system", "sj-system"))
    bureau = Dept(platform, "bureau")
    population = _publish(platform, ga, bureau, "户籍人口基本信息", "101001/900001")
    enterprise = _publish(platform, sj, bureau, "企业登记注册信息", "104001/900002")
    return {
        "ga": ga,
        "mz": mz,
        "rs": rs,
        "sj": sj,
        "bureau": bureau,
        "ga-head": Dept(platform, "ga-head"),
        "mz-head": Dept(platform, "mz-head"),
        "population": population,
        "enterprise": enterprise,
    }


@pytest.fixture(scope="module")
def mz_grant(world):
    """YC-MZ applies for three items of YC-GA's population data; the platform approves (unconditional)."""
    request = _apply(world["mz"], world["population"]["id"], ["id_number", "name", "household_address"])
    assert request.status_code == 201, request.text
    assert request.json()["status"] == "platform_review"
    granted = world["bureau"].post(f"/api/sharing/requests/{request.json()['id']}/approve")
    assert granted.json()["status"] == "granted"
    return granted.json()["grant_id"]


def _token(world, grant_id: str, holder: str = "mz") -> str:
    deadline = time.monotonic() + 5
    while True:  # the gateway learns of the grant from the sharing events
        response = world[holder].grant_token(grant_id)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.json()["access_token"]
        time.sleep(0.05)


def test_granted_call_returns_only_granted_fields(platform, world, mz_grant):
    token = _token(world, mz_grant)
    rid = world["population"]["id"]
    page = _data(platform, token, rid, "/records?page=1&size=5")
    assert page.status_code == 200, page.text
    records = page.json()["items"]
    assert len(records) == 5
    assert all(set(r) <= {"id_number", "name", "household_address"} for r in records)
    assert all("phone" not in r and "birth_date" not in r for r in records)
    one = _data(platform, token, rid, "/records/000003")
    assert set(one.json()) == {"id_number", "name", "household_address"}


def test_the_grant_is_the_requesting_systems_and_only_its_client_gets_grant_tokens(platform, world, mz_grant):
    """第二十九条: YC-MZ's grant is held by 民政低保审批系统; another client of YC-MZ gets no grant token."""
    grant = world["mz"].get(f"/api/sharing/grants/{mz_grant}").json()
    assert grant["holder_dept"] == "YC-MZ" and grant["holder_system"] == world["mz"].system == "mz-dbsp"
    _token(world, mz_grant)  # the gateway knows the grant and issues its token to the system's client
    refused = world["mz-head"].grant_token(mz_grant)
    assert refused.status_code == 403 and refused.json()["code"] == "system_mismatch", refused.text
    assert refused.json()["holder_system"] == "mz-dbsp"
    issued = world["mz"].grant_token(mz_grant)
    assert issued.status_code == 200, issued.text


def test_a_request_must_name_a_system_of_the_requesting_department(platform, world):
    for system in (world["rs"].system, "最低生活保障信息系统"):  # another department's, and free text
        body = _request_body(world["population"]["id"], ["name"], system)
        response = world["mz"].post("/api/sharing/requests", body)
        assert response.status_code == 422 and response.json()["code"] == "unknown_system", response.text
        assert response.json()["field"] == "system"


def test_suspension_is_effective_at_the_very_next_call_and_resume_restores(platform, world, mz_grant):
    token = _token(world, mz_grant)
    rid = world["population"]["id"]
    assert _data(platform, token, rid, "/records").status_code == 200
    suspended = world["ga"].post(f"/api/sharing/grants/{mz_grant}/suspend", {"reason": "核查调用记录"})
    assert suspended.json()["status"] == "suspended"
    took = _eventually(
        lambda: _data(platform, token, rid, "/records").status_code == 403,
        1.0,
        "the gateway refusing a suspended grant",
    )
    assert took < 1.0
    assert _data(platform, token, rid, "/records").json()["code"] == "grant_not_active"
    assert world["mz"].grant_token(mz_grant).status_code == 403  # no new tokens while suspended
    world["ga-head"].post(f"/api/sharing/grants/{mz_grant}/resume")
    _eventually(lambda: _data(platform, token, rid, "/records").status_code == 200, 1.0, "resumed grant working")


def test_another_departments_client_cannot_use_or_obtain_the_grant(platform, world, mz_grant):
    refused = world["rs"].grant_token(mz_grant)
    assert refused.status_code == 403 and refused.json()["code"] == "grant_not_held"  # not even system_mismatch
    rs_api_token = platform.token("rs-system")
    refused = _data(platform, rs_api_token, world["population"]["id"], "/records")
    assert refused.status_code == 401  # an API token is not a grant token (audience)


def test_token_for_one_resource_is_refused_on_another(platform, world, mz_grant):
    token = _token(world, mz_grant)
    response = _data(platform, token, world["enterprise"]["id"], "/records")
    assert response.status_code == 403 and response.json()["code"] == "wrong_resource"


def test_path_outside_the_interface_is_refused(platform, world, mz_grant):
    token = _token(world, mz_grant)
    rid = world["population"]["id"]
    assert _data(platform, token, rid, "/admin/export").status_code == 403
    assert _data(platform, token, rid, "/recordsX").status_code == 403
    assert _data(platform, token, rid, "/records", method="POST").status_code == 403


def test_conditional_path_needs_the_provider_then_the_platform(platform, world):
    marriage = None
    body = _fixture("最低生活保障对象信息")
    assert body["sharing_type"] == "conditional"
    marriage = _publish(platform, world["mz"], world["bureau"], "最低生活保障对象信息", "202004/900003")
    request = _apply(world["ga"], marriage["id"], ["id_number", "name"])
    assert request.json()["status"] == "provider_review"
    rid = request.json()["id"]
    assert world["bureau"].post(f"/api/sharing/requests/{rid}/approve").status_code == 403
    no_reason = world["mz"].post(f"/api/sharing/requests/{rid}/reject", {})
    assert no_reason.status_code == 422
    # 第二十九条(二): the provider approves on the requester's sealed 需求单, and may agree to fewer items.
    no_form = world["mz"].post(f"/api/sharing/requests/{rid}/approve", {"items": ["name"]})
    assert no_form.status_code == 409 and no_form.json()["code"] == "attachment_required", no_form.text
    attached = world["ga"].http.put(
        f"/api/sharing/requests/{rid}/attachment", files={"file": ("需求单.pdf", SEALED_FORM, "application/pdf")}
    )
    assert attached.status_code == 200, attached.text
    delivery = world["mz"].post(f"/api/sharing/requests/{rid}/approve", {"items": ["name"]})
    assert delivery.json()["status"] == "delivery" and delivery.json()["approved_items"] == ["name"], delivery.text
    narrowed = world["bureau"].post(f"/api/sharing/requests/{rid}/approve", {"items": ["id_number", "name"]})
    assert narrowed.status_code == 422 and narrowed.json()["code"] == "items_not_allowed"
    granted = world["bureau"].post(f"/api/sharing/requests/{rid}/approve")
    assert granted.json()["status"] == "granted" and granted.json()["grant_id"]
    grant_id = granted.json()["grant_id"]
    assert world["ga"].get(f"/api/sharing/grants/{grant_id}").json()["items"] == ["name"]
    deadline = time.monotonic() + 5
    while (issued := world["ga"].grant_token(grant_id)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # the gateway learns of the grant from sharing's events
    assert issued.status_code == 200, issued.text
    record = _data(platform, issued.json()["access_token"], marriage["id"], "/records/000003")
    assert record.status_code == 200 and set(record.json()) == {"name"}, record.text  # not id_number: not agreed


def test_termination_ends_the_grant_for_good(platform, world):
    request = _apply(world["rs"], world["population"]["id"], ["name"])
    grant_id = world["bureau"].post(f"/api/sharing/requests/{request.json()['id']}/approve").json()["grant_id"]
    response = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = world["rs"].grant_token(grant_id)
        if response.status_code == 200:
            break
        time.sleep(0.05)
    token = response.json()["access_token"]
    rid = world["population"]["id"]
    assert set(_data(platform, token, rid, "/records/000001").json()) == {"name"}
    world["bureau"].post(f"/api/sharing/grants/{grant_id}/terminate", {"reason": "系统下线"})
    _eventually(lambda: _data(platform, token, rid, "/records/000001").status_code == 403, 1.0, "terminated")
    assert world["ga"].post(f"/api/sharing/grants/{grant_id}/resume").status_code == 409


def test_none_shared_resource_cannot_be_applied_for(platform, world):
    body = _fixture("户籍人口基本信息")
    body.update(
        code="301001/900004",
        name="涉密人员信息",
        category="department",
        sharing_type="none",
        legal_basis="《中华人民共和国保守国家秘密法》",
        open_type="closed",
    )
    body.pop("provider_dept")
    body["interface"]["base_url"] = platform.provider + "/yc-ga/1"
    created = world["ga"].post("/api/catalog/resources", body)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    world["ga"].post(f"/api/catalog/resources/{rid}/submit")
    world["bureau"].post(f"/api/catalog/resources/{rid}/review", {"decision": "approve"})
    response = _apply(world["mz"], rid, ["name"])
    assert response.status_code == 409 and response.json()["code"] == "resource_not_shared"


def test_a_system_provisioned_by_the_bureau_gets_its_grant_and_loses_it_when_its_client_is_disabled(platform, world):
    """Issue 11 end to end: the bureau registers a department, its 应用系统, a client of that system, another client
    of the department and a person through /api/identity; the system's request is granted; only the system's
    client gets the grant token; disabling that client stops its still-valid token at the gateway within a second.
    """
    bureau = world["bureau"]

    def provision(path: str, body: dict) -> dict:
        response = bureau.post(f"/api/identity/{path}", body)
        assert response.status_code == 201, response.text
        return response.json()

    provision("departments", {"code": "YC-YJ", "name": "伊川县应急管理局"})
    provision("systems", {"id": "yj-jzgl", "dept": "YC-YJ", "name": "应急救助管理系统"})
    secret = provision(
        "clients",
        {
            "client_id": "yj-jzgl-app",
            "name": "应急救助系统接口",
            "dept": "YC-YJ",
            "roles": ["dept_operator"],
            "system": "yj-jzgl",
        },
    )["client_secret"]
    office_secret = provision(
        "clients", {"client_id": "yj-office", "name": "应急局办公系统", "dept": "YC-YJ", "roles": ["dept_operator"]}
    )["client_secret"]
    person = provision("users", {"username": "sunli", "name": "孙丽", "dept": "YC-YJ", "roles": ["dept_operator"]})
    assert person["must_change_password"] and len(person["temporary_password"]) >= 12

    app = Dept(platform, "yj-jzgl-app", secret, system="yj-jzgl")
    me = app.get("/api/identity/me").json()
    assert (me["dept"], me["system"]) == ("YC-YJ", "yj-jzgl")

    request = _apply(app, world["population"]["id"], ["id_number", "name"])
    assert request.status_code == 201, request.text
    granted = bureau.post(f"/api/sharing/requests/{request.json()['id']}/approve").json()
    assert granted["status"] == "granted"
    grant_id = granted["grant_id"]
    assert bureau.get(f"/api/sharing/grants/{grant_id}").json()["holder_system"] == "yj-jzgl"

    office = Dept(platform, "yj-office", office_secret)
    refused = office.grant_token(grant_id)  # same department, not the system the grant names
    assert refused.status_code == 403 and refused.json()["code"] == "system_mismatch", refused.text
    deadline = time.monotonic() + 5
    while (issued := app.grant_token(grant_id)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # the gateway learns of the grant from sharing's events
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert _data(platform, token, world["population"]["id"], "/records/000003").status_code == 200

    assert bureau.post("/api/identity/clients/yj-jzgl-app/disable").status_code == 200
    assert app.grant_token(grant_id).status_code == 401
    _eventually(
        lambda: _data(platform, token, world["population"]["id"], "/records/000003").status_code == 403,
        timeout=1.0,
        what="a disabled client's grant token refused at the gateway",
    )
    denied = _data(platform, token, world["population"]["id"], "/records/000003")
    assert denied.json()["code"] == "client_disabled", denied.text


# ---------------------------------------------------------------------------------- access records (第三十二条)


def _access(reader: Dept, since: str, **params) -> list[dict]:
    """Every access record the reader may see from `since` on, over all pages."""
    items, page = [], 1
    while True:
        response = reader.get("/api/audit/access", **{"from": since, "size": 500, "page": page, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items
        page += 1


def _wait_access(reader: Dept, since: str, count: int, timeout: float = 60.0, **params) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        items = _access(reader, since, **params)
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.3)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def test_every_call_of_two_clients_allowed_or_denied_is_one_access_record(platform, world, mz_grant):
    rid = world["population"]["id"]
    request = _apply(world["rs"], rid, ["name"])
    assert request.status_code == 201, request.text
    rs_grant = world["bureau"].post(f"/api/sharing/requests/{request.json()['id']}/approve").json()["grant_id"]
    mz_token = _token(world, mz_grant)
    rs_token = _token(world, rs_grant, "rs")
    since = _now_iso()
    for n in range(60):  # paced under the interface's 20 calls per second
        assert _data(platform, mz_token, rid, f"/records?page={n % 5 + 1}&size=3").status_code == 200
        time.sleep(0.06)
    for n in range(40):
        assert _data(platform, rs_token, rid, f"/records/{n + 1:06d}").status_code == 200
        time.sleep(0.06)
    assert _data(platform, rs_token, world["enterprise"]["id"], "/records").status_code == 403  # wrong_resource
    assert _data(platform, mz_token, rid, "/admin/export").status_code == 403  # outside_interface
    assert _data(platform, "forged.token.value", rid, "/records").status_code == 401  # invalid_token

    auditor = Dept(platform, "auditor")
    records = _wait_access(auditor, since, 103)
    assert len(records) == 103 and len({r["id"] for r in records}) == 103
    mz_ok = [r for r in records if r["client_id"] == "mz-system" and r["outcome"] == "ok"]
    rs_ok = [r for r in records if r["client_id"] == "rs-system" and r["outcome"] == "ok"]
    assert len(mz_ok) == 60 and len(rs_ok) == 40
    assert {(r["grant_id"], r["system"], r["holder_dept"], r["status"], r["records"]) for r in mz_ok} == {
        (mz_grant, "mz-dbsp", "YC-MZ", 200, 3)
    }
    assert {(r["grant_id"], r["system"], r["holder_dept"], r["status"], r["records"]) for r in rs_ok} == {
        (rs_grant, "rs-sbjb", "YC-RS", 200, 1)
    }
    refused = {r["outcome"]: r for r in records if r["outcome"] != "ok"}
    assert set(refused) == {"wrong_resource", "outside_interface", "invalid_token"}
    assert refused["wrong_resource"]["client_id"] == "rs-system" and refused["wrong_resource"]["status"] == 403
    assert refused["invalid_token"]["client_id"] is None and refused["invalid_token"]["status"] == 401
    # The provider sees every call to its resource; a holder only the calls under its own grants.
    assert len(_access(world["ga"], since, resource_id=rid)) == 102
    assert {r["client_id"] for r in _access(world["rs"], since)} == {"rs-system"}
    assert world["sj"].get("/api/audit/access", **{"from": since, "grant_id": mz_grant}).json()["total"] == 0
    citizen = httpx.get(
        f"{platform.gateway}/api/audit/access", headers={"Authorization": f"Bearer {platform.token('citizen-1')}"}
    )
    assert citizen.status_code == 403
    assert auditor.get("/api/audit/verify").json()["ok"] is True


def _grant_in_embedded(platform) -> tuple[str, str, Dept]:
    """On a platform of its own: YC-GA's population resource granted to 民政低保审批系统; (resource, token, auditor)."""
    ga, mz, bureau = Dept(platform, "ga-system"), Dept(platform, "mz-system"), Dept(platform, "bureau")
    rid = _publish(platform, ga, bureau, "户籍人口基本信息", "101001/900101", rate_limit=200)["id"]
    request = _apply(mz, rid, ["id_number", "name"])
    assert request.status_code == 201, request.text
    grant_id = bureau.post(f"/api/sharing/requests/{request.json()['id']}/approve").json()["grant_id"]
    token = _token({"mz": mz}, grant_id)
    return rid, token, Dept(platform, "auditor")


def test_broker_frozen_or_gateway_killed_every_answered_call_is_recorded_once(embedded_platform):
    platform = embedded_platform
    rid, token, auditor = _grant_in_embedded(platform)
    http = httpx.Client(base_url=platform.gateway, timeout=10, headers={"Authorization": f"Bearer {token}"})
    since = _now_iso()

    # 1. The broker freezes for 20 s while 500 calls are made: each is answered, and recorded once after the thaw.
    os.kill(platform.broker.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        statuses = Counter()
        for n in range(500):
            statuses[http.get(f"/data/{rid}/records/{n % 50 + 1:06d}").status_code] += 1
            time.sleep(max(0.0, frozen_at + n * 0.035 - time.monotonic()))  # spread over ~18 s
        time.sleep(max(0.0, frozen_at + 20 - time.monotonic()))
    finally:
        os.kill(platform.broker.pid, signal.SIGCONT)
    assert statuses == {200: 500}
    records = _wait_access(auditor, since, 500, timeout=90)
    assert len(records) == 500 and len({r["id"] for r in records}) == 500
    assert {r["outcome"] for r in records} == {"ok"}

    # 2. The gateway is killed (SIGKILL) in the middle of a load, with the broker frozen so that what it answered
    #    is still in its spool; restarted, it sends those records.
    since = _now_iso()
    os.kill(platform.broker.pid, signal.SIGSTOP)
    answered = 0
    try:
        for n in range(300):
            if n == 150:
                platform.processes["gateway"].kill()
                platform.processes["gateway"].wait(10)
                break
            if http.get(f"/data/{rid}/records/{n % 50 + 1:06d}").status_code == 200:
                answered += 1
    finally:
        os.kill(platform.broker.pid, signal.SIGCONT)
    assert answered == 150
    platform.start("gateway")
    platform.wait_healthy(timeout=60)
    records = _wait_access(auditor, since, answered, timeout=90)
    assert len(records) == answered and len({r["id"] for r in records}) == answered
    assert auditor.get("/api/audit/verify").json()["ok"] is True
