"""共享申请、审核与授权 pages (第二十七–二十九条) against the real catalog-svc and sharing-svc on their migrated
Postgres databases, run in-process where the gateway would route the portal's API calls. Sharing learns the
published resource from the catalog's own outbox event and the 应用系统 from an identity.system.created event, as
its consumers would in production. The portal's session is one it sealed itself."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from catalog_svc.main import SPEC as CATALOG
from govdata_shared.contracts import identity, validated_data
from govdata_shared.events import Event, new_event
from govdata_shared.testing import MovableClock, TestTokens, outbox_events
from sharing_svc.events import apply_catalog_event, apply_system_event
from sharing_svc.main import SPEC as SHARING

from portal.tests.harness import Portal, portal_settings, running_portal
from portal.tests.integration.test_catalog_pages import THURSDAY, Platform, dispatcher, rows

MARRIAGE = {
    "code": "301002/000007",
    "name": "婚姻登记信息",
    "summary": "全县婚姻登记记录，供社会救助等业务核验婚姻状况。",
    "category": "department",
    "format": "api",
    "items": [
        {"code": "person_id", "name": "当事人身份号码", "type": "C", "length": 18, "authoritative": True},
        {"code": "marriage_status", "name": "婚姻状况", "type": "C", "authoritative": True},
        {"code": "registered_on", "name": "登记日期", "type": "D"},
    ],
    "sharing_type": "conditional",
    "sharing_conditions": "仅限社会救助业务核验",
    "legal_basis": "《婚姻登记条例》",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {"base_url": "http://127.0.0.1:8900/mz/marriage", "path_prefixes": ["/records"]},
    "no_state_secrets": True,  # 第二条: declared, so that it may be submitted
}
PDF = b"%PDF-1.4\n% \xe9\x9c\x80\xe6\xb1\x82\xe5\x8d\x95 sealed by YC-RS\n%%EOF\n"


class SharingPlatform(Platform):
    def __init__(self, apps: dict[str, Any], clients: dict[str, httpx.AsyncClient], tokens: TestTokens, clock) -> None:
        super().__init__(clients, tokens, clock)
        self.apps = apps

    async def publish(self, who: str, body: dict[str, Any]) -> dict[str, Any]:
        """A resource published in the catalog and known to sharing from the catalog's published event."""
        created = await self.call("catalog", "POST", "/resources", who, body)
        await self.call("catalog", "POST", f"/resources/{created['id']}/submit", who)
        published = await self.call(
            "catalog", "POST", f"/resources/{created['id']}/review", "bureau", {"decision": "approve"}
        )
        events = await outbox_events(self.apps["catalog"], created["id"])
        (event,) = [Event.model_validate(e) for e in events if e["type"] == "catalog.resource.published"]
        async with self.apps["sharing"].state.db.session() as session:
            await apply_catalog_event(session, event)
        return published

    async def register_system(self, system_id: str, dept: str, name: str) -> None:
        data = validated_data(
            identity.SYSTEM_CREATED, {"system_id": system_id, "dept": dept, "name": name, "disabled": False}
        )
        event = new_event(
            identity.SYSTEM_CREATED, f"system:{system_id}", data, version=1, actor="bureau", dept=dept, source="gateway"
        )
        async with self.apps["sharing"].state.db.session() as session:
            await apply_system_event(session, event)

    async def sharing(self, who: str, path: str) -> Any:
        return await self.call("sharing", "GET", path, who)


@pytest.fixture
async def platform(
    service_app, test_tokens: TestTokens, tmp_path: Path
) -> AsyncIterator[tuple[SharingPlatform, Portal]]:
    clock = MovableClock(THURSDAY)
    catalog_app, catalog_client = await service_app(CATALOG, clock=clock)
    sharing_app, sharing_client = await service_app(SHARING, clock=clock)
    transport = httpx.ASGITransport(app=dispatcher({"catalog": catalog_app, "sharing": sharing_app}))
    async with running_portal(portal_settings(tmp_path), transport=transport, clock=clock) as portal:
        apps = {"catalog": catalog_app, "sharing": sharing_app}
        clients = {"catalog": catalog_client, "sharing": sharing_client}
        services = SharingPlatform(apps, clients, test_tokens, clock)
        await services.register_system("rs-shebao", "YC-RS", "社会保险经办系统")
        yield services, portal


