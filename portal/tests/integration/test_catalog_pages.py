"""数据目录 and the bureau's 待办, against the real catalog-svc (and verification-svc) on their migrated Postgres
databases, run in-process where the gateway would route the portal's API calls, with tokens of the people tests
speak as. The portal's session is one it sealed itself; signing in is test_signin_flow's."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from catalog_svc.main import SPEC as CATALOG
from govdata_shared.testing import PEOPLE, PERSON, MovableClock, TestTokens
from starlette.types import Receive, Scope, Send
from verification_svc.main import SPEC as VERIFICATION

from portal.tests.harness import Portal, portal_settings, publish_marriage_resource, running_portal, session_of

THURSDAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

POPULATION = {
    "code": "101001/000001",
    "name": "户籍人口基本信息",
    "summary": "伊川县户籍人口的姓名、性别、出生日期、户籍地址等基本信息，供各部门办理业务核验身份使用。",
    "category": "base",
    "format": "api",
    "items": [
        {"code": "id_number", "name": "公民身份号码", "type": "C", "length": 18, "authoritative": True},
        {"code": "name", "name": "姓名", "type": "C", "length": 50, "authoritative": True},
        {"code": "birth_date", "name": "出生日期", "type": "D"},
    ],
    "sharing_type": "unconditional",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {"base_url": "http://127.0.0.1:8900/ga/population", "path_prefixes": ["/records"]},
    "no_state_secrets": True,  # 第二条: declared, so that it may be submitted
}


class Platform:
    """The services the portal's API calls reach, and the people's tokens."""

    def __init__(self, clients: dict[str, httpx.AsyncClient], tokens: TestTokens, clock: MovableClock) -> None:
        self.clients = clients
        self.tokens = tokens
        self.clock = clock

    async def call(self, service: str, method: str, path: str, who: str, json: Any = None) -> dict[str, Any]:
        resp = await self.clients[service].request(
            method, f"/api/{service}{path}", json=json, headers=self.tokens.as_(who)
        )
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    async def resource(self, who: str, *, publish: bool = True, **changes: Any) -> dict[str, Any]:
        body = {**copy.deepcopy(POPULATION), **changes}
        created = await self.call("catalog", "POST", "/resources", who, body)
        submitted = await self.call("catalog", "POST", f"/resources/{created['id']}/submit", who)
        if not publish:
            return submitted
        return await self.call(
            "catalog", "POST", f"/resources/{created['id']}/review", "bureau", {"decision": "approve"}
        )

    def session(self, who: str, name: str = "测试人员"):
        person = PEOPLE[who]
        token = self.tokens.token(person.sub, person.dept, person.roles, subject_id=person.subject_id, name=name)
        session = session_of(person.sub, token, dept=person.dept, roles=person.roles, name=name)
        return replace(session, expires_at=self.clock().timestamp() + 600)  # as the portal's clock sees it


def dispatcher(apps: dict[str, Any]) -> Callable[[Scope, Receive, Send], Any]:
    """Where the gateway would route /api/<service>/…: straight to that service's app."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        service = scope["path"].split("/")[2] if scope["path"].startswith("/api/") else ""
        if service not in apps:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await apps[service](scope, receive, send)

    return route


@pytest.fixture
async def platform(service_app, test_tokens: TestTokens, tmp_path: Path) -> AsyncIterator[tuple[Platform, Portal]]:
    clock = MovableClock(THURSDAY)
    catalog_app, catalog_client = await service_app(CATALOG, clock=clock)
    verification_app, verification_client = await service_app(VERIFICATION, clock=clock)
    transport = httpx.ASGITransport(app=dispatcher({"catalog": catalog_app, "verification": verification_app}))
    async with running_portal(portal_settings(tmp_path), transport=transport, clock=clock) as portal:
        clients = {"catalog": catalog_client, "verification": verification_client}
        yield Platform(clients, test_tokens, clock), portal


def rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


async def test_the_catalog_page_searches_with_filters_above_and_a_pager_below(platform) -> None:
    services, portal = platform
    await services.resource("ga")
    await services.resource(
        "mz",
        code="301002/000007",
        name="婚姻登记信息",
        summary="全县婚姻登记记录。",
        category="department",
        sharing_type="conditional",
        sharing_conditions="仅限社会救助业务核验",
        legal_basis="《婚姻登记条例》",
        items=[{"code": "marriage_status", "name": "婚姻状况", "type": "C", "authoritative": True}],
    )
    portal.hold(services.session("rs", "刘洋"))

    resp = await portal.browser.get("/catalog")
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert '<input type="search" id="q" name="q"' in html and '<label for="q">关键词</label>' in html
    for field, text in (("provider_dept", "提供部门"), ("category", "资源分类"), ("sharing_type", "共享类型")):
        assert f'<label for="{field}">{text}</label>' in html
    assert len(rows(html)) == 2 and "共 2 条，第 1/1 页" in html
    assert 'aria-current="page" class="active">数据目录' in html

    html = (await portal.browser.get("/catalog", params={"q": "人口"})).text
    assert [r for r in rows(html) if "户籍人口基本信息" in r] and len(rows(html)) == 1
    assert 'value="人口"' in html

    html = (await portal.browser.get("/catalog", params={"sharing_type": "conditional"})).text
    (row,) = rows(html)
    assert "婚姻登记信息" in row and "有条件共享" in row and "部门" in row and "每日" in row
    assert '<option value="conditional" selected>' in html

    html = (await portal.browser.get("/catalog", params={"provider_dept": "YC-GA"})).text
    assert len(rows(html)) == 1 and "户籍人口基本信息" in html


