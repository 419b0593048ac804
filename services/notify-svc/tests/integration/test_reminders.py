"""A conditional request's provider decision (第二十九条, 5 working days) as notify-svc follows it: in the provider's
待办 until decided, reminded once one working day before its deadline (the Friday before a Monday deadline, not
over the weekend), reported once when it passes, each message to the provider department and copied to the
bureau, each announced by an event."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_shared.testing import write_routes

THURSDAY, FRIDAY, SATURDAY, SUNDAY = date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)
DEADLINE, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)  # Monday, and the day after it
TITLE = "共享申请「户籍人口基本信息」的提供方审批"


@pytest.mark.backends("postgres", "sqlite")
async def test_conditional_request_is_reminded_the_working_day_before_and_reported_once_overdue(notify):
    request = notify.conditional_request()
    await notify.apply(notify.resource_event(), notify.submitted(request))

    (item,) = await notify.todo("ga")
    assert item == item | {
        "kind": "provider_review",
        "id": "req-1",
        "title": TITLE,
        "deadline": DEADLINE.isoformat(),
        "working_days_left": 5,
        "overdue": False,
        "link": "/requests/req-1",
        "article": "第二十九条",
        "dept": "YC-GA",
    }

    await notify.check(THURSDAY)  # two working days left (Friday, Monday): not yet
    assert (await notify.messages("ga"))["items"] == []

    await notify.check(FRIDAY)
    (reminder,) = (await notify.messages("ga"))["items"]
    assert reminder["kind"] == "reminder" and reminder["kind_label"] == "到期提醒"
    assert f"{TITLE}将于 2026-12-07（星期一）到期（第二十九条）" in reminder["body"]
    assert "还剩 1 个工作日" in reminder["body"]
    assert (reminder["dept"], reminder["copied_to"], reminder["link"]) == ("YC-GA", ["YC-ZSJ"], "/requests/req-1")

    for day in (FRIDAY, SATURDAY, SUNDAY, DEADLINE):  # once only; the weekend and the day itself add nothing
        await notify.check(day)
    assert [m["kind"] for m in (await notify.messages("ga"))["items"]] == ["reminder"]
    (item,) = await notify.todo("ga")
    assert (item["working_days_left"], item["overdue"]) == (0, False)

    await notify.check(TUESDAY)
    await notify.check(TUESDAY)
    page = await notify.messages("ga")
    assert [m["kind"] for m in page["items"]] == ["overdue", "reminder"]
    report = page["items"][0]
    assert report["subject"] == f"逾期通报：{TITLE}"
    assert "已于 2026-12-07（星期一）到期（第二十九条），已逾期 1 个工作日" in report["body"]
    (item,) = await notify.todo("ga")
    assert (item["working_days_left"], item["overdue"]) == (-1, True)

    # The head of the provider department reads the same messages; the bureau reads its copies.
    assert (await notify.messages("ga-head"))["total"] == 2
    assert {m["id"] for m in (await notify.messages("bureau"))["items"]} == {m["id"] for m in page["items"]}

    notices = await notify.notices()
    assert [(n["type"], n["dept"], n["subject"]) for n in notices] == [
        ("notify.reminder.sent", "YC-GA", "req-1"),
        ("notify.overdue.notified", "YC-GA", "req-1"),
    ]
    reminded = notices[0]["data"]
    assert (reminded["deadline"], reminded["working_days_left"], reminded["article"]) == ("2026-12-07", 1, "第二十九条")
    assert notices[1]["data"]["working_days_left"] == -1 and notices[1]["data"]["copied_to"] == ["YC-ZSJ"]

    # Decided: gone from the provider's 待办; the platform's delivery now waits for the bureau.
    await notify.apply(notify.provider_approved(request, notify.morning(TUESDAY)))
    assert await notify.todo("ga") == []
    (delivery,) = await notify.todo("bureau")
    assert (delivery["kind"], delivery["article"], delivery["deadline"]) == ("delivery", "第二十九条", "2026-12-11")


async def test_another_department_sees_neither_the_step_nor_its_messages(notify):
    """民政 filed the request: the provider's decision does not wait for it, and the messages are not its own —
    an empty list, not a 403; marking one of them read is a 404, as for one that does not exist."""
    await notify.apply(notify.resource_event(), notify.submitted(notify.conditional_request()))
    await notify.check(FRIDAY)
    (reminder,) = (await notify.messages("ga"))["items"]

    assert await notify.todo("mz") == []
    assert (await notify.messages("mz"))["items"] == []
    refused = await notify.post(f"/messages/{reminder['id']}/read", "mz")
    assert refused.status_code == 404 and refused.json()["code"] == "message_not_found"
    for nobody in ("citizen", "auditor", "ga-head"):  # the head does not decide a provider review
        assert await notify.todo(nobody) == []


async def test_each_person_reads_for_themselves(notify):
    await notify.apply(notify.resource_event(), notify.submitted(notify.conditional_request()))
    await notify.check(FRIDAY)
    (reminder,) = (await notify.messages("ga", unread=True))["items"]

    read = await notify.post(f"/messages/{reminder['id']}/read", "ga")
    assert read.status_code == 200 and read.json()["read"] is True
    again = await notify.post(f"/messages/{reminder['id']}/read", "ga")
    assert again.status_code == 200

    mine = await notify.messages("ga", unread=True)
    assert (mine["items"], mine["unread"], mine["total"]) == ([], 0, 0)
    assert [m["read"] for m in (await notify.messages("ga", unread=False))["items"]] == [True]
    head = await notify.messages("ga-head", unread=True)
    assert (head["unread"], [m["read"] for m in head["items"]]) == (1, [False])


async def test_reminder_period_is_configured_per_step_kind(start_notify):
    """NOTIFY_REMIND_WORKING_DAYS='{"provider_review": 2}': two working days before, on the Thursday."""
    notify = await start_notify(notify_remind_working_days={"provider_review": 2})
    await notify.apply(notify.resource_event(), notify.submitted(notify.conditional_request()))

    await notify.check(date(2026, 12, 2))
    assert (await notify.messages("ga"))["items"] == []
    await notify.check(THURSDAY)
    (reminder,) = (await notify.messages("ga"))["items"]
    assert "还剩 2 个工作日" in reminder["body"]


async def test_bad_query_and_missing_token_are_refused(notify):
    """The message route is anyone's (what it touches is the caller's own read state): no role gate, but no
    token is a 401 before the body or the message is looked at. The webhook routes have theirs (test_webhooks)."""
    assert write_routes(notify.app) == {
        ("POST", "/api/notify/messages/{message_id}/read"),
        ("POST", "/api/notify/subscriptions"),
        ("POST", "/api/notify/subscriptions/{subscription_id}/disable"),
        ("POST", "/api/notify/deliveries/{delivery_id}/redeliver"),
    }
    garbage = await notify.client.post(
        "/api/notify/messages/msg-none/read", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 401
    missing = await notify.post("/messages/msg-none/read", "bureau")
    assert missing.status_code == 404 and missing.json()["code"] == "message_not_found"
    bad = await notify.get("/messages", "ga", unread="perhaps")
    assert bad.status_code == 422
    assert {(e["field"], e["rule"]) for e in bad.json()["errors"]} == {("unread", "bool_parsing")}
    too_big = await notify.get("/messages", "ga", size=1000)
    assert too_big.status_code == 422 and too_big.json()["field"] == "size"
    anonymous = await notify.client.get("/api/notify/todo")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
