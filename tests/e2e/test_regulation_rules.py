"""Issue 14 through the gateway, as departmental systems and the bureau drive it: the state-secret declaration of
第二条, the key identifier of 第十六条, and the supervision figures of 第三十八、三十九条 — every registered department
in the annual report, with zeros where it did nothing, and a missed data refresh counted from the catalog's own state
(第十三、十八条) without the department reporting anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from govdata_local.flows import Dept, demo_resource, eventually

LAND_USE = "土地利用现状调查信息"  # a YC-ZR resource of the demo catalog


@pytest.fixture(scope="module")
def zr(platform):
    return Dept(platform, "zr-system")


@pytest.fixture(scope="module")
def bureau(platform):
    return Dept(platform, "bureau")


def land_use(platform, code: str, **changes) -> dict:
    body = demo_resource(LAND_USE)
    body.pop("provider_dept")
    body["interface"] = {**body["interface"], "base_url": platform.provider + "/yc-zr/1"}
    return {**body, "code": code, **changes}


def test_a_resource_is_submitted_only_with_the_declaration_that_it_holds_no_state_secrets(platform, zr, bureau):
    """第二条: 涉密数据不得上平台 — the provider declares it when it submits."""
    created = zr.post("/api/catalog/resources", land_use(platform, "105001/910001", no_state_secrets=False))
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    undeclared = zr.post(f"/api/catalog/resources/{rid}/submit")
    assert undeclared.status_code == 422, undeclared.text
    assert undeclared.json()["code"] == "state_secret_declaration_required"
    assert zr.get(f"/api/catalog/resources/{rid}").json()["status"] == "draft"
    assert zr.http.patch(f"/api/catalog/resources/{rid}", json={"no_state_secrets": True}).status_code == 200
    submitted = zr.post(f"/api/catalog/resources/{rid}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted", submitted.text


def test_person_data_must_carry_its_key_identifier_item(platform, zr):
    """第十六条: 自然人数据以有效身份证件号码作为标识进行采集."""
    holder = {"code": "holder_name", "name": "权利人姓名", "type": "C", "subject": "person"}
    body = land_use(platform, "105001/910002")
    refused = zr.post("/api/catalog/resources", {**body, "items": [*body["items"], holder]})
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("items", "person_identifier_required"), refused.text
    holder_id = {"code": "holder_id", "name": "权利人公民身份号码", "type": "C", "subject": "person"}
    keyed = {**holder_id, "identifier": "resident_id"}
    accepted = zr.post("/api/catalog/resources", {**body, "items": [*body["items"], holder, keyed]})
    assert accepted.status_code == 201, accepted.text
    items = {i["code"]: i for i in accepted.json()["items"]}
    assert items["holder_id"]["identifier"] == "resident_id" and items["holder_name"]["subject"] == "person"


def test_the_annual_report_names_a_silent_department_with_zeros_and_counts_a_missed_refresh(platform, zr, bureau):
    """第三十九条: every department of the registry, YC-TY (which did nothing) with zeros; 第十三、十八条: YC-ZR's
    daily data, last refreshed three days ago and not since, is late by the catalog's own state."""
    year = datetime.now(UTC).year
    created = zr.post("/api/catalog/resources", land_use(platform, "105001/910003", update_cycle="daily"))
    rid = created.json()["id"]
    assert zr.post(f"/api/catalog/resources/{rid}/submit").status_code == 200
    assert bureau.post(f"/api/catalog/resources/{rid}/review", {"decision": "approve"}).status_code == 200
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    reported = zr.post(f"/api/catalog/resources/{rid}/refreshes", {"refreshed_at": three_days_ago})
    assert reported.status_code == 201, reported.text

    def zr_figures() -> dict:
        answer = bureau.get("/api/audit/reports/annual", year=year)
        assert answer.status_code == 200, answer.text
        return {d["dept"]: d for d in answer.json()["departments"]}

    # The refresh itself (due two days ago) counts once, and the catalog announces the missed due date once.
    eventually(
        lambda: zr_figures()["YC-ZR"]["figures"]["data_refreshes_late"]["value"] >= 1,
        timeout=15,
        what="the missed refresh of YC-ZR in the annual report",
    )
    report = zr_figures()
    late = report["YC-ZR"]["figures"]["data_refreshes_late"]
    assert late["value"] == 1 and late["article"] == "第十八条"
    assert report["YC-ZR"]["figures"]["data_refreshes"]["value"] == 1
    silent = report["YC-TY"]
    assert silent["name"] == "伊川县退役军人事务局"
    assert all(figure["value"] == 0 for figure in silent["figures"].values()), silent
    assert all(figure["article"].startswith("第") for figure in silent["figures"].values())
    assert zr.get("/api/audit/reports/annual", year=year).status_code == 403
