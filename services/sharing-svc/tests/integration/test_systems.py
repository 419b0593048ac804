"""Requests name an application system (应用系统) of the requester's department, and the grant is that system's
(第二十九条: data is granted to a business system, not to a whole department). sharing-svc knows the systems
from the gateway's identity.system.* events, applied by aggregate version, never by asking the gateway."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from govdata_shared.contracts.identity import SYSTEM_UPDATED
from govdata_shared.kafka import make_producer
from sharing_svc.models import ApplicationSystem


async def projected(sharing, system_id: str) -> ApplicationSystem | None:
    async with sharing.app.state.db.session() as session:
        return await session.get(ApplicationSystem, system_id)


async def refused_system(sharing, system: str, who: str = "mz") -> dict:
    response = await sharing.post("/requests", who, sharing.request_body(who=who, system=system))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "unknown_system" and body["field"] == "system" and body["detail"], body
    assert response.headers["content-type"].startswith("application/problem+json")
    return body


async def test_the_grant_is_held_by_the_system_the_request_named(sharing):
    await sharing.identity(sharing.system_event("mz-yanglao", dept="YC-MZ", name="民政养老服务管理系统"))
    request = await sharing.request("mz", "res-pop", system="mz-yanglao")
    assert request["requester_system"] == "mz-yanglao"
    approved = (await sharing.post(f"/requests/{request['id']}/approve", "bureau")).json()
    grant = (await sharing.get(f"/grants/{approved['grant_id']}", "mz")).json()
    assert grant["holder_dept"] == "YC-MZ" and grant["holder_system"] == "mz-yanglao"
    # The gateway learns the holder system from the grant's event: it issues grant tokens to that system only.
    (created,) = await sharing.events(grant["id"])
    assert created["type"] == "sharing.grant.created" and created["data"]["holder_system"] == "mz-yanglao"


async def test_a_request_for_an_unknown_system_is_refused(sharing):
    body = await refused_system(sharing, "mz-nonexistent")
    assert body["rule"] == "registered_system_of_department"
    assert body["errors"] == [{"field": "system", "rule": "registered_system_of_department", "detail": body["detail"]}]
    # Free text, as requests named their systems before systems were registered, is no system either.
    await refused_system(sharing, "社会救助信息系统")
    assert await sharing.events() == []


async def test_another_departments_system_is_answered_like_an_unknown_one(sharing):
    foreign = await refused_system(sharing, sharing.SYSTEM_OF["rs"], who="mz")
    unknown = await refused_system(sharing, "rs-nonexistent", who="mz")
    assert foreign["rule"] == unknown["rule"] == "registered_system_of_department"
    assert foreign["detail"] == f"{sharing.SYSTEM_OF['rs']} 不是本部门已登记的应用系统"
    assert await sharing.events() == []


async def test_a_disabled_system_is_refused(sharing):
    retired = sharing.system_event("mz-old", dept="YC-MZ", name="民政旧版救助系统", version=4, disabled=True)
    await sharing.identity(retired)
    body = await refused_system(sharing, "mz-old")
    assert body["rule"] == "enabled_system" and "民政旧版救助系统" in body["detail"]
    assert await sharing.events() == []


async def test_system_events_apply_by_version_and_stale_or_repeated_ones_change_nothing(sharing):
    system = sharing.system_event
    await sharing.identity(system("mz-jiuzhu", dept="YC-MZ", name="社会救助系统"))
    await sharing.identity(system("mz-jiuzhu", dept="YC-MZ", name="社会救助综合管理系统", version=3, disabled=True))
    # An older change arriving late (two gateway relays may publish out of order) must not re-enable it.
    stale = system("mz-jiuzhu", dept="YC-MZ", name="社会救助系统", version=2, event_type=SYSTEM_UPDATED)
    await sharing.identity(stale)
    row = await projected(sharing, "mz-jiuzhu")
    assert (row.name, row.disabled, row.version) == ("社会救助综合管理系统", True, 3)
    assert (await refused_system(sharing, "mz-jiuzhu"))["rule"] == "enabled_system"

    enabled = system("mz-jiuzhu", dept="YC-MZ", name="社会救助综合管理系统", version=4)
    await sharing.identity(enabled)
    await sharing.identity(enabled)  # delivered twice
    row = await projected(sharing, "mz-jiuzhu")
    assert (row.disabled, row.version) == (False, 4)
    assert (await sharing.request("mz", "res-pop", system="mz-jiuzhu"))["requester_system"] == "mz-jiuzhu"


async def test_each_department_lists_only_its_own_enabled_systems(sharing):
    """GET /systems feeds the apply form's choice of 应用系统: a department's staff see their own enabled systems;
    another department's operator sees none of them, even when it asks for that department by name."""
    await sharing.identity(sharing.system_event("mz-yanglao", dept="YC-MZ", name="民政养老服务管理系统"))
    await sharing.identity(
        sharing.system_event("mz-old", dept="YC-MZ", name="民政旧版救助系统", version=2, disabled=True)
    )
    ours = [
        {"id": "mz-dibao", "dept": "YC-MZ", "name": "民政低保审批系统"},
        {"id": "mz-yanglao", "dept": "YC-MZ", "name": "民政养老服务管理系统"},
    ]
    assert (await sharing.get("/systems", "mz")).json() == ours
    assert (await sharing.get("/systems", "mz-head")).json() == ours
    assert (await sharing.get("/systems", "mz", dept="YC-RS")).json() == []

    # The attacker's side: 人社's operator sees its own system only, and nothing of 民政's when it asks for them.
    assert (await sharing.get("/systems", "rs")).json() == [
        {"id": "rs-shebao", "dept": "YC-RS", "name": "社会保险经办系统"}
    ]
    assert (await sharing.get("/systems", "rs", dept="YC-MZ")).json() == []

    every = (await sharing.get("/systems", "bureau")).json()
    assert [s["id"] for s in every] == ["ga-zonghe", "mz-dibao", "mz-yanglao", "rs-shebao", "scj-dengji"]
    assert (await sharing.get("/systems", "bureau", dept="YC-MZ")).json() == ours
    assert (await sharing.get("/systems", "auditor", dept="YC-GA")).json() == [
        {"id": "ga-zonghe", "dept": "YC-GA", "name": "公安综合业务系统"}
    ]
    for who in ("citizen", "city"):
        refused = await sharing.get("/systems", who)
        assert refused.status_code == 403 and refused.json()["code"] == "department_role_required", who


@pytest.mark.broker
async def test_a_system_registered_at_the_gateway_reaches_sharing_through_the_broker(sharing):
    """Through the real broker: the registry's event reaches the service's own idempotent consumer."""
    system_id = f"mz-{uuid.uuid4().hex[:10]}"
    await refused_system(sharing, system_id)
    event = sharing.system_event(system_id, dept="YC-MZ", name="民政低保审批系统（新）")
    producer = make_producer(sharing.app.state.settings)
    await producer.start()
    try:
        await producer.send_and_wait(event.topic, event.to_json(), key=event.subject.encode())
    finally:
        await producer.stop()
    for _ in range(300):
        if await projected(sharing, system_id) is not None:
            break
        await asyncio.sleep(0.1)
    assert (await sharing.request("mz", "res-pop", system=system_id))["requester_system"] == system_id
