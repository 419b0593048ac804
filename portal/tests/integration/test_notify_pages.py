"""站内信 and 订阅推送 against the real notify-svc on its migrated database, run in-process where the gateway routes
/api/notify: the messages stored as its deadline check stores them, a delivery queued by its consumer's own batch
handler and sent by its own webhook sender (to a closed port on 127.0.0.1, so each attempt fails). People's tokens
are signed with the gateway's key, which notify-svc trusts; the portal and notify-svc share the movable clock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from govdata_shared.events import new_event
from govdata_shared.testing import MovableClock
from notify_svc.events import BATCH_HANDLER
from notify_svc.main import SPEC as NOTIFY
from notify_svc.models import Message
from notify_svc.sender import WebhookSender

from portal.tests.harness import OversightServices, oversight_services

REGISTRY = {"departments": [{"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"}], "clients": []}
PEOPLE = {
    "bureau": ("libureau", "YC-ZSJ", ("bureau_admin",)),
    "ga": ("zhaolei", "YC-GA", ("dept_operator",)),
    "ga_head": ("liuga", "YC-GA", ("dept_head",)),
    "mz": ("zhangmin", "YC-MZ", ("dept_operator",)),
    "citizen": ("wangjg", None, ("citizen",)),
}
CLOSED_PORT = "http://127.0.0.1:9/hook"  # inside the default allow-list; nothing listens there


@pytest.fixture
async def services(service_app, migrated, backend: str, tmp_path: Path) -> AsyncIterator[OversightServices]:
    clock = MovableClock()
    async with oversight_services(
        service_app, migrated, backend, tmp_path, REGISTRY, clock, spec=NOTIFY, prefix="/api/notify/"
    ) as running:
        yield running


def hold(services: OversightServices, who: str) -> Any:
    return services.hold(*PEOPLE[who])


async def follow(services: OversightServices, response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return (await services.portal.browser.get(response.headers["Location"])).text


def rows(html: str, kind: str) -> list[str]:
    return re.findall(rf'<tr class="{kind}-row[^"]*">.*?</tr>', html, re.S)


async def store_messages(services: OversightServices) -> None:
    """Two messages to 公安局 (a reminder, a day later its 逾期通报) and one to 民政局, as the check stores them."""
    now = services.portal.clock()

    def message(ident: str, kind: str, dept: str, body: str, hours_ago: int) -> Message:
        return Message(
            id=ident,
            kind=kind,
            step_id=f"request:req-{dept}:provider_review",
            step_kind="provider_review",
            dept=dept,
            copied_to=["YC-ZSJ"],
            subject="户籍人口基本信息",
            body=body,
            article="第二十九条",
            deadline=date(2026, 12, 7),
            link=f"/requests/req-{dept}",
            created_at=now - timedelta(hours=hours_ago),
        )

    async with services.service.state.db.session() as session:
        session.add_all(
            [
                message(
                    "msg-ga-reminder",
                    "reminder",
                    "YC-GA",
                    "户籍人口基本信息的提供方审批将于 2026-12-07（星期一）到期，还剩 1 个工作日，请及时办理。",
                    30,
                ),
                message(
                    "msg-ga-overdue",
                    "overdue",
                    "YC-GA",
                    "户籍人口基本信息的提供方审批已于 2026-12-07（星期一）逾期，请立即办理。",
                    2,
                ),
                message(
                    "msg-mz-reminder",
                    "reminder",
                    "YC-MZ",
                    "婚姻登记信息的提供方审批将于 2026-12-07（星期一）到期，请及时办理。",
                    5,
                ),
            ]
        )


async def test_messages_of_the_department_newest_first_marked_read_by_the_person(services):
    await store_messages(services)
    browser = services.portal.browser
    ga = hold(services, "ga")
    html = (await browser.get("/messages")).text
    assert re.search(r'<a href="/">首页</a></li>\s*<li><a href="/messages" aria-current="page"', html)
    assert '您有 <strong class="count">2</strong> 条未读' in html and "未读（2）" in html
    listed = rows(html, "message")
    assert len(listed) == 2 and "婚姻登记信息" not in html  # 民政局's is not 公安局's
    assert "逾期通报" in listed[0] and "到期提醒" in listed[1]  # newest first
    assert "还剩 1 个工作日" in listed[1] and "第二十九条" in listed[1] and "2026-12-07" in listed[1]
    assert 'href="/requests/req-YC-GA">查看「户籍人口基本信息」</a>' in listed[1]

    forged = await browser.post("/messages/msg-ga-reminder/read", data={"csrf": "wrong", "tab": "unread"})
    assert forged.status_code == 403
    marked = await browser.post("/messages/msg-ga-reminder/read", data={"csrf": ga.csrf, "tab": "unread", "page": "1"})
    assert marked.headers["Location"] == "/messages?tab=unread&notice=read"
    html = await follow(services, marked)
    assert "已标为已读。" in html and "未读（1）" in html
    (only,) = rows(html, "message")
    assert "逾期通报" in only and "还剩 1 个工作日" not in only
    html = (await browser.get("/messages")).text
    reminder = rows(html, "message")[1]
    assert '<span class="muted">已读</span>' in reminder and "标为已读" not in reminder

    # 民政局 reads its own only, and cannot mark 公安局's; the head of 公安局 reads for herself.
    mz = hold(services, "mz")
    html = (await browser.get("/messages")).text
    assert [("婚姻登记信息" in r) for r in rows(html, "message")] == [True]
    refused = await browser.post("/messages/msg-ga-overdue/read", data={"csrf": mz.csrf})
    assert refused.status_code == 404 and "不存在" in refused.text
    hold(services, "ga_head")
    assert "未读（2）" in (await browser.get("/messages", params={"tab": "unread"})).text
    hold(services, "bureau")
    assert len(rows((await browser.get("/messages")).text, "message")) == 3  # every message is copied to it
    hold(services, "citizen")
    assert (await browser.get("/messages")).status_code == 403


async def test_subscription_form_the_delivery_log_redelivery_and_disabling(services):
    browser, clock = services.portal.browser, services.portal.clock
    ga = hold(services, "ga")
    html = (await browser.get("/subscriptions/new")).text
    assert '<label for="url">接收地址（URL）</label>' in html and "<legend>事件类型</legend>" in html
    assert '<label for="secret">签名密钥</label>' in html and 'type="password"' in html and "不再显示" in html
    assert "<legend>数据共享（申请、授权、异议）</legend>" in html and 'value="sharing.request.submitted"' in html
    assert "共享申请提交" in html and '<label for="events-sharing">全部数据共享事件</label>' in html

    secret = "ga-webhook-secret-0123456789"
    form = {"csrf": ga.csrf, "events": ["sharing.*", "verification.request.submitted"], "secret": secret}
    refused = await browser.post("/subscriptions/new", data={**form, "url": "http://10.0.0.1/hook"})
    assert refused.status_code == 422
    assert '<a href="#url">接收地址（URL）：' in refused.text and "outside_allowed_networks" in refused.text
    assert re.search(r'<p class="field-error" id="url-error">.*?回调地址不允许', refused.text, re.S)
    assert 'value="http://10.0.0.1/hook"' in refused.text and secret not in refused.text
    assert 'value="verification.request.submitted" checked' in refused.text
    short = await browser.post("/subscriptions/new", data={**form, "url": CLOSED_PORT, "secret": "short"})
    assert short.status_code == 422 and 'id="secret-error"' in short.text

    html = await follow(services, await browser.post("/subscriptions/new", data={**form, "url": CLOSED_PORT}))
    assert "订阅已创建" in html
    (row,) = rows(html, "subscription")
    assert CLOSED_PORT in row and "全部数据共享事件" in row and "校核申请提交" in row and "推送中" in row
    log_link = re.search(r'href="(/subscriptions/[^"/]+/deliveries)"', row).group(1)

    # 民政局 sees none of 公安局's; the head of a department and citizens manage none.
    hold(services, "mz")
    assert rows((await browser.get("/subscriptions")).text, "subscription") == []
    assert (await browser.get(log_link)).status_code == 404
    hold(services, "ga_head")
    assert (await browser.get("/subscriptions")).status_code == 403

    # 民政局 files a request for 公安局's data: the consumer queues it for 公安局's system.
    submitted = new_event(
        "sharing.request.submitted",
        "req-1",
        {"request_id": "req-1", "requester_dept": "YC-MZ", "provider_dept": "YC-GA", "status": "provider_review"},
        version=1,
        actor="mz-system",
        dept="YC-MZ",
        source="sharing-svc",
        time=clock(),
    )
    async with services.service.state.db.session() as session:
        await BATCH_HANDLER(session, [submitted])
    ga = hold(services, "ga")
    html = (await browser.get(log_link)).text
    (delivery,) = rows(html, "delivery")
    assert "共享申请提交" in delivery and "待推送" in delivery and "尚未推送" in delivery
    assert "重新推送" not in delivery
    delivery_id = re.search(r"#(\d+)", delivery).group(1)
    redeliver = f"{log_link}/{delivery_id}/redeliver"
    waiting = await browser.post(redeliver, data={"csrf": ga.csrf})
    assert waiting.status_code == 409 and "正在等待投递" in waiting.text and "delivery_pending" in waiting.text

    # Its sender tries, fails (nothing listens), and after 24 hours of retries gives up.
    sender = WebhookSender(services.service, timeout=5.0)
    try:
        for _ in range(2):
            assert await sender.tick() == 1
            await sender.drain()
            clock.advance(hours=25)
    finally:
        await sender.close()
    ga = hold(services, "ga")
    html = (await browser.get(log_link, params={"status": "failed"})).text
    (delivery,) = rows(html, "delivery")
    assert "推送失败" in delivery and "<td>2</td>" in delivery and "重新推送" in delivery
    assert re.search(r"Client\w*Error", delivery)  # the last attempt's error: the connection was refused

    html = await follow(services, await browser.post(redeliver, data={"csrf": ga.csrf, "status": "failed"}))
    assert "已安排重新推送" in html and "没有该状态的推送记录" in html  # back on 推送失败: it waits again
    (delivery,) = rows((await browser.get(log_link)).text, "delivery")
    assert "待推送" in delivery

    # 停用, confirmed first: what waits is cancelled.
    disable_link = f"{log_link.removesuffix('/deliveries')}/disable"
    confirm = (await browser.get(disable_link)).text
    assert "停用订阅" in confirm and CLOSED_PORT in confirm and 'class="button button-danger"' in confirm
    html = await follow(services, await browser.post(disable_link, data={"csrf": ga.csrf}))
    assert "订阅已停用" in html and "已停用" in rows(html, "subscription")[0]
    (delivery,) = rows((await browser.get(log_link)).text, "delivery")
    assert "已取消" in delivery