async def test_htmx_gets_only_the_results(platform) -> None:
    services, portal = platform
    await services.resource("ga")
    portal.hold(services.session("mz"))
    resp = await portal.browser.get(
        "/catalog", params={"q": "人口"}, headers={"HX-Request": "true", "HX-Target": "catalog-results"}
    )
    assert resp.status_code == 200 and resp.text.lstrip().startswith('<section id="catalog-results"')
    assert "<html" not in resp.text and "户籍人口基本信息" in resp.text


async def test_a_refused_filter_is_named_in_the_error_summary(platform) -> None:
    services, portal = platform
    portal.hold(services.session("mz"))
    resp = await portal.browser.get("/catalog", params={"category": "secret", "page": "x"})
    assert resp.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', resp.text, re.S).group(0)
    assert '<a href="#category">资源分类：' in summary and "enum" in summary
    assert '<a href="#page">页码：' in summary and "应为整数" in summary


async def test_a_nul_character_in_a_filter_is_named_in_the_error_summary(platform) -> None:
    """The catalog service refuses U+0000 naming the parameter; the portal shows that as for any refused filter,
    as a page, not the service's problem+json."""
    services, portal = platform
    portal.hold(services.session("mz"))
    resp = await portal.browser.get("/catalog", params={"q": "人口", "provider_dept": "YC-GA\x00"})
    assert resp.status_code == 422 and "<html" in resp.text
    summary = re.search(r'<div class="error-summary".*?</div>', resp.text, re.S).group(0)
    assert '<a href="#provider_dept">提供部门：不能包含空字符（U+0000）</a>' in summary
    assert "no_nul_character" in summary


async def test_the_resource_page_shows_items_sharing_and_update_cycle(platform) -> None:
    services, portal = platform
    resource = await services.resource("ga")
    portal.hold(services.session("mz"))
    resp = await portal.browser.get(f"/catalog/{resource['id']}")
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert "<h1>户籍人口基本信息" in html and "已发布" in html and "101001/000001" in html
    assert "无条件共享" in html and "不予开放" in html and "每日" in html and "敏感" in html
    items = rows(html.split('id="items-title"')[1])
    assert len(items) == 3 and "公民身份号码" in items[0] and "字符" in items[0] and "是" in items[0]
    assert "日期" in items[2]
    assert "/sharing/apply" not in html  # the application page comes with the next increment, no dead link

    missing = await portal.browser.get("/catalog/no-such-resource")
    assert missing.status_code == 404 and "未找到该数据资源" in missing.text


async def test_the_bureaus_todo_lists_submitted_resources_with_their_review_deadline(platform) -> None:
    services, portal = platform
    await services.resource("ga", publish=False)  # submitted Thursday 2026-11-26: due in 5 working days
    portal.hold(services.session("bureau", "李娜"))
    resp = await portal.browser.get("/")
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert "李娜" in html and "县大数据局管理员" in html
    (row,) = rows(html)
    assert "目录审核" in row and "户籍人口基本信息" in row and "YC-GA" in row and "待审核" in row
    assert "截止 2026-12-03（还剩 5 个工作日）" in row
    # The bureau's sharing lists live in sharing-svc, not running here: named, not hidden.
    assert "以下事项暂时无法读取" in html and "共享申请（平台审核）" in html


async def test_an_operator_sees_overdue_corrections_of_the_departments_data_first(platform) -> None:
    services, portal = platform
    verification = services.clients["verification"]
    app = verification._transport.app  # the verification app behind its in-process client
    await publish_marriage_resource(app)
    filed = await services.call(
        "verification",
        "POST",
        "/corrections",
        "citizen",
        {
            "resource_id": "res-marriage",
            "subject_type": "person",
            "subject_id": PERSON,
            "items": ["marriage_status"],
            "claimed_values": {"marriage_status": "未婚"},
            "description": "本人未登记结婚，平台显示已婚。",
        },
    )
    app.state.clock.advance(days=20)  # the portal shares the clock: ten working days have long passed

    portal.hold(services.session("mz", "张敏"))
    html = (await portal.browser.get("/")).text
    (row,) = [r for r in rows(html) if "数据校核" in r]
    assert 'class="row-overdue"' in row and "婚姻登记信息" in row and "公民或企业申请" in row
    assert f"截止 {filed['deadline']}" in row and "已逾期" in row
    assert PERSON not in html  # the page never shows the subject's identifier
