"""Responsibility list with refresh reports (采集责任清单), and the export (the demand list is in test_demands.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

# Timestamps come back from SQLite without their zone: the lists that compare and report them run on both.
both_backends = pytest.mark.backends("postgres", "sqlite")


def zulu(moment: datetime) -> str:
    """A UTC time as the response models write it."""
    return moment.isoformat().replace("+00:00", "Z")


@both_backends
async def test_responsibility_list_flags_data_late_for_its_update_cycle(catalog):
    daily = await catalog.publish("ga", catalog.POPULATION)  # update_cycle daily
    listing = await catalog.client.get("/api/catalog/departments/YC-GA/responsibilities", headers=catalog.as_("ga"))
    assert listing.json()["late_count"] == 0

    catalog.clock.advance(days=3)  # no refresh for three days: late for a daily resource
    late = (
        await catalog.client.get("/api/catalog/departments/YC-GA/responsibilities", headers=catalog.as_("bureau"))
    ).json()
    assert late["late_count"] == 1 and late["items"][0]["late"] is True

    report = await catalog.client.post(
        f"/api/catalog/resources/{daily['id']}/refreshes", json={"record_count": 812345}, headers=catalog.as_("ga")
    )
    assert report.status_code == 201
    refreshed = [e for e in await catalog.events(daily["id"]) if e["type"] == "catalog.resource.refreshed"]
    assert refreshed[-1]["data"]["late"] is True and refreshed[-1]["data"]["record_count"] == 812345
    ok = (await catalog.client.get("/api/catalog/departments/YC-GA/responsibilities", headers=catalog.as_("ga"))).json()
    assert ok["late_count"] == 0 and ok["items"][0]["last_refreshed_at"] is not None

    # The next refresh a day later is measured from the last report, not from publication: on time.
    catalog.clock.advance(days=1)
    again = await catalog.client.post(
        f"/api/catalog/resources/{daily['id']}/refreshes", json={}, headers=catalog.as_("ga")
    )
    assert again.status_code == 201 and again.json()["refreshed_at"] == zulu(catalog.clock())
    refreshed = [e for e in await catalog.events(daily["id"]) if e["type"] == "catalog.resource.refreshed"]
    assert refreshed[-1]["data"]["late"] is False
    listed = (
        await catalog.client.get("/api/catalog/departments/YC-GA/responsibilities", headers=catalog.as_("ga"))
    ).json()
    assert listed["items"][0]["last_refreshed_at"] == zulu(catalog.clock())
    assert listed["items"][0]["due_by"] == zulu(catalog.clock() + timedelta(days=2))

    assert (
        await catalog.client.get("/api/catalog/departments/YC-GA/responsibilities", headers=catalog.as_("mz"))
    ).status_code == 403
    foreign = await catalog.client.post(
        f"/api/catalog/resources/{daily['id']}/refreshes", json={}, headers=catalog.as_("mz")
    )
    assert foreign.status_code == 403


async def test_refresh_in_the_future_is_refused(catalog):
    resource = await catalog.publish("ga", catalog.POPULATION)
    future = (catalog.clock() + timedelta(hours=2)).isoformat()
    response = await catalog.client.post(
        f"/api/catalog/resources/{resource['id']}/refreshes", json={"refreshed_at": future}, headers=catalog.as_("ga")
    )
    assert response.status_code == 422 and response.json()["rule"] == "not_in_future"


@both_backends
async def test_export_is_incremental_and_never_carries_the_credential(catalog):
    first = await catalog.publish("ga", catalog.POPULATION)
    full = await catalog.client.get("/api/catalog/export", headers=catalog.as_("city"))
    assert full.status_code == 200
    body = full.json()
    assert [r["id"] for r in body["resources"]] == [first["id"]]
    assert "credential" not in full.text and "vault:" not in full.text

    catalog.clock.advance(minutes=5)
    second = await catalog.publish("mz", catalog.MARRIAGE)
    since = body["next_since"]
    incremental = (
        await catalog.client.get("/api/catalog/export", params={"since": since}, headers=catalog.as_("bureau"))
    ).json()
    assert [r["id"] for r in incremental["resources"]] == [second["id"]]
    assert incremental["next_since"] == catalog.clock().isoformat()
    assert incremental["resources"][0]["updated_at"] == catalog.clock().isoformat()
    # A `since` without a zone is UTC.
    naive = (
        await catalog.client.get(
            "/api/catalog/export", params={"since": since.removesuffix("+00:00")}, headers=catalog.as_("bureau")
        )
    ).json()
    assert [r["id"] for r in naive["resources"]] == [second["id"]] and naive["since"] == since

    catalog.clock.advance(minutes=5)
    await catalog.client.post(f"/api/catalog/resources/{first['id']}/retire", headers=catalog.as_("ga"))
    after_retire = (
        await catalog.client.get(
            "/api/catalog/export", params={"since": incremental["next_since"]}, headers=catalog.as_("city")
        )
    ).json()
    assert [(r["id"], r["status"]) for r in after_retire["resources"]] == [(first["id"], "retired")]

    jsonld = await catalog.client.get("/api/catalog/export", params={"format": "jsonld"}, headers=catalog.as_("city"))
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    graph = jsonld.json()["@graph"]
    assert graph[0]["@type"] == "dcat:Dataset" and graph[0]["dct:title"]["@value"] == "婚姻登记信息"

    assert (await catalog.client.get("/api/catalog/export", headers=catalog.as_("ga"))).status_code == 403


async def test_export_since_must_be_a_date_time(catalog):
    response = await catalog.client.get(
        "/api/catalog/export", params={"since": "last week"}, headers=catalog.as_("city")
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "since"
