"""Access records (第三十二条): a batch of the gateway's per-call records is kept once per record, chained as one
summary with its digest, served by GET /access to those who may see it, checked by /verify, and pruned whole
batches at a time after the retention period."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from audit_svc.access_records import prune

GA, MZ, RS = "YC-GA", "YC-MZ", "YC-RS"


def call(n: int, *, time, grant: str = "g-1", holder: str = MZ, provider: str = GA, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"call-{n:04d}-{uuid.uuid4().hex[:6]}",
        "time": time.isoformat(),
        "grant_id": grant,
        "client_id": "mz-system",
        "system": "mz-dibao",
        "holder_dept": holder,
        "provider_dept": provider,
        "resource_id": "res-pop",
        "method": "GET",
        "path": f"/data/res-pop/persons/p{n}",
        "status": 200,
        "outcome": "ok",
        "records": 1,
        "bytes": 321,
        "duration_ms": 2.5,
        "request_id": f"req-{n}",
        **extra,
    }


def batch(audit, records: list[dict[str, Any]], **kw):
    return audit.event("access.records", "gw-a", {"gateway": "gw-a", "records": records}, actor="gateway", **kw)


@pytest.fixture
async def calls(audit):
    now = audit.NOW
    mz = [call(n, time=now - timedelta(minutes=n)) for n in range(5)]
    rs = [call(10 + n, time=now - timedelta(minutes=30 + n), grant="g-2", holder=RS) for n in range(3)]
    refused = [call(20, time=now - timedelta(hours=2), grant=None, holder=None, provider=None, status=401,
                    outcome="missing_token", records=0, client_id=None, system=None)]  # fmt: skip
    await audit.append([batch(audit, mz + rs[:1]), batch(audit, rs[1:] + refused)])
    return audit, mz, rs, refused


@pytest.mark.backends("postgres", "sqlite")
async def test_a_batch_is_kept_record_by_record_and_chained_as_one_summary(calls):
    audit, mz, _rs, _refused = calls
    page = (await audit.get("/access", "auditor", size=100)).json()
    assert page["total"] == 9
    times = [item["time"] for item in page["items"]]
    assert times == sorted(times, reverse=True)  # newest first
    first = next(item for item in page["items"] if item["id"] == mz[0]["id"])
    assert {k: first[k] for k in ("grant_id", "client_id", "system", "holder_dept", "resource_id")} == {
        "grant_id": "g-1",
        "client_id": "mz-system",
        "system": "mz-dibao",
        "holder_dept": MZ,
        "resource_id": "res-pop",
    }
    assert (first["method"], first["status"], first["records"], first["bytes"]) == ("GET", 200, 1, 321)
    trail = (await audit.get("/events", "auditor", type="access.records")).json()
    assert trail["total"] == 2  # one chain record per batch, not per call
    summary = trail["items"][-1]["data"]
    assert summary["count"] == 6 and len(summary["digest"]) == 64 and "records" not in summary
    assert (await audit.get("/verify")).json()["ok"] is True


async def test_a_batch_sent_again_adds_no_record_twice(calls):
    audit, mz, _, _ = calls
    again = batch(audit, [*mz[:3], call(99, time=audit.NOW)])  # a gateway resending after a crash, plus one new
    await audit.append([again])
    await audit.append([again])  # the same event delivered twice
    page = (await audit.get("/access", "auditor", size=100)).json()
    assert page["total"] == 10 and len({item["id"] for item in page["items"]}) == 10
    summaries = (await audit.get("/events", "auditor", type="access.records")).json()["items"]
    assert [s["data"]["count"] for s in summaries] == [1, 3, 6]
    assert summaries[0]["data"]["duplicates"] == 3
    assert (await audit.get("/verify")).json()["ok"] is True


async def test_departments_see_their_own_calls_and_others_nothing(calls):
    audit, mz, _rs, _refused = calls
    as_provider = (await audit.get("/access", "ga", size=100)).json()
    assert as_provider["total"] == 8  # every call to its resource, by whichever holder
    as_holder = (await audit.get("/access", "mz", size=100)).json()
    assert {item["id"] for item in as_holder["items"]} == {c["id"] for c in mz}
    assert (await audit.get("/access", "rs-head", size=100)).json()["total"] == 3
    assert (await audit.get("/access", "scj")).json()["total"] == 0
    assert (await audit.get("/access", "bureau")).json()["total"] == 9
    for who in ("citizen", "company", "city"):
        response = await audit.get("/access", who)
        assert response.status_code == 403, who
        assert response.json()["code"] == "access_records_forbidden"


async def test_filters_and_pages(calls):
    audit, _mz, _rs, refused = calls
    assert (await audit.get("/access", grant_id="g-2")).json()["total"] == 3
    assert (await audit.get("/access", client_id="mz-system")).json()["total"] == 8
    assert (await audit.get("/access", resource_id="res-other")).json()["total"] == 0
    since = (audit.NOW - timedelta(minutes=3)).isoformat()
    assert (await audit.get("/access", **{"from": since})).json()["total"] == 4  # minutes 0..3
    until = (audit.NOW - timedelta(hours=1)).isoformat()
    assert [i["id"] for i in (await audit.get("/access", to=until)).json()["items"]] == [refused[0]["id"]]
    second = (await audit.get("/access", size=4, page=2)).json()
    assert second["total"] == 9 and len(second["items"]) == 4 and second["page"] == 2
    bad = await audit.get("/access", size=501)
    assert bad.status_code == 422


async def test_identifiers_in_recorded_paths_are_masked_again(audit):
    leaky = call(1, time=audit.NOW, path="/data/res-pop/persons?sfzh=410329198001010012")
    await audit.append([batch(audit, [leaky])])
    item = (await audit.get("/access")).json()["items"][0]
    assert "410329198001010012" not in item["path"] and item["path"].startswith("/data/res-pop/persons?sfzh=4103")


@pytest.mark.backends("postgres", "sqlite")
async def test_a_deleted_or_altered_access_record_breaks_verify(calls):
    audit, mz, _, _ = calls
    assert (await audit.get("/verify")).json()["ok"] is True
    await audit.tamper_access(f"UPDATE access_record SET records = 0 WHERE id = '{mz[2]['id']}'")
    result = (await audit.get("/verify")).json()
    assert result["ok"] is False
    assert result["first_broken"]["reason"] == "access_records_altered" and result["first_broken"]["seq"] == 1
    await audit.tamper_access(f"UPDATE access_record SET records = 1 WHERE id = '{mz[2]['id']}'")
    assert (await audit.get("/verify")).json()["ok"] is True
    await audit.tamper_access(f"DELETE FROM access_record WHERE id = '{mz[4]['id']}'")
    assert (await audit.get("/verify")).json()["first_broken"]["reason"] == "access_records_altered"


async def test_records_past_retention_are_pruned_whole_batches_and_verify_still_holds(audit):
    now = audit.NOW
    old = [call(n, time=now - timedelta(days=1200, minutes=n)) for n in range(3)]
    recent = [call(10 + n, time=now - timedelta(days=10, minutes=n)) for n in range(2)]
    await audit.append([batch(audit, old), batch(audit, recent)])
    async with audit.db.session() as session:
        assert await prune(session, now, 1096) == 3
        await session.commit()
    async with audit.db.session() as session:
        assert await prune(session, now, 1096) == 0  # nothing left to prune
    page = (await audit.get("/access")).json()
    assert {item["id"] for item in page["items"]} == {c["id"] for c in recent}
    assert (await audit.get("/verify")).json()["ok"] is True  # a pruned batch is not a tampered one


@pytest.mark.backends("postgres", "sqlite")
async def test_batches_of_one_transaction_are_kept_in_order_each_record_once(audit):
    """The batches of one fetch are stored one after the other (on Postgres while the next is read): a record
    another batch of the same fetch stored, or repeated within its own batch, is counted once."""
    now = audit.NOW
    first = [call(n, time=now - timedelta(minutes=n)) for n in range(3)]
    repeated = call(7, time=now)
    second = batch(audit, [*first[1:], repeated, repeated, {"id": "no-time"}])
    other = audit.event("grant.created", "g-9", {"grant_id": "g-9"})
    await audit.append([batch(audit, first), other, second])
    assert (await audit.get("/access", size=100)).json()["total"] == 4
    trail = (await audit.get("/events", "auditor", size=10)).json()["items"]
    assert [item["type"] for item in reversed(trail)] == ["access.records", "grant.created", "access.records"]
    summary = trail[0]["data"]
    assert (summary["count"], summary["duplicates"], summary["malformed"]) == (1, 3, 1)
    assert (await audit.get("/verify")).json()["ok"] is True


@pytest.mark.backends("postgres")
async def test_a_batch_the_database_refuses_leaves_no_record_of_its_transaction(audit):
    """A status past Postgres's integer: the second batch's insert fails while the first is stored in the same
    transaction, and the rollback takes both back; the connection serves the next transaction."""
    good = batch(audit, [call(1, time=audit.NOW)])
    refused = batch(audit, [call(2, time=audit.NOW, status=2**31)])
    with pytest.raises(Exception, match="out of range"):
        await audit.append([good, refused])
    assert (await audit.get("/access")).json()["total"] == 0
    assert (await audit.get("/events", "auditor")).json()["total"] == 0
    await audit.append([good])
    assert (await audit.get("/access")).json()["total"] == 1


@pytest.mark.backends("postgres", "sqlite")
async def test_a_nul_in_a_callers_path_does_not_cost_the_batch_its_records(audit):
    """The gateway records refused calls too, with the path as aiohttp decoded it: anyone's /data/x/%00 arrives
    with a NUL, which Postgres text cannot hold. The record is kept with the NUL replaced, and so is the rest."""
    others = [call(n, time=audit.NOW) for n in range(3)]
    probe = call(9, time=audit.NOW, path="/data/res-pop/\x00", request_id="req-\x00", status=401, records=0)
    await audit.append([batch(audit, [*others, probe])])
    items = {item["id"]: item for item in (await audit.get("/access", size=10)).json()["items"]}
    assert set(items) == {c["id"] for c in [*others, probe]}
    assert items[probe["id"]]["path"] == "/data/res-pop/\ufffd"
    assert (await audit.get("/verify")).json()["ok"] is True
