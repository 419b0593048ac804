"""The registration form of a data resource (登记资源) as plain functions: what was typed becomes the body of
`POST /resources` or `PATCH`, a revision the API holds becomes the form again, and the API's refusals are named
beside the inputs they concern."""

from __future__ import annotations

from govdata_portal.gateway import ApiProblem
from govdata_portal.resources import (
    ItemRow,
    ResourceForm,
    blank_form,
    form_of_resource,
    interface_unchanged,
    payload,
    read_form,
    resource_errors,
    without_blank_rows,
)
from starlette.datastructures import FormData

TYPED = [
    ("csrf", "t"),
    ("code", " 101002/000321 "),
    ("name", "机动车登记信息"),
    ("summary", "全县机动车。"),
    ("category", "base"),
    ("format", "api"),
    ("sharing_type", "unconditional"),
    ("sharing_method", "platform_api"),
    ("sharing_conditions", ""),
    ("open_type", "closed"),
    ("security_level", "2"),
    ("update_cycle", "monthly"),
    ("related_codes", "101001/000001，101001/000002"),
    ("interface.base_url", "http://10.1.2.3/vehicles"),
    ("interface.methods", "GET"),
    ("interface.methods", "POST"),
    ("interface.path_prefixes", "/records /owners"),
    ("interface.rate_limit", "50"),
    ("interface.credential_ref", ""),
    ("items.0.code", "plate_number"),
    ("items.0.name", "号牌号码"),
    ("items.0.type", "C"),
    ("items.0.length", "12"),
    ("items.0.authoritative", "true"),
    ("items.0.description", ""),
    ("items.1.code", ""),
    ("items.1.name", ""),
    ("items.1.type", "C"),
    ("items.1.length", ""),
    ("items.1.description", ""),
    ("items.2.code", "registered_on"),
    ("items.2.name", "登记日期"),
    ("items.2.type", "D"),
    ("items.2.length", "八"),
    ("items.2.description", "初次登记"),
    ("items.2.sharing_type", "conditional"),  # stricter than the resource (第二十四条)
    ("no_state_secrets", "true"),
]


def test_what_was_typed_becomes_the_body_of_post_resources_without_the_rows_left_blank() -> None:
    form = read_form(FormData(TYPED))
    assert len(form.items) == 3 and form.items[0].authoritative and not form.items[2].authoritative
    body = payload(form)
    assert body["code"] == "101002/000321" and body["name"] == "机动车登记信息"
    assert body["sharing_conditions"] is None and body["legal_basis"] is None
    assert body["related_codes"] == ["101001/000001", "101001/000002"]
    assert body["interface"] == {
        "base_url": "http://10.1.2.3/vehicles",
        "methods": ["GET", "POST"],
        "path_prefixes": ["/records", "/owners"],
        "rate_limit": 50,
    }
    assert body["items"] == [
        {
            "code": "plate_number",
            "name": "号牌号码",
            "type": "C",
            "length": 12,
            "authoritative": True,
            "description": None,
            "sharing_type": None,  # the resource's
            "subject": None,
            "identifier": None,
        },
        # A length that is no number goes as typed: the API names it (应为整数) beside the field.
        {
            "code": "registered_on",
            "name": "登记日期",
            "type": "D",
            "length": "八",
            "authoritative": False,
            "description": "初次登记",
            "sharing_type": "conditional",
            "subject": None,
            "identifier": None,
        },
    ]
    assert body["no_state_secrets"] is True
    assert [row.code for row in without_blank_rows(form).items] == ["plate_number", "registered_on"]


def test_blank_required_fields_are_left_out_of_a_new_resource_and_sent_empty_in_a_patch() -> None:
    form = blank_form()
    created = payload(form)
    assert "code" not in created and "name" not in created and "category" not in created  # the API says 必填
    assert created["items"] == [] and created["interface"] is None  # the prefilled rate limit alone is no interface
    assert created["no_state_secrets"] is False  # unticked: the API refuses to submit it (第二条)
    patched = payload(form, patch=True)
    assert patched["code"] == "" and patched["name"] == "" and "category" not in patched
    assert patched["no_state_secrets"] is False  # a declaration the API holds is withdrawn


