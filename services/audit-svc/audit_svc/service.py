"""Audit operations: appending events to the chain, reading and verifying it, exporting a range, and the
supervision reports. Each takes the caller's session (which commits on success)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from govdata_shared.auth import Caller, Role
from govdata_shared.contracts.access import ACCESS_DENIED
from govdata_shared.db import Database
from govdata_shared.errors import Problem
from govdata_shared.events import Event
from govdata_shared.identifiers import mask_in_obj
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc import supervision
from audit_svc.domain import (
    GENESIS_HASH,
    BrokenLink,
    ChainCheck,
    UnplacedRecord,
    audit_record,
    canonical_json,
    chain_hash,
    utc_text,
)
from audit_svc.models import HEAD_ID, audit_chain_head, audit_log

VERIFY_PAGE_SIZE = 100_000
READER_ROLES = (Role.AUDITOR, Role.BUREAU_ADMIN)
DEPARTMENT_ROLES = (Role.DEPT_OPERATOR, Role.DEPT_HEAD)


# --- who may read ----------------------------------------------------------------------------------------


def require_reader(caller: Caller) -> None:
    """The whole trail is for auditors and the bureau (第三十八条: the bureau evaluates every department)."""
    if not caller.has_role(*READER_ROLES):
        raise Problem(403, "auditor_role_required", "只有审计监督人员和县政务服务和大数据管理局可以查看审计日志")


def require_department_report_reader(caller: Caller, dept: str) -> None:
    if caller.has_role(*READER_ROLES):
        return
    if caller.dept == dept and caller.has_role(*DEPARTMENT_ROLES):
        return
    raise Problem(403, "not_your_department", "部门只能查看本部门的监督数据", dept=dept)


# --- the chain ---------------------------------------------------------------------------------------------


LOG_COLUMNS = tuple(c.name for c in audit_log.columns)
_SEEN_SQL = "SELECT event_id FROM audit_log WHERE event_id = ANY($1::text[])"
_MOVE_HEAD_SQL = "UPDATE audit_chain_head SET seq = $1, hash = $2, updated_at = $3 WHERE id = $4"
_LOCK_HEAD = (
    sa.select(audit_chain_head.c.seq, audit_chain_head.c.hash).where(audit_chain_head.c.id == HEAD_ID).with_for_update()
)


async def append_events(session: AsyncSession, events: list[Event], received_at: datetime | None = None) -> int:
    """Append `events` to the chain in order, each event id once; returns how many were appended.

    Appenders take turns on the chain head row (FOR UPDATE on Postgres; SQLite has one writer at a time), so
    several processes never fork the chain; the primary key on seq and the unique event id would refuse a fork
    even without the lock. Everything that does not depend on the place in the chain happens before the lock.
    On Postgres the rows go in by COPY through the driver, inside the caller's transaction (the consumer's, which
    also records the events as processed).
    """
    if not events:
        return 0
    received_at = received_at or datetime.now(UTC)
    received_text = utc_text(received_at)
    connection = await session.connection()
    is_postgres = connection.dialect.name == "postgresql"
    ids = list({e.id for e in events})
    if is_postgres:
        driver = (await connection.get_raw_connection()).driver_connection
        seen = {row[0] for row in await driver.fetch(_SEEN_SQL, ids)}
    else:
        seen = set(
            (await session.execute(sa.select(audit_log.c.event_id).where(audit_log.c.event_id.in_(ids)))).scalars()
        )
    unplaced: list[tuple[Event, UnplacedRecord]] = []
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            unplaced.append((event, audit_record(event, received_text)))
    if not unplaced:
        return 0
    # Through SQLAlchemy: this also opens the transaction that the driver-level statements below run in.
    seq, prev = (await session.execute(_LOCK_HEAD)).one()
    rows: list[tuple] = []
    for event, record in unplaced:
        seq += 1
        body = record.canonical(seq)
        prev = chain_hash(prev, body)
        fields = record.fields
        moment = event.time if event.time.tzinfo else event.time.replace(tzinfo=UTC)
        rows.append(
            (
                seq,
                fields["event_id"],
                fields["type"],
                fields["source"],
                fields["subject"],
                moment,
                fields["dept"],
                fields["actor"],
                fields["resource_id"],
                received_at,
                body.decode(),
                prev,
            )
        )
    if is_postgres:
        await driver.copy_records_to_table("audit_log", records=rows, columns=LOG_COLUMNS)
        await driver.execute(_MOVE_HEAD_SQL, seq, prev, received_at, HEAD_ID)
    else:
        await session.execute(audit_log.insert(), [dict(zip(LOG_COLUMNS, row, strict=True)) for row in rows])
        move_head = audit_chain_head.update().where(audit_chain_head.c.id == HEAD_ID)
        await session.execute(move_head.values(seq=seq, hash=prev, updated_at=received_at))
    return len(rows)


async def chain_head(session: AsyncSession) -> tuple[int, bytes]:
    row = (
        await session.execute(
            sa.select(audit_chain_head.c.seq, audit_chain_head.c.hash).where(audit_chain_head.c.id == HEAD_ID)
        )
    ).one()
    return row.seq, row.hash


async def hash_before(session: AsyncSession, seq: int) -> bytes | None:
    """The stored hash the record at `seq` chains from (the genesis hash before the first record)."""
    if seq <= 1:
        return GENESIS_HASH
    return (await session.execute(sa.select(audit_log.c.hash).where(audit_log.c.seq == seq - 1))).scalar()


# convert_to hands over the record's UTF-8 bytes as stored, sparing a decode and an encode per row.
_PAGE_SQL = (
    "SELECT seq, convert_to(record, 'UTF8'), hash FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3"
)
_PAGE = (
    sa.select(audit_log.c.seq, audit_log.c.record, audit_log.c.hash)
    .where(audit_log.c.seq >= sa.bindparam("start"), audit_log.c.seq <= sa.bindparam("last"))
    .order_by(audit_log.c.seq)
    .limit(sa.bindparam("size"))
)


async def chain_page(
    session: AsyncSession, start: int, last: int, size: int = VERIFY_PAGE_SIZE
) -> Sequence[tuple[int, bytes, bytes]]:
    """`(seq, record bytes, stored hash)` of up to `size` records from seq `start` to `last`, in order.

    On Postgres the page is read through the driver directly: a million rows through the ORM's result
    machinery cost more than hashing them.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection
        return await driver.fetch(_PAGE_SQL, start, last, size)
    rows = (await session.execute(_PAGE, {"start": start, "last": last, "size": size})).all()
    return [(seq, record.encode(), digest) for seq, record, digest in rows]


