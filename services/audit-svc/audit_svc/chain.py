"""The hash chain (审计日志): appending events in order, reading it page by page, and verifying it (GET /verify).

Each operation takes the caller's session. Appending and reading a page go through the driver on Postgres (COPY in,
raw rows out): at a million records the ORM's machinery costs more than the hashing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from govdata_shared.events import Event
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc.access_records import first_altered_batch
from audit_svc.domain import (
    GENESIS_HASH,
    BreakReason,
    BrokenLink,
    ChainCheck,
    UnplacedRecord,
    audit_record,
    chain_hash,
    utc_text,
)
from audit_svc.models import HEAD_ID, audit_chain_head, audit_log
from audit_svc.schemas import BrokenRecord, VerifyResult

VERIFY_PAGE_SIZE = 100_000

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
        check.broken = BrokenLink(first - 1, BreakReason.MISSING)
    else:
        async for page in chain_pages(session, first, last):
            if check.feed(page):
                break
        check.expect_end(last)
    if check.broken is None and last == end and end >= first:
        if end > head_seq:
            check.broken = BrokenLink(head_seq + 1, BreakReason.HEAD_MISMATCH)
        elif check.last_hash != head_hash:
            check.broken = BrokenLink(head_seq, BreakReason.HEAD_MISMATCH)
    broken = check.broken
    event_id = None
    if broken is not None and broken.reason is not BreakReason.MISSING:
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


async def verify(
    session: AsyncSession,
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    retained_since: datetime | None = None,
) -> VerifyResult:
    """GET /verify: the outcome of `verify_chain` as the API answers it; when the chain holds, also each chained
    batch of access records against its digest (those ending before `retained_since` may be pruned)."""
    outcome = await verify_chain(session, from_seq, to_seq)
    if outcome.ok and outcome.to_seq >= outcome.from_seq:
        since = retained_since or datetime(1970, 1, 1, tzinfo=UTC)
        altered = await first_altered_batch(session, outcome.from_seq, outcome.to_seq, since)
        if altered is not None:
            outcome.ok = False
            outcome.broken = BrokenLink(altered[0], BreakReason.ACCESS_RECORDS_ALTERED)
            outcome.broken_event_id = altered[1]
    first_broken = None
    if (broken := outcome.broken) is not None:
        first_broken = BrokenRecord(
            seq=broken.seq, event_id=outcome.broken_event_id, reason=broken.reason, detail=broken.detail
        )
    return VerifyResult(
        ok=outcome.ok,
        checked=outcome.checked,
        from_seq=outcome.from_seq,
        to_seq=outcome.to_seq,
        last_hash=outcome.last_hash.hex(),
        first_broken=first_broken,
    )