def test_a_revision_held_by_the_api_becomes_the_form_and_the_same_body_again() -> None:
    held = {
        "code": "101001/000001",
        "name": "户籍人口基本信息",
        "summary": "户籍人口。",
        "category": "base",
        "format": "api",
        "sharing_type": "conditional",
        "sharing_conditions": "仅限身份核验",
        "legal_basis": "《居民身份证法》",
        "sharing_method": "platform_api",
        "open_type": "closed",
        "open_conditions": None,
        "security_level": "3",
        "update_cycle": "daily",
        "usage_requirements": None,
        "related_codes": [],
        "items": [
            {
                "code": "id_number",
                "name": "公民身份号码",
                "type": "C",
                "length": 18,
                "authoritative": True,
                "sharing_type": "none",
                "subject": "person",
                "identifier": "resident_id",
            }
        ],
        "interface": {
            "base_url": "http://10.1.2.3/population",
            "methods": ["GET"],
            "path_prefixes": ["/records"],
            "rate_limit": 20,
            "has_credential": True,
        },
        "no_state_secrets": True,
    }
    form = form_of_resource(held)
    assert form.value("interface.path_prefixes") == "/records" and form.no_state_secrets
    body = payload(form, patch=True)
    for name in ("code", "name", "sharing_conditions", "legal_basis", "security_level", "related_codes"):
        assert body[name] == held[name], name
    assert body["items"] == [{**held["items"][0], "description": None}]
    # The interface given back unchanged is left out of the patch: the credential reference the API never shows
    # would be lost with it.
    assert interface_unchanged(body["interface"], held["interface"])
    changed = {**body["interface"], "path_prefixes": ["/records", "/persons"]}
    assert not interface_unchanged(changed, held["interface"])
    assert not interface_unchanged({**body["interface"], "credential_ref": "vault:ga/population"}, held["interface"])


def test_the_apis_refusals_are_named_beside_the_inputs_they_concern() -> None:
    problem = ApiProblem(
        422,
        {
            "code": "validation_failed",
            "detail": "…",
            "errors": [
                {"field": "code", "rule": "string_pattern_mismatch", "detail": "格式不正确"},
                {"field": "items.1.code", "rule": "string_pattern_mismatch", "detail": "格式不正确"},
                {"field": "items[2].code", "rule": "duplicate_item_code", "detail": "信息项代码 name 重复"},
                {"field": "interface", "rule": "required_for_platform_api", "detail": "必须登记接口信息"},
                {"field": "interface.path_prefixes.0", "rule": "value_error", "detail": "路径前缀须以 / 开头"},
                {"field": "items", "rule": "too_short", "detail": "列表至少应有 1 项"},
                {"field": "interface.rate_limit", "rule": "int_parsing", "detail": "应为整数"},
            ],
        },
    )
    named = [(e["label"], e["anchor"]) for e in resource_errors(problem)]
    assert named == [
        ("信息资源代码", "code"),
        ("信息项第 2 行 信息项代码", "items-1-code"),
        ("信息项第 3 行 信息项代码", "items-2-code"),
        ("服务接口", "interface-base_url"),
        ("路径前缀第 1 行", "interface-path_prefixes"),
        ("信息项", "items-0-code"),
        ("调用频率上限", "interface-rate_limit"),
    ]


def test_one_item_one_source_is_named_beside_the_authoritative_box_of_its_row() -> None:
    # 第十六条: the API's 409 names the row's checkbox in its own notation.
    conflict = ApiProblem(
        409,
        {
            "code": "item_authority_conflict",
            "detail": "信息项 id_number 已由 YC-GA 的资源 res-1 作为权威来源提供（一数一源，第十六条）",
            "field": "items[0].authoritative",
            "rule": "one_item_one_source",
        },
    )
    (error,) = resource_errors(conflict)
    assert error["label"] == "信息项第 1 行 权威来源" and error["anchor"] == "items-0-authoritative"
    assert "一数一源" in error["detail"]


def test_an_item_row_with_only_its_type_chosen_counts_as_blank() -> None:
    assert ItemRow(type="D").blank() and not ItemRow(authoritative=True).blank()
    assert without_blank_rows(ResourceForm(items=[ItemRow(), ItemRow(type="N")])).items == [ItemRow()]
