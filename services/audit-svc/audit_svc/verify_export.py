"""Verify an audit export offline: `python -m audit_svc.verify_export FILE [--expect-last-hash HEX]`.

The file (GET /api/audit/export) is JSON Lines: a header naming the hash the range chains from, one line per
record `{"hash", "record", "seq"}`, and a final anchor with the count and the last hash. The records are checked
by the same ChainCheck as GET /verify. Exit code 0 when the file verifies, 1 when it is broken (the first broken
line is named), 2 when it cannot be read.

The file proves itself consistent; that it is the platform's log shows when its last hash equals the live
chain's hash at that seq (GET /verify?to_seq=… reports it) or a copy kept elsewhere: pass it as
`--expect-last-hash`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from audit_svc.domain import BreakReason, ChainCheck, canonical_json

BATCH = 10_000


@dataclass(frozen=True)
class ExportVerdict:
    ok: bool
    checked: int
    from_seq: int | None = None
    to_seq: int | None = None
    last_hash: str | None = None
    line: int | None = None  # first broken line, 1-based
    seq: int | None = None
    event_id: str | None = None
    reason: BreakReason | None = None

    def describe(self) -> str:
        if self.ok:
            return (
                f"OK: {self.checked} records, seq {self.from_seq}–{self.to_seq}, last hash {self.last_hash}"
                if self.checked
                else f"OK: empty range, chains from {self.last_hash}"
            )
        parts = [f"line {self.line}"]
        if self.seq is not None:
            parts.append(f"seq {self.seq}")
        if self.event_id:
            parts.append(f"event {self.event_id}")
        detail = self.reason.detail if self.reason else ""
        return f"BROKEN at {', '.join(parts)}: {self.reason} ({detail}); {self.checked} records verified before it"


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _record_row(value: dict[str, Any]) -> tuple[int, bytes, bytes] | None:
    """`(seq, canonical record bytes, stored hash)` of a record line, as ChainCheck takes them."""
    seq, record, digest = value.get("seq"), value.get("record"), value.get("hash")
    if not isinstance(seq, int) or not isinstance(record, dict) or not isinstance(digest, str):
        return None
    try:
        return seq, canonical_json(record), bytes.fromhex(digest)
    except ValueError:
        return None


Pending = list[tuple[int, dict[str, Any], tuple[int, bytes, bytes]]]  # (line number, line, row)


def _feed(check: ChainCheck, pending: Pending) -> ExportVerdict | None:
    broken = check.feed([row for _, _, row in pending])
    if broken is None:
        pending.clear()
        return None
    line, value, _ = pending[broken.index]
    event_id = None if broken.reason is BreakReason.MISSING else value["record"].get("event_id")
    return ExportVerdict(False, check.checked, line=line, seq=broken.seq, event_id=event_id, reason=broken.reason)


def verify_file(stream: IO[bytes], expect_last_hash: str | None = None) -> ExportVerdict:
    """Check an export line by line with the chain rule of GET /verify; the first broken line is named."""
    numbered = ((n, raw) for n, raw in enumerate(stream, start=1) if raw.strip())
    first = next(numbered, None)
    header = _json_object(first[1]) if first else None
    try:
        prev_hash = bytes.fromhex(header["prev_hash"])  # type: ignore[index]
        from_seq = int(header["from_seq"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return ExportVerdict(False, 0, line=first[0] if first else 1, reason=BreakReason.MALFORMED)
    check = ChainCheck(prev_hash, from_seq)
    pending: Pending = []
    anchor: Any = None
    last_line, malformed_at = first[0], None
    for number, raw in numbered:
        last_line = number
        value = _json_object(raw)
        if value is not None and "anchor" in value:
            anchor = value["anchor"]
            break
        row = _record_row(value) if value is not None else None
        if row is None:
            malformed_at = number  # reported after the lines before it are checked: an earlier break comes first
            break
        pending.append((number, value, row))
        if len(pending) >= BATCH and (verdict := _feed(check, pending)):
            return verdict
    if verdict := _feed(check, pending):
        return verdict
    if malformed_at is not None:
        return ExportVerdict(False, check.checked, line=malformed_at, reason=BreakReason.MALFORMED)
    last_hash = check.last_hash.hex()
    if (
        not isinstance(anchor, dict)
        or next(numbered, None) is not None
        or anchor.get("count") != check.checked
        or anchor.get("prev_hash") != header["prev_hash"]
        or anchor.get("last_hash") != last_hash
        or anchor.get("to_seq") != check.next_seq - 1
        or (expect_last_hash is not None and expect_last_hash.lower() != last_hash)
    ):
        return ExportVerdict(False, check.checked, line=last_line, reason=BreakReason.ANCHOR_MISMATCH)
    return ExportVerdict(True, check.checked, from_seq, check.next_seq - 1, last_hash)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an audit-svc export file (JSON Lines) offline.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--expect-last-hash", help="the chain hash at the export's last seq, from elsewhere")
    args = parser.parse_args(argv)
    try:
        with args.file.open("rb") as stream:
            verdict = verify_file(stream, args.expect_last_hash)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    print(verdict.describe())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
