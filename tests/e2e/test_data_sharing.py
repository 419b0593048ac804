"""Issue 4 end to end, as departmental systems drive it through the gateway: publish a resource, apply for one
of the department's 应用系统, approve on each path of 第二十九条, take a grant token (only the holder system's
client gets one), call the provider's data and get only granted fields; suspension, resumption and termination
take effect at the very next call; and the attacks are refused. Every call leaves one access record (issue 13).
The broker-freeze and gateway-kill cases run on platforms of their own (own_platform/)."""

from __future__ import annotations

import time

import httpx
import pytest
from govdata_local.flows import (
    Dept,
    access_records,
    apply,
    data_call,
    demo_resource,
    eventually,
    grant_token_of,
    now_iso,
    publish,
    request_body,
    wait_access,
)

# A minimal PDF standing for the sealed 需求单 of a conditional request (第二十九条(二)).
SEALED_FORM = b"%PDF-1.4\n" + "% 伊川县政务数据共享需求单 YC-GA\n".encode() + b"%%EOF\n"


@pytest.fixture(scope="module")
def world(platform):
    ga, mz, rs, sj = (Dept(platform, c) for c in ("ga-system", "mz-system", "rs-system", "sj-system"))
    bureau = Dept(platform, "bureau")
    population = publish(platform, ga, bureau, "户籍人口基本信息", "101001/900001")
    enterprise = publish(platform, sj, bureau, "企业登记注册信息", "104001/900002")
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
    request = apply(world["mz"], world["population"]["id"], ["id_number", "name", "household_address"])
    assert request.status_code == 201, request.text
    assert request.json()["status"] == "platform_review"
    granted = world["bureau"].post(f"/api/sharing/requests/{request.json()['id']}/approve")
    assert granted.json()["status"] == "granted"
    return granted.json()["grant_id"]


def _token(world, grant_id: str, holder: str = "mz") -> str:
    return grant_token_of(world[holder], grant_id)


def test_granted_call_returns_only_granted_fields(platform, world, mz_grant):
    token = _token(world, mz_grant)
    rid = world["population"]["id"]
    page = data_call(platform, token, rid, "/records?page=1&size=5")
    assert page.status_code == 200, page.text
    records = page.json()["items"]
    assert len(records) == 5
    assert all(set(r) <= {"id_number", "name", "household_address"} for r in records)
    assert all("phone" not in r and "birth_date" not in r for r in records)
    one = data_call(platform, token, rid, "/records/000003")
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
        body = request_body(world["population"]["id"], ["name"], system)
        response = world["mz"].post("/api/sharing/requests", body)
        assert response.status_code == 422 and response.json()["code"] == "unknown_system", response.text
        assert response.json()["field"] == "system"


def test_suspension_is_effective_at_the_very_next_call_and_resume_restores(platform, world, mz_grant):
    token = _token(world, mz_grant)
    rid = world["population"]["id"]
    assert data_call(platform, token, rid, "/records").status_code == 200
    suspended = world["ga"].post(f"/api/sharing/grants/{mz_grant}/suspend", {"reason": "核查调用记录"})
    assert suspended.json()["status"] == "suspended"
    took = eventually(
        lambda: data_call(platform, token, rid, "/records").status_code == 403,
        1.0,
        "the gateway refusing a suspended grant",
    )
    assert took < 1.0
    assert data_call(platform, token, rid, "/records").json()["code"] == "grant_not_active"
    assert world["mz"].grant_token(mz_grant).status_code == 403  # no new tokens while suspended
    world["ga-head"].post(f"/api/sharing/grants/{mz_grant}/resume")
    eventually(lambda: data_call(platform, token, rid, "/records").status_code == 200, 1.0, "resumed grant working")


def test_another_departments_client_cannot_use_or_obtain_the_grant(platform, world, mz_grant):
    refused = world["rs"].grant_token(mz_grant)
    assert refused.status_code == 403 and refused.json()["code"] == "grant_not_held"  # not even system_mismatch
    rs_api_token = platform.token("rs-system")
    refused = data_call(platform, rs_api_token, world["population"]["id"], "/records")
    assert refused.status_code == 401  # an API token is not a grant token (audience)


