"""监督考核, 账号管理 and 审计日志 against the real services: audit-svc on its migrated Postgres database (its log
filled through the consumer's own batch handler) run in-process where the gateway routes /api/audit, and the
gateway's identity registry (`/api/identity`, aiohttp, on the registry's migrated database) served over loopback
HTTP. People's tokens are signed with the gateway's own key, which audit-svc trusts as it trusts the gateway's
JWKS in production. The portal's session is one it sealed itself; signing in is test_signin_flow's."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from audit_svc.events import append_batch
from govdata_gateway.keys import SigningKey
from govdata_portal.session import Session
from govdata_shared.db import Database
from govdata_shared.events import Event
from govdata_shared.outbox import outbox_table
from govdata_shared.testing import MovableClock

from portal.tests.harness import API_AUDIENCE, ISSUER, Portal, oversight_services, session_of

AUDIENCE = API_AUDIENCE
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday, 10:00 in Shanghai: the default report year is 2025
REGISTRY = {
    "departments": [
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
        {"code": "YC-GA", "name": "伊川县公安局"},
        {"code": "YC-RS", "name": "伊川县人力资源和社会保障局"},
    ],
    "clients": [],
}
PEOPLE = {
    "bureau": ("libureau", "YC-ZSJ", ("bureau_admin",), "李娜"),
    "auditor": ("zhaoshen", "YC-ZSJ", ("auditor",), "赵审"),
    "operator": ("zhangmin", "YC-GA", ("dept_operator",), "张敏"),
}


def shanghai(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


def event(type_: str, subject: str, when: datetime, data: dict[str, Any], dept: str | None = None) -> Event:
    area = type_.split(".", 1)[0]
    return Event(
        id=str(uuid.uuid4()),
        source=f"/govdata/{area}-svc",
        type=type_,
        subject=subject,
        time=when,
        data=data,
        actor="zhangmin",
        dept=dept,
        version=1,
    )


def submitted(resource: str, dept: str, when: datetime) -> Event:
    data = {"resource_id": resource, "provider_dept": dept, "revision": 1, "name": f"资源 {resource}"}
    return event("catalog.resource.submitted", resource, when, data, dept)


@dataclass
class Oversight:
    portal: Portal
    audit_app: Any
    identity: TestServer
    key: SigningKey
    registry_db: Database
    clock: MovableClock

    def hold(self, who: str) -> Session:
        sub, dept, roles, name = PEOPLE[who]
        now = int(time.time())
        token = self.key.sign(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": sub,
                "client_id": "portal",
                "roles": list(roles),
                "dept": dept,
                "name": name,
                "scope": "api",
                "iat": now,
                "nbf": now,
                "exp": now + 600,
                "jti": str(uuid.uuid4()),
            }
        )
        session = session_of(sub, token, dept=dept, roles=roles, name=name)
        session = replace(session, expires_at=self.clock().timestamp() + 600)  # as the portal's clock sees it
        self.portal.hold(session)
        return session

    async def log(self, events: list[Event]) -> None:
        """Into the audit log through the consumer's batch handler, as the broker would deliver them."""
        async with self.audit_app.state.db.session() as session:
            await append_batch(session, events)

    async def relay_identity_events(self) -> None:
        """What the registry's outbox relay would publish, delivered to audit-svc."""
        async with self.registry_db.reading() as session:
            rows = await session.execute(sa.select(outbox_table.c.payload).order_by(outbox_table.c.seq))
            await self.log([Event.model_validate(orjson.loads(p)) for p in rows.scalars()])

    async def registry(self, kind: str) -> dict[str, dict[str, Any]]:
        """The registry's list of `kind` as the API answers it, keyed by id (asked as the bureau)."""
        token = self.portal.session().access_token
        async with httpx.AsyncClient(base_url=str(self.identity.make_url(""))) as http:
            resp = await http.get(f"/api/identity/{kind}", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200, resp.text
        key = {"departments": "code", "systems": "id", "clients": "client_id", "users": "username"}[kind]
        return {e[key]: e for e in resp.json()["items"]}


@pytest.fixture
async def oversight(service_app, migrated, backend: str, tmp_path: Path) -> AsyncIterator[Oversight]:
    clock = MovableClock(NOW)
    async with oversight_services(service_app, migrated, backend, tmp_path, REGISTRY, clock) as services:
        registry_db = Database(services.registry_url)
        try:
            yield Oversight(services.portal, services.service, services.identity, services.key, registry_db, clock)
        finally:
            await registry_db.dispose()


def rows(html: str, section: str | None = None) -> list[str]:
    if section:
        html = html.split(f'id="{section}"', 1)[1]
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


def summary_of(html: str) -> str:
    return re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)


def shown_secret(html: str) -> str:
    return re.search(r'<code class="secret">([^<]+)</code>', html).group(1)


