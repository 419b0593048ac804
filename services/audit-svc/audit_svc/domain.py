"""The rules of the audit trail (第五章 安全管理, 第三十六条 保存相关记录), as plain functions.

A record is what the log keeps of one event: its envelope, the resource it concerns and its data, with every
personal identifier masked. Records form a chain:

    hash(n) = SHA-256(hash(n-1) ‖ canonical_json(record(n)))      hash(0) = 32 zero bytes

where `‖` joins the previous raw 32-byte digest and the record's canonical UTF-8 bytes. `canonical_json` is the
one definition used by the append, `GET /verify`, the export and the offline CLI (`audit_svc.verify_export`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from govdata_shared.events import Event
from govdata_shared.identifiers import mask_identifiers_in_text, mask_in_obj

GENESIS_HASH = bytes(32)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 with non-ASCII characters as they are (not \\u-escaped).

    For the values a record holds (strings, integers, booleans, null, lists, objects) this equals
    `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()`; it is also stable:
    `canonical_json(orjson.loads(canonical_json(v))) == canonical_json(v)`, which is what lets an export file
    carry records inside its lines and still be verified.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: bytes, record: bytes) -> bytes:
    return hashlib.sha256(prev_hash + record).digest()


def as_utc(moment: datetime | None) -> datetime | None:
    """`moment` with a zone: the platform's naive times (query parameters without an offset) are UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def utc_text(moment: datetime) -> str:
    """A fixed-width UTC timestamp (`2026-03-02T08:00:00.000000Z`) so records sort and compare as text."""
    text = moment.isoformat(timespec="microseconds")
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    if moment.tzinfo is None:
        return text + "Z"  # the platform's naive times are UTC
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# Fields of a record that may carry personal identifiers; seq, event id, type and times are the platform's own.
MASKED_FIELDS = ("source", "subject", "dept", "actor", "resource_id", "data")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SEVEN_DIGITS = b"0" * 7


def needs_masking(body: bytes) -> bool:
    """Whether the record serialised as `body` may hold an identifier that `mask_in_obj` would mask; False only
    when it certainly does not, so most records skip the walk through every string.

    Every identifier the masking rule recognises has seven ASCII digits in a row (a 公民身份号码 17, a 统一社会信用代码
    its category digit and 6-digit region code), and JSON never escapes digits. Without backslash escapes every
    string appears verbatim between quotes, so the rule applied to the whole text finds whatever it would find
    in any single string (and perhaps more, in numbers: harmless).
    """
    if _SEVEN_DIGITS not in body.translate(_DIGITS_AS_ZERO):
        return False
    if b"\\" in body:
        return True
    text = body.decode()
    return mask_identifiers_in_text(text) != text


_AFTER_SEQ = ("source", "subject", "time", "type")  # keys that sort after "seq"; the others sort before it


@dataclass(frozen=True, slots=True)
class UnplacedRecord:
    """A record before it has its place in the chain: its fields, and its canonical bytes on either side of
    where `"seq"` goes. Built outside the chain head's lock, so appenders hold the lock only to number, hash
    and write."""

    fields: dict[str, Any]
    before_seq: bytes  # canonical JSON of the fields sorting before "seq", without the closing brace
    after_seq: bytes  # canonical JSON of the fields sorting after "seq", without the opening brace

    def canonical(self, seq: int) -> bytes:
        """`canonical_json(fields | {"seq": seq})`, without serialising everything again."""
        return b'%b,"seq":%d,%b' % (self.before_seq, seq, self.after_seq)


def audit_record(event: Event, received_at: str) -> UnplacedRecord:
    """What the log keeps of `event`. Producers mask identifiers already (`new_event`); they are masked again
    here (defence in depth, DESIGN §3.4: no personal identifier enters the log)."""
    resource_id = event.data.get("resource_id")
    before = {
        "actor": event.actor,
        "data": event.data,
        "dept": event.dept,
        "event_id": event.id,
        "received_at": received_at,
        "resource_id": str(resource_id) if resource_id is not None else None,
    }
    after = {"source": event.source, "subject": event.subject, "time": utc_text(event.time), "type": event.type}
    before_bytes, after_bytes = canonical_json(before), canonical_json(after)
    if needs_masking(before_bytes) or needs_masking(after_bytes):
        for part in (before, after):
            for field in MASKED_FIELDS:
                if field in part:
                    part[field] = mask_in_obj(part[field])
        before_bytes, after_bytes = canonical_json(before), canonical_json(after)
    return UnplacedRecord(before | after, before_bytes[:-1], after_bytes[1:])


