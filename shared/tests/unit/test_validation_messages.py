"""Validation problems speak Chinese: every pydantic error type has a sentence, the stable `rule` is kept."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

import httpx
import pydantic_core
import pytest
from fastapi import FastAPI
from govdata_shared.errors import install_error_handlers
from govdata_shared.validation_messages import _MESSAGES, ITEM_CODE_PATTERN, RESOURCE_CODE_PATTERN, chinese_message
from pydantic import AfterValidator, BaseModel, Field, ValidationError

# Types pydantic raises only for programming mistakes or internal states, never for a caller's input.
_NEVER_FROM_INPUT = {
    "needs_python_object",
    "default_factory_not_called",
    "missing_sentinel_error",
    "ellipsis_error",
    "value_error",  # our validators' own (Chinese) sentence is used
    "assertion_error",
}


class Sharing(StrEnum):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"


def _no_spaces(value: str) -> str:
    if " " in value:
        raise ValueError("不能包含空格")
    return value


class Resource(BaseModel):
    name: str = Field(min_length=2, max_length=10)
    count: int = Field(ge=1)
    sharing_type: Sharing
    valid_to: date
    items: list[str] = Field(min_length=1)
    code: Annotated[str, AfterValidator(_no_spaces)]
    kind: Literal["a", "b"] = "a"


@pytest.fixture
async def client():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/resources")
    async def create(resource: Resource) -> dict:
        return resource.model_dump()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


def test_every_error_type_a_caller_can_cause_has_a_chinese_sentence() -> None:
    known = {e["type"] for e in pydantic_core._pydantic_core.list_all_errors()}
    assert known - set(_MESSAGES) - _NEVER_FROM_INPUT == set()


async def test_a_422_names_each_field_and_rule_in_chinese(client) -> None:
    body = {"name": "x" * 11, "count": "many", "sharing_type": "open", "valid_to": "2026-13-01", "items": []}
    body["code"], body["kind"] = "a b", "c"
    response = await client.post("/resources", json=body)
    assert response.status_code == 422
    problem = response.json()
    said = {e["field"]: (e["rule"], e["detail"]) for e in problem["errors"]}
    assert said == {
        "name": ("string_too_long", "长度不能超过 10 个字符"),
        "count": ("int_parsing", "应为整数"),
        "sharing_type": ("enum", "应为以下之一：'unconditional'、'conditional'"),
        "valid_to": ("date_from_datetime_parsing", "应为日期，格式 YYYY-MM-DD"),
        "items": ("too_short", "列表至少应有 1 项"),
        "code": ("value_error", "不能包含空格"),
        "kind": ("literal_error", "应为以下之一：'a'、'b'"),
    }
    assert problem["detail"].startswith("name：长度不能超过 10 个字符；count：应为整数")
    assert not any(c.isascii() and c.isalpha() for c in problem["title"])


async def test_a_missing_field_is_required_and_an_unknown_type_still_gets_chinese(client) -> None:
    response = await client.post("/resources", json={})
    errors = response.json()["errors"]
    assert {e["detail"] for e in errors} == {"必填"} and {e["rule"] for e in errors} == {"missing"}
    assert chinese_message({"type": "a_type_from_a_future_pydantic", "msg": "Something"}) == "不符合规则"


def test_a_known_format_is_explained_with_an_example_instead_of_its_regular_expression() -> None:
    class Resource(BaseModel):
        code: str = Field(pattern=RESOURCE_CODE_PATTERN)
        item: str = Field(pattern=ITEM_CODE_PATTERN)
        other: str = Field(pattern=r"^x+$")

    with pytest.raises(ValidationError) as raised:
        Resource(code="101001-000123", item="1abc", other="y")
    code, item, other = (chinese_message(e) for e in raised.value.errors())
    assert code.startswith("格式不正确：应为 分类码/顺序码") and "101001/000123" in code and "\\d" not in code
    assert "id_number" in item and "[A-Za-z]" not in item
    assert other == "格式不正确（应符合 ^x+$）"  # a format without a hint still names its rule
