"""Grants: the provider (and the bureau) suspends, resumes, terminates; expiry at valid_to; grants unused for
three months are listed and revoked; usage from the gateway moves last_used_at."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from govdata_shared.contracts import validated_data
from govdata_shared.events import new_event
from sharing_svc.events import apply_access_records
from sharing_svc.scheduled import run_checks


async def test_provider_suspends_with_a_reason_resumes_and_terminates(sharing):
    grant = await sharing.granted()
    no_reason = await sharing.post(f"/grants/{grant['id']}/suspend", "ga", {})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    suspended = await sharing.post(f"/grants/{grant['id']}/suspend", "ga", {"reason": "发现超范围调用"})
    assert suspended.json()["status"] == "suspended" and suspended.json()["status_reason"] == "发现超范围调用"
    resumed = await sharing.post(f"/grants/{grant['id']}/resume", "ga-head")
    assert resumed.json()["status"] == "active"
    terminated = await sharing.post(f"/grants/{grant['id']}/terminate", "bureau", {"reason": "系统停用"})
    assert terminated.json()["status"] == "terminated"
    again = await sharing.post(f"/grants/{grant['id']}/resume", "ga")
    assert again.status_code == 409 and again.json()["code"] == "invalid_grant_transition"
    types = [(e["type"], e["version"], e["data"]["status"]) for e in await sharing.events(grant["id"])]
    assert types == [
        ("sharing.grant.created", 1, "active"),
        ("sharing.grant.suspended", 2, "suspended"),
        ("sharing.grant.resumed", 3, "active"),
        ("sharing.grant.terminated", 4, "terminated"),
    ]


async def test_the_holder_and_strangers_cannot_change_a_grant(sharing):
    grant = await sharing.granted()
    holder = await sharing.post(f"/grants/{grant['id']}/suspend", "mz", {"reason": "x"})
    assert holder.status_code == 403 and holder.json()["code"] == "not_provider"
    assert holder.json()["detail"] == "只有提供方 YC-GA 或县政务服务和大数据管理局可以变更授权"
    auditor = await sharing.post(f"/grants/{grant['id']}/suspend", "auditor", {"reason": "x"})
    assert auditor.status_code == 403 and auditor.json()["code"] == "not_provider"
    stranger = await sharing.post(f"/grants/{grant['id']}/suspend", "rs", {"reason": "x"})
    assert stranger.status_code == 404 and stranger.json()["code"] == "grant_not_found"
    assert stranger.json()["detail"] == f"授权 {grant['id']} 不存在"
    assert (await sharing.get(f"/grants/{grant['id']}", "rs")).status_code == 404
    assert (await sharing.get(f"/grants/{grant['id']}", "auditor")).status_code == 200
    assert [e["type"] for e in await sharing.events(grant["id"])] == ["sharing.grant.created"]


async def test_grant_expires_after_valid_to(sharing):
    grant = await sharing.granted(valid_from="2026-11-26", valid_to="2026-12-31")
    sharing.clock.set(datetime(2026, 12, 31, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai: still the last day
    assert (await run_checks(sharing.app))["expired"] == 0
    sharing.clock.set(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 2027-01-01 in Shanghai
    assert (await run_checks(sharing.app))["expired"] == 1
    assert (await sharing.get(f"/grants/{grant['id']}", "mz")).json()["status"] == "expired"
    resume = await sharing.post(f"/grants/{grant['id']}/resume", "ga")
    assert resume.status_code == 409 and resume.json()["code"] == "invalid_grant_transition"
    assert resume.json()["detail"] == "授权当前状态为“已到期”，不能恢复" and resume.json()["status_now"] == "expired"
    expired = (await sharing.events(grant["id"]))[-1]
    assert (expired["type"], expired["actor"], expired["data"]["reason"]) == (
        "sharing.grant.expired",
        "system",
        "授权期满（第二十九条）",
    )


async def test_a_suspended_grant_past_its_period_cannot_be_resumed(sharing):
    grant = await sharing.granted(valid_from="2026-11-26", valid_to="2026-12-31")
    await sharing.post(f"/grants/{grant['id']}/suspend", "ga", {"reason": "风险排查"})
    sharing.clock.set(datetime(2027, 1, 1, 2, 0, tzinfo=UTC))  # before the periodic expiry has run
    resume = await sharing.post(f"/grants/{grant['id']}/resume", "ga")
    assert resume.status_code == 409 and resume.json()["code"] == "grant_past_period"
    assert (await sharing.get(f"/grants/{grant['id']}", "ga")).json()["status"] == "suspended"


@pytest.mark.backends("postgres", "sqlite")
async def test_unused_grants_are_listed_after_three_months_and_can_be_revoked(sharing):
    used = await sharing.granted("mz")
    idle = await sharing.granted("rs")
    seasonal = await sharing.granted("rs", items=["gender"], seasonal=True)
    sharing.clock.advance(days=60)
    await _usage(sharing, used, sharing.clock())
    sharing.clock.set(datetime(2027, 2, 26, 3, 0, tzinfo=UTC))  # three months and a day after creation
    listed = {g["id"] for g in (await sharing.get("/grants/inactive", "ga")).json()}
    assert listed == {idle["id"]}  # not the one used in January, not the seasonal one
    refused = await sharing.post(f"/grants/{used['id']}/revoke-inactive", "ga")
    assert refused.status_code == 409 and refused.json()["code"] == "grant_in_use"
    assert {g["id"] for g in (await sharing.get("/grants/inactive", "bureau")).json()} == {idle["id"]}
    assert (await sharing.get("/grants/inactive", "rs")).json() == []  # the holder is not the one to revoke
    citizen = await sharing.get("/grants/inactive", "citizen")
    assert citizen.status_code == 403 and citizen.json()["code"] == "department_role_required"
    holder = await sharing.post(f"/grants/{idle['id']}/revoke-inactive", "rs")
    assert holder.status_code == 403 and holder.json()["code"] == "not_provider"
    revoked = await sharing.post(f"/grants/{idle['id']}/revoke-inactive", "ga")
    assert revoked.json()["status"] == "revoked_inactive"
    assert revoked.json()["status_reason"] == "超过三个月未使用接口（第二十九条）"
    assert (await sharing.events(idle["id"]))[-1]["type"] == "sharing.grant.revoked_inactive"
    assert seasonal["seasonal"] is True
    again = await sharing.post(f"/grants/{idle['id']}/revoke-inactive", "ga")
    assert again.status_code == 409 and again.json()["code"] == "grant_in_use"


@pytest.mark.backends("postgres", "sqlite")
async def test_a_grant_counts_as_unused_only_once_three_months_have_fully_passed(sharing):
    grant = await sharing.granted("mz")  # created Thursday 2026-11-26 02:00 UTC
    sharing.clock.set(datetime(2027, 2, 26, 2, 0, tzinfo=UTC))  # exactly three months: not yet
    assert (await sharing.get("/grants/inactive", "ga")).json() == []
    refused = await sharing.post(f"/grants/{grant['id']}/revoke-inactive", "ga")
    assert refused.status_code == 409 and refused.json()["rule"] == "unused_three_months"
    sharing.clock.set(datetime(2027, 2, 26, 2, 0, 1, tzinfo=UTC))  # a second later
    assert [g["id"] for g in (await sharing.get("/grants/inactive", "ga")).json()] == [grant["id"]]
    await _usage(sharing, grant, datetime(2027, 2, 26, 1, 0, tzinfo=UTC))  # used an hour before the cut-off…
    sharing.clock.set(datetime(2027, 5, 26, 1, 0, tzinfo=UTC))  # …is unused exactly three months later: not yet
    assert (await sharing.get("/grants/inactive", "ga")).json() == []
    sharing.clock.set(datetime(2027, 5, 26, 1, 0, 0, 1000, tzinfo=UTC))
    assert [g["id"] for g in (await sharing.get("/grants/inactive", "ga")).json()] == [grant["id"]]


@pytest.mark.backends("postgres", "sqlite")
async def test_auto_revocation_policy_revokes_unused_grants(sharing):
    idle = await sharing.granted("rs")
    sharing.clock.set(datetime(2027, 3, 1, 3, 0, tzinfo=UTC))
    counts = await run_checks(sharing.app, auto_revoke=True)
    assert counts["revoked"] == 1
    assert (await sharing.get(f"/grants/{idle['id']}", "rs")).json()["status"] == "revoked_inactive"


async def _usage(sharing, grant: dict, at: datetime, outcome: str = "ok") -> None:
    """A batch of the gateway's access records: two calls under the grant, the later at `at`."""
    records = [
        {
            "id": uuid.uuid4().hex,
            "time": moment,
            "grant_id": grant["id"],
            "client_id": "mz-system",
            "holder_dept": grant["holder_dept"],
            "provider_dept": grant["provider_dept"],
            "resource_id": grant["resource_id"],
            "method": "GET",
            "path": "/data/x/persons",
            "status": 200 if outcome == "ok" else 403,
            "outcome": outcome,
        }
        for moment in (at - timedelta(seconds=5), at)
    ]
    data = {"gateway": "gw-test", "records": records}
    event = new_event(
        "access.records",
        "gw-test",
        validated_data("access.records", data),
        version=1,
        actor="gateway",
        dept=None,
        source="gateway",
    )
    async with sharing.app.state.db.session() as session:
        await apply_access_records(session, event)


