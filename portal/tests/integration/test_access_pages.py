"""访问记录 (第三十二条) against the real services: audit-svc on its migrated database, its access records stored
through the consumer's own batch handler from an `access.records` batch as the gateway sends it, run in-process
where the gateway routes /api/audit; the gateway's identity registry (for the bureau's department names) served
over loopback HTTP. People's tokens are signed with the gateway's own key, which audit-svc trusts as it trusts
the gateway's JWKS in production."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from audit_svc.events import append_batch
from govdata_gateway.keys import SigningKey
from govdata_shared.events import Event
from govdata_shared.testing import MovableClock

from portal.tests.harness import API_AUDIENCE, ISSUER, Portal, oversight_services, session_of

AUDIENCE = API_AUDIENCE
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MORNING = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 March in Yichuan
CITIZEN_ID = "34052419800101001X"
REGISTRY = {
    "departments": [
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
        {"code": "YC-GA", "name": "伊川县公安局"},
        {"code": "YC-MZ", "name": "伊川县民政局"},
        {"code": "YC-RS", "name": "伊川县人力资源和社会保障局"},
    ],
    "clients": [],
}
PEOPLE = {
    "bureau": ("libureau", "YC-ZSJ", ("bureau_admin",)),
    "auditor": ("zhaoshen", "YC-ZSJ", ("auditor",)),
    "mz": ("wangmin", "YC-MZ", ("dept_operator",)),  # holds grant g-mz-1
    "ga_head": ("liuga", "YC-GA", ("dept_head",)),  # provides res-ga-pop
    "rs": ("sunrs", "YC-RS", ("dept_operator",)),  # holds grant g-rs-1
    "citizen": ("wangjg", None, ("citizen",)),
}


def call(when: datetime, **fields: Any) -> dict[str, Any]:
    """One data call as the gateway records it: by default 民政局's system reading 公安局's population data."""
    return {
        "id": f"call-{uuid.uuid4().hex}",
        "time": when.isoformat(),
        "grant_id": "g-mz-1",
        "client_id": "mz-dibao-app",
        "system": "mz-dibao",
        "holder_dept": "YC-MZ",
        "provider_dept": "YC-GA",
        "resource_id": "res-ga-pop",
        "method": "GET",
        "path": "/data/res-ga-pop/persons",
        "status": 200,
        "outcome": "ok",
        "records": 1,
        "bytes": 512,
        "duration_ms": 12.4,
        "request_id": f"req-{uuid.uuid4().hex[:8]}",
        **fields,
    }


def access_batch(records: list[dict[str, Any]]) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        source="/govdata/gateway",
        type="access.records",
        subject="gw-1",
        time=NOW,
        data={"gateway": "gw-1", "records": records},
        actor="gateway",
        version=1,
    )


@dataclass
class Pages:
    portal: Portal
    audit_app: Any
    key: SigningKey
    clock: MovableClock

    def hold(self, who: str) -> None:
        sub, dept, roles = PEOPLE[who]
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "client_id": "portal",
            "roles": list(roles),
            "name": "测试人员",
            "scope": "api",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": str(uuid.uuid4()),
        }
        if dept:
            claims["dept"] = dept
        session = session_of(sub, self.key.sign(claims), dept=dept, roles=roles)
        self.portal.hold(replace(session, expires_at=self.clock().timestamp() + 600))

    async def log(self, events: list[Event]) -> None:
        """Into audit-svc through the consumer's batch handler, as the broker would deliver them."""
        async with self.audit_app.state.db.session() as session:
            await append_batch(session, events)

    async def get(self, **params: str) -> httpx.Response:
        return await self.portal.browser.get("/access", params=params)


@pytest.fixture
async def pages(service_app, migrated, backend: str, tmp_path: Path) -> AsyncIterator[Pages]:
    clock = MovableClock(NOW)
    async with oversight_services(service_app, migrated, backend, tmp_path, REGISTRY, clock) as services:
        yield Pages(services.portal, services.service, services.key, clock)


def rows(html: str) -> list[str]:
    html = html.split('id="access-results"', 1)[1]
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


def summary_of(html: str) -> str:
    return re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)


