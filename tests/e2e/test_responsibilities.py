"""责任清单 (第十三条) and 重复采集 (第十六条, 第四十一条(三)) end to end, as departmental systems and the bureau
drive them through the gateway: the bureau assigns a department its entries and their fulfilment follows what the
department publishes, not what it says; the bureau sees an item offered by two departments until it allows the
overlap."""

from __future__ import annotations

import pytest
from govdata_local.flows import Dept, demo_resource, publish

FULFILLED_CODE = "102001/913001"  # YC-MZ publishes it below
MISSING_CODE = "302016/913002"  # YC-MZ never publishes it
SHARED_ITEM = "ledger_no_e2e"  # an item code only this module's resources carry


@pytest.fixture(scope="module")
def depts(platform) -> dict[str, Dept]:
    return {c: Dept(platform, c) for c in ("mz-system", "sj-system", "bureau")}


def entry(code: str, title: str) -> dict:
    return {"resource_code": code, "title": title, "update_cycle": "daily"}


def publish_with_item(platform, owner: Dept, bureau: Dept, name: str, code: str, *, authoritative: bool) -> dict:
    """A demo resource carrying SHARED_ITEM as well, submitted and approved."""
    body = demo_resource(name)
    dept_path = body["interface"]["base_url"].split("127.0.0.1:8900", 1)[1]
    body |= {"code": code, "interface": {**body["interface"], "base_url": platform.provider + dept_path}}
    body.pop("provider_dept")
    body["items"].append({"code": SHARED_ITEM, "name": "台账编号", "type": "C", "authoritative": authoritative})
    created = owner.post("/api/catalog/resources", body)
    assert created.status_code == 201, created.text
    assert owner.post(f"/api/catalog/resources/{created.json()['id']}/submit").status_code == 200
    approved = bureau.post(f"/api/catalog/resources/{created.json()['id']}/review", {"decision": "approve"})
    assert approved.json()["status"] == "published", approved.text
    return approved.json()


def test_the_bureaus_entries_are_fulfilled_by_what_the_department_publishes(platform, depts):
    mz, bureau = depts["mz-system"], depts["bureau"]
    refused = mz.post(
        "/api/catalog/departments/YC-MZ/responsibilities", entry(MISSING_CODE, "村(居)民委员会换届选举信息")
    )
    assert refused.status_code == 403 and refused.json()["code"] == "bureau_role_required"
    for code, title in ((FULFILLED_CODE, "婚姻登记信息"), (MISSING_CODE, "村(居)民委员会换届选举信息")):
        assigned = bureau.post("/api/catalog/departments/YC-MZ/responsibilities", entry(code, title))
        assert assigned.status_code == 201 and assigned.json()["status"] == "missing", assigned.text

    marriage = publish(platform, mz, bureau, "婚姻登记信息", FULFILLED_CODE)
    listing = mz.get("/api/catalog/departments/YC-MZ/responsibilities").json()
    status = {e["resource_code"]: (e["status"], e["resource_id"]) for e in listing["entries"]}
    assert status == {FULFILLED_CODE: ("fulfilled", marriage["id"]), MISSING_CODE: ("missing", None)}
    assert (listing["fulfilled_count"], listing["unfulfilled_count"]) == (1, 1)
    missing = bureau.get("/api/catalog/responsibilities", dept="YC-MZ", status="missing").json()
    assert [e["resource_code"] for e in missing] == [MISSING_CODE]
    assert mz.get("/api/catalog/responsibilities").status_code == 403  # every department's list is oversight's


def test_an_item_offered_by_two_departments_is_listed_until_the_bureau_allows_the_overlap(platform, depts):
    mz, sj, bureau = depts["mz-system"], depts["sj-system"], depts["bureau"]
    own = publish_with_item(platform, mz, bureau, "社会组织登记信息", "102002/913004", authoritative=True)
    again = publish_with_item(platform, sj, bureau, "个体工商户登记信息", "104002/913005", authoritative=False)

    def listed() -> dict | None:
        overlaps = bureau.get("/api/catalog/overlaps")
        assert overlaps.status_code == 200, overlaps.text
        return next((o for o in overlaps.json() if o["item_code"] == SHARED_ITEM), None)

    overlap = listed()
    assert overlap is not None and overlap["unresolved_depts"] == ["YC-SJ"]
    by_dept = {d["dept"]: d for d in overlap["departments"]}
    assert by_dept["YC-MZ"]["authoritative"] and [r["id"] for r in by_dept["YC-MZ"]["resources"]] == [own["id"]]
    assert [r["id"] for r in by_dept["YC-SJ"]["resources"]] == [again["id"]]
    assert sj.get("/api/catalog/overlaps").status_code == 403

    allowed = bureau.post(
        "/api/catalog/authority-overlaps",
        {"item_code": SHARED_ITEM, "dept": "YC-SJ", "reason": "个体户登记沿用台账编号"},
    )
    assert allowed.status_code == 201, allowed.text
    assert listed() is None
