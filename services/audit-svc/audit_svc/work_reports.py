"""第三十九条 annual work reports (年度工作报告): every department submits to the bureau, by the end of January, how it
managed government data in the year before (上一年度政务数据管理情况) — a text and an attachment — and the annual
report shows who did so on time.

- `POST /work-reports` {year, text}: the department's report on a year that is over; sent again for the same year,
  it replaces the text. It stays a `draft` until its attachment is there.
- `PUT /work-reports/{id}/attachment`: the attachment, checked and kept as sharing-svc keeps a 需求单 (PDF, JPEG or
  PNG by its first bytes, at most 10 MiB, SHA-256 kept). With text and attachment the report is `submitted`.
- `submitted_at` is the first moment the report held both, and it never moves: replacing the text or the attachment
  later, even after the deadline, does not make a report that was complete in time late.
- On time: submitted before 1 February 00:00 Asia/Shanghai of the following year (1月底前, the county's time).
- Each submission and each later change is a record of the hash chain (`audit.work_report.submitted`, `.revised`)
  with the SHA-256 of the text and of the attachment — never the text itself.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import UploadFile
from fastapi.responses import Response
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem
from govdata_shared.events import Event
from govdata_shared.repository import new_id
from govdata_shared.workdays import SHANGHAI, today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc import access
from audit_svc.chain import append_events
from audit_svc.domain import utc_text
from audit_svc.models import work_report

ARTICLE = "第三十九条"
LABEL = "年度工作报告（上一年度政务数据管理情况）"
SUBMITTED = "audit.work_report.submitted"
REVISED = "audit.work_report.revised"

# The attachment as sharing-svc takes a 需求单 (sharing_svc.domain): recognised by its first bytes, not its name.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {b"%PDF": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png"}


class WorkReportStatus(StrEnum):
    DRAFT = "draft"  # text only: not yet submitted
    SUBMITTED = "submitted"  # text and attachment


class Standing(StrEnum):
    """A department's report on a year as the annual report shows it."""

    ON_TIME = "on_time"  # 按时
    LATE = "late"  # 逾期
    MISSING = "missing"  # 未提交 (none, or a draft without its attachment)


# ---------------------------------------------------------------------------------------------- rules


def due_by(year: int) -> date:
    """第三十九条: the report on `year` is due by the end of January of the year after."""
    return date(year + 1, 1, 31)


def deadline(year: int) -> datetime:
    """The first moment a report on `year` is late: 1 February 00:00 in Asia/Shanghai of the year after."""
    return datetime(year + 1, 2, 1, tzinfo=SHANGHAI)


def is_on_time(submitted_at: datetime, year: int) -> bool:
    return submitted_at < deadline(year)


def year_is_over(year: int, now: datetime) -> bool:
    """A department reports on a year once it has ended in Shanghai (上一年度, or one before)."""
    return year < today_in_shanghai(now).year


def standing(status: str | None, submitted_at: datetime | None, year: int) -> Standing:
    if status != WorkReportStatus.SUBMITTED or submitted_at is None:
        return Standing.MISSING
    return Standing.ON_TIME if is_on_time(submitted_at, year) else Standing.LATE


def attachment_type(content: bytes) -> str | None:
    """The media type of an acceptable attachment, or None for any other file."""
    return next((media for magic, media in ATTACHMENT_TYPES.items() if content.startswith(magic)), None)


def standing_view(row: Mapping[str, Any] | None, year: int) -> dict[str, Any]:
    """The report's line in the supervision reports: {status, submitted_at, id} with its label and article."""
    submitted_at = row["submitted_at"] if row else None
    return {
        "status": standing(row["status"] if row else None, submitted_at, year),
        "submitted_at": submitted_at,
        "id": row["id"] if row else None,
        "label": LABEL,
        "article": ARTICLE,
        "due_by": due_by(year).isoformat(),
    }


# ---------------------------------------------------------------------------------------------- views

# Every column but the attachment's bytes: lists and views never load the files.
VIEW_COLUMNS = tuple(c for c in work_report.columns if c.name != "attachment")