async def test_access_records_are_shown_to_oversight_and_to_each_department_its_own(pages):
    served = [call(MORNING + timedelta(minutes=n), records=n % 3 + 1) for n in range(52)]
    refused = call(  # a grant used outside its period, an identity number in the query
        MORNING + timedelta(hours=1),
        path=f"/data/res-ga-pop/persons?id={CITIZEN_ID}",
        status=403,
        outcome="outside_window",
        records=0,
        bytes=0,
        duration_ms=0.8,
    )
    anonymous = call(  # 23:30 on 27 February in Yichuan, 15:30 UTC
        datetime(2026, 2, 27, 15, 30, tzinfo=UTC),
        grant_id=None,
        client_id=None,
        system=None,
        holder_dept=None,
        status=401,
        outcome="missing_token",
        records=0,
    )
    other = [
        call(
            datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
            grant_id="g-rs-1",
            client_id="rs-shebao-app",
            system="rs-shebao",
            holder_dept="YC-RS",
            provider_dept="YC-ZSJ",
            resource_id="res-zsj-biz",
            path="/data/res-zsj-biz/licences",
            **extra,
        )
        for extra in ({}, {"status": 504, "outcome": "upstream_timeout", "records": 0, "duration_ms": 5000.0})
    ]
    await pages.log([access_batch([*served, refused]), access_batch([anonymous, *other])])

    # An auditor sees every call, newest first, in Yichuan's time, the outcome in words.
    pages.hold("auditor")
    resp = await pages.get()
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert "<h1>访问记录</h1>" in html and "第三十二条" in html and "包括被拒绝的" in html
    assert '<a href="/access" aria-current="page" class="active">访问记录</a>' in html
    for field, text in (("grant_id", "授权编号"), ("client_id", "客户端"), ("resource_id", "资源编号")):
        assert f'<label for="{field}">{text}</label>' in html
    assert '<label for="from">起始日期</label>' in html and '<label for="to">截止日期</label>' in html
    found = rows(html)
    assert len(found) == 50 and "共 56 条" in html  # a page of 50
    assert 'class="table-scroll" tabindex="0" role="region"' in html  # scrolls inside its panel on a phone
    timeout, ok_rs = found[0], found[1]  # same second: audit-svc orders them by id
    if "504" not in timeout:
        timeout, ok_rs = ok_rs, timeout
    assert "2026-03-01 11:00" in timeout and "rs-shebao-app" in timeout and "rs-shebao" in timeout
    assert "失败：提供方系统响应超时" in timeout and "HTTP 504" in timeout and "tag-warning" in timeout
    assert "成功" in ok_rs and "HTTP 200" in ok_rs and "tag-success" in ok_rs
    (denied,) = [r for r in found if "HTTP 403" in r]
    assert "拒绝：不在授权有效期内" in denied and "HTTP 403" in denied and "tag-danger" in denied
    assert "2026-03-01 10:00" in denied and "GET /data/res-ga-pop/persons?id=3405**********001X" in denied
    assert CITIZEN_ID not in html  # the identity number never shows
    assert "YC-MZ" in denied and "授权 g-mz-1" in denied and "res-ga-pop" in denied
    assert re.search(r'<td class="number">0</td>\s*<td class="number">0.8</td>', denied)
    assert "伊川县民政局" in denied  # staff read the registry: departments by name

    second = await pages.get(page="2")
    last = rows(second.text)
    assert len(last) == 6 and "未识别" in last[-1] and "拒绝：未携带令牌" in last[-1] and "HTTP 401" in last[-1]
    partial = await pages.portal.browser.get(
        "/access", params={"page": "2"}, headers={"HX-Request": "true", "HX-Target": "access-results"}
    )
    assert partial.text.lstrip().startswith('<section id="access-results"') and "<html" not in partial.text

    # Filters: a grant, a client, days in Yichuan's time.
    by_grant = rows((await pages.get(grant_id="g-rs-1")).text)
    assert len(by_grant) == 2 and all("授权 g-rs-1" in r for r in by_grant)
    assert len(rows((await pages.get(client_id="rs-shebao-app")).text)) == 2
    html = (await pages.get(resource_id="res-ga-pop", **{"from": "2026-02-27", "to": "2026-02-27"})).text
    (late,) = rows(html)
    assert "2026-02-27 23:30" in late and "拒绝：未携带令牌" in late
    nothing = await pages.get(grant_id="g-none")
    assert nothing.status_code == 200 and rows(nothing.text) == [] and "没有符合条件的访问记录" in nothing.text

    bad = await pages.get(**{"from": "2026-02-30"})
    assert bad.status_code == 400 and '<a href="#from">起始日期：' in summary_of(bad.text)
    assert 'id="from-error"' in bad.text and 'aria-describedby="from-hint from-error" aria-invalid="true"' in bad.text
    backwards = await pages.get(**{"from": "2026-03-02", "to": "2026-03-01"})
    assert backwards.status_code == 400 and '<a href="#to">截止日期：截止日期不能早于起始日期</a>' in backwards.text

    # The bureau reads the registry's names beside the codes.
    pages.hold("bureau")
    html = (await pages.get(grant_id="g-mz-1")).text
    assert "共 53 条" in html and '<span class="dept-name">伊川县民政局</span>' in html

    # A department sees the calls under its grants (holder) and to its resources (provider), nothing else.
    pages.hold("mz")
    html = (await pages.get()).text
    assert "共 53 条" in html and "rs-shebao" not in html and "res-zsj-biz" not in html
    second = rows((await pages.get(page="2")).text)
    assert len(second) == 3 and all("g-mz-1" in r for r in second)
    nosy = (await pages.get(client_id="rs-shebao-app")).text  # asking for another department's client
    assert rows(nosy) == [] and "没有符合条件的访问记录" in nosy
    pages.hold("ga_head")
    html = (await pages.get(page="2")).text
    assert "共 54 条" in html and "拒绝：未携带令牌" in html and "rs-shebao" not in html
    pages.hold("rs")
    found = rows((await pages.get()).text)
    assert len(found) == 2 and all("rs-shebao-app" in r for r in found)


async def test_a_citizen_has_no_access_records_page(pages):
    await pages.log([access_batch([call(MORNING)])])
    pages.hold("citizen")
    denied = await pages.get()
    assert denied.status_code == 403 and "<h1>无权访问</h1>" in denied.text
    assert "mz-dibao-app" not in denied.text and 'href="/access"' not in denied.text  # not in the navigation