@pytest.mark.backends("postgres", "sqlite")
async def test_usage_moves_last_used_at_and_marks_each_day_of_use_once(sharing):
    grant = await sharing.granted()
    first = sharing.clock() + timedelta(hours=1)
    await _usage(sharing, grant, first)
    await _usage(sharing, grant, first + timedelta(minutes=10))
    await _usage(sharing, grant, first - timedelta(minutes=10))  # late report of older calls: ignored
    await _usage(sharing, grant, first + timedelta(days=1))
    await _usage(sharing, grant, first + timedelta(days=2), outcome="rate_limited")  # refused calls are not use
    fetched = (await sharing.get(f"/grants/{grant['id']}", "mz")).json()
    assert fetched["last_used_at"] == (first + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    used = [e for e in await sharing.events(grant["id"]) if e["type"] == "sharing.grant.used"]
    assert len(used) == 2  # two days of use


async def test_grant_listing_is_scoped_to_parties(sharing):
    grant = await sharing.granted()
    assert [g["id"] for g in (await sharing.get("/grants", "ga")).json()] == [grant["id"]]
    assert (await sharing.get("/grants", "rs")).json() == []
    assert [g["id"] for g in (await sharing.get("/grants", "bureau", holder_dept="YC-MZ")).json()] == [grant["id"]]
    assert (await sharing.get("/grants", "bureau", status="suspended")).json() == []
    assert [g["id"] for g in (await sharing.get("/grants", "auditor", resource_id="res-pop")).json()] == [grant["id"]]
    assert (await sharing.get("/grants", "bureau", resource_id="res-marriage")).json() == []
    bad_status = await sharing.get("/grants", "bureau", status="paused")
    assert bad_status.status_code == 422 and bad_status.json()["field"] == "status"
    citizen = await sharing.get("/grants", "citizen")
    assert citizen.status_code == 403 and citizen.json()["code"] == "department_role_required"