def test_token_for_one_resource_is_refused_on_another(platform, world, mz_grant):
    token = _token(world, mz_grant)
    response = data_call(platform, token, world["enterprise"]["id"], "/records")
    assert response.status_code == 403 and response.json()["code"] == "wrong_resource"


def test_path_outside_the_interface_is_refused(platform, world, mz_grant):
    token = _token(world, mz_grant)
    rid = world["population"]["id"]
    assert data_call(platform, token, rid, "/admin/export").status_code == 403
    assert data_call(platform, token, rid, "/recordsX").status_code == 403
    assert data_call(platform, token, rid, "/records", method="POST").status_code == 403


def test_conditional_path_needs_the_provider_then_the_platform(platform, world):
    marriage = None
    body = demo_resource("最低生活保障对象信息")
    assert body["sharing_type"] == "conditional"
    marriage = publish(platform, world["mz"], world["bureau"], "最低生活保障对象信息", "202004/900003")
    request = apply(world["ga"], marriage["id"], ["id_number", "name"])
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
    unexplained = world["mz"].post(f"/api/sharing/requests/{rid}/approve", {"items": ["name"]})
    assert unexplained.status_code == 422 and unexplained.json()["errors"][0]["field"] == "reason", unexplained.text
    delivery = world["mz"].post(
        f"/api/sharing/requests/{rid}/approve", {"items": ["name"], "reason": "身份证号由公安局系统直接核验"}
    )
    assert delivery.json()["decisions"][-1]["refused_items"] == ["id_number"], delivery.text
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
    record = data_call(platform, issued.json()["access_token"], marriage["id"], "/records/000003")
    assert record.status_code == 200 and set(record.json()) == {"name"}, record.text  # not id_number: not agreed


def test_termination_ends_the_grant_for_good(platform, world):
    request = apply(world["rs"], world["population"]["id"], ["name"])
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
    assert set(data_call(platform, token, rid, "/records/000001").json()) == {"name"}
    world["bureau"].post(f"/api/sharing/grants/{grant_id}/terminate", {"reason": "系统下线"})
    eventually(lambda: data_call(platform, token, rid, "/records/000001").status_code == 403, 1.0, "terminated")
    assert world["ga"].post(f"/api/sharing/grants/{grant_id}/resume").status_code == 409


def test_none_shared_resource_cannot_be_applied_for(platform, world):
    body = demo_resource("户籍人口基本信息")
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
    response = apply(world["mz"], rid, ["name"])
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

    request = apply(app, world["population"]["id"], ["id_number", "name"])
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
    assert data_call(platform, token, world["population"]["id"], "/records/000003").status_code == 200

    assert bureau.post("/api/identity/clients/yj-jzgl-app/disable").status_code == 200
    assert app.grant_token(grant_id).status_code == 401
    eventually(
        lambda: data_call(platform, token, world["population"]["id"], "/records/000003").status_code == 403,
        timeout=1.0,
        what="a disabled client's grant token refused at the gateway",
    )
    denied = data_call(platform, token, world["population"]["id"], "/records/000003")
    assert denied.json()["code"] == "client_disabled", denied.text


# ---------------------------------------------------------------------------------- access records (第三十二条)


