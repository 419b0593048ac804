"""The portal shows where a provider's system is (接口地址) only when the catalog gives it — to the provider
department and the bureau (API.md "Catalog"); other departments and citizens see the methods, path prefixes and
rate limit. Against the real catalog-svc, where the gateway would route the portal's API calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from catalog_svc.main import SPEC as CATALOG
from govdata_shared.testing import PEOPLE, MovableClock, TestTokens

from portal.tests.harness import Portal, portal_settings, running_portal, session_of

ADDRESS = "http://127.0.0.1:8900/ga/population"
POPULATION = {
    "code": "101001/000001",
    "name": "户籍人口基本信息",
    "summary": "伊川县户籍人口的姓名、性别、出生日期等基本信息。",
    "category": "base",
    "format": "api",
    "items": [{"code": "name", "name": "姓名", "type": "C", "length": 50}],
    "sharing_type": "unconditional",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {"base_url": ADDRESS, "path_prefixes": ["/records"], "credential_ref": "vault:ga/population"},
    "no_state_secrets": True,
}


@pytest.fixture
async def pages(service_app, test_tokens: TestTokens, tmp_path: Path) -> AsyncIterator[tuple[str, Portal, object]]:
    clock = MovableClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    catalog_app, catalog = await service_app(CATALOG, clock=clock)

    async def post(path: str, who: str, json=None) -> dict:
        resp = await catalog.post(f"/api/catalog{path}", json=json, headers=test_tokens.as_(who))
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    rid = (await post("/resources", "ga", POPULATION))["id"]
    await post(f"/resources/{rid}/submit", "ga")
    await post(f"/resources/{rid}/review", "bureau", {"decision": "approve"})

    def hold(portal: Portal, who: str) -> None:
        person = PEOPLE[who]
        token = test_tokens.token(person.sub, person.dept, person.roles, subject_id=person.subject_id, name="测试")
        session = session_of(person.sub, token, dept=person.dept, roles=person.roles, name="测试")
        portal.hold(replace(session, expires_at=clock().timestamp() + 600))

    transport = httpx.ASGITransport(app=catalog_app)
    async with running_portal(portal_settings(tmp_path), transport=transport, clock=clock) as portal:
        yield rid, portal, hold


@pytest.mark.parametrize("who", ["mz", "citizen", "auditor"])
async def test_others_see_what_may_be_called_but_not_the_address(pages, who: str) -> None:
    rid, portal, hold = pages
    hold(portal, who)
    resp = await portal.browser.get(f"/catalog/{rid}")
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert "服务接口" in html and "/records" in html and "每个授权每秒 20 次" in html
    assert "接口地址" not in html and "127.0.0.1:8900" not in html and "vault:" not in html
    # The provider's own page of the resource, opened by someone else, says no more (and does not fail).
    own = await portal.browser.get(f"/resources/{rid}")
    assert own.status_code in (200, 403, 404), own.text
    assert "127.0.0.1:8900" not in own.text and "凭据引用" not in own.text


@pytest.mark.parametrize("who", ["ga", "bureau"])
async def test_the_provider_department_and_the_bureau_see_the_address(pages, who: str) -> None:
    rid, portal, hold = pages
    hold(portal, who)
    html = (await portal.browser.get(f"/catalog/{rid}")).text
    assert "接口地址" in html and ADDRESS in html
    assert "vault:" not in html  # the credential reference is write-only, even for them
    own = (await portal.browser.get(f"/resources/{rid}")).text
    assert ADDRESS in own and "已登记（不显示）" in own
