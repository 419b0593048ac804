"""Access records of the data plane (第三十二条: who pulled which records, when): kept, chained, served, pruned.

The gateway sends batches of per-call records as `access.records` events. For each batch audit-svc

- stores its records, each record id once (a batch sent again after a gateway crash adds nothing twice);
- appends ONE record to the hash chain in place of the batch: the batch's id, how many records were new, their
  time span and the SHA-256 digest of those records in a canonical form. The records themselves stay out of the
  chain (a million calls a day would swamp it), yet a deleted or altered access record no longer matches its
  batch's digest, and GET /verify says so;
- after the retention period (GOVDATA_ACCESS_RETENTION_DAYS, default three years) deletes whole batches whose
  last record is older, so a pruned batch is never mistaken for a tampered one.

Readers (GET /access): auditors and the bureau all records; a department the calls to its resources (as
provider) and the calls made under its grants (as holder); nobody else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.contracts.access import ACCESS_RECORDS, AccessRecord
from govdata_shared.errors import Problem
from govdata_shared.events import Event
from govdata_shared.identifiers import mask_identifiers_in_text
from pydantic import ValidationError
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc.domain import as_utc, utc_text
from audit_svc.models import access_batch, access_record, audit_log

log = logging.getLogger("audit_svc.access_records")

# The digest's canonical form: these fields, keys sorted, times as fixed-width UTC text.
FIELDS = tuple(str(c.name) for c in access_record.columns if c.name != "batch_id")  # str: orjson wants exact str keys
DEFAULT_RETENTION_DAYS = 3 * 365 + 1


def canonical(row: Mapping[str, Any]) -> bytes:
    values = {name: row[name] for name in FIELDS}
    values["time"] = utc_text(values["time"])
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def batch_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 over the canonical records ordered by id, one line each."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r["id"]):
        digest.update(canonical(row))
        digest.update(b"\n")
    return digest.hexdigest()


_DUMPED = set(FIELDS)
_COLUMNS = ("batch_id", *FIELDS)
# Postgres: a batch's records as one JSON parameter, read by json_to_recordset. Per-column arrays cost asyncpg a
# type check per element, a quarter of the consumer's time; SQLAlchemy's multi-row VALUES built its parameters
# record by record.
_SQL_TYPES = {"time": "timestamptz", "status": "int", "records": "int", "bytes": "bigint", "duration_ms": "float8"}
_RECORDSET = ", ".join(f"{column} {_SQL_TYPES.get(column, 'text')}" for column in _COLUMNS)
_POSTGRES_INSERT = (
    f"INSERT INTO access_record ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} "
    f"FROM json_to_recordset($1::json) AS r({_RECORDSET}) ON CONFLICT (id) DO NOTHING RETURNING id"
)


def _row(record: AccessRecord, batch_id: str) -> dict[str, Any]:
    row = record.model_dump(include=_DUMPED)
    row["time"] = as_utc(record.time).astimezone(UTC)
    # Masked by the gateway already; again here, as every record of the trail is (DESIGN §3.4).
    row["path"] = mask_identifiers_in_text(record.path)[:1000]
    row["batch_id"] = batch_id
    for name, value in row.items():
        # Postgres text holds no NUL, and a caller's %00 reaches the path decoded (refused calls are recorded
        # too): one such record would make the database refuse its whole batch, everyone's calls in it.
        if isinstance(value, str) and "\x00" in value:
            row[name] = value.replace("\x00", "\ufffd")
    return row


@dataclass
class _Batch:
    event: Event
    rows: list[dict[str, Any]]  # the valid records, each id once
    valid: int  # valid records, repeats of an id within the batch included
    malformed: int


def _read(event: Event) -> _Batch:
    rows: dict[str, dict[str, Any]] = {}
    valid = malformed = 0
    for raw in event.data.get("records") or ():
        try:
            row = _row(AccessRecord.model_validate(raw), event.id)
        except ValidationError:
            malformed += 1
            continue
        valid += 1
        rows.setdefault(row["id"], row)
    if malformed:
        log.error("access.records %s: %d malformed records not kept", event.id, malformed)
    return _Batch(event, list(rows.values()), valid, malformed)


async def ingest(session: AsyncSession, events: list[Event], received_at: datetime) -> dict[str, Event]:
    """Store the records of `access.records` batches; for each batch not stored before, by event id, the record
    to chain in its place.

    On Postgres the batches are pipelined: while the database inserts one batch's records, this process reads the
    next batch and digests the one before, so neither waits for the other (bench/README.md: 1.6× in one hour)."""
    ids = [event.id for event in events]
    stored = sa.select(access_batch.c.batch_id).where(access_batch.c.batch_id.in_(ids))
    known = set((await session.execute(stored)).scalars())
    fresh = list({event.id: event for event in events if event.id not in known}.values())
    if not fresh:
        return {}
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection

        async def insert(rows: list[dict[str, Any]]) -> set[str]:
            if not rows:
                return set()
            payload = orjson.dumps(rows).decode()
            return {record[0] for record in await driver.fetch(_POSTGRES_INSERT, payload)}

    else:

        async def insert(rows: list[dict[str, Any]]) -> set[str]:
            if not rows:
                return set()
            statement = sqlite_insert(access_record).on_conflict_do_nothing(index_elements=["id"])
            return set((await session.execute(statement.returning(access_record.c.id), rows)).scalars())

    summaries: dict[str, Event] = {}
    batch_rows: list[dict[str, Any]] = []

    def summarise(batch: _Batch, inserted: set[str]) -> None:
        summary, batch_row = _summary(batch, inserted, received_at)
        summaries[summary.id] = summary
        batch_rows.append(batch_row)

    running: asyncio.Task[set[str]] | None = None
    running_batch: _Batch | None = None
    try:
        for event in fresh:
            batch = _read(event)  # while the previous batch's insert runs
            finished = None
            if running is not None and running_batch is not None:
                finished, inserted = running_batch, await running
            running, running_batch = asyncio.ensure_future(insert(batch.rows)), batch
            await asyncio.sleep(0)  # the insert sends its statement; the digest below runs beside it
            if finished is not None:
                summarise(finished, inserted)
        assert running is not None and running_batch is not None
        inserted, running = await running, None
        summarise(running_batch, inserted)
    finally:
        if running is not None:  # failed above: the connection must be idle before the transaction rolls back
            with contextlib.suppress(Exception):
                await running
    await session.execute(access_batch.insert(), batch_rows)
    return summaries


def _summary(batch: _Batch, inserted: set[str], received_at: datetime) -> tuple[Event, dict[str, Any]]:
    """The chain record standing for a stored batch, and the batch's own row."""
    event = batch.event
    gateway = str(event.data.get("gateway") or event.subject)[:200]
    new = [row for row in batch.rows if row["id"] in inserted]
    times = [row["time"] for row in new]
    first_time, last_time = (min(times), max(times)) if times else (None, None)
    batch_row = {
        "batch_id": event.id,
        "gateway": gateway,
        "count": len(new),
        "first_time": first_time,
        "last_time": last_time,
        "received_at": received_at,
    }
    summary = {
        "batch_id": event.id,
        "gateway": gateway,
        "count": len(new),
        "duplicates": batch.valid - len(new),
        "malformed": batch.malformed,
        "digest": batch_digest(new),
        "first_time": utc_text(first_time) if first_time else None,
        "last_time": utc_text(last_time) if last_time else None,
    }
    return event.model_copy(update={"data": summary}), batch_row


