"""责任清单 entries the bureau assigns (第十三条), read against the catalog, and the list of items several
departments collect without the bureau's leave (重复采集, 第十六条, 第四十一条(三))."""

from __future__ import annotations

import pytest
from govdata_shared.contracts.catalog import ResponsibilityEventData

both_backends = pytest.mark.backends("postgres", "sqlite")

GA_LIST = "/departments/YC-GA/responsibilities"
VEHICLES = "301009/000009"  # never published by anyone


def entry(code: str, cycle: str = "daily", title: str = "户籍人口基本信息") -> dict:
    return {"resource_code": code, "title": title, "update_cycle": cycle, "description": "依据《户口登记条例》"}


async def assigned(catalog, dept: str, body: dict) -> dict:
    response = await catalog.post(f"/departments/{dept}/responsibilities", "bureau", body)
    assert response.status_code == 201, response.text
    return response.json()


@both_backends
async def test_fulfilment_is_read_from_the_catalog_on_the_bureaus_cycle(catalog):
    population = await assigned(catalog, "YC-GA", entry(catalog.POPULATION["code"]))
    vehicles = await assigned(catalog, "YC-GA", entry(VEHICLES, "monthly", "机动车登记信息"))
    # 第十三条: the entry is YC-MZ's; YC-GA publishing that code does not fulfil it.
    elsewhere = await assigned(catalog, "YC-MZ", entry(catalog.POPULATION["code"]))
    assert population["status"] == "missing" and population["resource_id"] is None

    # The department's own resource declares a monthly cycle; the bureau's entry asks for daily, and wins.
    resource = await catalog.publish("ga", catalog.POPULATION, update_cycle="monthly")
    listing = (await catalog.get(GA_LIST, "ga")).json()
    by_code = {e["resource_code"]: e for e in listing["entries"]}
    fulfilled = by_code[catalog.POPULATION["code"]]
    assert fulfilled["status"] == "fulfilled" and fulfilled["resource_id"] == resource["id"]
    assert fulfilled["resource_name"] == "户籍人口基本信息" and fulfilled["update_cycle"] == "daily"
    assert by_code[VEHICLES]["status"] == "missing"
    assert (listing["fulfilled_count"], listing["unfulfilled_count"]) == (1, 1)
    assert [i["code"] for i in listing["items"]] == [catalog.POPULATION["code"]] and listing["late_count"] == 0

    catalog.clock.advance(days=3)
    listing = (await catalog.get(GA_LIST, "bureau")).json()
    late = next(e for e in listing["entries"] if e["id"] == population["id"])
    assert late["status"] == "late" and late["due_by"] is not None and late["last_refreshed_at"] is None
    assert listing["items"][0]["late"] is False and listing["unfulfilled_count"] == 2  # on its own monthly cycle

    refreshed = await catalog.post(f"/resources/{resource['id']}/refreshes", "ga", {"record_count": 812345})
    assert refreshed.status_code == 201
    listing = (await catalog.get(GA_LIST, "ga")).json()
    back = next(e for e in listing["entries"] if e["id"] == population["id"])
    assert back["status"] == "fulfilled" and back["last_refreshed_at"] is not None
    mz = (await catalog.get("/departments/YC-MZ/responsibilities", "mz")).json()
    assert [(e["id"], e["status"]) for e in mz["entries"]] == [(elsewhere["id"], "missing")]

    everyone = await catalog.get("/responsibilities", "auditor", status="missing")
    assert [e["id"] for e in everyone.json()] == [vehicles["id"], elsewhere["id"]]  # by department, then code
    assert [e["id"] for e in (await catalog.get("/responsibilities", "bureau", dept="YC-MZ")).json()] == [
        elsewhere["id"]
    ]
    events = [e for e in await catalog.events(population["id"]) if e["type"] == "catalog.responsibility.assigned"]
    data = ResponsibilityEventData.model_validate(events[0]["data"])
    assert (data.dept, data.resource_code, data.update_cycle) == ("YC-GA", catalog.POPULATION["code"], "daily")


