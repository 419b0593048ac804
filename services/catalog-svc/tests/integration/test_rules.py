"""The catalog's rules, each refused with a 4xx naming the field and the rule, and nothing half-written."""

from __future__ import annotations

import pytest


def _errors(response) -> set[tuple[str, str]]:
    assert response.headers["content-type"] == "application/problem+json"
    return {(e["field"], e["rule"]) for e in response.json()["errors"]}


async def test_base_resources_must_be_shared_unconditionally(catalog):
    # 第二十五条(二)
    response = await catalog.client.post(
        "/api/catalog/resources",
        json=catalog.body(
            catalog.POPULATION,
            sharing_type="conditional",
            sharing_conditions="仅限公安",
            legal_basis="《居民身份证法》",
        ),
        headers=catalog.as_("ga"),
    )
    assert response.status_code == 422
    assert ("sharing_type", "base_must_share_unconditionally") in _errors(response)


async def test_conditional_sharing_needs_conditions_and_legal_basis(catalog):
    response = await catalog.client.post(
        "/api/catalog/resources",
        json=catalog.body(catalog.MARRIAGE, sharing_conditions=None, legal_basis="  "),
        headers=catalog.as_("mz"),
    )
    assert response.status_code == 422
    assert _errors(response) == {
        ("sharing_conditions", "required_when_conditional"),
        ("legal_basis", "legal_basis_required"),
    }


async def test_none_shared_needs_legal_basis_and_is_closed_to_the_public(catalog):
    # 第二十五条(一); none-shared ⇒ closed
    response = await catalog.client.post(
        "/api/catalog/resources",
        json=catalog.body(
            catalog.MARRIAGE, sharing_type="none", sharing_conditions=None, legal_basis=None, open_type="open"
        ),
        headers=catalog.as_("mz"),
    )
    assert response.status_code == 422
    assert _errors(response) == {("legal_basis", "legal_basis_required"), ("open_type", "none_shared_must_be_closed")}


async def test_code_class_must_match_category_and_items_be_unique(catalog):
    items = [*catalog.POPULATION["items"], {"code": "gender", "name": "性别", "type": "C"}]
    response = await catalog.client.post(
        "/api/catalog/resources",
        json=catalog.body(catalog.POPULATION, code="201001/000001", items=items),
        headers=catalog.as_("ga"),
    )
    assert _errors(response) == {("code", "code_class_mismatch"), ("items[5].code", "duplicate_item_code")}


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"code": "10100/1"}, "code", "string_pattern_mismatch"),
        ({"category": "basic"}, "category", "enum"),
        ({"security_level": "5"}, "security_level", "enum"),
        ({"items": []}, "items", "too_short"),
        ({"update_cycle": "hourly"}, "update_cycle", "enum"),
        ({"interface": {"base_url": "ftp://x"}}, "interface.base_url", "url_scheme"),
        (
            {"interface": {"base_url": "http://x", "path_prefixes": ["/../etc"]}},
            "interface.path_prefixes.0",
            "value_error",
        ),
        ({"name": ""}, "name", "string_too_short"),
        ({"surprise": 1}, "surprise", "extra_forbidden"),
    ],
)
async def test_malformed_fields_are_422_naming_field_and_rule(catalog, change, field, rule):
    response = await catalog.client.post(
        "/api/catalog/resources", json=catalog.body(catalog.POPULATION, **change), headers=catalog.as_("ga")
    )
    assert response.status_code == 422, response.text
    assert (field, rule) in _errors(response)


async def test_platform_api_sharing_needs_an_interface(catalog):
    response = await catalog.client.post(
        "/api/catalog/resources", json=catalog.body(catalog.POPULATION, interface=None), headers=catalog.as_("ga")
    )
    assert ("interface", "required_for_platform_api") in _errors(response)