# ---------------------------------------------------------------------------------------------- reading


def _reader_condition(caller: Caller) -> sa.ColumnElement[bool] | None:
    """None for overseers (everything); the department's own calls for its staff; 403 for anyone else."""
    if caller.oversees:
        return None
    dept = caller.acting_dept
    if dept is None:
        raise Problem(403, "access_records_forbidden", "只有审计监督人员、县大数据局和相关部门可以查看数据调用记录")
    return sa.or_(access_record.c.provider_dept == dept, access_record.c.holder_dept == dept)


async def list_access(
    session: AsyncSession,
    caller: Caller,
    *,
    grant_id: str | None,
    client_id: str | None,
    resource_id: str | None,
    time_from: datetime | None,
    time_to: datetime | None,
    page: int,
    size: int,
) -> dict[str, Any]:
    """Records matching every filter the caller may see, newest first; `from` inclusive, `to` exclusive."""
    conditions = []
    scope = _reader_condition(caller)
    if scope is not None:
        conditions.append(scope)
    for column, value in (
        (access_record.c.grant_id, grant_id),
        (access_record.c.client_id, client_id),
        (access_record.c.resource_id, resource_id),
    ):
        if value:
            conditions.append(column == value)
    if time_from is not None:
        conditions.append(access_record.c.time >= as_utc(time_from))
    if time_to is not None:
        conditions.append(access_record.c.time < as_utc(time_to))
    total = (
        await session.execute(sa.select(sa.func.count()).select_from(access_record).where(*conditions))
    ).scalar_one()
    rows = (
        await session.execute(
            sa.select(*(access_record.c[name] for name in FIELDS))
            .where(*conditions)
            .order_by(access_record.c.time.desc(), access_record.c.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    ).mappings()
    items = [{**row, "time": utc_text(row["time"])} for row in rows]
    return {"items": items, "total": total, "page": page, "size": size}


# ---------------------------------------------------------------------------------------------- verifying


async def first_altered_batch(
    session: AsyncSession, from_seq: int, to_seq: int, retained_since: datetime
) -> tuple[int, str] | None:
    """The (seq, event id) of the first chained batch in from_seq..to_seq whose stored records no longer match
    its digest; batches that ended before `retained_since` may have been pruned and are not checked."""
    chained = (
        await session.execute(
            sa.select(audit_log.c.seq, audit_log.c.event_id, audit_log.c.record)
            .where(audit_log.c.type == ACCESS_RECORDS, audit_log.c.seq >= from_seq, audit_log.c.seq <= to_seq)
            .order_by(audit_log.c.seq)
        )
    ).all()
    cutoff = utc_text(retained_since)
    for seq, event_id, record in chained:
        data = orjson.loads(record).get("data") or {}
        last_time = data.get("last_time")
        if last_time is not None and last_time < cutoff:
            continue
        rows = (
            await session.execute(
                sa.select(*(access_record.c[name] for name in FIELDS)).where(
                    access_record.c.batch_id == data.get("batch_id", event_id)
                )
            )
        ).mappings()
        if batch_digest(rows) != data.get("digest"):
            return seq, event_id
    return None


# ---------------------------------------------------------------------------------------------- retention


async def prune(session: AsyncSession, now: datetime, retention_days: int) -> int:
    """Delete the records of batches whose last record is older than the retention period; returns how many."""
    cutoff = now.astimezone(UTC) - timedelta(days=retention_days)
    batches = (
        (
            await session.execute(
                sa.select(access_batch.c.batch_id)
                .where(access_batch.c.last_time < cutoff, access_batch.c.pruned_at.is_(None))
                .limit(1000)
            )
        )
        .scalars()
        .all()
    )
    if not batches:
        return 0
    deleted = await session.execute(access_record.delete().where(access_record.c.batch_id.in_(batches)))
    await session.execute(
        access_batch.update().where(access_batch.c.batch_id.in_(batches)).values(pruned_at=now.astimezone(UTC))
    )
    return deleted.rowcount or 0
