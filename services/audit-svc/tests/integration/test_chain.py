"""The chain on Postgres and SQLite: each event stored once, append-only, and any tampering named by GET /verify
at the record where it happened. Appending and reading the chain take different paths on the two dialects (COPY
and raw driver pages on Postgres), and so do the append-only triggers: these tests run on both."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from govdata_shared.events import topic_for


def ten_events(audit):
    return [
        audit.event(
            "catalog.resource.submitted",
            f"res-{i}",
            {"resource_id": f"res-{i}", "provider_dept": "YC-GA", "name": f"资源{i}"},
            dept="YC-GA",
        )
        for i in range(1, 11)
    ]


@pytest.mark.backends("postgres", "sqlite")
async def test_the_same_event_given_to_the_batch_handler_twice_is_stored_once(audit):
    events = ten_events(audit)
    await audit.append([*events[:5], events[2]])  # repeated inside one batch
    await audit.append([*events[3:], events[0]])  # and again in later batches
    await audit.append(events)
    rows = await audit.rows()
    assert [r["event_id"] for r in rows] == [e.id for e in events]
    assert [r["seq"] for r in rows] == list(range(1, 11))
    assert (await audit.get("/verify")).json()["ok"] is True


@pytest.mark.broker
async def test_an_event_delivered_twice_through_the_broker_is_stored_once(audit):
    """Through the real broker and the service's own consumer: the copy is skipped, wherever it lands."""
    grant = f"grant-{uuid.uuid4().hex[:8]}"
    event = audit.event("access.usage", grant, {"grant_id": grant, "holder_dept": "YC-MZ", "calls": 3})
    sentinel = audit.event("access.usage", grant, {"grant_id": grant, "holder_dept": "YC-MZ", "calls": 1})
    producer = audit.app.state.producer
    for sent in (event, event, sentinel, event):
        await producer.send_and_wait(topic_for(sent.type), sent.to_json(), key=grant.encode())

    # The same key keeps all four on one partition, in order: once the sentinel is processed, both deliveries
    # before it were too; the copy behind it gets half a second more.
    async def processed() -> bool:
        async with audit.db.session() as session:
            query = sa.text("SELECT count(*) FROM processed_event WHERE event_id IN (:a, :b)")
            return (await session.execute(query, {"a": event.id, "b": sentinel.id})).scalar() == 2

    await audit.eventually(processed)
    await asyncio.sleep(0.5)
    ids = [r["event_id"] for r in await audit.rows()]
    assert ids.count(event.id) == 1 and ids.count(sentinel.id) == 1
    assert ids.index(event.id) < ids.index(sentinel.id)
    assert (await audit.get("/verify")).json()["ok"] is True


@pytest.mark.backends("postgres", "sqlite")
async def test_an_intact_chain_verifies_whole_and_by_range(audit):
    await audit.append(ten_events(audit))
    whole = (await audit.get("/verify")).json()
    assert whole["ok"] is True and whole["checked"] == 10 and whole["first_broken"] is None
    part = (await audit.get("/verify", from_seq=4, to_seq=7)).json()
    assert (part["ok"], part["checked"], part["from_seq"], part["to_seq"]) == (True, 4, 4, 7)
    async with audit.db.session() as session:
        stored = (await session.execute(sa.text("SELECT hash FROM audit_log WHERE seq = 7"))).scalar()
    assert part["last_hash"] == bytes(stored).hex()
    beyond = (await audit.get("/verify", from_seq=50)).json()
    assert (beyond["ok"], beyond["checked"], beyond["last_hash"]) == (True, 0, whole["last_hash"])


