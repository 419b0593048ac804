"""The catalog's metadata rules (domain.rule_violations) on resources in memory: each rule names its field and rule,
and a resource that keeps every rule breaks none."""

from __future__ import annotations

import pytest
from catalog_svc.domain import rule_violations
from catalog_svc.schemas import ResourceFields

POPULATION = {
    "code": "101001/000001",
    "name": "户籍人口基本信息",
    "summary": "伊川县户籍人口的基本信息。",
    "category": "base",
    "format": "api",
    "items": [
        {"code": "id_number", "name": "公民身份号码", "type": "C", "authoritative": True},
        {"code": "name", "name": "姓名", "type": "C"},
    ],
    "sharing_type": "unconditional",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {"base_url": "http://127.0.0.1:8900/ga/population"},
}
MARRIAGE = {
    **POPULATION,
    "code": "301002/000007",
    "name": "婚姻登记信息",
    "category": "department",
    "sharing_type": "conditional",
    "sharing_conditions": "仅限办理社会救助业务核验使用",
    "legal_basis": "《婚姻登记条例》第十七条",
}


def broken(template: dict, **changes) -> set[tuple[str, str]]:
    fields = ResourceFields.model_validate({**template, **changes})
    return {(error["field"], error["rule"]) for error in rule_violations(fields)}


@pytest.mark.parametrize("template", [POPULATION, MARRIAGE])
def test_a_resource_that_keeps_every_rule_breaks_none(template):
    assert broken(template) == set()


@pytest.mark.parametrize("sharing_type", ["conditional", "none"])
def test_base_resources_must_be_shared_unconditionally(sharing_type):
    # 第二十五条(二)
    violations = broken(
        POPULATION, sharing_type=sharing_type, sharing_conditions="仅限公安", legal_basis="《居民身份证法》"
    )
    assert ("sharing_type", "base_must_share_unconditionally") in violations


@pytest.mark.parametrize("conditions", [None, "", "   "])
def test_conditional_sharing_needs_its_conditions_written(conditions):
    assert broken(MARRIAGE, sharing_conditions=conditions) == {("sharing_conditions", "required_when_conditional")}


@pytest.mark.parametrize("sharing_type", ["conditional", "none"])
@pytest.mark.parametrize("basis", [None, "", " \n "])
def test_conditional_and_none_shared_resources_need_a_legal_basis(sharing_type, basis):
    # 第二十五条(一)
    violations = broken(MARRIAGE, sharing_type=sharing_type, legal_basis=basis)
    assert ("legal_basis", "legal_basis_required") in violations


def test_unconditionally_shared_resources_need_no_legal_basis_nor_conditions():
    assert broken(POPULATION, legal_basis=None, sharing_conditions=None) == set()


@pytest.mark.parametrize(("open_type", "refused"), [("open", True), ("conditional_open", True), ("closed", False)])
def test_none_shared_resources_are_closed_to_the_public(open_type, refused):
    violations = broken(
        MARRIAGE, sharing_type="none", sharing_conditions=None, open_type=open_type, open_conditions="x"
    )
    assert (("open_type", "none_shared_must_be_closed") in violations) is refused


def test_conditional_opening_needs_its_conditions_written():
    assert broken(MARRIAGE, open_type="conditional_open") == {("open_conditions", "required_when_conditional_open")}
    assert broken(MARRIAGE, open_type="conditional_open", open_conditions="仅限统计汇总数据") == set()


@pytest.mark.parametrize(
    ("category", "code", "refused"),
    [
        ("base", "101001/1", False),
        ("base", "301001/1", True),
        ("theme", "201001/1", False),
        ("theme", "101001/1", True),
        ("department", "301001/1", False),
        ("department", "201001/1", True),
    ],
)
def test_the_class_digit_of_the_code_follows_the_category(category, code, refused):
    violations = broken(POPULATION, category=category, code=code)
    assert (("code", "code_class_mismatch") in violations) is refused


def test_the_code_class_violation_says_which_digit_is_expected():
    fields = ResourceFields.model_validate({**POPULATION, "code": "201001/000001"})
    (error,) = rule_violations(fields)
    assert "类码应为 1" in error["detail"] and "base" in error["detail"]


def test_item_codes_must_be_unique_and_each_repeat_is_named_by_its_position():
    items = [
        *POPULATION["items"],
        {"code": "name", "name": "姓名2", "type": "C"},
        {"code": "name", "name": "x", "type": "C"},
    ]
    assert broken(POPULATION, items=items) == {
        ("items[2].code", "duplicate_item_code"),
        ("items[3].code", "duplicate_item_code"),
    }


@pytest.mark.parametrize(
    ("sharing_method", "sharing_type", "refused"),
    [("platform_api", "unconditional", True), ("platform_api", "none", False), ("file", "unconditional", False)],
)
def test_sharing_through_the_platform_api_needs_an_interface(sharing_method, sharing_type, refused):
    changes = {"sharing_method": sharing_method, "sharing_type": sharing_type, "interface": None}
    if sharing_type == "none":
        changes.update(category="department", code="301001/1", legal_basis="《保守国家秘密法》")
    violations = broken(POPULATION, **changes)
    assert (("interface", "required_for_platform_api") in violations) is refused


def test_every_broken_rule_is_reported_at_once():
    assert broken(MARRIAGE, sharing_type="none", legal_basis=None, open_type="open", code="101002/7") == {
        ("legal_basis", "legal_basis_required"),
        ("open_type", "none_shared_must_be_closed"),
        ("code", "code_class_mismatch"),
    }