async def chain_pages(
    session: AsyncSession, first: int, last: int
) -> AsyncIterator[Sequence[tuple[int, bytes, bytes]]]:
    """Pages of seqs first..last in order (keyset, never OFFSET)."""
    start = first
    while start <= last:
        page = await chain_page(session, start, last)
        if not page:
            return
        yield page
        start = page[-1][0] + 1


@dataclass
class VerifyOutcome:
    ok: bool
    checked: int
    from_seq: int
    to_seq: int
    last_hash: bytes
    broken: BrokenLink | None = None
    broken_event_id: str | None = None


async def verify_chain(session: AsyncSession, from_seq: int | None = None, to_seq: int | None = None) -> VerifyOutcome:
    """Recompute the chain over from_seq..to_seq (default: all of it) and name the first broken record.

    Checked to the end, the chain must also meet its head: rows beyond the head were not appended through it,
    and a head that disagrees with the last record means the end of the log was rewritten or cut.
    """
    head_seq, head_hash = await chain_head(session)
    end = max(head_seq, (await session.execute(sa.select(sa.func.max(audit_log.c.seq)))).scalar() or 0)
    first = min(max(from_seq or 1, 1), end + 1)  # a range past the end is empty, and chains from the end
    last = end if to_seq is None else min(to_seq, end)
    prev = await hash_before(session, first)
    check = ChainCheck(prev or GENESIS_HASH, first)
    if prev is None:
        # The record the range chains from is gone: the range cannot be anchored.
        check.broken = BrokenLink(first - 1, "missing")
    else:
        async for page in chain_pages(session, first, last):
            if check.feed(page):
                break
        check.expect_end(last)
    if check.broken is None and last == end and end >= first:
        if end > head_seq:
            check.broken = BrokenLink(head_seq + 1, "head_mismatch")
        elif check.last_hash != head_hash:
            check.broken = BrokenLink(head_seq, "head_mismatch")
    broken = check.broken
    event_id = None
    if broken is not None and broken.reason != "missing":
        event_id = (
            await session.execute(sa.select(audit_log.c.event_id).where(audit_log.c.seq == broken.seq))
        ).scalar()
    return VerifyOutcome(
        ok=broken is None,
        checked=check.checked,
        from_seq=first,
        to_seq=last,
        last_hash=check.last_hash,
        broken=broken,
        broken_event_id=event_id,
    )


