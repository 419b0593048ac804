"""校核 (第十九条) and 逾期 pages against the real catalog-svc and verification-svc on their migrated Postgres
databases (the catalog's events relayed to verification-svc from its outbox, as the broker would), the portal
in-process with sessions it sealed itself. Sharing-svc is not running: 逾期 names that list as unreadable."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from catalog_svc.main import SPEC as CATALOG
from govdata_shared.events import Event
from govdata_shared.outbox import outbox_table
from govdata_shared.testing import OTHER_PERSON, PERSON, MovableClock, TestTokens
from verification_svc.events import HANDLERS as VERIFICATION_HANDLERS
from verification_svc.main import SPEC as VERIFICATION

from portal.tests.harness import Portal, portal_settings, running_portal
from portal.tests.integration.test_catalog_pages import POPULATION, THURSDAY, Platform, dispatcher, rows

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
MASKED = "3405**********001X"
MARRIAGE = {
    **copy.deepcopy(POPULATION),
    "code": "301002/000007",
    "name": "婚姻登记信息",
    "summary": "全县婚姻登记记录。",
    "category": "department",
    "items": [{"code": "marriage_status", "name": "婚姻状况", "type": "C", "authoritative": True}],
}


class Services(Platform):
    def __init__(self, apps: dict[str, Any], *args: Any) -> None:
        super().__init__(*args)
        self.apps = apps

    async def relay_catalog_events(self) -> None:
        """What the broker would do: the catalog's staged events, applied by verification-svc's consumer."""
        async with self.apps["catalog"].state.db.session() as session:
            payloads = (await session.execute(sa.select(outbox_table.c.payload).order_by(outbox_table.c.seq))).all()
        async with self.apps["verification"].state.db.session() as session:
            for (payload,) in payloads:
                event = Event.from_json(payload)
                if event.type in VERIFICATION_HANDLERS:
                    await VERIFICATION_HANDLERS[event.type](session, event)

    async def published(self, who: str, **changes: Any) -> dict[str, Any]:
        resource = await self.resource(who, **changes)
        await self.relay_catalog_events()
        return resource

    async def correction(self, resource: dict[str, Any], item: str, value: str) -> dict[str, Any]:
        body = {
            "resource_id": resource["id"],
            "subject_type": "person",
            "subject_id": PERSON,
            "items": [item],
            "claimed_values": {item: value},
            "description": "平台上的数据与本人证件不一致。",
        }
        return await self.call("verification", "POST", "/corrections", "citizen", body)

    async def read(self, correction_id: str) -> dict[str, Any]:
        return await self.call("verification", "GET", f"/corrections/{correction_id}", "bureau")


@pytest.fixture
async def platform(service_app, test_tokens: TestTokens, tmp_path: Path) -> AsyncIterator[tuple[Services, Portal]]:
    clock = MovableClock(THURSDAY)
    catalog_app, catalog_client = await service_app(CATALOG, clock=clock)
    verification_app, verification_client = await service_app(VERIFICATION, clock=clock)
    apps = {"catalog": catalog_app, "verification": verification_app}
    transport = httpx.ASGITransport(app=dispatcher(apps))
    async with running_portal(portal_settings(tmp_path), transport=transport, clock=clock) as portal:
        clients = {"catalog": catalog_client, "verification": verification_client}
        yield Services(apps, clients, test_tokens, clock), portal


def csrf_of(portal: Portal) -> str:
    session = portal.session()
    assert session is not None
    return session.csrf


def summary_of(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert found, "no error summary on the page"
    return found.group(0)


def error_beside(html: str, anchor: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(anchor)}-error">.*?</p>', html, re.S)
    assert found, f"no error beside #{anchor}"
    return found.group(0)


async def test_a_citizen_files_a_correction_with_evidence_and_the_provider_resolves_it(platform) -> None:
    services, portal = platform
    resource = await services.published("ga")
    portal.hold(services.session("citizen", "王建国"))

    html = (await portal.browser.get("/my/corrections")).text
    assert 'aria-current="page" class="active">数据校核' in html and "您还没有提出过校核申请" in html
    assert '<a class="button" href="/my/corrections/new">提出校核</a>' in html

    # Step 1: choose the resource; step 2: the form, the person's own 身份证号 already filled in.
    html = (await portal.browser.get("/my/corrections/new", params={"q": "户籍"})).text
    assert '<label for="q">查找数据资源</label>' in html
    assert f'href="/my/corrections/new?resource_id={resource["id"]}">选择' in html
    form = await portal.browser.get("/my/corrections/new", params={"resource_id": resource["id"]})
    assert form.status_code == 200, form.text
    html = form.text
    assert f'value="{PERSON}"' in html and 'id="subject_type-person" name="subject_type" value="person" checked' in html
    for label in ("证件号码", "情况说明", "证明材料", "姓名的正确值", "出生日期的正确值"):
        assert f">{label}</label>" in html
    assert "<legend>有疑义的信息项</legend>" in html and '<label for="item-name">姓名</label>' in html
    assert '<button type="submit" class="button">提交校核申请</button>' in html

    typed = {
        "csrf": csrf_of(portal),
        "resource_id": resource["id"],
        "subject_type": "person",
        "subject_id": "340524198001010010",  # a wrong check digit
        "items": ["name"],
        "claimed_values.name": "王建囯",
        "description": "户籍登记的姓名用字有误。",
    }
    proof = {"file": ("户口簿.pdf", PDF, "application/pdf")}
    refused = await portal.browser.post("/my/corrections/new", data=typed, files=proof)
    assert refused.status_code == 422, refused.text
    html = refused.text
    assert '<a href="#subject_id">证件号码：' in summary_of(html)
    assert "校验" in error_beside(html, "subject_id")
    assert 'aria-describedby="subject_id-hint subject_id-error" aria-invalid="true"' in html
    assert 'value="340524198001010010"' in html and 'value="王建囯"' in html and "户籍登记的姓名用字有误。" in html
    assert 'name="items" value="name" checked' in html and "请重新选择" in html

    typed["subject_id"] = OTHER_PERSON  # valid, but not the citizen's own
    someone_else = await portal.browser.post("/my/corrections/new", data=typed, files=proof)
    assert someone_else.status_code == 403 and "本人" in error_beside(someone_else.text, "subject_id")

    typed["subject_id"] = PERSON
    not_a_pdf = await portal.browser.post(
        "/my/corrections/new", data=typed, files={"file": ("说明.txt", b"just text", "text/plain")}
    )
    assert not_a_pdf.status_code == 422 and "PDF、JPEG 或 PNG" in error_beside(not_a_pdf.text, "file")
    assert (await services.call("verification", "GET", "/corrections", "bureau"))["total"] == 0  # nothing filed

    filed = await portal.browser.post("/my/corrections/new", data=typed, files=proof)
    assert filed.status_code == 303, filed.text
    location = filed.headers["location"]
    assert location.startswith("/my/corrections/cor") and location.endswith("?notice=filed")
    correction_id = location.split("/")[-1].split("?")[0]
    stored = await services.read(correction_id)
    assert stored["status"] == "open" and stored["claimed_values"] == {"name": "王建囯"}
    assert stored["evidence_count"] == 1 and stored["provider_dept"] == "YC-GA"

    html = (await portal.browser.get(location)).text
    assert "校核申请已提交" in html and "待校核" in html and PERSON in html  # the citizen sees their own
    assert f"截止 {stored['deadline']}（还剩 10 个工作日）" in html and "户口簿.pdf" in html
    assert '<label for="file">补充证明材料</label>' in html
    (row,) = rows((await portal.browser.get("/my/corrections")).text)
    assert "户籍人口基本信息" in row and "待校核" in row and f"/my/corrections/{correction_id}" in row

    # The provider's operator: masked in the list, in full on the request's page, the evidence downloadable.
    portal.hold(services.session("ga", "赵磊"))
    html = (await portal.browser.get("/corrections")).text
    assert 'aria-current="page" class="active">校核' in html and '<label for="overdue">仅显示逾期</label>' in html
    (row,) = rows(html)
    assert MASKED in row and "公民或企业" in row and "待校核" in row and "还剩 10 个工作日" in row
    assert PERSON not in html
    html = (await portal.browser.get(f"/corrections/{correction_id}")).text
    assert PERSON in html and "王建囯" in html and "户籍登记的姓名用字有误。" in html
    assert '<button type="submit" class="button">办结</button>' in html
    assert "延长校核期限</button>" not in html  # the operator does not extend: the head does
    (evidence,) = await services.call("verification", "GET", f"/corrections/{correction_id}/evidence", "ga")
    download = await portal.browser.get(f"/corrections/{correction_id}/evidence/{evidence['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert (
        download.headers["content-type"] == "application/pdf"
        and "attachment" in download.headers["content-disposition"]
    )

    # 经核实无误 needs the explanation: said beside 处理说明, the choice kept.
    csrf = csrf_of(portal)
    no_note = await portal.browser.post(
        f"/corrections/{correction_id}/resolve", data={"csrf": csrf, "outcome": "no_error", "note": ""}
    )
    assert no_note.status_code == 422, no_note.text
    assert '<a href="#note">处理说明：' in summary_of(no_note.text) and "理由" in error_beside(no_note.text, "note")
    assert 'value="no_error" checked' in no_note.text
    resolved = await portal.browser.post(
        f"/corrections/{correction_id}/resolve",
        data={"csrf": csrf, "outcome": "corrected", "corrected_values.name": "王建囯", "note": "已按户口簿更正。"},
    )
    assert resolved.status_code == 303 and resolved.headers["location"].endswith("?notice=resolved")
    stored = await services.read(correction_id)
    assert stored["status"] == "resolved" and stored["outcome"] == "corrected"
    assert stored["corrected_values"] == {"name": "王建囯"}
    html = (await portal.browser.get(resolved.headers["location"])).text
    assert "已办结" in html and "已更正" in html and "按期办结" in html and "办结</button>" not in html

    portal.hold(services.session("citizen", "王建国"))
    html = (await portal.browser.get(f"/my/corrections/{correction_id}")).text
    assert "已更正" in html and "已按户口簿更正。" in html and "补充证明材料" not in html


async def test_the_head_extends_once_and_the_bureau_sees_what_is_overdue_by_department(platform) -> None:
    services, portal = platform
    population = await services.published("ga")
    marriage = await services.published("mz", **MARRIAGE)
    waiting = await services.resource(
        "rs",
        publish=False,
        code="101003/000002",
        name="社保参保信息",
        items=[{"code": "insured", "name": "参保状态", "type": "C"}],
    )
    first = await services.correction(population, "birth_date", "1980-01-02")
    second = await services.correction(marriage, "marriage_status", "未婚")

    # The head: 延长校核期限, no 办结.
    portal.hold(services.session("ga-head", "孙强"))
    page = f"/corrections/{first['id']}"
    html = (await portal.browser.get(page)).text
    assert '<label for="days">延长天数（工作日）</label>' in html and '<label for="reason">延期理由</label>' in html
    assert '<button type="submit" class="button">延长校核期限</button>' in html and "办结</button>" not in html
    csrf = csrf_of(portal)
    too_long = await portal.browser.post(f"{page}/extend", data={"csrf": csrf, "days": "11", "reason": "需调取档案"})
    assert too_long.status_code == 422 and '<a href="#days">延长天数：' in summary_of(too_long.text)
    assert 'value="11"' in too_long.text and "需调取档案" in too_long.text
    extended = await portal.browser.post(f"{page}/extend", data={"csrf": csrf, "days": "5", "reason": "需调取纸质档案"})
    assert extended.status_code == 303 and extended.headers["location"].endswith("?notice=extended")
    stored = await services.read(first["id"])
    assert stored["status"] == "extended" and stored["extension_days"] == 5 and stored["deadline"] > first["deadline"]
    html = (await portal.browser.get(extended.headers["location"])).text
    assert "已延期一次" in html and "需调取纸质档案" in html and f"延至 {stored['deadline']}" in html
    assert "延长校核期限</button>" not in html and 'action="/corrections/' + first["id"] + '/extend"' not in html

    # A second extension posted anyway (an old tab, a forged form): the API refuses and the page says why.
    again = await portal.browser.post(f"{page}/extend", data={"csrf": csrf, "days": "3", "reason": "再延"})
    assert again.status_code == 409
    assert "校核期限只能延长一次" in summary_of(again.text) and "extend_once" in summary_of(again.text)
    assert (await services.read(first["id"]))["extension_days"] == 5

    # A post without the session's CSRF token changes nothing.
    portal.hold(services.session("ga", "赵磊"))
    forged = await portal.browser.post(f"{page}/resolve", data={"outcome": "no_error", "note": "伪造"})
    assert forged.status_code == 403 and "表单已失效" in forged.text
    assert (await services.read(first["id"]))["status"] == "extended"

    # A month on: the corrections and the catalog review are late; the bureau sees them by department.
    services.clock.advance(days=30)
    portal.hold(services.session("ga", "赵磊"))
    html = (await portal.browser.get("/corrections", params={"overdue": "true"})).text
    (row,) = rows(html)
    assert 'class="row-overdue"' in row and "已逾期" in row and "已延期" in row
    assert 'id="overdue" name="overdue" value="true" checked' in html
    partial = await portal.browser.get(
        "/corrections", params={"status": "all"}, headers={"HX-Request": "true", "HX-Target": "corrections-results"}
    )
    assert partial.text.lstrip().startswith('<section id="corrections-results"') and len(rows(partial.text)) == 1

    portal.hold(services.session("bureau", "李娜"))
    resp = await portal.browser.get("/overdue")
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert 'aria-current="page" class="active">逾期' in html
    assert "以下事项暂时无法读取" in html and "共享申请" in html  # sharing-svc is not running here
    for dept in ("YC-GA", "YC-MZ", "YC-ZSJ"):
        assert f'<section class="panel" id="dept-{dept}"' in html
    ga = html.split('id="dept-YC-GA"')[1].split("</section>")[0]
    (row,) = rows(ga)
    assert "数据校核（已延期）" in row and f'href="/corrections/{first["id"]}"' in row and "户籍人口基本信息" in row
    assert re.search(r"已逾期 \d+ 个工作日", row)
    mz = html.split('id="dept-YC-MZ"')[1].split("</section>")[0]
    assert "婚姻登记信息" in mz and f"/corrections/{second['id']}" in mz
    bureau = html.split('id="dept-YC-ZSJ"')[1].split("</section>")[0]
    (row,) = rows(bureau)
    assert f'href="/review/catalog/{waiting["id"]}"' in row
    assert "目录审核" in row and waiting["name"] in row and "提供部门 YC-RS" in row and "已逾期" in row
    summary = rows(html.split('id="summary-title"')[1])
    assert len(summary) == 3 and all("<td>1</td>" in r for r in summary)
    assert PERSON not in html
