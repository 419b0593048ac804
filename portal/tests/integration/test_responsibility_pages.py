"""责任清单 (第十三条) and 重复采集 (第十六条, 第四十一条(三)) pages against the real catalog-svc on its migrated
database, run in-process where the gateway routes /api/catalog, and the gateway's identity registry (for the names
of the departments the bureau picks from) served over loopback HTTP. People's tokens are signed with the gateway's
key, which catalog-svc trusts as it trusts the gateway's JWKS in production. Each test walks the forms as people
do (no JavaScript) and checks what the API holds afterwards."""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from catalog_svc.main import SPEC as CATALOG
from govdata_gateway.keys import SigningKey
from govdata_portal.session import Session
from govdata_shared.testing import MovableClock

from portal.tests.harness import API_AUDIENCE, ISSUER, Portal, oversight_services, session_of
from portal.tests.integration.test_resource_pages import POPULATION

THURSDAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
REGISTRY = {
    "departments": [
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
        {"code": "YC-GA", "name": "伊川县公安局"},
        {"code": "YC-MZ", "name": "伊川县民政局"},
    ],
    "clients": [],
}
PEOPLE = {
    "bureau": ("lina", "YC-ZSJ", ("bureau_admin",)),
    "auditor": ("chenjing", "YC-ZSJ", ("auditor",)),
    "ga": ("zhaolei", "YC-GA", ("dept_operator",)),
    "mz": ("zhangmin", "YC-MZ", ("dept_operator",)),
}
MARRIAGE = {
    **POPULATION,
    "code": "302001/000025",
    "name": "婚姻登记信息",
    "category": "department",
    "items": [{"code": "id_number", "name": "身份证号", "type": "C"}],  # collected again, not authoritative
    "interface": {"base_url": "http://127.0.0.1:8900/mz/marriage"},
}
VEHICLES = "301009/000009"


@dataclass
class World:
    portal: Portal
    catalog: httpx.AsyncClient
    key: SigningKey
    clock: MovableClock

    def token(self, who: str) -> str:
        sub, dept, roles = PEOPLE[who]
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": API_AUDIENCE, "sub": sub, "client_id": "portal", "roles": list(roles)}
        claims |= {"dept": dept, "name": "测试人员", "scope": "api", "iat": now, "nbf": now, "exp": now + 600}
        return self.key.sign({**claims, "jti": str(uuid.uuid4())})

    def hold(self, who: str) -> Session:
        sub, dept, roles = PEOPLE[who]
        session = session_of(sub, self.token(who), dept=dept, roles=roles)
        session = replace(session, expires_at=self.clock().timestamp() + 600)
        self.portal.hold(session)
        return session

    async def call(self, method: str, path: str, who: str, json: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token(who)}"}
        resp = await self.catalog.request(method, f"/api/catalog{path}", json=json, headers=headers)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    async def publish(self, who: str, body: dict[str, Any]) -> dict[str, Any]:
        created = await self.call("POST", "/resources", who, copy.deepcopy(body))
        await self.call("POST", f"/resources/{created['id']}/submit", who)
        return await self.call("POST", f"/resources/{created['id']}/review", "bureau", {"decision": "approve"})