# --- checking a chain ----------------------------------------------------------------------------------------


class BreakReason(StrEnum):
    """Why a chain does not verify at a record (`first_broken.reason` of GET /verify, the export CLI's verdict)."""

    MISSING = "missing"
    OUT_OF_ORDER = "out_of_order"
    HASH_MISMATCH = "hash_mismatch"
    MALFORMED = "malformed"
    ANCHOR_MISMATCH = "anchor_mismatch"
    HEAD_MISMATCH = "head_mismatch"
    ACCESS_RECORDS_ALTERED = "access_records_altered"

    @property
    def detail(self) -> str:
        return BREAK_DETAILS[self]


BREAK_DETAILS: dict[BreakReason, str] = {
    BreakReason.MISSING: "此处缺少应有的记录（被删除或被移走）",
    BreakReason.OUT_OF_ORDER: "记录顺序错误（序号重复或倒退）",
    BreakReason.HASH_MISMATCH: "哈希不符：记录内容被修改、被移动，或其存储的哈希被改动",
    BreakReason.MALFORMED: "记录格式无法解析",
    BreakReason.ANCHOR_MISMATCH: "与导出文件的锚点不符（条数或末尾哈希）",
    BreakReason.HEAD_MISMATCH: "链头（最后序号及哈希）与日志末尾不符",
    BreakReason.ACCESS_RECORDS_ALTERED: "该批数据调用记录与审计链中的摘要不符（记录被删除、被修改或被加入）",
}


@dataclass(frozen=True)
class BrokenLink:
    """The first record at which a chain does not verify. `index` is the position, in the batch fed, of the row
    found there (for "missing": the row after the gap; None when records are missing at the end)."""

    seq: int
    reason: BreakReason
    index: int | None = None

    @property
    def detail(self) -> str:
        return self.reason.detail


class ChainCheck:
    """Checks a chain in order, batch by batch: every record's stored hash must equal SHA-256(previous hash ‖
    record), and the seqs must run on from `first_seq` without gaps. Feed it `(seq, record bytes, stored hash)`
    tuples; it stops at the first broken link."""

    def __init__(self, prev_hash: bytes = GENESIS_HASH, first_seq: int = 1) -> None:
        self.last_hash = prev_hash
        self.next_seq = first_seq
        self.checked = 0
        self.broken: BrokenLink | None = None

    def feed(self, rows: Iterable[tuple[int, bytes, bytes]]) -> BrokenLink | None:
        if self.broken is not None:
            return self.broken
        sha256 = hashlib.sha256
        prev = self.last_hash
        first = expected = self.next_seq
        for seq, record, stored in rows:
            if seq != expected or sha256(prev + record).digest() != stored:
                # Rows before this one were contiguous, so its position in the batch is how far we got.
                index = expected - first
                if seq > expected:  # a gap: the record that belongs here was removed or moved
                    self.broken = BrokenLink(expected, BreakReason.MISSING, index)
                elif seq < expected:
                    self.broken = BrokenLink(seq, BreakReason.OUT_OF_ORDER, index)
                else:
                    self.broken = BrokenLink(seq, BreakReason.HASH_MISMATCH, index)
                break
            prev = stored
            expected += 1
        self.checked += expected - first
        self.last_hash = prev
        self.next_seq = expected
        return self.broken

    def expect_end(self, last_seq: int) -> BrokenLink | None:
        """The chain must reach `last_seq` (its head): records removed from the end show up here."""
        if self.broken is None and self.next_seq <= last_seq:
            self.broken = BrokenLink(self.next_seq, BreakReason.MISSING)
        return self.broken
