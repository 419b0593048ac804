"""目录更新 pages (第十四条) against the real catalog-svc on its migrated Postgres database, run in-process where the
gateway would route the portal's API calls: the bureau records an update trigger for a department from the form,
the department sees what it must update, and each submission shows as it answers the trigger. The portal's
session is one it sealed itself. The registry of departments is not routed here, so the bureau's department
choice comes from the catalog (lists.department_names gives nothing)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from catalog_svc.main import SPEC as CATALOG
from govdata_shared.testing import MovableClock, TestTokens

from portal.tests.harness import Portal, portal_settings, running_portal
from portal.tests.integration.test_catalog_pages import THURSDAY, Platform, dispatcher, rows

MIGRATION = {"code": "101001/000002", "name": "户口迁移登记信息"}
MARRIAGE = {
    "code": "301002/000007",
    "name": "婚姻登记信息",
    "category": "department",
    "items": [{"code": "marriage_status", "name": "婚姻状况", "type": "C", "authoritative": True}],
}


@pytest.fixture
async def platform(service_app, test_tokens: TestTokens, tmp_path: Path) -> AsyncIterator[tuple[Platform, Portal]]:
    clock = MovableClock(THURSDAY)  # 2026-11-26
    catalog_app, catalog_client = await service_app(CATALOG, clock=clock)
    transport = httpx.ASGITransport(app=dispatcher({"catalog": catalog_app}))
    async with running_portal(portal_settings(tmp_path), transport=transport, clock=clock) as portal:
        yield Platform({"catalog": catalog_client}, test_tokens, clock), portal


def summary(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return found.group(0) if found else ""


async def revise_and_submit(services: Platform, resource_id: str) -> None:
    await services.call("catalog", "POST", f"/resources/{resource_id}/revisions", "ga", {"summary": "按新规定修订。"})
    await services.call("catalog", "POST", f"/resources/{resource_id}/submit", "ga")


async def test_the_bureau_records_a_trigger_for_a_department_and_its_deadline_runs_across_national_day(
    platform,
) -> None:
    services, portal = platform
    population = await services.resource("ga")
    migration = await services.resource("ga", **MIGRATION)
    await services.resource("mz", **MARRIAGE)
    bureau = services.session("bureau", "李娜")
    portal.hold(bureau)

    form = (await portal.browser.get("/triggers/new")).text
    assert '<label for="dept">部门</label>' in form and '<option value="YC-GA">' in form
    assert '<option value="YC-MZ">' in form and 'name="resource_ids"' not in form
    assert 'aria-current="page" class="active">目录更新' in form

    # The department first (a page of its own, no script needed), then only that department's published resources.
    loaded = (await portal.browser.get("/triggers/new", params={"dept": "YC-GA"})).text
    assert '<option value="YC-GA" selected>' in loaded and 'name="dept" value="YC-GA"' in loaded
    assert f'value="{population["id"]}"' in loaded and f'value="{migration["id"]}"' in loaded
    assert "户籍人口基本信息" in loaded and "婚姻登记信息" not in loaded and "<legend>需要更新的资源</legend>" in loaded
    for field, label in (("kind", "变更类型"), ("occurred_on", "发生日期"), ("description", "说明")):
        assert f'<label for="{field}">{label}</label>' in loaded
    assert 'type="date" id="occurred_on"' in loaded
    assert 'name="resource_ids"' not in (await portal.browser.get("/triggers/new", params={"dept": "YC-XX"})).text

    typed = {
        "csrf": bureau.csrf,
        "dept": "YC-GA",
        "resource_ids": [population["id"]],
        "description": "户籍管理规定修订",
    }
    missing = await portal.browser.post("/triggers/new", data=typed | {"occurred_on": "2026-09-28"})
    assert missing.status_code == 422 and '<a href="#kind">变更类型：' in summary(missing.text)
    assert f'value="{population["id"]}" checked' in missing.text  # what was ticked stays ticked
    future = await portal.browser.post(
        "/triggers/new", data=typed | {"kind": "law_changed", "occurred_on": "2026-12-01"}
    )
    assert future.status_code == 422 and '<a href="#occurred_on">发生日期：变更日期不能晚于今天' in summary(future.text)

    done = await portal.browser.post("/triggers/new", data=typed | {"kind": "law_changed", "occurred_on": "2026-09-28"})
    assert done.status_code == 303 and done.headers["location"] == "/triggers?notice=recorded"
    (trigger,) = await services.call("catalog", "GET", "/triggers", "bureau")
    assert (trigger["dept"], trigger["resource_ids"], trigger["recorded_by"]) == ("YC-GA", [population["id"]], "bureau")
    # Monday 2026-09-28: ten working days across National Day (10/1–10/7 off, Saturday 10/10 worked) → 10/16.
    assert trigger["submit_deadline"] == "2026-10-16"

    listed = await portal.browser.get(done.headers["location"])
    assert "更新事由已登记" in listed.text
    (row,) = rows(listed.text)
    assert 'class="row-overdue"' in row and "YC-GA" in row and "法律法规修改" in row and "2026-09-28" in row
    assert f'<a href="/catalog/{population["id"]}">户籍人口基本信息</a>' in row and "待更新" in row
    assert "已逾期 29 个工作日（截止 2026-10-16）" in row and "待申请更新" in row
    assert rows((await portal.browser.get("/triggers", params={"dept": "YC-MZ"})).text) == []


async def test_a_department_sees_what_it_must_update_and_each_submission_as_it_answers_the_trigger(platform) -> None:
    services, portal = platform
    population = await services.resource("ga")
    migration = await services.resource("ga", **MIGRATION)
    marriage = await services.resource("mz", **MARRIAGE)
    both = [population["id"], migration["id"]]
    fields = {"kind": "duties_changed", "occurred_on": "2026-11-20", "description": "职能调整：户籍迁移"}
    await services.call("catalog", "POST", "/triggers", "bureau", fields | {"dept": "YC-GA", "resource_ids": both})
    await services.call("catalog", "POST", "/triggers", "bureau", fields | {"dept": "YC-MZ"})
    portal.hold(services.session("ga", "张警官"))

    page = (await portal.browser.get("/triggers")).text
    assert "<h1>有待更新的目录</h1>" in page and "登记更新事由</a>" in page
    (row,) = rows(page)  # YC-MZ's is not YC-GA's to see
    assert "行政管理职能变更" in row and "截止 2026-12-04（还剩 6 个工作日）" in row
    assert f'<a href="/resources/{population["id"]}">' in row and f'<a href="/resources/{migration["id"]}">' in row
    assert row.count("待更新") == 2 and "<th" not in row and "YC-GA" not in row

    await revise_and_submit(services, population["id"])
    (row,) = rows((await portal.browser.get("/triggers")).text)
    assert row.count("已提交更新") == 1 and row.count(">待更新<") == 1 and "待申请更新" in row

    await revise_and_submit(services, migration["id"])
    (row,) = rows((await portal.browser.get("/triggers")).text)
    # Both submitted: the bureau's five working days run now (第十四条).
    assert row.count("已提交更新") == 2 and "已申请，待审核" in row and "审核期限" in row
    assert "截止 2026-12-03（还剩 5 个工作日）" in row

    for rid in both:
        await services.call("catalog", "POST", f"/resources/{rid}/review", "bureau", {"decision": "approve"})
    assert "本部门目前没有需要更新的目录" in (await portal.browser.get("/triggers")).text
    (row,) = rows((await portal.browser.get("/triggers", params={"tab": "all"})).text)
    assert "已审核" in row and "已办结" in row

    # A department's form has no choice of department and offers only its own resources.
    form = (await portal.browser.get("/triggers/new")).text
    assert 'name="dept" value="YC-GA"' in form and '<select id="dept"' not in form
    assert f'value="{population["id"]}"' in form and marriage["id"] not in form

    portal.hold(services.session("citizen"))
    assert (await portal.browser.get("/triggers")).status_code == 403
    assert (await portal.browser.get("/triggers/new")).status_code == 403