@pytest.fixture
async def world(service_app, migrated, backend: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = MovableClock(THURSDAY)
    async with oversight_services(
        service_app, migrated, backend, tmp_path, REGISTRY, clock, spec=CATALOG, prefix="/api/catalog/"
    ) as running:
        yield World(running.portal, running.client, running.key, clock)


def rows(html: str, section: str) -> list[str]:
    """The rows of the first table after the element `section`."""
    body = re.search(r"<tbody>(.*?)</tbody>", html.split(f'id="{section}"', 1)[1], re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


def summary_of(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return found.group(0) if found else ""


def assignment(csrf: str, **changes: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "dept": "YC-GA",
        "resource_code": POPULATION["code"],
        "title": "户籍人口基本信息",
        "description": "依据《户口登记条例》采集",
        "update_cycle": "daily",
        **changes,
    }


async def test_the_bureau_assigns_a_departments_entries_and_the_department_sees_how_they_stand(world) -> None:
    published = await world.publish("ga", POPULATION)
    browser = world.portal.browser
    bureau = world.hold("bureau")

    html = (await browser.get("/responsibilities")).text
    assert '<label for="dept">部门</label>' in html and '<option value="YC-GA">伊川县公安局（YC-GA）</option>' in html
    assert 'method="post" action="/responsibilities"' not in html  # no department picked: nothing to assign
    html = (await browser.get("/responsibilities", params={"dept": "YC-GA"})).text
    for label in ("信息资源代码", "名称", "说明", "更新周期"):
        assert f">{label}</label>" in html
    (resource_row,) = rows(html, "resources-title")
    assert "户籍人口基本信息" in resource_row and "每日" in resource_row

    bad = await browser.post("/responsibilities", data=assignment(bureau.csrf, resource_code="101001-000001"))
    assert bad.status_code == 422 and '<a href="#resource_code">信息资源代码：' in summary_of(bad.text)
    assert 'value="101001-000001"' in bad.text and 'aria-invalid="true"' in bad.text
    created = await browser.post("/responsibilities", data=assignment(bureau.csrf))
    assert created.status_code == 303
    assert created.headers["location"] == "/responsibilities?dept=YC-GA&notice=assigned"
    second = assignment(bureau.csrf, resource_code=VEHICLES, title="机动车登记信息", update_cycle="monthly")
    assert (await browser.post("/responsibilities", data=second)).status_code == 303
    twice = await browser.post("/responsibilities", data=second)
    assert twice.status_code == 409 and '<a href="#resource_code">信息资源代码：' in summary_of(twice.text)

    html = (await browser.get("/responsibilities")).text  # no department picked: each department's standing
    (overview,) = rows(html, "entries-title")
    assert 'href="/responsibilities?dept=YC-GA">伊川县公安局</a>' in overview
    assert re.findall(r'<td class="number">(\d+)</td>', overview) == ["2", "1", "0", "1"]
    html = (await browser.get(created.headers["location"])).text
    assert "责任清单条目已下达" in html and "已落实 1 项，未落实 1 项" in html
    fulfilled, missing = rows(html, "entries-title")
    assert (
        POPULATION["code"] in fulfilled and "已落实" in fulfilled and f'href="/catalog/{published["id"]}"' in fulfilled
    )
    assert VEHICLES in missing and "未编目" in missing and "尚未发布" in missing
    (entry,) = [e for e in (await world.call("GET", "/responsibilities", "bureau")) if e["resource_code"] == VEHICLES]
    assert f'href="/responsibilities/{entry["id"]}/withdraw?dept=YC-GA"' in missing

    confirm = await browser.get(f"/responsibilities/{entry['id']}/withdraw", params={"dept": "YC-GA"})
    assert '<label for="reason">撤销理由</label>' in confirm.text and "机动车登记信息" in confirm.text
    no_reason = await browser.post(
        f"/responsibilities/{entry['id']}/withdraw", data={"csrf": bureau.csrf, "dept": "YC-GA", "reason": ""}
    )
    assert no_reason.status_code == 422 and '<a href="#reason">理由：' in summary_of(no_reason.text)
    withdrawn = await browser.post(
        f"/responsibilities/{entry['id']}/withdraw",
        data={"csrf": bureau.csrf, "dept": "YC-GA", "reason": "职能调整，改由交通运输局采集"},
    )
    assert withdrawn.headers["location"] == "/responsibilities?dept=YC-GA&notice=withdrawn"
    assert [e["resource_code"] for e in await world.call("GET", "/responsibilities", "bureau")] == [POPULATION["code"]]

    # The department sees its own list, and neither picks another department nor assigns.
    ga = world.hold("ga")
    html = (await browser.get("/responsibilities", params={"dept": "YC-MZ"})).text
    (own,) = rows(html, "entries-title")
    assert (
        "伊川县公安局（YC-GA） 的责任清单" in html and "已落实" in own and 'id="dept"' not in html and "撤销" not in own
    )
    refused = await browser.post("/responsibilities", data=assignment(ga.csrf))
    assert refused.status_code == 403
    world.clock.advance(days=3)  # no refresh reported for three days: late on the entry's daily cycle
    world.hold("ga")
    (late,) = rows((await browser.get("/responsibilities")).text, "entries-title")
    assert "更新逾期" in late and 'class="row-overdue"' in late


async def test_the_overlap_page_lists_items_of_several_departments_until_the_bureau_allows_them(world) -> None:
    population = await world.publish("ga", POPULATION)
    marriage = await world.publish("mz", MARRIAGE)
    browser = world.portal.browser

    world.hold("auditor")
    html = (await browser.get("/overlaps")).text
    (row,) = rows(html, "overlap-results")
    item, source, unresolved, in_order = re.findall(r"<t[hd].*?</t[hd]>", row, re.S)
    assert "id_number" in item and "伊川县公安局" in source and "民政局" not in source
    # the department not in order, with the resource that offers the item; an auditor sees no 准许 link
    assert (
        "伊川县民政局" in unresolved and f'href="/catalog/{marriage["id"]}"' in unresolved and "准许" not in unresolved
    )
    assert f'href="/catalog/{population["id"]}"' not in row and "—" in in_order
    assert (await browser.get("/overlaps", params={"scope": "all"})).status_code == 200

    bureau = world.hold("bureau")
    html = (await browser.get("/overlaps")).text
    (row,) = rows(html, "overlap-results")
    assert "伊川县民政局" in row and 'href="/overlaps/allow?item_code=id_number&amp;dept=YC-MZ"' in row
    form = await browser.get("/overlaps/allow", params={"item_code": "id_number", "dept": "YC-MZ"})
    assert '<label for="reason">准许理由</label>' in form.text and "伊川县民政局" in form.text
    empty = await browser.post(
        "/overlaps/allow", data={"csrf": bureau.csrf, "item_code": "id_number", "dept": "YC-MZ", "reason": ""}
    )
    assert empty.status_code == 422 and '<a href="#reason">理由：' in summary_of(empty.text)
    allowed = await browser.post(
        "/overlaps/allow",
        data={"csrf": bureau.csrf, "item_code": "id_number", "dept": "YC-MZ", "reason": "婚姻登记以身份证号为标识"},
    )
    assert allowed.headers["location"] == "/overlaps?notice=allowed"
    html = (await browser.get(allowed.headers["location"])).text
    assert rows(html, "overlap-results") == [] and "没有未经准许由多个部门提供的信息项" in html

    world.hold("ga")
    assert (await browser.get("/overlaps")).status_code == 403