# --- export ------------------------------------------------------------------------------------------------

EXPORT_FORMAT = "govdata-audit-export/1"
HASH_RULE = "sha256(prev_hash_bytes || canonical_json(record)); canonical: sorted keys, no whitespace, UTF-8"


def export_record_line(seq: int, record: bytes, digest: bytes) -> bytes:
    """One record line: the canonical JSON of {"hash", "record", "seq"}, with the record's bytes as hashed."""
    return b'{"hash":"' + digest.hex().encode() + b'","record":' + record + b',"seq":' + str(seq).encode() + b"}\n"


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


async def export_lines(db: Database, span: ExportRange, now: datetime) -> AsyncIterator[bytes]:
    """JSON Lines: a header with the hash the range chains from, one line per record with its stored hash, and
    a final anchor with the count and the hash at the end. The file verifies on its own
    (`python -m audit_svc.verify_export FILE`); comparing its last hash with the live chain (or a copy kept
    elsewhere) shows that it is the platform's log and not a rewritten one."""
    header = {
        "format": EXPORT_FORMAT,
        "hash_rule": HASH_RULE,
        "from_seq": span.first,
        "to_seq": span.last,
        "prev_hash": span.prev_hash.hex(),
        "exported_at": utc_text(now),
    }
    yield canonical_json(header) + b"\n"
    count = 0
    last_hash = span.prev_hash
    start = span.first
    while start <= span.last:
        # A short transaction per page: the log only grows at the end, so pages read apart still fit together,
        # and a long download never holds SQLite's write lock.
        async with db.session() as session:
            page = await chain_page(session, start, span.last)
        if not page:
            break
        yield b"".join(export_record_line(seq, record, digest) for seq, record, digest in page)
        count += len(page)
        last_hash = page[-1][2]
        start = page[-1][0] + 1
    anchor = {
        "from_seq": span.first,
        "to_seq": span.last,
        "count": count,
        "prev_hash": span.prev_hash.hex(),
        "last_hash": last_hash.hex(),
    }
    yield canonical_json({"anchor": anchor}) + b"\n"


# --- queries ---------------------------------------------------------------------------------------------


def entry_view(record_text: str, digest: bytes) -> dict[str, Any]:
    # Identifiers were masked before the record was hashed; masking again costs little and guards old rows.
    entry = mask_in_obj(orjson.loads(record_text))
    entry["hash"] = digest.hex()
    return entry


