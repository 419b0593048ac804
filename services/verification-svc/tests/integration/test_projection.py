"""The catalog as verification-svc knows it: a projection of catalog-svc's resource events, applied by aggregate
version (stale and repeated events change nothing), fed by the real broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from govdata_shared.contracts.catalog import (
    RESOURCE_REJECTED,
    RESOURCE_RETIRED,
    RESOURCE_SUBMITTED,
    RESOURCE_SUPERSEDED,
)
from govdata_shared.kafka import make_producer
from verification_svc.models import CatalogResource

POPULATION = "res-population"


async def projected(verification, resource_id: str) -> CatalogResource | None:
    async with verification.app.state.db.session() as session:
        return await session.get(CatalogResource, resource_id)


async def test_a_new_revision_changes_the_items_only_once_it_is_published(verification):
    event = verification.catalog_event
    new_items = [("name", "姓名"), ("household_address", "户籍地址"), ("photo", "照片")]
    await verification.apply(event(POPULATION, event_type=RESOURCE_SUBMITTED, version=3, revision=2, items=new_items))
    await verification.apply(event(POPULATION, event_type=RESOURCE_REJECTED, version=4, revision=2, items=new_items))
    refused = await verification.file("citizen", expect=422, items=["photo"], claimed_values={})
    assert refused["rule"] == "unknown_item"
    await verification.apply(event(POPULATION, event_type=RESOURCE_SUPERSEDED, version=5, revision=1))
    await verification.apply(event(POPULATION, version=6, revision=3, items=new_items, name="户籍人口信息"))
    row = await projected(verification, POPULATION)
    assert row.event_version == 6 and row.revision == 3 and row.name == "户籍人口信息"
    await verification.file("citizen", items=["photo"], claimed_values={})


async def test_stale_and_repeated_events_are_ignored(verification):
    retired = verification.catalog_event(POPULATION, event_type=RESOURCE_RETIRED, version=7, status="retired")
    await verification.apply(retired)
    await verification.apply(retired)
    await verification.apply(verification.catalog_event(POPULATION, version=5))  # older than the retirement
    row = await projected(verification, POPULATION)
    assert row.status == "retired" and row.event_version == 7
    refused = await verification.file("citizen", expect=409)
    assert refused["code"] == "resource_retired"


async def test_open_requests_keep_their_provider_when_the_catalog_changes(verification):
    created = await verification.file("citizen")
    await verification.apply(
        verification.catalog_event(POPULATION, event_type=RESOURCE_RETIRED, version=3, status="retired")
    )
    still = (await verification.get(f"/corrections/{created['id']}", "ga")).json()
    assert still["status"] == "open" and still["provider_dept"] == "YC-GA"
    resolved = await verification.post(
        f"/corrections/{created['id']}/resolve", "ga", {"outcome": "no_error", "note": "资源停用前已核实无误"}
    )
    assert resolved.status_code == 200


@pytest.mark.broker
async def test_a_resource_published_on_the_broker_becomes_correctable(verification):
    """Through the real broker: catalog-svc's event reaches the service's idempotent consumer."""
    resource_id = f"res-{uuid.uuid4().hex[:12]}"
    event = verification.catalog_event(POPULATION, version=2)
    event = event.model_copy(update={"subject": resource_id, "data": {**event.data, "resource_id": resource_id}})
    producer = make_producer(verification.app.state.settings)
    await producer.start()
    try:
        await producer.send_and_wait(event.topic, event.to_json(), key=resource_id.encode())
    finally:
        await producer.stop()
    for _ in range(300):
        if await projected(verification, resource_id) is not None:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the catalog event never reached verification-svc")
    created = await verification.file("citizen", resource_id=resource_id)
    assert created["provider_dept"] == "YC-GA"
