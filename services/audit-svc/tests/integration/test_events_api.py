"""GET /events: filters, pages, identifiers always masked, and only auditors and the bureau may read the trail.
The time filters compare stored timestamps, which SQLite keeps as text: that test runs on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from govdata_shared.events import topic_for

RESIDENT_ID = "410329198001010012"
CREDIT_CODE = "91410329MA46ABCD1X"


@pytest.fixture
async def trail(audit):
    now = audit.NOW
    events = [
        audit.event("catalog.resource.published", "res-1", {"resource_id": "res-1"}, dept="YC-GA", actor="bureau",
                    time=now - timedelta(days=3)),
        audit.event("sharing.grant.suspended", "g-1", {"grant_id": "g-1", "resource_id": "res-1"}, dept="YC-GA",
                    actor="ga-head", time=now - timedelta(days=2)),
        audit.event("access.usage", "g-1", {"grant_id": "g-1", "resource_id": "res-1"}, dept="YC-MZ",
                    actor="gateway", time=now - timedelta(days=1)),
        audit.event("access.usage", "g-2", {"grant_id": "g-2", "resource_id": "res-2"}, dept="YC-MZ",
                    actor="gateway", time=now),
    ]  # fmt: skip
    await audit.append(events)
    return audit, events


@pytest.mark.backends("postgres", "sqlite")
async def test_filters_combine_and_results_come_newest_first(trail):
    audit, events = trail
    page = (await audit.get("/events")).json()
    assert page["total"] == 4 and [e["event_id"] for e in page["items"]] == [e.id for e in reversed(events)]
    first = page["items"][-1]
    assert first["seq"] == 1 and first["type"] == "catalog.resource.published" and len(first["hash"]) == 64
    assert first["time"] == "2026-02-27T02:00:00.000000Z" and first["data"] == {"resource_id": "res-1"}

    async def ids(**params) -> list[str]:
        return [e["event_id"] for e in (await audit.get("/events", **params)).json()["items"]]

    assert await ids(type="access.usage") == [events[3].id, events[2].id]
    # unfiltered the total is the chain head's seq; filtered, a count of the matches
    assert (await audit.get("/events", type="access.usage")).json()["total"] == 2
    assert await ids(dept="YC-GA") == [events[1].id, events[0].id]
    assert await ids(resource_id="res-1", dept="YC-MZ") == [events[2].id]
    assert await ids(actor="ga-head") == [events[1].id]
    assert await ids(**{"from": "2026-02-28T02:00:00Z", "to": "2026-03-02T02:00:00Z"}) == [events[2].id, events[1].id]
    assert await ids(type="access.denied") == []


async def test_pages_split_the_matches(trail):
    audit, events = trail
    second = (await audit.get("/events", page=2, size=3)).json()
    assert (second["total"], second["page"], second["size"]) == (4, 2, 3)
    assert [e["event_id"] for e in second["items"]] == [events[0].id]
    bad = await audit.get("/events", size=1000)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "size"


@pytest.mark.broker
async def test_identifiers_stay_masked_even_when_an_event_carried_them_raw(audit):
    """A producer that forgot to mask: the event comes through the broker and the service's consumer."""
    raw = audit.event(
        "verification.request.submitted",
        f"cr-{uuid.uuid4().hex[:8]}",
        {
            "provider_dept": "YC-GA",
            "applicant_id": RESIDENT_ID,
            "note": f"申请人身份证号：\n{RESIDENT_ID}，单位统一社会信用代码 {CREDIT_CODE}",
        },
        dept="YC-GA",
        actor=RESIDENT_ID,  # a citizen's account named by its ID number
    )
    await audit.app.state.producer.send_and_wait(topic_for(raw.type), raw.to_json(), key=raw.subject.encode())

    async def stored() -> list[dict]:
        return [e for e in (await audit.get("/events", type=raw.type)).json()["items"] if e["event_id"] == raw.id]

    entry = (await audit.eventually(stored))[0]
    assert entry["data"]["applicant_id"] == "4103**********0012"
    assert entry["actor"] == "4103**********0012"
    assert "\n4103**********0012" in entry["data"]["note"] and "9141**********CD1X" in entry["data"]["note"]
    stored = "".join(r["record"] for r in await audit.rows())
    assert RESIDENT_ID not in stored and CREDIT_CODE not in stored
    assert (await audit.get("/verify")).json()["ok"] is True


@pytest.mark.parametrize("path", ["/events", "/verify", "/export", "/reports/annual"])
async def test_only_auditors_and_the_bureau_read_the_trail(audit, path):
    for who in ("ga", "ga-head", "citizen"):
        refused = await audit.get(path, who)
        assert refused.status_code == 403, (who, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "auditor_role_required"
        assert refused.json()["detail"] == "只有审计监督人员和县政务服务和大数据管理局可以查看审计日志"
    for who in ("auditor", "bureau"):
        assert (await audit.get(path, who)).status_code == 200
    assert (await audit.client.get(f"/api/audit{path}")).status_code == 401
