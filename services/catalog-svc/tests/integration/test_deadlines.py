"""第十四条 deadlines on real 2026 dates: 10 working days to submit an update after a recorded change, 5 for the
bureau's review; overdue items are listed and emitted once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from catalog_svc.scheduled import check_overdue

# The overdue queries compare stored dates with today's: SQLite keeps dates as text, so they run on both.
both_backends = pytest.mark.backends("postgres", "sqlite")


async def _trigger(catalog, who="ga", **fields):
    response = await catalog.client.post("/api/catalog/triggers", json=fields, headers=catalog.as_(who))
    assert response.status_code == 201, response.text
    return response.json()


async def test_update_deadline_skips_the_national_day_holiday(catalog):
    # Law changed Monday 2026-09-28. Working days after it: 9/29, 9/30, (10/1–10/7 holiday), 10/8, 10/9,
    # 10/10 (make-up Saturday), 10/12, 10/13, 10/14, 10/15, 10/16 → the 10th is Friday 2026-10-16.
    trigger = await _trigger(
        catalog, kind="law_changed", occurred_on="2026-09-28", description="《社会救助暂行办法》修订"
    )
    assert trigger["submit_deadline"] == "2026-10-16"
    assert trigger["submit_deadline_estimated"] is False


async def test_a_december_change_reaches_into_2027_and_is_flagged_estimated(catalog):
    catalog.clock.set(datetime(2026, 12, 24, 3, 0, tzinfo=UTC))
    trigger = await _trigger(catalog, kind="duties_changed", occurred_on="2026-12-24", description="机构改革职能划转")
    # 12/25, 12/28, 12/29, 12/30, 12/31, (2027-01-01 never a workday), 1/4, 1/5, 1/6, 1/7, 1/8
    assert trigger["submit_deadline"] == "2027-01-08"
    assert trigger["submit_deadline_estimated"] is True


async def test_trigger_in_the_future_is_refused(catalog):
    response = await catalog.client.post(
        "/api/catalog/triggers",
        json={"kind": "law_changed", "occurred_on": "2026-12-01", "description": "x"},
        headers=catalog.as_("ga"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "not_in_future"


@both_backends
async def test_unanswered_trigger_becomes_overdue_and_is_emitted_once(catalog):
    trigger = await _trigger(catalog, kind="law_changed", occurred_on="2026-11-02", description="法规修订")
    assert trigger["submit_deadline"] == "2026-11-16"
    overdue = await catalog.client.get("/api/catalog/overdue", headers=catalog.as_("bureau"))
    assert [(o["kind"], o["trigger_id"]) for o in overdue.json()] == [("update_submission", trigger["id"])]
    assert overdue.json()[0]["days_overdue"] == 8  # 11/17..11/26 working days

    assert await check_overdue(catalog.app) == 1
    assert await check_overdue(catalog.app) == 0  # once
    events = [e for e in await catalog.events(trigger["id"]) if e["type"] == "catalog.update.overdue"]
    assert len(events) == 1 and events[0]["data"]["submit_deadline"] == "2026-11-16"

    # Other departments don't see YC-GA's overdue items; YC-GA does.
    assert (await catalog.client.get("/api/catalog/overdue", headers=catalog.as_("mz"))).json() == []
    assert len((await catalog.client.get("/api/catalog/overdue", headers=catalog.as_("ga"))).json()) == 1


@both_backends
async def test_submission_answers_the_trigger_and_starts_the_bureaus_five_days(catalog):
    resource = await catalog.publish("ga", catalog.POPULATION)
    await _trigger(
        catalog,
        kind="law_changed",
        occurred_on="2026-11-20",
        description="户籍管理规定修订",
        resource_id=resource["id"],
    )
    await catalog.client.post(
        f"/api/catalog/resources/{resource['id']}/revisions",
        json={"summary": "新增字段说明。"},
        headers=catalog.as_("ga"),
    )
    await catalog.client.post(f"/api/catalog/resources/{resource['id']}/submit", headers=catalog.as_("ga"))
    listed = (await catalog.client.get("/api/catalog/triggers", headers=catalog.as_("ga"))).json()
    assert listed[0]["submitted_version"] == 2 and listed[0]["review_deadline"] == "2026-12-03"

    # The bureau lets it lie: on Friday 2026-12-04 both the revision review and the trigger review are overdue.
    catalog.clock.set(datetime(2026, 12, 4, 2, 0, tzinfo=UTC))
    kinds = sorted(
        o["kind"] for o in (await catalog.client.get("/api/catalog/overdue", headers=catalog.as_("bureau"))).json()
    )
    assert kinds == ["resource_review", "update_review"]
    # Both reviews, and the daily data not refreshed in the eight days since it was published (第十三条).
    assert await check_overdue(catalog.app) == 3
    review_overdue = [e for e in await catalog.events() if e["type"] == "catalog.review.overdue"]
    assert {e["data"]["deadline"] for e in review_overdue} == {"2026-12-03"}

    await catalog.client.post(
        f"/api/catalog/resources/{resource['id']}/review", json={"decision": "approve"}, headers=catalog.as_("bureau")
    )
    assert (await catalog.client.get("/api/catalog/overdue", headers=catalog.as_("bureau"))).json() == []
    published = [e for e in await catalog.events(resource["id"]) if e["type"] == "catalog.resource.published"]
    assert published[-1]["data"]["reviewed_on_time"] is False
    assert published[-1]["data"]["reviewed_by_dept"] == "YC-ZSJ"


@both_backends
async def test_data_never_refreshed_is_announced_late_once_per_missed_due_date(catalog):
    """第十三条: a department that never reports a refresh is late, not clean. The daily resource published now is
    due within two days; past that, one catalog.refresh.overdue, however often the watcher runs; a late refresh
    then names the same due date, so the two count as one lateness."""
    resource = await catalog.publish("ga", catalog.POPULATION)  # update_cycle daily
    assert await check_overdue(catalog.app) == 0  # not due yet
    catalog.clock.advance(days=3)
    assert await check_overdue(catalog.app) == 1
    assert await check_overdue(catalog.app) == 0  # once
    (overdue,) = [e for e in await catalog.events(resource["id"]) if e["type"] == "catalog.refresh.overdue"]
    assert overdue["data"]["provider_dept"] == "YC-GA" and overdue["data"]["last_refreshed_at"] is None
    assert overdue["dept"] == "YC-GA"

    refreshed = await catalog.client.post(
        f"/api/catalog/resources/{resource['id']}/refreshes", json={}, headers=catalog.as_("ga")
    )
    assert refreshed.status_code == 201, refreshed.text
    (report,) = [e for e in await catalog.events(resource["id"]) if e["type"] == "catalog.resource.refreshed"]
    assert report["data"]["late"] is True and report["data"]["due_by"] == overdue["data"]["due_by"]
    catalog.clock.advance(days=1)
    assert await check_overdue(catalog.app) == 0  # refreshed a day ago: due again tomorrow
    catalog.clock.advance(days=2)
    assert await check_overdue(catalog.app) == 1  # and missed again


async def _submit_revision(catalog, resource_id: str, who: str = "ga") -> None:
    revised = await catalog.client.post(
        f"/api/catalog/resources/{resource_id}/revisions", json={"summary": "按新规定修订。"}, headers=catalog.as_(who)
    )
    assert revised.status_code == 201, revised.text
    submitted = await catalog.client.post(f"/api/catalog/resources/{resource_id}/submit", headers=catalog.as_(who))
    assert submitted.status_code == 200, submitted.text


@both_backends
async def test_the_bureau_records_a_trigger_for_a_department_answered_when_each_named_resource_is_submitted(catalog):
    """第十四条: the bureau records that 公安局's duties changed on 2026-09-28, touching two of its resources; the
    ten working days run across National Day to 2026-10-16; submitting one resource does not answer it, the
    second does, and the bureau's five days start then."""
    population = await catalog.publish("ga", catalog.POPULATION)
    other = await catalog.publish("ga", catalog.POPULATION, code="101001/000002", name="户籍迁移信息")
    marriage = await catalog.publish("mz", catalog.MARRIAGE)
    fields = {"kind": "duties_changed", "occurred_on": "2026-09-28", "description": "职能调整：户籍管理"}

    no_dept = await catalog.client.post("/api/catalog/triggers", json=fields, headers=catalog.as_("bureau"))
    assert no_dept.status_code == 422 and no_dept.json()["errors"][0]["rule"] == "required_for_bureau"
    not_theirs = await catalog.client.post(
        "/api/catalog/triggers",
        json=fields | {"dept": "YC-GA", "resource_ids": [population["id"], marriage["id"]]},
        headers=catalog.as_("bureau"),
    )
    assert not_theirs.status_code == 422
    assert [(e["field"], e["rule"]) for e in not_theirs.json()["errors"]] == [
        ("resource_ids[1]", "resource_of_department")
    ]
    for_another = await catalog.client.post(
        "/api/catalog/triggers", json=fields | {"dept": "YC-MZ"}, headers=catalog.as_("ga")
    )
    assert for_another.status_code == 422 and for_another.json()["errors"][0]["rule"] == "own_department"
    refused = await catalog.client.post("/api/catalog/triggers", json=fields, headers=catalog.as_("citizen"))
    assert refused.status_code == 403

    trigger = await _trigger(catalog, "bureau", **fields, dept="YC-GA", resource_ids=[population["id"], other["id"]])
    assert (trigger["dept"], trigger["recorded_by"], trigger["submit_deadline"]) == ("YC-GA", "bureau", "2026-10-16")

    await _submit_revision(catalog, population["id"])
    (held,) = (await catalog.client.get("/api/catalog/triggers", headers=catalog.as_("ga"))).json()
    assert held["submitted_at"] is None and held["answered_ids"] == [population["id"]]
    await _submit_revision(catalog, other["id"])
    (held,) = (await catalog.client.get("/api/catalog/triggers", headers=catalog.as_("ga"))).json()
    assert held["submitted_at"] is not None and held["review_deadline"] == "2026-12-03"  # 5 working days


async def test_a_department_wide_trigger_is_not_answered_by_revising_another_resource(catalog):
    """第十四条: a change of duties naming no resource is answered by registering the new resource it calls for,
    not by any submission that happens to come next."""
    population = await catalog.publish("ga", catalog.POPULATION)
    trigger = await _trigger(catalog, kind="duties_changed", occurred_on="2026-11-20", description="新增户籍职能")
    await _submit_revision(catalog, population["id"])
    (held,) = (await catalog.client.get("/api/catalog/triggers", headers=catalog.as_("ga"))).json()
    assert held["id"] == trigger["id"] and held["submitted_at"] is None
    created = await catalog.create("ga", catalog.POPULATION, code="101001/000009", name="户籍新增业务信息")
    submitted = await catalog.client.post(f"/api/catalog/resources/{created['id']}/submit", headers=catalog.as_("ga"))
    assert submitted.status_code == 200, submitted.text
    (held,) = (await catalog.client.get("/api/catalog/triggers", headers=catalog.as_("ga"))).json()
    assert held["submitted_at"] is not None and held["resource_id"] == created["id"]