async def test_duplicate_code_is_409_naming_the_existing_resource(catalog):
    first = await catalog.create("ga", catalog.POPULATION)
    response = await catalog.client.post(
        "/api/catalog/resources", json=catalog.body(catalog.POPULATION, name="另一个"), headers=catalog.as_("ga")
    )
    assert response.status_code == 409
    assert response.json()["existing_resource"] == first["id"]


async def test_second_authority_for_an_item_is_refused_naming_the_existing_resource(catalog):
    # 一数一源 (第十六条)
    population = await catalog.publish("ga", catalog.POPULATION)
    claim = catalog.body(
        catalog.MARRIAGE,
        items=[
            {"code": "id_number", "name": "公民身份号码", "type": "C", "authoritative": True},
            *catalog.MARRIAGE["items"][1:],
        ],
    )
    response = await catalog.client.post("/api/catalog/resources", json=claim, headers=catalog.as_("mz"))
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "item_authority_conflict"
    assert problem["existing_resource"] == population["id"]
    assert problem["existing_dept"] == "YC-GA"
    assert problem["field"] == "items[0].authoritative" and problem["rule"] == "one_item_one_source"
    # Nothing was written.
    listing = await catalog.client.get("/api/catalog/resources?status=draft", headers=catalog.as_("mz"))
    assert listing.json()["total"] == 0


async def test_the_same_item_without_authority_is_fine(catalog):
    await catalog.publish("ga", catalog.POPULATION)
    created = await catalog.create("mz", catalog.MARRIAGE)  # carries id_number, not as authority
    assert created["status"] == "draft"


async def test_bureau_can_allow_an_overlap(catalog):
    await catalog.publish("ga", catalog.POPULATION)
    refused = await catalog.client.post(
        "/api/catalog/authority-overlaps",
        json={"item_code": "id_number", "dept": "YC-MZ", "reason": "婚姻登记核验"},
        headers=catalog.as_("mz"),
    )
    assert refused.status_code == 403
    allowed = await catalog.client.post(
        "/api/catalog/authority-overlaps",
        json={"item_code": "id_number", "dept": "YC-MZ", "reason": "婚姻登记核验"},
        headers=catalog.as_("bureau"),
    )
    assert allowed.status_code == 201
    claim = catalog.body(
        catalog.MARRIAGE,
        items=[
            {"code": "id_number", "name": "公民身份号码", "type": "C", "authoritative": True},
            *catalog.MARRIAGE["items"][1:],
        ],
    )
    published = await catalog.publish("mz", claim)
    assert published["status"] == "published"


async def test_authority_is_checked_again_when_the_bureau_approves(catalog):
    # Two departments draft the same claim before either is published: the second approval is refused.
    await catalog.create("ga", catalog.POPULATION)
    claim = catalog.body(
        catalog.MARRIAGE,
        items=[{"code": "name", "name": "姓名", "type": "C", "authoritative": True}, *catalog.MARRIAGE["items"][1:]],
    )
    mz = await catalog.create("mz", claim)
    ga_list = await catalog.client.get("/api/catalog/resources?status=draft", headers=catalog.as_("ga"))
    ga_id = ga_list.json()["items"][0]["id"]
    for who, rid in (("ga", ga_id), ("mz", mz["id"])):
        assert (
            await catalog.client.post(f"/api/catalog/resources/{rid}/submit", headers=catalog.as_(who))
        ).status_code == 200
    ok = await catalog.client.post(
        f"/api/catalog/resources/{ga_id}/review", json={"decision": "approve"}, headers=catalog.as_("bureau")
    )
    assert ok.status_code == 200
    refused = await catalog.client.post(
        f"/api/catalog/resources/{mz['id']}/review", json={"decision": "approve"}, headers=catalog.as_("bureau")
    )
    assert refused.status_code == 409
    assert refused.json()["existing_resource"] == ga_id


