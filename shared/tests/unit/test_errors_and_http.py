"""problem+json for every failure, request ids, body limits and masked JSON logs — as a client sees them."""

from __future__ import annotations

import io
import logging

import httpx
import orjson
import pytest
from fastapi import FastAPI
from govdata_shared.errors import Problem, install_error_handlers, nul_in_document, nul_in_query
from govdata_shared.http import RequestContextMiddleware
from govdata_shared.logs import JsonFormatter
from pydantic import BaseModel, Field


class Demand(BaseModel):
    name: str = Field(min_length=2)
    count: int = Field(ge=1)


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="test-svc", max_body_bytes=1024)

    @app.post("/demands")
    async def create(demand: Demand) -> dict:
        return demand.model_dump()

    @app.get("/conflict")
    async def conflict() -> dict:
        raise Problem(
            409,
            "item_has_authority",
            "信息项 XM001 已由 YC-GA 作为权威来源提供",
            field="items[0].code",
            rule="one_item_one_source",
            existing_resource="res-1",
        )

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("database password is hunter2")

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_bad_input_is_422_naming_each_field_and_rule(client):
    response = await client.post("/demands", json={"name": "x", "count": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {(e["field"], e["rule"]) for e in body["errors"]} == {
        ("name", "string_too_short"),
        ("count", "greater_than_equal"),
    }
    assert body["status"] == 422 and body["title"] and body["type"].endswith("validation_failed")


async def test_malformed_json_is_a_4xx_problem(client):
    response = await client.post("/demands", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "json_invalid"


async def test_domain_problem_keeps_its_code_field_rule_and_extras(client):
    response = await client.get("/conflict")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "item_has_authority"
    assert body["field"] == "items[0].code" and body["rule"] == "one_item_one_source"
    assert body["existing_resource"] == "res-1"
    assert "YC-GA" in body["detail"]


async def test_unexpected_error_is_500_problem_without_internals(client):
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "hunter2" not in response.text


async def test_unknown_path_and_method_are_problems(client):
    assert (await client.get("/nowhere")).json()["code"] == "not_found"
    response = await client.delete("/demands")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


async def test_oversized_body_is_413_before_the_handler_runs(client):
    response = await client.post("/demands", json={"name": "x" * 2000, "count": 1})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_request_id_is_kept_when_safe_and_replaced_when_not(client):
    kept = await client.get("/conflict", headers={"x-request-id": "dept-sys-42"})
    assert kept.headers["x-request-id"] == "dept-sys-42"
    replaced = await client.get("/conflict", headers={"x-request-id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32


def test_json_log_lines_mask_identifiers_and_keep_chinese_readable():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test-svc"))
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("公民 %s 对企业 %s 提出校核", "34052419800101001X", "91350100M0001TGQXM")
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue().strip()
    entry = orjson.loads(line)
    assert "34052419800101001X" not in line and "91350100M0001TGQXM" not in line
    assert entry["message"].startswith("公民 3405")
    assert "提出校核" in line  # UTF-8, not \u escapes
    assert entry["service"] == "test-svc" and entry["level"] == "INFO"


async def test_a_json_body_sent_in_pieces_reaches_the_handler_whole(client):
    """The middleware reads a JSON body before the app (to look for NUL characters) and hands it on as sent."""

    async def pieces():
        for part in (b'{"name": "\xe6\x88\xb7\xe7\xb1\x8d', b'\xe4\xba\xba\xe5\x8f\xa3", ', b'"count": 3}'):
            yield part

    response = await client.post("/demands", content=pieces(), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "户籍人口", "count": 3}


async def test_a_json_body_over_the_limit_in_pieces_is_413(client):
    async def pieces():
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 50
        yield b'", "count": 1}'

    response = await client.post("/demands", content=pieces(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"items": [{"code": "x"}, {"name": "\x00"}]}, "items.1.name"),
        ({"meta": {"ke\x00y": "v"}}, "meta.key"),
        ("\x00", "body"),
        ({"name": "\\u0000 written out"}, None),
    ],
)
def test_the_field_holding_a_nul_is_named(document, field):
    assert nul_in_document(document) == field


def test_the_query_parameter_holding_a_nul_is_named():
    assert nul_in_query("q=%E4%BA%BA&dept=YC-GA%00") == "dept"
    assert nul_in_query("q=%2500") is None  # a percent sign and 00, not a NUL
    assert nul_in_query("q=%E4%BA%BA") is None