async def test_only_the_bureau_assigns_and_withdraws_entries(catalog):
    refused = await catalog.post(f"{GA_LIST}", "ga", entry(VEHICLES))
    assert refused.status_code == 403 and refused.json()["code"] == "bureau_role_required"
    bad = await catalog.post(GA_LIST, "bureau", entry("301009-000009"))
    assert bad.status_code == 422
    assert (bad.json()["field"], bad.json()["rule"]) == ("resource_code", "string_pattern_mismatch")
    first = await assigned(catalog, "YC-GA", entry(VEHICLES))
    again = await catalog.post(GA_LIST, "bureau", entry(VEHICLES, "weekly"))
    assert again.status_code == 409 and again.json()["code"] == "responsibility_exists"
    assert again.json()["existing_entry"] == first["id"] and again.json()["field"] == "resource_code"

    withdraw = f"/responsibilities/{first['id']}/withdraw"
    assert (await catalog.post(withdraw, "ga", {"reason": "职能调整"})).status_code == 403
    no_reason = await catalog.post(withdraw, "bureau", {"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    withdrawn = await catalog.post(withdraw, "bureau", {"reason": "机动车登记职能调整，改由交通运输局提供"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert (await catalog.post(withdraw, "bureau", {"reason": "再次撤销"})).status_code == 409
    assert (await catalog.get(GA_LIST, "ga")).json()["entries"] == []
    events = await catalog.events(first["id"])
    assert [(e["type"], e["version"]) for e in events] == [
        ("catalog.responsibility.assigned", 1),
        ("catalog.responsibility.withdrawn", 2),
    ]
    assert events[1]["data"]["reason"] == "机动车登记职能调整，改由交通运输局提供"
    await assigned(catalog, "YC-GA", entry(VEHICLES, "weekly"))  # once withdrawn, the code may be assigned anew

    assert (await catalog.get("/responsibilities", "ga")).status_code == 403  # every department's: oversight only
    assert (await catalog.get("/departments/YC-MZ/responsibilities", "ga")).status_code == 403


async def test_items_offered_by_several_departments_are_listed_until_the_bureau_allows_them(catalog):
    population = await catalog.publish("ga", catalog.POPULATION)  # id_number authoritative
    marriage = await catalog.publish("mz", catalog.MARRIAGE)  # id_number too, not authoritative
    id_only = [{"code": "id_number", "name": "公民身份号码", "type": "C"}]
    await catalog.create("rs", catalog.MARRIAGE, code="301003/000009", items=id_only)  # a draft offers nothing yet

    listing = await catalog.get("/overlaps", "auditor")
    assert listing.status_code == 200
    (overlap,) = listing.json()
    assert overlap["item_code"] == "id_number" and overlap["unresolved_depts"] == ["YC-MZ"]
    assert overlap["has_authoritative_source"] is True
    ga, mz = overlap["departments"]
    assert (ga["dept"], ga["authoritative"], ga["allowed_overlap"]) == ("YC-GA", True, False)
    assert ga["resources"] == [
        {"id": population["id"], "code": "101001/000001", "name": "户籍人口基本信息", "item_name": "公民身份号码"}
    ]
    assert (mz["dept"], mz["authoritative"], [r["id"] for r in mz["resources"]]) == ("YC-MZ", False, [marriage["id"]])

    assert (await catalog.get("/overlaps", "ga")).status_code == 403
    allowed = await catalog.post(
        "/authority-overlaps",
        "bureau",
        {"item_code": "id_number", "dept": "YC-MZ", "reason": "婚姻登记以身份证号为标识"},
    )
    assert allowed.status_code == 201
    assert (await catalog.get("/overlaps", "bureau")).json() == []


async def test_a_key_identifier_is_no_overlap_and_codes_without_a_source_are_listed_on_request(catalog):
    """第十六条: every department collects people's records by 公民身份号码, so holding it as the key identifier is
    in order; an item no department is the source of is listed only with scope=all."""
    await catalog.publish("ga", catalog.POPULATION)  # id_number authoritative
    keyed = {"code": "id_number", "name": "公民身份号码", "type": "C", "subject": "person", "identifier": "resident_id"}
    remark = {"code": "remark", "name": "备注", "type": "C"}
    await catalog.publish("mz", {**catalog.MARRIAGE, "items": [keyed, remark]})
    await catalog.publish("rs", {**catalog.MARRIAGE, "code": "301003/000009", "items": [keyed, remark]})
    assert (await catalog.get("/overlaps", "auditor")).json() == []
    (unsourced,) = (await catalog.get("/overlaps", "auditor", scope="all")).json()
    assert unsourced["item_code"] == "remark" and unsourced["has_authoritative_source"] is False
    assert unsourced["unresolved_depts"] == ["YC-MZ", "YC-RS"]
    id_number = await catalog.get("/overlaps", "auditor", scope="everything")
    assert id_number.status_code == 422 and id_number.json()["errors"][0]["field"] == "scope"