TAMPERING = {
    "edit the record's data": (
        ["UPDATE audit_log SET record = replace(record, '资源4', '资源X') WHERE seq = 4"],
        4,
        "hash_mismatch",
        4,
    ),
    "edit the record's department": (
        ['UPDATE audit_log SET record = replace(record, \'"dept":"YC-GA"\', \'"dept":"YC-MZ"\') WHERE seq = 4'],
        4,
        "hash_mismatch",
        4,
    ),
    "edit the first record": (
        ["UPDATE audit_log SET record = replace(record, '资源1', '资源X') WHERE seq = 1"],
        1,
        "hash_mismatch",
        1,
    ),
    "replace the stored hash": (
        ["UPDATE audit_log SET hash = (SELECT hash FROM audit_log WHERE seq = 2) WHERE seq = 4"],
        4,
        "hash_mismatch",
        4,
    ),
    "delete a record": (["DELETE FROM audit_log WHERE seq = 4"], 4, "missing", None),
    "delete the last record": (["DELETE FROM audit_log WHERE seq = 10"], 10, "missing", None),
    "swap two records": (
        [
            "UPDATE audit_log SET seq = -5 WHERE seq = 5",
            "UPDATE audit_log SET seq = 5 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = -5",
        ],
        4,
        "hash_mismatch",
        5,  # the record now standing at seq 4 is the fifth event
    ),
    "move a record to the end": (
        ["UPDATE audit_log SET seq = 11 WHERE seq = 4"],
        4,
        "missing",
        None,
    ),
}


@pytest.mark.backends("postgres", "sqlite")
@pytest.mark.parametrize("case", TAMPERING)
async def test_tampering_makes_verify_fail_at_exactly_that_record(audit, case):
    statements, seq, reason, event_number = TAMPERING[case]
    events = ten_events(audit)
    await audit.append(events)
    await audit.tamper(*statements)
    result = (await audit.get("/verify")).json()
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == seq and result["first_broken"]["reason"] == reason
    assert result["first_broken"]["event_id"] == (events[event_number - 1].id if event_number else None)
    assert result["checked"] == seq - 1
    # A range that ends before the tampering still verifies.
    if seq > 1:
        assert (await audit.get("/verify", to_seq=seq - 1)).json()["ok"] is True


@pytest.mark.backends("postgres", "sqlite")
async def test_rows_appended_behind_the_chain_head_are_named(audit):
    await audit.append(ten_events(audit))
    await audit.tamper(
        "INSERT INTO audit_log (seq, event_id, type, source, subject, time, received_at, record, hash) "
        "SELECT 11, 'forged', type, source, subject, time, received_at, record, hash FROM audit_log WHERE seq = 10"
    )
    broken = (await audit.get("/verify")).json()["first_broken"]
    assert (broken["seq"], broken["reason"]) == (11, "hash_mismatch")


@pytest.mark.backends("postgres", "sqlite")
async def test_log_rows_cannot_be_updated_or_deleted(audit):
    await audit.append(ten_events(audit))
    refused = [
        "UPDATE audit_log SET dept = 'YC-XX' WHERE seq = 3",
        "UPDATE audit_log SET record = '{}' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_chain_head",
    ]
    if audit.backend == "postgres":
        refused.append("TRUNCATE audit_log")
    for statement in refused:
        with pytest.raises(sa.exc.DBAPIError, match=r"append-only|cannot be deleted"):
            async with audit.db.session() as session:
                await session.execute(sa.text(statement))
    assert len(await audit.rows()) == 10
    assert (await audit.get("/verify")).json()["ok"] is True


@pytest.mark.backends("postgres", "sqlite")
async def test_concurrent_appenders_take_turns_and_never_fork_the_chain(audit):
    """Two writers (two replicas' consumers) appending at once: the head lock makes them take turns."""

    async def writer(name: str) -> None:
        for batch in range(5):
            events = [
                audit.event("access.usage", f"{name}-{batch}-{i}", {"grant_id": f"{name}-{batch}-{i}"})
                for i in range(20)
            ]
            await audit.append(events)  # a transaction of its own, as each consumer's

    await asyncio.gather(writer("a"), writer("b"))
    rows = await audit.rows()
    assert [r["seq"] for r in rows] == list(range(1, 201))
    result = (await audit.get("/verify")).json()
    assert result["ok"] is True and result["checked"] == 200
