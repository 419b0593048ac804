"""目录编制 and 目录审核 pages (第十二–十四条, 第十六条, 第二条) against the real catalog-svc on its migrated Postgres
database, run in-process where the gateway would route the portal's API calls. Each test walks a whole flow as
people do it with the forms (no JavaScript), and checks what the API holds afterwards."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from catalog_svc.main import SPEC as CATALOG
from govdata_portal.session import Session
from govdata_shared.testing import PEOPLE, MovableClock, TestTokens
from starlette.types import Receive, Scope, Send

from portal.tests.harness import Portal, portal_settings, running_portal, session_of

THURSDAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

POPULATION = {
    "code": "101001/000001",
    "name": "户籍人口基本信息",
    "summary": "伊川县户籍人口的基本信息。",
    "category": "base",
    "format": "api",
    "items": [{"code": "id_number", "name": "公民身份号码", "type": "C", "length": 18, "authoritative": True}],
    "sharing_type": "unconditional",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {"base_url": "http://127.0.0.1:8900/ga/population", "path_prefixes": ["/records"]},
    "no_state_secrets": True,  # 第二条: declared, so that it may be submitted
}


class Catalog:
    """catalog-svc as the tests speak to it directly (to set the scene and to read what the pages changed)."""

    def __init__(self, client: httpx.AsyncClient, tokens: TestTokens, clock: MovableClock) -> None:
        self.client = client
        self.tokens = tokens
        self.clock = clock

    async def call(self, method: str, path: str, who: str, json: Any = None) -> Any:
        resp = await self.client.request(method, f"/api/catalog{path}", json=json, headers=self.tokens.as_(who))
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    async def resource(self, who: str, *, publish: bool = True, **changes: Any) -> dict[str, Any]:
        created = await self.call("POST", "/resources", who, {**copy.deepcopy(POPULATION), **changes})
        submitted = await self.call("POST", f"/resources/{created['id']}/submit", who)
        if not publish:
            return submitted
        return await self.call("POST", f"/resources/{created['id']}/review", "bureau", {"decision": "approve"})

    def session(self, who: str, name: str = "测试人员") -> Session:
        person = PEOPLE[who]
        token = self.tokens.token(person.sub, person.dept, person.roles, name=name)
        session = session_of(person.sub, token, dept=person.dept, roles=person.roles, name=name)
        return replace(session, expires_at=self.clock().timestamp() + 600)


def only_catalog(app: Any):
    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if not scope["path"].startswith("/api/catalog/"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return route


@pytest.fixture
async def platform(service_app, test_tokens: TestTokens, tmp_path: Path) -> AsyncIterator[tuple[Catalog, Portal]]:
    clock = MovableClock(THURSDAY)
    app, client = await service_app(CATALOG, clock=clock)
    transport = httpx.ASGITransport(app=only_catalog(app))
    async with running_portal(portal_settings(tmp_path), transport=transport, clock=clock) as portal:
        yield Catalog(client, test_tokens, clock), portal


def item(code: str, name: str) -> dict[str, Any]:
    return {"code": code, "name": name, "type": "C", "authoritative": True}


def rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


def summary_of(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return found.group(0) if found else ""


def registration(csrf: str, **changes: Any) -> dict[str, Any]:
    """The registration form as a person fills it in: 车辆登记信息 of 公安局, one 信息项."""
    return {
        "csrf": csrf,
        "code": "101002/000321",
        "name": "机动车登记信息",
        "summary": "全县机动车的号牌、车辆类型和登记日期。",
        "category": "base",
        "format": "api",
        "security_level": "2",
        "update_cycle": "monthly",
        "related_codes": "",
        "sharing_type": "unconditional",
        "sharing_method": "platform_api",
        "sharing_conditions": "",
        "legal_basis": "",
        "open_type": "closed",
        "open_conditions": "",
        "usage_requirements": "",
        "interface.base_url": "http://127.0.0.1:8900/ga/vehicles",
        "interface.methods": ["GET"],
        "interface.path_prefixes": "/records",
        "interface.rate_limit": "20",
        "interface.credential_ref": "",
        "items.0.code": "plate_number",
        "items.0.name": "号牌号码",
        "items.0.type": "C",
        "items.0.length": "12",
        "items.0.authoritative": "true",
        "items.0.description": "",
        **changes,
    }


async def test_an_operator_registers_a_resource_fixes_what_the_api_refused_and_submits_it(platform) -> None:
    catalog, portal = platform
    ga = catalog.session("ga", "赵磊")
    portal.hold(ga)

    html = (await portal.browser.get("/resources")).text
    assert (
        "本部门还没有登记数据资源" in html
        and '<a href="/resources/new" class="button button-plain">登记资源</a>' in html
    )
    assert 'aria-current="page" class="active">我的资源' in html

    form_page = (await portal.browser.get("/resources/new")).text
    for anchor, text in (
        ("code", "信息资源代码"),
        ("name", "资源名称"),
        ("summary", "摘要"),
        ("category", "资源分类"),
        ("format", "资源格式"),
        ("sharing_type", "共享类型"),
        ("legal_basis", "法律依据"),
        ("open_type", "开放类型"),
        ("security_level", "安全级别"),
        ("update_cycle", "更新周期"),
        ("interface-base_url", "接口地址"),
        ("items-0-code", "信息项代码"),
        ("items-0-authoritative", "权威来源"),
        ("no_state_secrets", "本资源不涉及国家秘密"),
    ):
        assert f'<label for="{anchor}">{text}' in form_page, anchor
    assert ">增加一行</button>" in form_page and ">保存草稿</button>" in form_page

    # A code of the wrong shape, no name, an item code starting with a digit: refused, each named beside its field.
    refused = await portal.browser.post(
        "/resources/new",
        data=registration(ga.csrf, code="10100", name="", **{"items.0.code": "1plate", "items.0.name": "号牌"}),
    )
    assert refused.status_code == 422, refused.text
    html = refused.text
    summary = summary_of(html)
    assert '<a href="#code">信息资源代码：格式不正确' in summary
    assert '<a href="#name">资源名称：必填</a>' in summary
    assert '<a href="#items-0-code">信息项第 1 行 信息项代码：格式不正确' in summary
    assert re.search(r'<p class="field-error" id="code-error">.*?格式不正确', html)
    assert (
        'id="code" name="code" value="10100" maxlength="30" aria-describedby="code-hint code-error" aria-invalid="true"'
        in html
    )
    assert 'aria-describedby="name-error"' in html or 'aria-describedby="name-hint name-error"' in html
    # What was typed stays.
    assert "全县机动车的号牌、车辆类型和登记日期。</textarea>" in html
    assert 'value="1plate"' in html and 'value="号牌"' in html and 'value="http://127.0.0.1:8900/ga/vehicles"' in html
    assert '<option value="base" selected>' in html and '<option value="monthly" selected>' in html
    assert 'id="items-0-authoritative" name="items.0.authoritative" value="true" checked' in html
    assert (await catalog.call("GET", "/resources?status=draft", "ga"))["total"] == 0

    # 增加一行 without JavaScript: the form again with an empty second row, nothing sent to the API.
    fixed = registration(ga.csrf)
    grown = await portal.browser.post("/resources/new", data={**fixed, "action": "add_item"})
    assert grown.status_code == 200 and "信息项第 2 行" in grown.text and 'id="items-1-code"' in grown.text
    assert ">删除第 2 行</button>" in grown.text and 'value="plate_number"' in grown.text
    # A third row, removed again.
    two = {**fixed, "items.1.code": "vehicle_type", "items.1.name": "车辆类型", "items.1.type": "C"}
    three = await portal.browser.post("/resources/new", data={**two, "items.2.code": "x", "remove_item": "2"})
    assert "信息项第 3 行" not in three.text and 'value="vehicle_type"' in three.text

    two["no_state_secrets"] = "true"
    saved = await portal.browser.post("/resources/new", data={**two, "action": "save"})
    assert saved.status_code == 303, saved.text
    location = saved.headers["location"]
    resource_id = re.fullmatch(r"/resources/([^/?]+)\?notice=created", location).group(1)
    held = await catalog.call("GET", f"/resources/{resource_id}", "ga")
    assert held["status"] == "draft" and held["name"] == "机动车登记信息" and held["provider_dept"] == "YC-GA"
    assert [(i["code"], i["authoritative"]) for i in held["items"]] == [("plate_number", True), ("vehicle_type", False)]
    assert held["items"][0]["length"] == 12
    assert held["interface"]["path_prefixes"] == ["/records"] and held["interface"]["rate_limit"] == 20

    detail = (await portal.browser.get(location)).text
    assert "资源已保存为草稿" in detail and "<h1>机动车登记信息" in detail
    assert ">提交审核</button>" in detail and f'href="/resources/{resource_id}/edit"' in detail
    assert ">通过</button>" not in detail and ">新建修订</button>" not in detail

    # The edit form holds what the API holds; a change is saved as a patch.
    edit = (await portal.browser.get(f"/resources/{resource_id}/edit")).text
    assert 'value="101002/000321"' in edit and 'value="vehicle_type"' in edit and "修改资源" in edit
    patched = await portal.browser.post(
        f"/resources/{resource_id}/edit", data={**two, "name": "机动车登记基本信息", "action": "save"}
    )
    assert patched.status_code == 303 and patched.headers["location"] == f"/resources/{resource_id}?notice=saved"
    assert (await catalog.call("GET", f"/resources/{resource_id}", "ga"))["name"] == "机动车登记基本信息"

    submitted = await portal.browser.post(f"/resources/{resource_id}/submit", data={"csrf": ga.csrf})
    assert submitted.status_code == 303, submitted.text
    held = await catalog.call("GET", f"/resources/{resource_id}", "ga")
    assert held["status"] == "submitted" and held["review_deadline"] == "2026-12-03"

    html = (await portal.browser.get("/resources")).text
    (row,) = rows(html)
    assert "机动车登记基本信息" in row and "待审核" in row and "截止 2026-12-03（还剩 5 个工作日）" in row
    (row,) = rows((await portal.browser.get("/resources", params={"status": "submitted"})).text)
    assert "机动车登记基本信息" in row
    assert not rows((await portal.browser.get("/resources", params={"status": "published"})).text)
    detail = (await portal.browser.get(f"/resources/{resource_id}")).text
    assert ">提交审核</button>" not in detail and "截止 2026-12-03" in detail and "修订记录" in detail

    # Another department's operator: the draft is not theirs to see, the published resource not theirs to change.
    other = await catalog.resource("ga", code="101001/000002", name="户籍迁移信息")
    mz = catalog.session("mz")
    portal.hold(mz)
    unseen = await portal.browser.get(f"/resources/{resource_id}/edit")
    assert unseen.status_code == 404 and "未找到该资源" in unseen.text
    refused = await portal.browser.get(f"/resources/{other['id']}/edit")
    assert refused.status_code == 403 and "只有提供方部门 YC-GA 的经办人可以修改该资源" in refused.text
    forged = await portal.browser.post(
        f"/resources/{other['id']}/edit", data={**registration(mz.csrf), "name": "改名", "action": "save"}
    )
    assert forged.status_code == 403 and "无权访问" in forged.text and "YC-GA" in forged.text
    page = (await portal.browser.get(f"/resources/{other['id']}")).text
    assert ">新建修订</button>" not in page and "/retire" not in page
    assert (await catalog.call("GET", f"/resources/{other['id']}", "ga"))["name"] == "户籍迁移信息"

    # Its provider changes a published resource through a new revision, and may retire it after confirming.
    portal.hold(ga)
    page = (await portal.browser.get(f"/resources/{other['id']}")).text
    assert ">新建修订</button>" in page and "修改</a>" not in page
    revised = await portal.browser.post(f"/resources/{other['id']}/revisions", data={"csrf": ga.csrf})
    assert revised.headers["location"] == f"/resources/{other['id']}/edit?notice=revision"
    edit = (await portal.browser.get(revised.headers["location"])).text
    assert "修改资源（修订第 2 版）" in edit and "已创建新的修订版本" in edit and 'value="户籍迁移信息"' in edit
    confirm = (await portal.browser.get(f"/resources/{other['id']}/retire")).text
    assert ">确认停用</button>" in confirm and "停用不能撤销" in confirm
    assert (await catalog.call("GET", f"/resources/{other['id']}", "ga"))["status"] == "published"
    retired = await portal.browser.post(f"/resources/{other['id']}/retire", data={"csrf": ga.csrf, "reason": "并入"})
    assert retired.status_code == 303
    assert (await catalog.call("GET", f"/resources/{other['id']}", "ga"))["status"] == "retired"
    (row,) = rows((await portal.browser.get("/resources", params={"status": "retired"})).text)
    assert "户籍迁移信息" in row and "已停用" in row


async def test_a_resource_without_the_declaration_of_no_state_secrets_is_not_submitted(platform) -> None:
    catalog, portal = platform
    ga = catalog.session("ga")
    portal.hold(ga)
    saved = await portal.browser.post("/resources/new", data={**registration(ga.csrf), "action": "save"})
    resource_id = saved.headers["location"].split("/")[2].split("?")[0]
    refused = await portal.browser.post(f"/resources/{resource_id}/submit", data={"csrf": ga.csrf})
    assert refused.status_code == 422 and "本资源不涉及国家秘密" in refused.text and "第二条" in refused.text
    assert (await catalog.call("GET", f"/resources/{resource_id}", "ga"))["status"] == "draft"


async def test_the_bureau_reviews_oldest_deadline_first_and_a_rejection_needs_a_reason(platform) -> None:
    catalog, portal = platform
    first = await catalog.resource("ga", publish=False)  # Thursday: due 2026-12-03
    catalog.clock.advance(days=1)
    second = await catalog.resource(
        "mz", publish=False, code="101003/000001", name="低保对象信息", items=[item("dibao_type", "低保类别")]
    )  # due 2026-12-04
    published = await catalog.resource(
        "rs", code="101004/000001", name="社保参保信息", items=[item("insured_since", "参保日期")]
    )
    revision = await catalog.call("POST", f"/resources/{published['id']}/revisions", "rs", {"name": "社保参保人员信息"})
    await catalog.call("POST", f"/resources/{published['id']}/submit", "rs")

    operator = catalog.session("ga")
    portal.hold(operator)
    assert (await portal.browser.get("/review/catalog")).status_code == 403
    assert ">通过</button>" not in (await portal.browser.get(f"/resources/{first['id']}")).text

    bureau = catalog.session("bureau", "李娜")
    portal.hold(bureau)
    html = (await portal.browser.get("/review/catalog")).text
    listed = rows(html)
    assert len(listed) == 3 and "户籍人口基本信息" in listed[0] and "截止 2026-12-03" in listed[0]
    assert "低保对象信息" in listed[1] and "新登记" in listed[1]
    assert "社保参保信息" in listed[2] and f"修订第 {revision['version']} 版" in listed[2]
    assert "截止 2026-12-04（还剩 5 个工作日）" in listed[2]
    assert 'aria-current="page" class="active">目录审核' in html

    page = (await portal.browser.get(f"/review/catalog/{first['id']}")).text
    assert ">通过</button>" in page and ">退回</button>" in page and '<label for="reason">退回理由</label>' in page
    assert "公民身份号码" in page and "http://127.0.0.1:8900/ga/population" in page

    # A forged post (no CSRF token of this session): refused, nothing decided.
    forged = await portal.browser.post(f"/review/catalog/{first['id']}", data={"decision": "approve", "csrf": "x"})
    assert forged.status_code == 403 and "表单已失效" in forged.text
    assert (await catalog.call("GET", f"/resources/{first['id']}", "bureau"))["status"] == "submitted"

    approved = await portal.browser.post(
        f"/review/catalog/{first['id']}", data={"decision": "approve", "csrf": bureau.csrf}
    )
    assert approved.status_code == 303 and approved.headers["location"] == "/review/catalog?notice=approved"
    assert (await catalog.call("GET", f"/resources/{first['id']}", "bureau"))["status"] == "published"

    no_reason = await portal.browser.post(
        f"/review/catalog/{second['id']}", data={"decision": "reject", "reason": " ", "csrf": bureau.csrf}
    )
    assert no_reason.status_code == 422
    assert '<a href="#reason">退回理由：退回时必须说明理由</a>' in summary_of(no_reason.text)
    assert re.search(r'<p class="field-error" id="reason-error">.*?退回时必须说明理由', no_reason.text)
    assert (await catalog.call("GET", f"/resources/{second['id']}", "bureau"))["status"] == "submitted"

    rejected = await portal.browser.post(
        f"/review/catalog/{second['id']}",
        data={"decision": "reject", "reason": "信息项不完整，请补充低保类别", "csrf": bureau.csrf},
    )
    assert rejected.status_code == 303
    held = await catalog.call("GET", f"/resources/{second['id']}", "bureau")
    assert held["status"] == "rejected" and held["review_reason"] == "信息项不完整，请补充低保类别"

    remaining = rows((await portal.browser.get("/review/catalog?notice=rejected")).text)
    assert len(remaining) == 1 and "社保参保信息" in remaining[0]

    # The provider reads the reason and may change the resource again.
    portal.hold(catalog.session("mz"))
    page = (await portal.browser.get(f"/resources/{second['id']}")).text
    assert "信息项不完整，请补充低保类别" in page and "已退回" in page and ">提交审核</button>" in page


async def test_a_demand_is_filed_reviewed_answered_and_met_on_the_demand_pages(platform) -> None:
    """第十二条: 民政局 asks 公安局; the bureau routes it to 人社局, which promises a date; the bureau confirms it met.
    The requesting department cannot close its own demand."""
    catalog, portal = platform
    await catalog.call(
        "POST", "/demands", "ga", {"title": "低保对象名单", "description": "核对", "supplier_dept": "YC-MZ"}
    )
    mz = catalog.session("mz")
    portal.hold(mz)
    missing = await portal.browser.post("/demands", data={"csrf": mz.csrf, "title": "", "description": "核对婚姻状况"})
    summary = summary_of(missing.text)
    assert missing.status_code == 422 and '<a href="#title">需求名称：' in summary
    assert '<a href="#supplier_dept">提供部门：必填' in summary and "核对婚姻状况</textarea>" in missing.text
    assert '<label for="supplier_dept">提供部门（部门代码）</label>' in missing.text
    typed = {
        "csrf": mz.csrf,
        "title": "婚姻登记信息",
        "description": "低保审核需核对婚姻状况",
        "supplier_dept": "YC-GA",
    }
    filed = await portal.browser.post("/demands", data=typed)
    assert filed.status_code == 303
    page = (await portal.browser.get(filed.headers["location"])).text
    assert "需求已提交" in page and "待审核" in page and "确认已满足" not in page and "答复需求" not in page
    demand_id = filed.headers["location"].split("?")[0].rsplit("/", 1)[1]
    own = await portal.browser.post(f"/demands/{demand_id}/meet", data={"csrf": mz.csrf})
    assert own.status_code == 403 and "不能自行关闭" in own.text
    mine = rows((await portal.browser.get("/demands", params={"role": "requester"})).text)
    assert len(mine) == 1 and "婚姻登记信息" in mine[0] and "YC-GA" in mine[0] and "待审核" in mine[0]
    addressed = rows((await portal.browser.get("/demands", params={"role": "supplier"})).text)
    assert len(addressed) == 1 and "低保对象名单" in addressed[0]
    partial = await portal.browser.get("/demands", headers={"HX-Request": "true", "HX-Target": "demand-results"})
    assert partial.text.lstrip().startswith('<section id="demand-results"') and len(rows(partial.text)) == 2

    bureau = catalog.session("bureau")
    portal.hold(bureau)
    html = (await portal.browser.get("/demands")).text
    assert len(rows(html)) == 2 and "提出需求" not in html  # the bureau files none; it sees every department's
    review = f"/demands/{demand_id}/review"
    unexplained = {"csrf": bureau.csrf, "decision": "route", "route_supplier_dept": "YC-RS"}
    refused = await portal.browser.post(review, data=unexplained)
    assert refused.status_code == 422 and '<a href="#route_reason">转交理由：' in summary_of(refused.text)
    routed = await portal.browser.post(review, data={**unexplained, "route_reason": "由人社局共享库提供"})
    assert routed.status_code == 303
    assert "由 YC-GA 转交" in (await portal.browser.get(routed.headers["location"])).text

    rs = catalog.session("rs")
    portal.hold(rs)
    page = (await portal.browser.get(f"/demands/{demand_id}")).text
    assert "答复需求" in page and '<label for="provide_by">承诺提供日期</label>' in page
    answer = f"/demands/{demand_id}/answer"
    cannot = await portal.browser.post(answer, data={"csrf": rs.csrf, "answer": "cannot_provide", "cannot_reason": ""})
    assert cannot.status_code == 422 and '<a href="#cannot_reason">无法提供的理由：' in summary_of(cannot.text)
    past = await portal.browser.post(
        answer, data={"csrf": rs.csrf, "answer": "will_provide", "provide_by": "2026-11-01"}
    )
    assert past.status_code == 422 and '<a href="#provide_by">承诺提供日期：' in summary_of(past.text)
    promised = await portal.browser.post(
        answer, data={"csrf": rs.csrf, "answer": "will_provide", "provide_by": "2026-12-31"}
    )
    assert promised.status_code == 303
    assert "承诺于 2026-12-31 前提供" in (await portal.browser.get(promised.headers["location"])).text

    portal.hold(bureau)
    met = await portal.browser.post(f"/demands/{demand_id}/meet", data={"csrf": bureau.csrf, "meet_resource_id": ""})
    assert met.status_code == 303
    (row,) = rows((await portal.browser.get("/demands", params={"status": "met"})).text)
    assert "婚姻登记信息" in row and "已满足" in row
    assert (await catalog.call("GET", f"/demands/{demand_id}", "mz"))["met_by"] == "bureau"


async def test_responsibilities_list_the_departments_rows(platform) -> None:
    catalog, portal = platform
    published = await catalog.resource("ga")
    ga = catalog.session("ga")
    portal.hold(catalog.session("bureau"))

    html = (await portal.browser.get("/responsibilities", params={"dept": "YC-GA"})).text
    (row,) = rows(html)
    assert "101001/000001" in row and "户籍人口基本信息" in row and "每日" in row
    assert f'href="/catalog/{published["id"]}"' in row and '<label for="dept">部门代码</label>' in html

    portal.hold(ga)
    html = (await portal.browser.get("/responsibilities", params={"dept": "YC-MZ"})).text  # its own, whatever asked
    assert "YC-GA 的责任清单" in html and len(rows(html)) == 1 and 'id="dept"' not in html