def _utc(moment: datetime | None) -> datetime | None:
    """Stored times come back in UTC; a row just written holds the clock's own zone: answer in UTC either way."""
    return moment.astimezone(UTC) if moment is not None else None


def report_view(row: Mapping[str, Any]) -> dict[str, Any]:
    year = row["year"]
    attachment = None
    if row["attachment_sha256"]:
        attachment = {
            "name": row["attachment_name"],
            "content_type": row["attachment_content_type"],
            "size": row["attachment_size"],
            "sha256": row["attachment_sha256"],
        }
    submitted_at = row["submitted_at"]
    return {
        "id": row["id"],
        "dept": row["dept"],
        "year": year,
        "text": row["text"],
        "status": row["status"],
        "attachment": attachment,
        "article": ARTICLE,
        "due_by": due_by(year).isoformat(),
        "deadline": deadline(year),
        "submitted_at": _utc(submitted_at),
        "submitted_by": row["submitted_by"],
        "on_time": is_on_time(submitted_at, year) if submitted_at else None,
        "standing": standing(row["status"], submitted_at, year),
        "created_at": _utc(row["created_at"]),
        "created_by": row["created_by"],
        "updated_at": _utc(row["updated_at"]),
        "updated_by": row["updated_by"],
    }


async def _row(session: AsyncSession, report_id: str, *, for_update: bool = False) -> dict[str, Any]:
    query = sa.select(*VIEW_COLUMNS).where(work_report.c.id == report_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    if row is None:
        raise Problem(404, "work_report_not_found", f"年度工作报告 {report_id} 不存在")
    return dict(row)


# ---------------------------------------------------------------------------------------------- the trail


def _trail_event(kind: str, row: Mapping[str, Any], caller: Caller, now: datetime) -> Event:
    """The chain's record of a submission or a later change: what was submitted, by its digests (the text itself
    stays in the report)."""
    submitted_at = row["submitted_at"]
    return Event(
        id=str(uuid.uuid4()),
        source="/govdata/audit-svc",
        type=kind,
        subject=row["id"],
        time=now,
        data={
            "report_id": row["id"],
            "dept": row["dept"],
            "year": row["year"],
            "article": ARTICLE,
            "text_sha256": hashlib.sha256(row["text"].encode()).hexdigest(),
            "attachment_sha256": row["attachment_sha256"],
            "attachment_size": row["attachment_size"],
            "attachment_content_type": row["attachment_content_type"],
            "submitted_at": utc_text(submitted_at),
            "on_time": is_on_time(submitted_at, row["year"]),
        },
        actor=caller.sub,
        dept=row["dept"],
        version=row["version"],
    )


async def _save(
    session: AsyncSession, row: dict[str, Any], changes: dict[str, Any], caller: Caller, now: datetime
) -> dict[str, Any]:
    """Apply `changes` to the stored report; a report complete for the first time becomes submitted (now, and for
    good), and a submitted report's every change goes into the chain."""
    was_submitted = row["status"] == WorkReportStatus.SUBMITTED
    changes = {**changes, "updated_by": caller.sub, "updated_at": now, "version": row["version"] + 1}
    complete = (changes.get("attachment_sha256") or row["attachment_sha256"]) is not None
    if not was_submitted and complete:
        changes.update(status=WorkReportStatus.SUBMITTED.value, submitted_at=now, submitted_by=caller.sub)
    await session.execute(work_report.update().where(work_report.c.id == row["id"]).values(**changes))
    row = {**row, **changes}
    if row["status"] == WorkReportStatus.SUBMITTED:
        await append_events(session, [_trail_event(REVISED if was_submitted else SUBMITTED, row, caller, now)], now)
    return row


# ---------------------------------------------------------------------------------------------- operations


async def file_report(
    session: AsyncSession, caller: Caller, *, year: int, text: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """The department's report on `year` with `text`, new or replacing the text of its report on that year;
    (the report, whether it was new)."""
    dept = access.require_work_report_author(caller)
    if not year_is_over(year, now):
        raise Problem(
            422,
            "year_not_over",
            f"{year} 年度尚未结束：年度工作报告报送上一年度（或更早年度）的政务数据管理情况（{ARTICLE}）",
            field="year",
            rule="year_not_over",
        )
    found = (
        (
            await session.execute(
                sa.select(*VIEW_COLUMNS).where(work_report.c.dept == dept, work_report.c.year == year).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if found is None:
        row = {
            "id": new_id("wr"),
            "dept": dept,
            "year": year,
            "text": text,
            "status": WorkReportStatus.DRAFT.value,
            "attachment_name": None,
            "attachment_content_type": None,
            "attachment_size": None,
            "attachment_sha256": None,
            "created_by": caller.sub,
            "created_at": now,
            "submitted_by": None,
            "submitted_at": None,
            "updated_by": caller.sub,
            "updated_at": now,
            "version": 1,
        }
        await session.execute(work_report.insert().values(**row))
        return report_view(row), True
    row = dict(found)
    if row["text"] != text:
        row = await _save(session, row, {"text": text}, caller, now)
    return report_view(row), False


async def attach(
    session: AsyncSession, caller: Caller, *, report_id: str, upload: UploadFile, now: datetime
) -> dict[str, Any]:
    """The report's attachment (replacing an earlier one); with it the report is submitted."""
    content = await upload.read(MAX_ATTACHMENT_BYTES + 1)
    row = await _row(session, report_id, for_update=True)
    access.require_work_report_author(caller, row["dept"])
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise Problem(
            413,
            "attachment_too_large",
            f"附件不能超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB",
            field="file",
            rule="max_size",
        )
    content_type = attachment_type(content)
    if content_type is None:
        raise Problem(
            415, "attachment_type", "年度工作报告的附件只接受 PDF、JPEG 或 PNG 文件", field="file", rule="pdf_jpeg_png"
        )
    digest = hashlib.sha256(content).hexdigest()
    changes = {
        "attachment": content,
        "attachment_name": (upload.filename or "年度工作报告")[:200],
        "attachment_content_type": content_type,
        "attachment_size": len(content),
        "attachment_sha256": digest,
    }
    row = await _save(session, row, changes, caller, now)
    row.pop("attachment", None)
    return report_view(row)


async def get_report(session: AsyncSession, caller: Caller, report_id: str) -> dict[str, Any]:
    row = await _row(session, report_id)
    access.require_work_report_reader(caller, row["dept"])
    return report_view(row)


async def attachment_file(session: AsyncSession, caller: Caller, report_id: str) -> Response:
    """The attachment as uploaded, with its SHA-256 in `X-Content-SHA256`."""
    row = await _row(session, report_id)
    access.require_work_report_reader(caller, row["dept"])
    content = (await session.execute(sa.select(work_report.c.attachment).where(work_report.c.id == report_id))).scalar()
    if content is None:
        raise Problem(404, "attachment_not_found", "该年度工作报告尚未上传附件")
    name = row["attachment_name"] or f"work-report-{row['dept']}-{row['year']}"
    return Response(
        content,
        media_type=row["attachment_content_type"],
        headers={
            "X-Content-SHA256": row["attachment_sha256"],
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        },
    )


async def list_reports(session: AsyncSession, caller: Caller, *, year: int | None, dept: str | None) -> dict[str, Any]:
    """Reports matching the filters the caller may see (overseers: every department's; a department: its own),
    by year (newest first), then department."""
    own = access.work_report_scope(caller, dept)
    conditions = []
    if own is not None or dept:
        conditions.append(work_report.c.dept == (own or dept))
    if year is not None:
        conditions.append(work_report.c.year == year)
    rows = (
        await session.execute(
            sa.select(*VIEW_COLUMNS).where(*conditions).order_by(work_report.c.year.desc(), work_report.c.dept)
        )
    ).mappings()
    items = [report_view(r) for r in rows]
    return {"items": items, "total": len(items)}


async def standings(session: AsyncSession, year: int) -> dict[str, dict[str, Any]]:
    """Department → its report's line (on_time / late / missing) for the reports on `year`."""
    rows = (
        await session.execute(
            sa.select(work_report.c.id, work_report.c.dept, work_report.c.status, work_report.c.submitted_at).where(
                work_report.c.year == year
            )
        )
    ).mappings()
    return {row["dept"]: standing_view(row, year) for row in rows}
