"""An export file as plain bytes: its lines are canonical JSON, it verifies on its own with the chain rule of
GET /verify, and the offline check names the first line that does not."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson
from audit_svc.domain import GENESIS_HASH, BreakReason, canonical_json, chain_hash
from audit_svc.export import ExportRange, anchor_line, header_line, record_line
from audit_svc.verify_export import verify_file

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def chain(count: int) -> list[tuple[int, bytes, bytes]]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        record = canonical_json({"event_id": f"e-{seq}", "seq": seq, "data": {"名称": f"资源{seq}"}})
        prev = chain_hash(prev, record)
        rows.append((seq, record, prev))
    return rows


def export_file(rows: list[tuple[int, bytes, bytes]], prev_hash: bytes = GENESIS_HASH) -> list[bytes]:
    span = ExportRange(rows[0][0], rows[-1][0], prev_hash)
    return [
        header_line(span, NOW),
        *(record_line(*row) for row in rows),
        anchor_line(span, len(rows), rows[-1][2]),
    ]


def test_a_record_line_is_the_canonical_json_of_its_hash_record_and_seq():
    seq, record, digest = chain(1)[0]
    assert record_line(seq, record, digest) == (
        canonical_json({"hash": digest.hex(), "record": orjson.loads(record), "seq": seq}) + b"\n"
    )


def test_an_export_verifies_on_its_own_and_against_the_hash_kept_elsewhere():
    rows = chain(5)
    lines = export_file(rows)
    header = orjson.loads(lines[0])
    assert (header["from_seq"], header["to_seq"], header["exported_at"]) == (1, 5, "2026-03-02T02:00:00.000000Z")
    verdict = verify_file(io.BytesIO(b"".join(lines)), expect_last_hash=rows[-1][2].hex())
    assert verdict.ok and (verdict.checked, verdict.from_seq, verdict.to_seq) == (5, 1, 5)
    assert verdict.describe().startswith("OK: 5 records, seq 1–5")
    elsewhere = verify_file(io.BytesIO(b"".join(lines)), expect_last_hash="00" * 32)
    assert not elsewhere.ok and elsewhere.reason is BreakReason.ANCHOR_MISMATCH


def test_a_range_chains_from_the_hash_of_the_record_before_it():
    rows = chain(6)
    lines = export_file(rows[2:], prev_hash=rows[1][2])
    assert verify_file(io.BytesIO(b"".join(lines))).ok
    unanchored = export_file(rows[2:])  # claims to start the chain: the first record does not fit
    verdict = verify_file(io.BytesIO(b"".join(unanchored)))
    assert (verdict.ok, verdict.line, verdict.seq, verdict.reason) == (False, 2, 3, BreakReason.HASH_MISMATCH)


def test_the_offline_check_names_the_line_of_an_edited_record():
    lines = export_file(chain(5))
    edited = lines[3].replace("资源3".encode(), "资源X".encode())
    verdict = verify_file(io.BytesIO(b"".join([*lines[:3], edited, *lines[4:]])))
    assert (verdict.ok, verdict.line, verdict.seq, verdict.event_id) == (False, 4, 3, "e-3")
    assert verdict.describe().startswith("BROKEN at line 4, seq 3, event e-3: hash_mismatch (")
