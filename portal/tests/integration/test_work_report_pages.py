"""年度工作报告 (第三十九条) against the real audit-svc on its migrated database: a department writes its report on
the year before and uploads the attachment; the bureau sees, per department, 按时 / 逾期 / 未提交 and downloads the
attachments; 监督考核 shows the same beside the figures. People's tokens are signed with the gateway's key, which
audit-svc trusts; the clock is the one portal and audit-svc share, set to moments in Yichuan."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from audit_svc.events import append_batch
from govdata_shared.events import Event
from govdata_shared.testing import MovableClock

from portal.tests.harness import OversightServices, oversight_services

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.7\n%%EOF\n"
REGISTRY = {"departments": [{"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"}], "clients": []}
PEOPLE = {
    "bureau": ("libureau", "YC-ZSJ", ("bureau_admin",), "李娜"),
    "ga": ("zhaolei", "YC-GA", ("dept_operator",), "赵磊"),
    "mz": ("zhangmin", "YC-MZ", ("dept_operator",), "张敏"),
}
DEPARTMENTS = {"YC-GA": "伊川县公安局", "YC-MZ": "伊川县民政局", "YC-RS": "伊川县人力资源和社会保障局"}


def shanghai(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


@pytest.fixture
async def services(service_app, migrated, backend: str, tmp_path: Path) -> AsyncIterator[OversightServices]:
    clock = MovableClock(shanghai("2026-01-31", 22))
    async with oversight_services(service_app, migrated, backend, tmp_path, REGISTRY, clock) as running:
        # The registry's departments, as its events reached the trail in 2025 (the annual report lists them).
        registered = [
            Event(
                id=str(uuid.uuid4()),
                source="/govdata/gateway",
                type="identity.department.created",
                subject=f"department:{code}",
                time=shanghai("2025-01-02", 9),
                data={"code": code, "name": name, "disabled": False},
                actor="bureau",
                version=1,
            )
            for code, name in DEPARTMENTS.items()
        ]
        async with running.service.state.db.session() as session:
            await append_batch(session, registered)
        yield running


def hold(services: OversightServices, who: str) -> Any:
    return services.hold(*PEOPLE[who])


async def send(services: OversightServices, session: Any, text: str, file: tuple | None = None) -> httpx.Response:
    files = {"file": file} if file else {"file": ("", b"", "application/octet-stream")}
    form = {"csrf": session.csrf, "year": "2025", "text": text}
    return await services.portal.browser.post("/work-reports", data=form, files=files)


async def follow(services: OversightServices, response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return (await services.portal.browser.get(response.headers["Location"])).text


def row_of(html: str, dept: str) -> str:
    return next(r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if f"{dept}<span" in r)


async def test_departments_submit_and_the_bureau_sees_who_was_on_time(services):
    browser = services.portal.browser
    ga = hold(services, "ga")
    html = (await browser.get("/work-reports")).text
    assert 'href="/work-reports"' in html and "年度工作报告" in html  # in the navigation
    assert '<label for="text">上一年度政务数据管理情况</label>' in html
    assert '<label for="file">附件（PDF/JPEG/PNG）</label>' in html and 'type="file"' in html
    assert '<option value="2025" selected>2025 年度</option>' in html and "2026-01-31 前" in html
    assert "未提交" in html

    refused = await send(services, ga, "   ")
    assert refused.status_code == 422 and '<a href="#text">上一年度政务数据管理情况：' in refused.text

    html = await follow(services, await send(services, ga, "本局 2025 年度编制目录 8 项。"))
    assert "报告内容已保存，但尚未上传附件" in html and "草稿" in html and "本局 2025 年度编制目录 8 项。" in html

    bad = await send(services, ga, "本局 2025 年度编制目录 8 项。", ("报告.pdf", b"not a pdf", "application/pdf"))
    assert bad.status_code == 415 and '<a href="#file">附件（PDF/JPEG/PNG）：' in bad.text
    assert 'id="file-error"' in bad.text

    html = await follow(
        services, await send(services, ga, "本局 2025 年度编制目录 9 项。", ("报告.pdf", PDF, "application/pdf"))
    )
    assert "年度工作报告已提交。" in html and '<span class="tag tag-success">按时</span>' in html
    assert "2026-01-31 22:00" in html  # submitted at, in Yichuan's time
    (link,) = re.findall(r'href="(/work-reports/[^"]+/attachment)"', html)
    download = await browser.get(link)
    assert download.status_code == 200 and download.content == PDF

    # Another department reads none of it, and is late itself: 1 February 00:30 in Yichuan.
    services.portal.clock.set(shanghai("2026-02-01", 0, 30))
    mz = hold(services, "mz")
    assert (await browser.get(link)).status_code == 403
    html = await follow(
        services, await send(services, mz, "民政局 2025 年度情况。", ("情况.pdf", PDF, "application/pdf"))
    )
    assert '<span class="tag tag-danger">逾期</span>' in html

    hold(services, "bureau")
    html = (await browser.get("/work-reports", params={"year": "2025"})).text
    assert "按时 1 个，逾期 1 个，未提交 1 个" in html
    assert "按时" in row_of(html, "YC-GA") and "伊川县公安局" in row_of(html, "YC-GA")
    assert "逾期" in row_of(html, "YC-MZ") and "未提交" in row_of(html, "YC-RS")
    assert "本局 2025 年度编制目录 9 项。" in row_of(html, "YC-GA")
    assert (await browser.get(link)).content == PDF

    html = (await browser.get("/supervision", params={"year": "2025"})).text
    row = re.search(r'<tr class="work-report-row">.*?</tr>', html, re.S).group(0)
    assert "第三十九条" in row and 'href="/work-reports?year=2025"' in row
    tags = re.findall(r'<span class="tag tag-\w+">(\S+?)</span>', row)
    assert tags == ["按时", "逾期", "未提交"] and "按时 1 / 3" in row
