"""Contract of the events catalog-svc publishes: every transition, with what its consumers need."""

from __future__ import annotations

from catalog_svc.events import ResourceEventData
from govdata_shared.contracts import EVENT_CONTRACTS
from govdata_shared.events import Event


async def test_every_transition_is_an_event_with_a_growing_aggregate_version(catalog):
    resource = await catalog.publish("ga", catalog.POPULATION)
    rid = resource["id"]
    await catalog.client.post(
        f"/api/catalog/resources/{rid}/revisions", json={"name": "户籍人口信息"}, headers=catalog.as_("ga")
    )
    await catalog.client.post(f"/api/catalog/resources/{rid}/submit", headers=catalog.as_("ga"))
    await catalog.client.post(
        f"/api/catalog/resources/{rid}/review", json={"decision": "approve"}, headers=catalog.as_("bureau")
    )
    await catalog.client.post(
        f"/api/catalog/resources/{rid}/retire", json={"reason": "停用"}, headers=catalog.as_("ga")
    )
    events = await catalog.events(rid)
    assert [(e["type"], e["data"]["revision"]) for e in events] == [
        ("catalog.resource.submitted", 1),
        ("catalog.resource.published", 1),
        ("catalog.resource.submitted", 2),
        ("catalog.resource.superseded", 1),
        ("catalog.resource.published", 2),
        ("catalog.resource.retired", 2),
    ]
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    for raw in events:
        event = Event.model_validate(raw)
        assert event.subject == rid and event.dept == "YC-GA" and event.source == "/govdata/catalog-svc"
        EVENT_CONTRACTS[event.type].model_validate(event.data)


async def test_published_event_carries_interface_items_and_provider_for_consumers(catalog):
    resource = await catalog.publish("ga", catalog.POPULATION)
    published = next(e for e in await catalog.events(resource["id"]) if e["type"] == "catalog.resource.published")
    data = ResourceEventData.model_validate(published["data"])
    assert data.provider_dept == "YC-GA" and data.sharing_type == "unconditional"
    assert [i.code for i in data.items] == ["id_number", "name", "gender", "birth_date", "household_address"]
    assert data.items[0].authoritative is True
    assert data.interface is not None
    assert data.interface.path_prefixes == ["/records"] and data.interface.methods == ["GET"]
    assert data.interface.rate_limit == 20
    # Where the provider's system is, and its credential reference, never travel on the bus (every service and
    # the audit trail read it): the gateway reads them from catalog-svc.
    assert set(published["data"]["interface"]) == {"methods", "path_prefixes", "rate_limit"}
    assert "8900" not in str(published) and "vault:" not in str(published)
    assert data.reviewed_on_time is True and published["actor"] == "bureau"
    assert data.reviewed_by_dept == "YC-ZSJ"  # the review is the bureau's to keep, counted for it (第十四条)


async def test_rejected_event_carries_the_reason(catalog):
    draft = await catalog.create("mz", catalog.MARRIAGE)
    await catalog.client.post(f"/api/catalog/resources/{draft['id']}/submit", headers=catalog.as_("mz"))
    await catalog.client.post(
        f"/api/catalog/resources/{draft['id']}/review",
        json={"decision": "reject", "reason": "法律依据不充分"},
        headers=catalog.as_("bureau"),
    )
    rejected = [e for e in await catalog.events(draft["id"]) if e["type"] == "catalog.resource.rejected"]
    assert len(rejected) == 1 and rejected[0]["data"]["reason"] == "法律依据不充分"
    assert rejected[0]["data"]["status"] == "rejected"


async def test_drafts_and_refused_changes_emit_nothing(catalog):
    draft = await catalog.create("ga", catalog.POPULATION)
    await catalog.client.patch(f"/api/catalog/resources/{draft['id']}", json={"name": "改"}, headers=catalog.as_("mz"))
    assert await catalog.events(draft["id"]) == []