async def test_a_department_may_claim_authority_on_several_of_its_resources(catalog):
    await catalog.publish("ga", catalog.POPULATION)
    second = catalog.body(catalog.POPULATION, code="101001/000002", name="居民身份证信息")
    published = await catalog.publish("ga", second)
    assert published["status"] == "published"


async def test_a_resource_provided_only_in_part_names_its_stricter_items(catalog):
    """第二十四条 仅能够部分提供: an unconditional resource may share some items on conditions or not at all; such
    items need the conditions and the legal basis a stricter resource needs; an item is never wider than its
    resource; a base resource's items are all unconditional (第二十五条(二))."""
    items = [dict(i) for i in catalog.MARRIAGE["items"]]
    items[0]["sharing_type"] = "conditional"
    items[1]["sharing_type"] = "none"
    partial = catalog.body(
        catalog.MARRIAGE, sharing_type="unconditional", sharing_conditions=None, legal_basis=None, items=items
    )
    refused = await catalog.client.post("/api/catalog/resources", json=partial, headers=catalog.as_("mz"))
    assert refused.status_code == 422
    assert _errors(refused) == {
        ("sharing_conditions", "required_when_conditional"),
        ("legal_basis", "legal_basis_required"),
    }

    wider = [dict(i) for i in catalog.MARRIAGE["items"]]
    wider[0]["sharing_type"] = "unconditional"
    response = await catalog.client.post(
        "/api/catalog/resources", json=catalog.body(catalog.MARRIAGE, items=wider), headers=catalog.as_("mz")
    )
    assert response.status_code == 422 and _errors(response) == {("items[0].sharing_type", "not_wider_than_resource")}

    base_items = [dict(i) for i in catalog.POPULATION["items"]]
    base_items[2]["sharing_type"] = "conditional"
    response = await catalog.client.post(
        "/api/catalog/resources",
        json=catalog.body(catalog.POPULATION, items=base_items, sharing_conditions="仅限核验", legal_basis="某法"),
        headers=catalog.as_("ga"),
    )
    assert response.status_code == 422
    assert ("items[2].sharing_type", "base_must_share_unconditionally") in _errors(response)

    published = await catalog.publish(
        "mz", partial | {"sharing_conditions": "仅限婚姻状况核验", "legal_basis": "《婚姻登记条例》第十七条"}
    )
    assert [i.get("sharing_type") for i in published["items"]][:2] == ["conditional", "none"]
    (event,) = [e for e in await catalog.events(published["id"]) if e["type"] == "catalog.resource.published"]
    assert [i["sharing_type"] for i in event["data"]["items"]][:3] == ["conditional", "none", None]


async def test_data_about_people_or_organisations_carries_its_key_identifier(catalog):
    """第十六条: natural persons' data is collected by 公民身份号码, organisations' by 统一社会信用代码 — a resource
    whose items are declared person or org data must mark the item that identifies them."""
    items = [dict(i) for i in catalog.MARRIAGE["items"]]
    items[1]["subject"] = "person"  # 婚姻状况 is data about a person
    unkeyed = await catalog.client.post(
        "/api/catalog/resources", json=catalog.body(catalog.MARRIAGE, items=items), headers=catalog.as_("mz")
    )
    assert unkeyed.status_code == 422
    assert _errors(unkeyed) == {("items", "person_identifier_required")}
    assert "公民身份号码" in unkeyed.json()["errors"][0]["detail"]

    items[2]["subject"] = "org"  # and, say, the registering organisation's
    items[0]["identifier"] = "resident_id"  # 公民身份号码 is the key
    half = await catalog.client.post(
        "/api/catalog/resources", json=catalog.body(catalog.MARRIAGE, items=items), headers=catalog.as_("mz")
    )
    assert _errors(half) == {("items", "org_identifier_required")}

    items[2].pop("subject")
    keyed = await catalog.create("mz", catalog.MARRIAGE, items=items)
    assert [i.get("identifier") for i in keyed["items"]] == ["resident_id", None, None]