async def list_events(
    session: AsyncSession,
    *,
    type: str | None,
    dept: str | None,
    resource_id: str | None,
    actor: str | None,
    time_from: datetime | None,
    time_to: datetime | None,
    page: int,
    size: int,
) -> tuple[list[dict[str, Any]], int]:
    """Records matching every filter given, newest first; `time_from` inclusive, `time_to` exclusive."""
    conditions = []
    if type:
        conditions.append(audit_log.c.type == type)
    if dept:
        conditions.append(audit_log.c.dept == dept)
    if resource_id:
        conditions.append(audit_log.c.resource_id == resource_id)
    if actor:
        conditions.append(audit_log.c.actor == actor)
    if time_from:
        conditions.append(audit_log.c.time >= time_from)
    if time_to:
        conditions.append(audit_log.c.time < time_to)
    total = (await session.execute(sa.select(sa.func.count()).select_from(audit_log).where(*conditions))).scalar_one()
    rows = (
        await session.execute(
            sa.select(audit_log.c.record, audit_log.c.hash)
            .where(*conditions)
            .order_by(audit_log.c.seq.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    ).all()
    return [entry_view(record, digest) for record, digest in rows], total


# --- supervision -------------------------------------------------------------------------------------------


def _data_text(session: AsyncSession, field: str) -> sa.ColumnElement:
    """`record.data.<field>` as text, in the database's own JSON dialect."""
    if session.bind.dialect.name == "postgresql":
        return sa.cast(audit_log.c.record, JSONB)[("data", field)].astext
    return sa.func.json_extract(audit_log.c.record, f"$.data.{field}")


async def year_tally(session: AsyncSession, year: int) -> supervision.Tally:
    """Every department's figures for `year`, read from the log."""
    start, end = supervision.year_bounds(year)
    in_year = (audit_log.c.time >= start, audit_log.c.time < end)
    records = (
        await session.execute(
            sa.select(audit_log.c.record)
            .where(audit_log.c.type.in_(supervision.RECORD_EVENTS), *in_year)
            .order_by(audit_log.c.seq)
        )
    ).scalars()
    by_records = supervision.tally_records(orjson.loads(r) for r in records)
    grant_records = (
        await session.execute(
            sa.select(audit_log.c.record)
            .where(audit_log.c.type.in_(supervision.GRANT_STATE_EVENTS), audit_log.c.time < end)
            .order_by(audit_log.c.seq)
        )
    ).scalars()
    used = set(
        (
            await session.execute(
                sa.select(audit_log.c.subject)
                .distinct()
                .where(audit_log.c.type.in_(supervision.USAGE_EVENTS), *in_year)
            )
        ).scalars()
    )
    by_grants = supervision.tally_grants((orjson.loads(r) for r in grant_records), utc_text(start), used)
    # Grouped over a subquery: Postgres would not match two copies of a parameterised JSON path.
    denied = (
        sa.select(
            _data_text(session, "holder_dept").label("holder_dept"), _data_text(session, "reason").label("reason")
        )
        .where(audit_log.c.type == ACCESS_DENIED, *in_year)
        .subquery()
    )
    denials = (
        await session.execute(
            sa.select(denied.c.holder_dept, denied.c.reason, sa.func.count()).group_by(
                denied.c.holder_dept, denied.c.reason
            )
        )
    ).all()
    return supervision.merge(by_records, by_grants, supervision.tally_denials(denials))


def _period(year: int) -> dict[str, str]:
    return {"from": f"{year}-01-01", "to": f"{year}-12-31", "timezone": "Asia/Shanghai"}


async def department_report(session: AsyncSession, dept: str, year: int, now: datetime) -> dict[str, Any]:
    tally = await year_tally(session, year)
    return {
        "dept": dept,
        "year": year,
        "period": _period(year),
        "generated_at": now,
        "figures": supervision.figures_view(tally.get(dept, supervision.zero_figures())),
    }


async def annual_report(session: AsyncSession, year: int, now: datetime) -> dict[str, Any]:
    """第三十九条: each department's figures for the previous year, due by the end of January."""
    tally = await year_tally(session, year)
    departments = sorted(d for d in tally if d)
    return {
        "year": year,
        "article": "第三十九条",
        "due_by": f"{year + 1}-01-31",
        "period": _period(year),
        "generated_at": now,
        "departments": [{"dept": dept, "figures": supervision.figures_view(tally[dept])} for dept in departments],
        # Includes what no department can be named for (a denied call without a valid grant token).
        "totals": supervision.figures_view(supervision.totals(tally)),
    }


async def annual_csv(session: AsyncSession, year: int) -> bytes:
    tally = await year_tally(session, year)
    rows = [(dept, tally[dept]) for dept in sorted(d for d in tally if d)]
    rows.append(("合计", supervision.totals(tally)))
    return supervision.annual_csv(year, rows)