async def follow(portal: Portal, resp: httpx.Response) -> httpx.Response:
    assert resp.status_code == 303, resp.text
    return await portal.browser.get(resp.headers["Location"])


# --------------------------------------------------------------------------------------------- 监督考核 and 审计日志


async def test_supervision_charts_each_department_and_the_audit_log_searches_verifies_and_exports(oversight):
    portal = oversight.portal
    await oversight.log(
        [
            *(submitted(f"res-ga-{i}", "YC-GA", shanghai(f"2025-0{i}-03")) for i in range(1, 5)),
            submitted("res-mz-1", "YC-MZ", shanghai("2025-03-03", 23, 30)),  # 15:30 UTC: still 3 March in Yichuan
            submitted("res-mz-2", "YC-MZ", shanghai("2025-03-04", 0, 30)),  # 16:30 UTC on 3 March: 4 March here
            submitted("res-rs-1", "YC-RS", shanghai("2025-06-10")),
            event(
                "catalog.resource.published",
                "res-ga-1",
                shanghai("2025-01-06"),
                {"resource_id": "res-ga-1", "provider_dept": "YC-GA", "revision": 1, "reviewed_on_time": True},
                "YC-GA",
            ),
            submitted("res-ga-9", "YC-GA", shanghai("2026-01-05")),  # another year
        ]
    )

    # 监督考核: the previous year by default (第三十九条), every department in the table and one bar each.
    oversight.hold("bureau")
    resp = await portal.browser.get("/supervision")
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert '<option value="2025" selected>2025 年</option>' in html and '<option value="2026">' in html
    assert '<label for="year">年度</label>' in html and '<label for="figure">图表指标</label>' in html
    assert "2025-01-01 至 2025-12-31" in html and "2026-01-31 前" in html
    header = re.search(r"<thead>(.*?)</thead>", html.split('id="figures-title"')[1], re.S).group(1)
    assert [c for c in ("YC-GA", "YC-MZ", "YC-RS") if c in header] == ["YC-GA", "YC-MZ", "YC-RS"]
    assert "伊川县公安局" in header  # the bureau reads the registry's names
    (submissions,) = [r for r in rows(html, "figures-title") if "提交审核的目录（次）" in r]
    assert re.findall(r'<td class="number">(\d+)</td>', submissions) == ["4", "2", "1", "7"]
    assert "第十二条" in submissions and 'class="row-selected"' in submissions

    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="chart-title chart-desc"' in svg and "style=" not in svg
    assert "<title" in svg and "伊川县公安局：4" in re.search(r"<desc.*?</desc>", svg, re.S).group(0)
    bars = {
        m["dept"]: (int(m["value"]), float(m["y"]), float(m["height"]))
        for m in re.finditer(
            r'<rect class="chart-bar" data-dept="(?P<dept>[^"]+)" data-value="(?P<value>\d+)" x="[^"]+" '
            r'y="(?P<y>[^"]+)" width="[^"]+" height="(?P<height>[^"]+)"',
            svg,
        )
    }
    assert list(bars) == ["YC-GA", "YC-MZ", "YC-RS"]
    (ga_value, ga_y, ga_height), (_, mz_y, mz_height), (_, rs_y, rs_height) = bars.values()
    assert ga_value == 4 and ga_height == pytest.approx(2 * mz_height) == pytest.approx(4 * rs_height)
    assert ga_y + ga_height == mz_y + mz_height == rs_y + rs_height  # all stand on one axis

    html = (await portal.browser.get("/supervision", params={"year": "2025", "figure": "resources_published"})).text
    heights = [float(h) for h in re.findall(r'<rect class="chart-bar"[^>]* height="([^"]+)"', html)]
    assert len(heights) == 3 and heights[0] > 0 and heights[1:] == [0, 0]
    assert '<option value="resources_published" selected>' in html

    # The annual report downloads, streamed through the portal as audit-svc gives them.
    csv_resp = await portal.browser.get("/supervision/annual.csv", params={"year": "2025"})
    assert csv_resp.status_code == 200
    assert csv_resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_resp.headers["content-disposition"] == 'attachment; filename="audit-annual-2025.csv"'
    assert csv_resp.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    table = list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["年度", "部门"] and [r[1] for r in table[1:]] == ["YC-GA", "YC-MZ", "YC-RS", "合计"]
    json_resp = await portal.browser.get("/supervision/annual.json", params={"year": "2025"})
    assert json_resp.headers["content-type"] == "application/json"
    assert json_resp.headers["content-disposition"] == 'attachment; filename="audit-annual-2025.json"'
    assert json_resp.json()["year"] == 2025 and json_resp.json()["article"] == "第三十九条"

    refused = await portal.browser.get("/supervision", params={"year": "1999"})
    assert refused.status_code == 422 and '<a href="#year">年度：' in summary_of(refused.text)

    # 审计日志: an auditor searches by type and by days in Yichuan's time.
    oversight.hold("auditor")
    html = (await portal.browser.get("/supervision")).text
    assert "伊川县公安局" in html  # staff read the registry: departments by name
    resp = await portal.browser.get("/audit", params={"type": "catalog.resource.submitted"})
    assert resp.status_code == 200, resp.text
    html = resp.text
    for field, text in (("type", "事件类型"), ("dept", "部门"), ("resource_id", "资源编号")):
        assert f'<label for="{field}">{text}</label>' in html
    assert '<label for="from">起始日期</label>' in html and '<label for="to">截止日期</label>' in html
    found = rows(html, "audit-results")
    assert len(found) == 8 and all("目录提交审核" in r for r in found) and "共 8 条" in html
    assert "资源 res-ga-9" in found[0] and "2026-01-05 10:00" in found[0]  # newest first, Shanghai time

    html = (await portal.browser.get("/audit", params={"from": "2025-03-03", "to": "2025-03-03"})).text
    day = rows(html, "audit-results")
    assert len(day) == 2 and any("res-mz-1" in r and "2025-03-03 23:30" in r for r in day)
    assert not any("res-mz-2" in r for r in day)
    html = (await portal.browser.get("/audit", params={"dept": "YC-MZ", "resource_id": "res-mz-2"})).text
    assert len(rows(html, "audit-results")) == 1
    assert 'href="/accounts"' not in html  # 账号管理 is the bureau's
    partial = await portal.browser.get(
        "/audit", params={"page": "1"}, headers={"HX-Request": "true", "HX-Target": "audit-results"}
    )
    assert partial.text.lstrip().startswith('<section id="audit-results"') and "<html" not in partial.text
    bad = await portal.browser.get("/audit", params={"from": "2025-02-30"})
    assert bad.status_code == 400 and '<a href="#from">起始日期：' in summary_of(bad.text)
    assert 'id="from-error"' in bad.text and 'aria-describedby="from-hint from-error" aria-invalid="true"' in bad.text

    verified = await portal.browser.get("/audit/verify")
    assert verified.status_code == 200
    assert "校验通过" in verified.text and "已校验 9 条记录" in verified.text
    assert '<button type="submit" class="button">校验哈希链</button>' in html

    export = await portal.browser.get("/audit/export")
    assert export.status_code == 200 and export.headers["content-type"] == "application/x-ndjson"
    assert export.headers["content-disposition"] == 'attachment; filename="audit-1-9.jsonl"'
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert len(lines) == 11 and lines[-1]["anchor"]["count"] == 9

    # A department's operator reads none of it.
    oversight.hold("operator")
    for page in ("/supervision", "/audit", "/accounts", "/audit/verify"):
        denied = await portal.browser.get(page)
        assert denied.status_code == 403 and "<h1>无权访问</h1>" in denied.text, page
    denied = await portal.browser.get("/audit/export")
    assert denied.status_code == 403 and "无权访问" in denied.text


