"""第十九条 deadlines: one extension of at most 10 working days by the provider's head, resolution by the
provider, and overdue requests listed and emitted once (with an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from verification_svc.scheduled import check_overdue

EXTENSION = {"days": 5, "reason": "需调取2019年迁移档案核对"}


def shanghai_morning(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def test_the_providers_head_extends_once_from_the_old_deadline(verification):
    created = await verification.file("citizen")
    extended = await verification.post(f"/corrections/{created['id']}/extend", "ga-head", EXTENSION)
    assert extended.status_code == 200, extended.text
    body = extended.json()
    # Old deadline Thursday 12/10; 5 working days on: 12/11, 12/14, 12/15, 12/16, 12/17.
    assert body["status"] == "extended" and body["deadline"] == "2026-12-17"
    assert body["original_deadline"] == "2026-12-10"
    assert body["extension_days"] == 5 and body["extension_reason"] == EXTENSION["reason"]

    again = await verification.post(f"/corrections/{created['id']}/extend", "ga-head", {"days": 1, "reason": "再延"})
    assert again.status_code == 409
    assert again.json()["rule"] == "extend_once"


@pytest.mark.parametrize(("who", "status"), [("ga", 403), ("citizen", 403), ("rs-head", 404), ("bureau", 403)])
async def test_only_the_providers_dept_head_may_extend(verification, who, status):
    created = await verification.file("citizen")
    refused = await verification.post(f"/corrections/{created['id']}/extend", who, EXTENSION)
    assert refused.status_code == status, refused.text
    if status == 403:
        assert refused.json()["code"] == "provider_head_required"
    assert [e["type"] for e in await verification.events(created["id"])] == ["verification.request.submitted"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"days": 11, "reason": "案情复杂"}, "days"),
        ({"days": 0, "reason": "案情复杂"}, "days"),
        ({"days": 5}, "reason"),
        ({"days": 5, "reason": "   "}, "reason"),
    ],
)
async def test_an_extension_is_1_to_10_working_days_with_a_reason(verification, body, field):
    created = await verification.file("citizen")
    refused = await verification.post(f"/corrections/{created['id']}/extend", "ga-head", body)
    assert refused.status_code == 422
    assert refused.json()["field"] == field


async def test_ten_working_days_is_the_longest_extension(verification):
    created = await verification.file("citizen")
    extended = await verification.post(f"/corrections/{created['id']}/extend", "ga-head", {"days": 10, "reason": "x"})
    assert extended.status_code == 200
    assert extended.json()["deadline"] == "2026-12-24"


async def test_an_expired_period_cannot_be_extended_afterwards(verification):
    created = await verification.file("citizen")
    verification.clock.set(shanghai_morning(2026, 12, 11))
    refused = await verification.post(f"/corrections/{created['id']}/extend", "ga-head", EXTENSION)
    assert refused.status_code == 409 and refused.json()["code"] == "deadline_passed"


@pytest.mark.backends("postgres", "sqlite")  # the corrected values (JSON), dates and timestamps round-trip
async def test_the_provider_resolves_as_corrected_with_the_values(verification):
    created = await verification.file("citizen")
    verification.clock.set(shanghai_morning(2026, 12, 2))
    resolved = await verification.post(
        f"/corrections/{created['id']}/resolve",
        "ga",
        {"outcome": "corrected", "corrected_values": {"household_address": "伊川县城关镇人民路12号"}},
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["status"] == "resolved" and body["outcome"] == "corrected"
    assert body["corrected_values"] == {"household_address": "伊川县城关镇人民路12号"}
    assert body["resolved_on"] == "2026-12-02" and body["on_time"] is True
    assert body["working_days_taken"] == 4  # 11/27, 11/30, 12/1, 12/2
    assert (await verification.get(f"/corrections/{created['id']}", "ga")).json() == body

    again = await verification.post(
        f"/corrections/{created['id']}/resolve", "ga", {"outcome": "no_error", "note": "再次办结"}
    )
    assert again.status_code == 409 and again.json()["rule"] == "resolve_once"
    late_extension = await verification.post(f"/corrections/{created['id']}/extend", "ga-head", EXTENSION)
    assert late_extension.status_code == 409


async def test_no_error_needs_the_explanation_and_corrected_needs_the_values(verification):
    created = await verification.file("citizen")
    path = f"/corrections/{created['id']}/resolve"
    refused = await verification.post(path, "ga", {"outcome": "no_error"})
    assert refused.status_code == 422 and refused.json()["rule"] == "required_when_no_error"
    refused = await verification.post(path, "ga", {"outcome": "corrected"})
    assert refused.status_code == 422 and refused.json()["field"] == "corrected_values"
    refused = await verification.post(path, "ga", {"outcome": "corrected", "corrected_values": {"name": "李四"}})
    assert refused.status_code == 422 and refused.json()["field"] == "corrected_values.name"
    resolved = await verification.post(path, "ga", {"outcome": "no_error", "note": "经核对户籍档案，地址无误"})
    assert resolved.status_code == 200
    assert resolved.json()["note"] == "经核对户籍档案，地址无误"


async def test_only_the_provider_department_resolves(verification):
    created = await verification.file("rs", subject_id="11010519491231002X")
    # A citizen may never resolve: 403 before the request is looked up (issue 13, authorization first).
    for who, status in (("rs", 403), ("citizen", 403), ("bureau", 403), ("mz", 404)):
        refused = await verification.post(
            f"/corrections/{created['id']}/resolve", who, {"outcome": "no_error", "note": "无误"}
        )
        assert refused.status_code == status, who


@pytest.mark.backends("postgres", "sqlite")  # deadlines compared with today in SQL
async def test_overdue_is_detected_with_the_clock_and_emitted_once(verification):
    created = await verification.file("citizen")
    on_time = await verification.file("citizen", items=["name"], claimed_values={})
    await verification.post(f"/corrections/{on_time['id']}/extend", "ga-head", EXTENSION)

    verification.clock.set(shanghai_morning(2026, 12, 10))  # the last day: not yet overdue
    assert await check_overdue(verification.app) == 0
    assert (await verification.get("/overdue", "bureau")).json() == []

    verification.clock.set(shanghai_morning(2026, 12, 14))
    overdue = (await verification.get("/overdue", "bureau")).json()
    assert [(o["id"], o["deadline"], o["working_days_overdue"]) for o in overdue] == [
        (created["id"], "2026-12-10", 2)  # 12/11 and 12/14
    ]
    assert overdue[0]["subject_id"] == "3405**********001X"
    assert (await verification.get("/overdue", "ga")).json()[0]["subject_id"] == "34052419800101001X"
    assert (await verification.get("/overdue", "mz")).json() == []
    listed = (await verification.get("/corrections", "ga", overdue="true")).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]] and listed["items"][0]["overdue"] is True
    not_overdue = (await verification.get("/corrections", "ga", overdue="false")).json()
    assert [i["id"] for i in not_overdue["items"]] == [on_time["id"]]

    assert await check_overdue(verification.app) == 1
    assert await check_overdue(verification.app) == 0  # once
    verification.clock.set(shanghai_morning(2026, 12, 21))
    assert await check_overdue(verification.app) == 1  # the extended one, past 12/17
    assert await check_overdue(verification.app) == 0
    emitted = [e for e in await verification.events() if e["type"] == "verification.request.overdue"]
    assert [(e["subject"], e["data"]["deadline"], e["data"]["extended"]) for e in emitted] == [
        (created["id"], "2026-12-10", False),
        (on_time["id"], "2026-12-17", True),
    ]


async def test_a_resolution_after_the_deadline_is_late(verification):
    created = await verification.file("citizen")
    verification.clock.set(shanghai_morning(2026, 12, 15))
    resolved = await verification.post(
        f"/corrections/{created['id']}/resolve",
        "ga-head",
        {"outcome": "corrected", "corrected_values": {"household_address": "新地址"}},
    )
    body = resolved.json()
    assert body["on_time"] is False and body["working_days_taken"] == 13
    assert (await verification.get("/overdue", "bureau")).json() == []  # resolved requests are no longer open
    assert await check_overdue(verification.app) == 0
