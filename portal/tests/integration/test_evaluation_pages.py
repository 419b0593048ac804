"""考核评价 (第三十七、三十八条) against the real audit-svc on its migrated database and the gateway's registry: the
bureau reads every department's scores and ranks, writes a 改进意见 (refused first, beside its field), downloads the
CSV and the printable report, and publishes the year; a department sees its own row only, a citizen nothing. The
scores are audit-svc's (tested there against a hand-computed table); here, that the page shows what the API
answers."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from audit_svc.events import append_batch
from govdata_shared.events import Event
from govdata_shared.testing import MovableClock

from portal.tests.harness import OversightServices, oversight_services

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Yichuan: 2025 is the year evaluated by default
DEPARTMENTS = {"YC-ZSJ": "伊川县政务服务和大数据管理局", "YC-GA": "伊川县公安局", "YC-MZ": "伊川县民政局"}
REGISTRY = {"departments": [{"code": c, "name": n} for c, n in DEPARTMENTS.items()], "clients": []}
PEOPLE = {
    "bureau": ("libureau", "YC-ZSJ", ("bureau_admin",), "李娜"),
    "ga": ("zhaolei", "YC-GA", ("dept_operator",), "赵磊"),
    "citizen": ("wangjg", None, ("citizen",), "王建国"),
}


def event(kind: str, subject: str, day: str, data: dict[str, Any]) -> Event:
    moment = datetime.fromisoformat(day).replace(hour=10, tzinfo=SHANGHAI)
    return Event(
        id=str(uuid.uuid4()),
        source="/govdata/test",
        type=kind,
        subject=subject,
        time=moment,
        data=data,
        actor="system",
        version=1,
    )


def decided(request: str, dept: str, on_time: bool) -> Event:
    """A provider's decision on a share request (第二十九条): all that is scored of these departments here, so
    YC-GA scores 100 and YC-MZ 0; the bureau has nothing to evaluate."""
    data = {"request_id": request, "stage": "provider_review", "decided_by_dept": dept, "on_time": on_time}
    return event("sharing.request.approved", request, "2025-05-06", data)


@pytest.fixture
async def services(service_app, migrated, backend: str, tmp_path: Path) -> AsyncIterator[OversightServices]:
    async with oversight_services(service_app, migrated, backend, tmp_path, REGISTRY, MovableClock(NOW)) as running:
        registered = [
            event("identity.department.created", f"department:{c}", "2025-01-02", {"code": c, "name": n})
            for c, n in DEPARTMENTS.items()
        ]
        async with running.service.state.db.session() as session:
            await append_batch(
                session, [*registered, decided("req-1", "YC-GA", True), decided("req-2", "YC-MZ", False)]
            )
        yield running


def hold(services: OversightServices, who: str) -> Any:
    return services.hold(*PEOPLE[who])


def summary_rows(html: str) -> list[tuple[str, ...]]:
    """(rank, department, total) of each row of the results table."""
    table = re.search(r'<table class="table evaluation-table">.*?</table>', html, re.S).group(0)
    rows = re.findall(
        r'<tr>\s*<td class="number">([^<]+)</td>\s*<th scope="row">([\w-]+).*?<td class="number">(.*?)</td>',
        table,
        re.S,
    )
    return [(rank, dept, re.sub(r"<[^>]+>", "", total)) for rank, dept, total in rows]


async def test_the_bureau_reads_the_scores_writes_an_opinion_downloads_and_publishes(services):
    browser = services.portal.browser
    bureau = hold(services, "bureau")
    html = (await browser.get("/evaluation")).text
    assert '<a href="/evaluation" aria-current="page" class="active">考核评价</a>' in html
    assert "2025 年度评价结果" in html and "第 1 版" in html and "未公布" in html
    assert summary_rows(html) == [("1", "YC-GA", "100.00"), ("2", "YC-MZ", "0.00"), ("不参与排名", "YC-ZSJ", "不适用")]
    assert "伊川县民政局" in html and "共享审批按时率" in html and "第二十九条" in html
    assert 'href="/evaluation/export.csv?year=2025"' in html and 'href="/evaluation/report.html?year=2025"' in html
    assert '<label for="opinion-YC-MZ">改进意见（伊川县民政局）</label>' in html
    assert "公布 2025 年度评价结果" in html

    path = "/evaluation/2025/departments/YC-MZ/opinion"
    refused = await browser.post(path, data={"csrf": bureau.csrf, "text": " "})
    assert refused.status_code == 422
    assert '<a href="#opinion-YC-MZ">改进意见（YC-MZ）：' in refused.text and 'id="opinion-YC-MZ-error"' in refused.text
    saved = await browser.post(path, data={"csrf": bureau.csrf, "text": "请建立共享审批提醒机制。"})
    assert saved.status_code == 303
    html = (await browser.get(saved.headers["Location"])).text
    assert "改进意见已保存。" in html and "请建立共享审批提醒机制。" in html

    download = await browser.get("/evaluation/export.csv", params={"year": "2025"})
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(download.content.decode("utf-8-sig")))
    assert header[:5] == ["年度", "排名", "部门代码", "部门名称", "总分"]
    assert [(r[1], r[2], r[4]) for r in rows] == [
        ("1", "YC-GA", "100.00"),
        ("2", "YC-MZ", "0.00"),
        ("不参与排名", "YC-ZSJ", "不适用"),
    ]
    report = await browser.get("/evaluation/report.html", params={"year": "2025"})
    assert report.status_code == 200 and report.headers["content-disposition"].startswith("attachment")
    assert report.text.startswith("<!doctype html>") and "请建立共享审批提醒机制。" in report.text

    published = await browser.post("/evaluation/2025/publish", data={"csrf": bureau.csrf})
    assert published.status_code == 303
    html = (await browser.get(published.headers["Location"])).text
    assert "评价结果已向社会公布" in html and "已公布" in html
    assert 'href="/api/audit/public/evaluation?year=2025&amp;format=html"' in html
    assert "保存改进意见" not in html and "公布 2025 年度评价结果" not in html  # frozen
    again = await browser.post("/evaluation/2025/publish", data={"csrf": bureau.csrf})
    assert again.status_code == 409 and "已向社会公布" in again.text


async def test_a_department_sees_its_own_row_and_a_citizen_is_refused(services):
    browser = services.portal.browser
    hold(services, "ga")
    html = (await browser.get("/evaluation", params={"year": "2025"})).text
    assert summary_rows(html) == [("1", "YC-GA", "100.00")]
    assert "YC-MZ" not in html and "改进意见（" not in html and "公布 2025" not in html
    hold(services, "citizen")
    refused = await browser.get("/evaluation")
    assert refused.status_code == 403 and "考核评价结果供" in refused.text