# --------------------------------------------------------------------------------------------- 账号管理


async def test_the_bureau_adds_accounts_sees_secrets_once_and_disables_them(oversight):
    portal = oversight.portal
    session = oversight.hold("bureau")
    html = (await portal.browser.get("/accounts")).text
    assert 'aria-current="page" class="active">部门</a>' in html and len(rows(html, "account-list")) == 3
    assert '<label for="code">部门代码</label>' in html and '<label for="name">部门名称</label>' in html
    assert '<button type="submit" class="button">新增部门</button>' in html

    # 部门
    form = {"csrf": session.csrf, "code": "YC-MZ", "name": "伊川县民政局"}
    html = (await follow(portal, await portal.browser.post("/accounts/departments", data=form))).text
    assert "部门已新增。" in html and any("YC-MZ" in r and "伊川县民政局" in r for r in rows(html, "account-list"))
    again = await portal.browser.post("/accounts/departments", data={**form, "name": "民政局（重复）"})
    assert again.status_code == 409
    assert '<a href="#code">部门代码：部门 YC-MZ 已存在</a>' in summary_of(again.text)
    beside = '<p class="field-error" id="code-error"><span class="visually-hidden">错误：</span>部门 YC-MZ 已存在</p>'
    assert beside in again.text
    assert 'value="民政局（重复）"' in again.text  # what was typed stays

    forged = await portal.browser.post("/accounts/departments", data={**form, "code": "YC-X", "csrf": "forged"})
    assert forged.status_code == 403 and "表单已失效" in forged.text
    assert "YC-X" not in await oversight.registry("departments")

    # 应用系统: every broken rule named beside its field
    bad = await portal.browser.post("/accounts/systems", data={"csrf": session.csrf, "id": "低保 系统", "name": "x"})
    assert bad.status_code == 422
    summary = summary_of(bad.text)
    assert '<a href="#id">系统编号：' in summary and '<a href="#dept">所属部门：必填</a>' in summary
    assert 'id="dept-error"' in bad.text
    system = {"csrf": session.csrf, "id": "mz-dibao", "name": "民政低保审批系统", "dept": "YC-MZ"}
    html = (await follow(portal, await portal.browser.post("/accounts/systems", data=system))).text
    assert "应用系统已新增。" in html and any("mz-dibao" in r for r in rows(html, "account-list"))

    # 接入客户端: the secret in the answer to the post, once
    html = (await portal.browser.get("/accounts/clients")).text
    for field, text in (
        ("client_id", "客户端编号"),
        ("name", "客户端名称"),
        ("dept", "所属部门"),
        ("system", "应用系统"),
    ):
        assert f'<label for="{field}">{text}</label>' in html
    assert "<legend>角色</legend>" in html and '<label for="roles">部门经办人</label>' in html
    client = {
        "csrf": session.csrf,
        "client_id": "mz-dibao-app",
        "name": "低保审批系统接口",
        "dept": "YC-MZ",
        "system": "mz-dibao",
        "roles": ["dept_operator"],
    }
    made = await portal.browser.post("/accounts/clients", data=client)
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    assert "接入客户端已新增" in made.text and "它只显示这一次" in made.text
    secret = shown_secret(made.text)
    assert secret not in str(made.url)
    async with httpx.AsyncClient(base_url=str(oversight.identity.make_url(""))) as http:
        token = await http.post(
            "/auth/token",
            data={"grant_type": "client_credentials", "client_id": "mz-dibao-app", "client_secret": secret},
        )
    assert token.status_code == 200, token.text  # the secret shown is the client's
    html = (await portal.browser.get("/accounts/clients")).text
    (row,) = [r for r in rows(html, "account-list") if "mz-dibao-app" in r]
    assert secret not in html and "部门经办人" in row and "启用" in row

    confirm = await portal.browser.get("/accounts/clients/mz-dibao-app/rotate-secret")
    assert confirm.status_code == 200 and "确认更换密钥</button>" in confirm.text and secret not in confirm.text
    rotated = await portal.browser.post("/accounts/clients/mz-dibao-app/rotate-secret", data={"csrf": session.csrf})
    assert rotated.status_code == 200 and "客户端密钥已更换" in rotated.text and "旧密钥有效至" in rotated.text
    assert shown_secret(rotated.text) != secret

    confirm = await portal.browser.get("/accounts/clients/mz-dibao-app/disable")
    assert (
        "停用接入客户端" in confirm.text
        and '<button type="submit" class="button button-danger">确认停用</button>' in (confirm.text)
    )
    html = (
        await follow(
            portal, await portal.browser.post("/accounts/clients/mz-dibao-app/disable", data={"csrf": session.csrf})
        )
    ).text
    assert "接入客户端已停用" in html
    assert (await oversight.registry("clients"))["mz-dibao-app"]["disabled"] is True

    # 人员: the temporary password once; reset; disable
    person = {"csrf": session.csrf, "username": "wangfang", "name": "王芳", "dept": "YC-MZ", "roles": ["dept_head"]}
    made = await portal.browser.post("/accounts/users", data=person)
    assert made.status_code == 200 and "人员账号已新增" in made.text and "临时密码" in made.text
    password = shown_secret(made.text)
    html = (await portal.browser.get("/accounts/users")).text
    (row,) = [r for r in rows(html, "account-list") if "wangfang" in r]
    assert password not in html and "部门负责人" in row and "待修改密码" in row
    reset = await portal.browser.post("/accounts/users/wangfang/reset-password", data={"csrf": session.csrf})
    assert reset.status_code == 200 and "密码已重置" in reset.text and shown_secret(reset.text) != password
    confirm = await portal.browser.get("/accounts/users/wangfang/disable")
    assert "停用人员账号" in confirm.text
    html = (
        await follow(portal, await portal.browser.post("/accounts/users/wangfang/disable", data={"csrf": session.csrf}))
    ).text
    assert "人员账号已停用" in html
    (row,) = [r for r in rows(html, "account-list") if "wangfang" in r]
    assert "已停用" in row and "重置密码" not in row
    assert (await oversight.registry("users"))["wangfang"]["disabled"] is True

    # Every change is in the audit trail once the registry's events arrive there.
    await oversight.relay_identity_events()
    html = (await portal.browser.get("/audit", params={"type": "identity.user.disabled"})).text
    (row,) = rows(html, "audit-results")
    assert "人员停用" in row and "用户 wangfang" in row
