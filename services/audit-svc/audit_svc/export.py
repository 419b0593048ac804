"""Exporting a range of the log as a hash-anchored JSON Lines file (GET /export), to be kept outside the platform
and checked offline with `python -m audit_svc.verify_export FILE`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from fastapi.responses import StreamingResponse
from govdata_shared.db import Database
from govdata_shared.errors import Problem
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc.chain import chain_head, chain_page, hash_before
from audit_svc.domain import canonical_json, utc_text

EXPORT_FORMAT = "govdata-audit-export/1"
HASH_RULE = "sha256(prev_hash_bytes || canonical_json(record)); canonical: sorted keys, no whitespace, UTF-8"


@dataclass(frozen=True)
class ExportRange:
    first: int
    last: int
    prev_hash: bytes


async def export_range(session: AsyncSession, from_seq: int | None, to_seq: int | None) -> ExportRange:
    """The seqs an export covers and the hash it chains from; 409 when that record is missing."""
    head_seq, _ = await chain_head(session)
    first = min(max(from_seq or 1, 1), head_seq + 1)
    last = head_seq if to_seq is None else min(to_seq, head_seq)
    prev = await hash_before(session, first)
    if prev is None:
        raise Problem(409, "chain_broken", f"第 {first - 1} 条记录缺失，无法导出，请先校验日志", seq=first - 1)
    return ExportRange(first, last, prev)


def header_line(span: ExportRange, now: datetime) -> bytes:
    """The first line: the range and the hash it chains from."""
    header = {
        "format": EXPORT_FORMAT,
        "hash_rule": HASH_RULE,
        "from_seq": span.first,
        "to_seq": span.last,
        "prev_hash": span.prev_hash.hex(),
        "exported_at": utc_text(now),
    }
    return canonical_json(header) + b"\n"


def record_line(seq: int, record: bytes, digest: bytes) -> bytes:
    """One record line: the canonical JSON of {"hash", "record", "seq"}, with the record's bytes as hashed."""
    return b'{"hash":"' + digest.hex().encode() + b'","record":' + record + b',"seq":' + str(seq).encode() + b"}\n"


def anchor_line(span: ExportRange, count: int, last_hash: bytes) -> bytes:
    """The last line: how many records the file holds and the hash at its end."""
    anchor = {
        "from_seq": span.first,
        "to_seq": span.last,
        "count": count,
        "prev_hash": span.prev_hash.hex(),
        "last_hash": last_hash.hex(),
    }
    return canonical_json({"anchor": anchor}) + b"\n"


async def export_lines(db: Database, span: ExportRange, now: datetime) -> AsyncIterator[bytes]:
    """JSON Lines: a header with the hash the range chains from, one line per record with its stored hash, and
    a final anchor with the count and the hash at the end. The file verifies on its own
    (`python -m audit_svc.verify_export FILE`); comparing its last hash with the live chain (or a copy kept
    elsewhere) shows that it is the platform's log and not a rewritten one."""
    yield header_line(span, now)
    count = 0
    last_hash = span.prev_hash
    start = span.first
    while start <= span.last:
        # A short read per page: the log only grows at the end, so pages read apart still fit together, and a
        # long download holds no transaction open (nor any lock: reading sessions take none on SQLite).
        async with db.reading() as session:
            page = await chain_page(session, start, span.last)
        if not page:
            break
        yield b"".join(record_line(seq, record, digest) for seq, record, digest in page)
        count += len(page)
        last_hash = page[-1][2]
        start = page[-1][0] + 1
    yield anchor_line(span, count, last_hash)


async def export(db: Database, *, from_seq: int | None, to_seq: int | None, now: datetime) -> StreamingResponse:
    """GET /export: the file of seqs from_seq..to_seq (default: all of them), streamed as an attachment."""
    # No request-long session: the file streams after this returns, reading page by page on its own.
    async with db.reading() as session:
        span = await export_range(session, from_seq, to_seq)
    return StreamingResponse(
        export_lines(db, span, now),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="audit-{span.first}-{span.last}.jsonl"'},
    )