def summary(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return found.group(0) if found else ""


def application(resource_id: str, csrf: str, **changes: Any) -> dict[str, Any]:
    return {
        "csrf": csrf,
        "resource_id": resource_id,
        "items": ["person_id", "marriage_status"],
        "purpose": "城乡低保对象婚姻状况核验",
        "duty_basis": "《社会救助暂行办法》第十一条",
        "system": "rs-shebao",
        "valid_from": "2026-12-01",
        "valid_to": "2027-11-30",
        **changes,
    }


async def test_a_conditional_request_goes_from_the_apply_form_through_both_deciders_to_a_grant(platform) -> None:
    services, portal = platform
    resource = await services.publish("mz", MARRIAGE)
    rid = resource["id"]

    # 人社's operator finds 申请使用 on the resource page and sees the items to choose, none ticked for them.
    requester = services.session("rs", "刘洋")
    portal.hold(requester)
    page = (await portal.browser.get(f"/catalog/{rid}")).text
    assert f'href="/requests/new?resource_id={rid}">申请使用</a>' in page
    form = await portal.browser.get("/requests/new", params={"resource_id": rid})
    assert form.status_code == 200, form.text
    html = form.text
    assert "<legend>申请信息项</legend>" in html and 'enctype="multipart/form-data"' in html
    assert (
        html.count('name="items"') == 3
        and " checked" not in html.split("<legend>申请信息项</legend>")[1].split("</fieldset>")[0]
    )
    for field, text in (
        ("purpose", "申请用途"),
        ("duty_basis", "履职依据"),
        ("system", "应用系统"),
        ("valid_from", "有效期开始"),
        ("valid_to", "有效期截止"),
        ("file", "需求单"),
    ):
        assert f'<label for="{field}">{text}</label>' in html
    # 应用系统 is chosen from the department's registered systems (GET /api/sharing/systems): only 人社's, and the
    # only one is chosen already; another department's system is not offered.
    assert '<select id="system" name="system" aria-describedby="system-hint">' in html
    assert '<option value="rs-shebao" selected>社会保险经办系统（rs-shebao）</option>' in html
    assert "ga-zonghe" not in html and "请选择应用系统" not in html
    assert "没有需求单无法审批" in html  # 第二十九条(二) said before the person submits
    assert '<button type="submit" class="button">提交申请</button>' in html

    # A forged post (no CSRF token of the session) is refused and files nothing.
    forged = await portal.browser.post("/requests/new", data=application(rid, "forged"))
    assert forged.status_code == 403 and "表单已失效" in forged.text
    assert await services.sharing("rs", "/requests?role=requester") == []

    # The API's refusals come back beside their fields, with what was typed kept.
    refused = await portal.browser.post("/requests/new", data=application(rid, requester.csrf, system="rs-none"))
    assert refused.status_code == 422
    assert '<a href="#system">应用系统：rs-none 不是本部门已登记的应用系统</a>' in summary(refused.text)
    assert (
        '<select id="system" name="system" aria-describedby="system-hint system-error" aria-invalid="true">'
        in refused.text
    )
    assert 'value="person_id" checked' in refused.text and 'value="registered_on">' in refused.text
    assert "城乡低保对象婚姻状况核验</textarea>" in refused.text
    backwards = await portal.browser.post(
        "/requests/new", data=application(rid, requester.csrf, valid_from="2027-01-10", valid_to="2026-12-31")
    )
    assert backwards.status_code == 422
    assert '<a href="#valid_to">有效期截止：授权截止日期不能早于开始日期</a>' in summary(backwards.text)
    assert 'id="valid_to-error"' in backwards.text
    assert await services.sharing("rs", "/requests?role=requester") == []

    # Filed with two of the three items and the sealed 需求单: stored by the API, downloadable through the portal.
    filed = await portal.browser.post(
        "/requests/new",
        data=application(rid, requester.csrf),
        files={"file": ("需求单.pdf", PDF, "application/pdf")},
    )
    assert filed.status_code == 303, filed.text
    request_id = filed.headers["location"].split("/requests/")[1].split("?")[0]
    assert filed.headers["location"] == f"/requests/{request_id}?notice=created"
    stored = await services.sharing("rs", f"/requests/{request_id}")
    assert stored["items"] == ["person_id", "marriage_status"] and stored["status"] == "provider_review"
    assert stored["attachment"] == {"name": "需求单.pdf", "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()}
    detail = (await portal.browser.get(filed.headers["location"])).text
    assert "共享申请已提交，等待审批。" in detail and "截止 2026-12-03（还剩 5 个工作日）" in detail
    assert 'aria-current="step">提供方审批' in detail and "下载需求单：需求单.pdf" in detail
    assert "驳回并说明理由" not in detail  # the requester does not decide
    download = await portal.browser.get(f"/requests/{request_id}/attachment")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    not_a_form = await portal.browser.post(
        f"/requests/{request_id}/attachment",
        data={"csrf": requester.csrf},
        files={"file": ("需求单.txt", b"plain text", "text/plain")},
    )
    assert not_a_form.status_code == 415
    assert '<a href="#file">需求单：需求单只接受 PDF、JPEG 或 PNG 文件</a>' in summary(not_a_form.text)
    assert (await services.sharing("rs", f"/requests/{request_id}"))["attachment"]["size"] == len(PDF)
    listed = (await portal.browser.get("/requests")).text
    (row,) = rows(listed)
    assert "婚姻登记信息" in row and "提供方审批" in row and "YC-MZ" in row and "2 项" in row
    assert "截止 2026-12-03（还剩 5 个工作日）" in row and "新建申请</a>" in listed
    # The bureau's pages are not an operator's: explained, and not in the navigation.
    bureau_only = await portal.browser.get("/review/requests")
    assert bureau_only.status_code == 403 and "<h1>无权访问</h1>" in bureau_only.text
    assert "平台审核/交付" not in bureau_only.text.split("</nav>")[0]
    assert (await portal.browser.get("/disputes")).status_code == 403

    # 民政 as provider: 待我审核 lists it; a refusal without a reason is named beside the reason.
    provider = services.session("mz", "张敏")
    portal.hold(provider)
    (row,) = rows((await portal.browser.get("/reviews")).text)
    assert "婚姻登记信息" in row and "YC-RS" in row and "已上传" in row and "还剩 5 个工作日" in row
    decide = (await portal.browser.get(f"/requests/{request_id}")).text
    assert "<legend>同意的信息项</legend>" in decide and '<label for="reason">驳回理由</label>' in decide
    assert 'value="person_id" checked' in decide and 'value="registered_on"' not in decide
    assert ">同意</button>" in decide and ">驳回并说明理由</button>" in decide
    no_reason = await portal.browser.post(
        f"/requests/{request_id}/reject", data={"csrf": provider.csrf, "reason": "  "}
    )
    assert no_reason.status_code == 422
    assert '<a href="#reason">驳回理由：不予通过必须说明具体理由</a>' in summary(no_reason.text)
    assert 'id="reason-error"' in no_reason.text
    none_chosen = await portal.browser.post(f"/requests/{request_id}/approve", data={"csrf": provider.csrf})
    assert none_chosen.status_code == 422  # the API's rule, beside the items
    assert '<a href="#items">同意的信息项：至少同意一项信息项；全部不同意请驳回并说明具体理由</a>' in none_chosen.text
    assert 'id="items-error"' in none_chosen.text and 'value="person_id" checked' not in none_chosen.text
    assert (await services.sharing("mz", f"/requests/{request_id}"))["status"] == "provider_review"
    approved = await portal.browser.post(
        f"/requests/{request_id}/approve",
        data={"csrf": provider.csrf, "items": ["person_id", "marriage_status"]},
    )
    assert approved.status_code == 303 and approved.headers["location"] == "/reviews?notice=approved_provider"
    assert "暂无等待本部门审批的共享申请" in (await portal.browser.get(approved.headers["location"])).text

    # The bureau delivers from 平台审核/交付.
    bureau = services.session("bureau", "李娜")
    portal.hold(bureau)
    platform_page = (await portal.browser.get("/review/requests", params={"stage": "delivery"})).text
    (row,) = rows(platform_page)
    assert "婚姻登记信息" in row and "有条件共享" in row and "还剩 3 个工作日" in row
    assert ">确认交付</button>" in (await portal.browser.get(f"/requests/{request_id}")).text
    delivered = await portal.browser.post(f"/requests/{request_id}/approve", data={"csrf": bureau.csrf})
    assert delivered.headers["location"] == "/review/requests?stage=delivery&notice=delivered"
    granted = await services.sharing("bureau", f"/requests/{request_id}")
    assert granted["status"] == "granted" and granted["grant_id"]

    # 我的授权: the holder sees the grant with its items; only the provider may pause it.
    portal.hold(requester)
    held = (await portal.browser.get("/grants")).text
    (row,) = rows(held)
    assert "婚姻登记信息" in row and "当事人身份号码、婚姻状况" in row and "登记日期" not in row
    assert "有效" in row and "尚未使用" in row and "2026-12-01 至 2027-11-30" in row
    assert "暂停" not in row and "终止" not in row
    portal.hold(provider)
    provided = (await portal.browser.get("/grants", params={"tab": "provided"})).text
    (row,) = rows(provided)
    grant_id = granted["grant_id"]
    assert f'href="/grants/{grant_id}/suspend">暂停' in row and f'href="/grants/{grant_id}/terminate"' in row
    empty = await portal.browser.post(f"/grants/{grant_id}/suspend", data={"csrf": provider.csrf, "reason": ""})
    assert empty.status_code == 422 and '<a href="#reason">暂停理由：暂停或终止授权必须说明理由</a>' in empty.text
    suspended = await portal.browser.post(
        f"/grants/{grant_id}/suspend", data={"csrf": provider.csrf, "reason": "发现超范围调用，核查期间暂停"}
    )
    assert suspended.headers["location"] == "/grants?tab=provided&notice=suspended"
    grant = await services.sharing("mz", f"/grants/{grant_id}")
    assert grant["status"] == "suspended" and grant["status_reason"] == "发现超范围调用，核查期间暂停"
    (row,) = rows((await portal.browser.get(suspended.headers["location"])).text)
    assert "已暂停" in row and "恢复" in row
    resumed = await portal.browser.post(f"/grants/{grant_id}/resume", data={"csrf": provider.csrf})
    assert resumed.headers["location"] == "/grants?tab=provided&notice=resumed"
    assert (await services.sharing("mz", f"/grants/{grant_id}"))["status"] == "active"
    confirm = (await portal.browser.get(f"/grants/{grant_id}/terminate")).text
    assert ">确认终止</button>" in confirm and "终止后该授权不能恢复" in confirm and "返回，不终止" in confirm


async def test_a_provider_approving_fewer_items_grants_only_those(platform) -> None:
    services, portal = platform
    resource = await services.publish("mz", MARRIAGE)
    await services.register_system("ga-zonghe", "YC-GA", "公安综合业务系统")
    filed = await services.call(
        "sharing",
        "POST",
        "/requests",
        "rs",
        {k: v for k, v in application(resource["id"], "").items() if k != "csrf"},
    )
    url = f"/requests/{filed['id']}"

    # 第二十九条(二): without the sealed 需求单 the provider cannot approve; the page says so in Chinese.
    provider = services.session("mz")
    portal.hold(provider)
    page = (await portal.browser.get(url)).text
    assert "申请部门尚未上传需求单，暂不能同意" in page and ">同意</button>" in page
    refused = await portal.browser.post(f"{url}/approve", data={"csrf": provider.csrf, "items": ["marriage_status"]})
    assert refused.status_code == 409
    assert "申请部门尚未上传加盖公章的需求单，提供部门不能审批同意（第二十九条第二项）" in summary(refused.text)
    assert "（规则：attachment_required）" in summary(refused.text)
    assert 'value="marriage_status" checked' in refused.text and 'value="person_id" checked' not in refused.text
    unchanged = await services.sharing("mz", url)
    assert (unchanged["status"], unchanged["approved_items"], unchanged["decisions"]) == ("provider_review", None, [])

    form = await services.clients["sharing"].put(
        f"/api/sharing{url}/attachment",
        files={"file": ("需求单.pdf", PDF, "application/pdf")},
        headers=services.tokens.as_("rs"),
    )
    assert form.status_code == 200, form.text
    unexplained = await portal.browser.post(
        f"{url}/approve", data={"csrf": provider.csrf, "items": ["marriage_status"]}
    )
    assert unexplained.status_code == 422
    assert '<a href="#refusal_reason">不同意部分信息项的理由：' in summary(unexplained.text)
    assert 'id="refusal_reason-error"' in unexplained.text
    approved = await portal.browser.post(
        f"{url}/approve",
        data={"csrf": provider.csrf, "items": ["marriage_status"], "refusal_reason": "身份证号不在本次共享范围"},
    )
    assert approved.status_code == 303 and approved.headers["location"] == "/reviews?notice=approved_provider"
    decided = await services.sharing("mz", url)
    assert decided["status"] == "delivery" and decided["approved_items"] == ["marriage_status"]
    shown = (await portal.browser.get(url)).text
    assert "未同意：" in shown and "身份证号不在本次共享范围" in shown
    assert (
        '<dt>同意的信息项</dt><dd>婚姻状况 <span class="code">marriage_status</span>（共申请 2 项，同意 1 项）' in shown
    )
    await services.call("sharing", "POST", f"{url}/approve", "bureau")
    (grant,) = await services.sharing("rs", "/grants")
    assert grant["items"] == ["marriage_status"]

    # A department with no 应用系统 registered is told the bureau must register one first; no form to fill in.
    portal.hold(services.session("scj"))
    no_system = (await portal.browser.get("/requests/new", params={"resource_id": resource["id"]})).text
    assert "本部门尚未登记应用系统" in no_system and "请先联系县政务服务和大数据管理局" in no_system
    assert 'action="/requests/new"' not in no_system and "rs-shebao" not in no_system


async def test_the_bureau_resolves_a_dispute_from_the_list(platform) -> None:
    services, portal = platform
    resource = await services.publish("mz", {**MARRIAGE, "sharing_type": "none"})
    dispute = await services.call(
        "sharing", "POST", "/disputes", "rs", {"resource_id": resource["id"], "reason": "低保核验确需婚姻状况"}
    )
    bureau = services.session("bureau")
    portal.hold(bureau)
    (row,) = rows((await portal.browser.get("/disputes")).text)
    assert "婚姻登记信息" in row and "YC-RS" in row and "待处理" in row and f'href="/disputes/{dispute["id"]}"' in row
    page = (await portal.browser.get(f"/disputes/{dispute['id']}")).text
    assert '<label for="resolution">处理结果</label>' in page and ">办结异议</button>" in page
    empty = await portal.browser.post(f"/disputes/{dispute['id']}/resolve", data={"csrf": bureau.csrf})
    assert empty.status_code == 422 and '<a href="#resolution">处理结果：' in empty.text
    assert "提供部门答复" in page and "尚未答复" in page and '<label for="outcome">处理决定</label>' in page
    await services.call("sharing", "POST", f"/disputes/{dispute['id']}/answer", "mz", {"answer": "可提供婚姻状况"})
    assert "可提供婚姻状况" in (await portal.browser.get(f"/disputes/{dispute['id']}")).text
    untyped = await portal.browser.post(
        f"/disputes/{dispute['id']}/resolve",
        data={"csrf": bureau.csrf, "resolution": "调整共享类型", "outcome": "sharing_change_ordered"},
    )
    assert untyped.status_code == 422 and '<a href="#ordered_sharing_type">应改为的共享类型：' in untyped.text
    done = await portal.browser.post(
        f"/disputes/{dispute['id']}/resolve",
        data={
            "csrf": bureau.csrf,
            "resolution": "会同民政局确认：可按有条件共享提供婚姻状况",
            "outcome": "sharing_change_ordered",
            "ordered_sharing_type": "conditional",
        },
    )
    assert done.headers["location"] == "/disputes?notice=resolved"
    (resolved,) = await services.sharing("bureau", "/disputes")
    assert resolved["status"] == "resolved" and resolved["resolution"].startswith("会同民政局确认")
    assert (resolved["outcome"], resolved["ordered_sharing_type"]) == ("sharing_change_ordered", "conditional")
    assert "暂无待处理的共享异议" in (await portal.browser.get(done.headers["location"])).text
