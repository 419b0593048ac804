"""A NUL character (U+0000) anywhere a caller puts text — a JSON field, a query parameter, the path — is a 422
naming where it was, before any handler runs: no Postgres text column can hold one, and the insert that would
have failed did so as a 500 after the handler's own checks (found while hardening access records, issue 17)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.backends("postgres", "sqlite")


def problem_of(response, status: int = 422) -> tuple[str, str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    return body["code"], body["field"], body["rule"]


async def test_a_nul_in_a_json_field_is_refused_naming_the_field_and_nothing_is_written(catalog):
    named = catalog.body(catalog.POPULATION, name="户籍人口\u0000基本信息")
    refused = await catalog.post("/resources", "ga", named)
    assert problem_of(refused) == ("validation_failed", "name", "no_nul_character")
    items = [dict(catalog.POPULATION["items"][0], name="姓名\u0000"), *catalog.POPULATION["items"][1:]]
    nested = catalog.body(catalog.POPULATION, items=items)
    assert problem_of(await catalog.post("/resources", "ga", nested))[1:] == ("items.0.name", "no_nul_character")
    mine = await catalog.get("/resources", "ga", status="draft")
    assert mine.status_code == 200 and mine.json()["total"] == 0
    # The same body without the NUL goes through: only the character is refused.
    assert (await catalog.post("/resources", "ga", catalog.body(catalog.POPULATION))).status_code == 201


async def test_a_nul_in_a_query_parameter_or_the_path_is_refused(catalog):
    listing = await catalog.client.get("/api/catalog/resources?provider_dept=YC-GA%00", headers=catalog.as_("ga"))
    assert problem_of(listing)[1:] == ("provider_dept", "no_nul_character")
    one = await catalog.client.get("/api/catalog/resources/res-%00", headers=catalog.as_("ga"))
    assert problem_of(one)[1:] == ("path", "no_nul_character")
    # A backslash and a u before 0000, not a NUL: an ordinary string.
    literal = catalog.body(catalog.POPULATION, summary="转义写法 \\u0000 不是空字符")
    assert (await catalog.post("/resources", "ga", literal)).status_code == 201