def test_every_call_of_two_clients_allowed_or_denied_is_one_access_record(platform, world, mz_grant):
    rid = world["population"]["id"]
    request = apply(world["rs"], rid, ["name"])
    assert request.status_code == 201, request.text
    rs_grant = world["bureau"].post(f"/api/sharing/requests/{request.json()['id']}/approve").json()["grant_id"]
    mz_token = _token(world, mz_grant)
    rs_token = _token(world, rs_grant, "rs")
    since = now_iso()
    with httpx.Client(base_url=f"{platform.gateway}/data/{rid}", timeout=10) as http:
        for n in range(60):  # the two grants alternate, each under its interface's 20 calls per second
            mz = http.get(f"/records?page={n % 5 + 1}&size=3", headers={"Authorization": f"Bearer {mz_token}"})
            assert mz.status_code == 200, mz.text
            if n < 40:
                rs = http.get(f"/records/{n + 1:06d}", headers={"Authorization": f"Bearer {rs_token}"})
                assert rs.status_code == 200, rs.text
            time.sleep(0.05)
    assert data_call(platform, rs_token, world["enterprise"]["id"], "/records").status_code == 403  # wrong_resource
    assert data_call(platform, mz_token, rid, "/admin/export").status_code == 403  # outside_interface
    assert data_call(platform, "forged.token.value", rid, "/records").status_code == 401  # invalid_token

    auditor = Dept(platform, "auditor")
    records = wait_access(auditor, since, 103)
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
    assert len(access_records(world["ga"], since, resource_id=rid)) == 102
    assert {r["client_id"] for r in access_records(world["rs"], since)} == {"rs-system"}
    assert world["sj"].get("/api/audit/access", **{"from": since, "grant_id": mz_grant}).json()["total"] == 0
    citizen = httpx.get(
        f"{platform.gateway}/api/audit/access", headers={"Authorization": f"Bearer {platform.token('citizen-1')}"}
    )
    assert citizen.status_code == 403
    assert auditor.get("/api/audit/verify").json()["ok"] is True


def test_a_nul_in_a_callers_path_costs_no_call_its_access_record(platform, world, mz_grant):
    """aiohttp decodes a caller's %00 into the path the gateway records, refused calls included, and Postgres
    text holds no NUL: the probe's record, and those of the calls sent in the same batch, all reach the trail."""
    rid = world["population"]["id"]
    token = _token(world, mz_grant)
    since = now_iso()
    assert data_call(platform, token, rid, "/records?page=1&size=3").status_code == 200
    assert httpx.get(f"{platform.gateway}/data/{rid}/%00?q=%00", timeout=10).status_code == 401
    assert data_call(platform, token, rid, "/records?page=2&size=3").status_code == 200
    records = wait_access(Dept(platform, "auditor"), since, 3, resource_id=rid)
    assert len(records) == 3
    (probe,) = [r for r in records if r["status"] == 401]
    assert "\x00" not in probe["path"] and probe["path"].count("\ufffd") == 2


def test_a_resource_provided_only_in_part_routes_each_request_by_the_items_asked_for(platform, world):
    """第二十四条 仅能够部分提供: 居住证办理信息 is shared unconditionally except its 证件号码, which 公安局 shares
    only on conditions; a request for the open items goes to the platform, one naming the conditional item to
    公安局."""
    body = demo_resource("居住证办理信息")
    body.pop("provider_dept")
    body["code"] = body["code"][:7] + "900011"
    body["interface"] = {**body["interface"], "base_url": platform.provider + "/yc-ga/9"}
    body["items"] = [
        {**item, "sharing_type": "conditional"} if item["code"] == "license_no" else item for item in body["items"]
    ]
    body |= {"sharing_conditions": "仅限办理居住登记相关业务核验", "legal_basis": "《居住证暂行条例》第十七条"}
    created = world["ga"].post("/api/catalog/resources", body)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert world["ga"].post(f"/api/catalog/resources/{rid}/submit").status_code == 200
    assert world["bureau"].post(f"/api/catalog/resources/{rid}/review", {"decision": "approve"}).status_code == 200

    open_items = apply(world["mz"], rid, ["id_number", "name"])
    assert open_items.status_code == 201, open_items.text
    assert (open_items.json()["path"], open_items.json()["status"]) == ("unconditional", "platform_review")
    with_conditional = apply(world["rs"], rid, ["name", "license_no"])
    assert with_conditional.status_code == 201, with_conditional.text
    assert (with_conditional.json()["path"], with_conditional.json()["status"]) == ("conditional", "provider_review")
