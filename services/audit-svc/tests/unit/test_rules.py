"""The audit trail's rules as plain functions: canonical JSON, the chain check, masking, times."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import orjson
import pytest
from audit_svc.domain import (
    GENESIS_HASH,
    BreakReason,
    ChainCheck,
    as_utc,
    audit_record,
    canonical_json,
    chain_hash,
    needs_masking,
    utc_text,
)
from govdata_shared.events import Event
from govdata_shared.identifiers import mask_in_obj

RESIDENT_ID = "410329198001010012"
CREDIT_CODE = "91410329MA46ABCD1X"


def chain(records: list[bytes]) -> list[tuple[int, bytes, bytes]]:
    rows, prev = [], GENESIS_HASH
    for seq, record in enumerate(records, start=1):
        prev = hashlib.sha256(prev + record).digest()
        rows.append((seq, record, prev))
    return rows


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_chinese_as_utf8():
    value = {"b": [1, True, None], "a": {"名称": "户籍人口", "z": 1.5}, "c": 'line\nbreak "quoted"'}
    assert canonical_json(value) == (
        '{"a":{"z":1.5,"名称":"户籍人口"},"b":[1,true,null],"c":"line\\nbreak \\"quoted\\""}'.encode()
    )
    assert (
        canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_canonical_json_survives_a_round_trip_so_export_lines_can_carry_records():
    value = {"data": {"items": [{"名称": "婚姻登记", "n": 3}], "t": "a/b\\c\u2028"}, "seq": 7}
    once = canonical_json(value)
    assert canonical_json(orjson.loads(once)) == once


def test_each_hash_covers_the_previous_hash_and_the_record():
    assert chain_hash(GENESIS_HASH, b"{}") == hashlib.sha256(bytes(32) + b"{}").digest()
    assert chain_hash(b"\x01" * 32, b"{}") != chain_hash(GENESIS_HASH, b"{}")


def test_an_intact_chain_verifies_across_batches():
    rows = chain([canonical_json({"seq": i}) for i in range(1, 8)])
    check = ChainCheck()
    assert check.feed(rows[:3]) is None and check.feed(rows[3:]) is None
    assert check.checked == 7 and check.last_hash == rows[-1][2]
    assert check.expect_end(7) is None


def test_an_edited_record_breaks_the_chain_at_that_record():
    rows = chain([canonical_json({"seq": i}) for i in range(1, 8)])
    rows[3] = (4, canonical_json({"seq": 4, "edited": True}), rows[3][2])
    broken = ChainCheck().feed(rows)
    assert (broken.seq, broken.reason, broken.index) == (4, "hash_mismatch", 3)


def test_a_removed_record_is_named_missing_and_swapped_records_break_at_the_first():
    rows = chain([canonical_json({"seq": i}) for i in range(1, 8)])
    check = ChainCheck()
    broken = check.feed(rows[:4] + rows[5:])
    assert (broken.seq, broken.reason) == (5, "missing") and check.checked == 4
    swapped = [*rows[:2], (3, rows[3][1], rows[3][2]), (4, rows[2][1], rows[2][2]), *rows[4:]]
    assert (ChainCheck().feed(swapped).seq, ChainCheck().feed(swapped).reason) == (3, "hash_mismatch")
    assert ChainCheck().feed([*rows[:3], rows[2]]).reason == "out_of_order"


def test_records_cut_from_the_end_are_missing():
    rows = chain([canonical_json({"seq": i}) for i in range(1, 5)])
    check = ChainCheck()
    check.feed(rows[:3])
    assert (check.expect_end(4).seq, check.broken.reason) == (4, "missing")


@pytest.mark.parametrize(
    "data",
    [
        {"note": f"身份证号{RESIDENT_ID}"},
        {"note": f"第一行\n{RESIDENT_ID}"},  # after an escape: the JSON text reads "\n4103…"
        {RESIDENT_ID: "as a key"},
        {"list": [{"code": CREDIT_CODE.lower()}]},
        {"tab": f"\t{CREDIT_CODE}\t"},
    ],
)
def test_every_record_holding_an_identifier_is_masked(data):
    event = Event(
        id="e-1", source="/govdata/x", type="access.usage", subject=RESIDENT_ID, time=datetime.now(UTC), data=data,
        actor=CREDIT_CODE, dept="YC-GA", version=1,
    )  # fmt: skip
    unplaced = audit_record(event, "2026-03-02T02:00:00.000000Z")
    record, body = unplaced.fields, unplaced.canonical(1)
    assert body == canonical_json(record | {"seq": 1})
    assert needs_masking(canonical_json({"data": data}))
    assert record["data"] == mask_in_obj(data) and record["subject"] == "4103**********0012"
    assert RESIDENT_ID not in body.decode() and CREDIT_CODE not in body.decode().upper()
    assert record["actor"] == "9141**********CD1X"


def test_records_without_identifiers_skip_masking_and_keep_ids_that_only_look_numeric():
    assert not needs_masking(canonical_json({"id": "req-21adbc4e10bfa287", "at": "2026-03-02T08:00:00.000000Z"}))
    assert not needs_masking(canonical_json({"masked": "4103**********0012", "calls": 1234567}))
    event = Event(
        id="e-2", source="/govdata/gateway", type="access.usage", subject="grant-1", time=datetime.now(UTC),
        data={"calls": 12, "resource_id": "res-1", "ref": "12345678901234567890123"}, version=1,
    )  # fmt: skip
    unplaced = audit_record(event, "2026-03-02T02:00:00.000000Z")
    assert unplaced.fields["resource_id"] == "res-1" and unplaced.fields["data"]["calls"] == 12
    assert orjson.loads(unplaced.canonical(9))["seq"] == 9


@pytest.mark.parametrize("seq", [1, 9, 10, 123_456_789])
def test_a_record_numbered_in_the_chain_is_exactly_its_canonical_json(seq):
    """The bytes around the seq are serialised before the chain head is locked; joined, they must be the record's
    canonical JSON, whatever the record holds."""
    for data, actor, dept in [
        ({}, None, None),
        ({"resource_id": 7, "名称": "户籍", "z": [1, {"b": 2, "a": None}]}, "ga-head", "YC-GA"),
        ({"note": f"身份证 {RESIDENT_ID}", "seq": 3, "source": "x"}, RESIDENT_ID, "YC-MZ"),
    ]:
        event = Event(
            id=str(seq), source="/govdata/x", type="catalog.resource.published", subject="s\n\"q\"",
            time=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), data=data, actor=actor, dept=dept, version=1,
        )  # fmt: skip
        unplaced = audit_record(event, "2026-03-02T02:00:00.000000Z")
        assert unplaced.canonical(seq) == canonical_json(unplaced.fields | {"seq": seq})
        assert list(orjson.loads(unplaced.canonical(seq))) == sorted(unplaced.fields | {"seq": seq})


def test_every_reason_a_chain_breaks_is_explained_in_chinese():
    assert {r.value for r in BreakReason} == {
        "missing", "out_of_order", "hash_mismatch", "malformed", "anchor_mismatch", "head_mismatch",
        "access_records_altered",
    }  # fmt: skip
    assert all(reason.detail and not reason.detail.isascii() for reason in BreakReason)
    assert ChainCheck().expect_end(1).detail == BreakReason.MISSING.detail


def test_naive_times_are_read_as_utc_and_aware_ones_are_kept():
    naive = datetime(2026, 3, 2, 8, 0)
    assert as_utc(naive) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    shanghai = datetime.fromisoformat("2026-03-02T08:00:00+08:00")
    assert as_utc(shanghai) is shanghai and as_utc(None) is None


def test_record_times_are_fixed_width_utc_text():
    assert utc_text(datetime.fromisoformat("2026-03-02T08:00:00+08:00")) == "2026-03-02T00:00:00.000000Z"
    assert utc_text(datetime(2026, 3, 2, 8, 0, 0, 5, tzinfo=UTC)) == "2026-03-02T08:00:00.000005Z"
    assert utc_text(datetime(2026, 3, 2, 8, 0)) == "2026-03-02T08:00:00.000000Z"
