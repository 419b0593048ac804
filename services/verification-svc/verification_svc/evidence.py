"""Evidence files of a correction request (证明材料): PDF, JPEG or PNG by their content, at most 8 MiB each, kept
in the database with their SHA-256. The applicant (or the subject) adds them while the request is unresolved;
the list is for everyone who sees the request (names masked unless they see the identifier in full), the files
only for the subject, the applicant and the provider. No file content or name ever travels in an event.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import UploadFile
from fastapi.responses import Response
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.repository import get_or_404, new_id
from sqlalchemy.ext.asyncio import AsyncSession

from verification_svc import access, domain
from verification_svc.models import CorrectionEvidence, CorrectionRequest
from verification_svc.schemas import EvidenceOut


async def add_evidence(
    session: AsyncSession, *, caller: Caller, request_id: str, upload: UploadFile, now: datetime
) -> EvidenceOut:
    """Keep one file for the request; its type is read from the content, whatever the client claimed."""
    request = await get_or_404(
        session, CorrectionRequest, request_id, where=access.readable_correction(caller), for_update=True
    )
    access.require_applicant(caller, request)
    if request.status not in domain.UNRESOLVED_STATUSES:
        raise Problem(409, "request_resolved", "校核申请已办结，不能再补充材料")
    count = (
        await session.execute(
            sa.select(sa.func.count())
            .select_from(CorrectionEvidence)
            .where(CorrectionEvidence.request_id == request.id)
        )
    ).scalar_one()
    if count >= domain.EVIDENCE_MAX_FILES:
        raise Problem(409, "evidence_limit", f"每个校核申请最多 {domain.EVIDENCE_MAX_FILES} 份材料", rule="max_files")
    content = await upload.read(domain.EVIDENCE_MAX_BYTES + 1)
    if len(content) > domain.EVIDENCE_MAX_BYTES:
        raise Problem(
            413,
            "evidence_too_large",
            f"单个材料不得超过 {domain.EVIDENCE_MAX_BYTES // (1024 * 1024)} MiB",
            field="file",
            rule="max_size",
            max_bytes=domain.EVIDENCE_MAX_BYTES,
        )
    content_type = domain.sniff_evidence_type(content[:16])
    if content_type is None:
        raise Problem(
            415,
            "evidence_type_not_allowed",
            "材料只能是 PDF、JPEG 或 PNG 文件",
            field="file",
            rule="pdf_jpeg_png_only",
            allowed=[t for _, t in domain.EVIDENCE_SIGNATURES],
        )
    evidence = CorrectionEvidence(
        id=new_id("evd"),
        request_id=request.id,
        filename=domain.evidence_filename(upload.filename),
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=caller.sub,
        uploaded_at=now,
    )
    session.add(evidence)
    request.updated_at = now
    await session.flush()
    return _evidence_out(evidence, full=True)


async def list_evidence(session: AsyncSession, *, caller: Caller, request_id: str) -> list[EvidenceOut]:
    """The request's files, oldest first, without their content."""
    request = await get_or_404(session, CorrectionRequest, request_id, where=access.readable_correction(caller))
    rows = await session.execute(
        sa.select(
            CorrectionEvidence.id,
            CorrectionEvidence.filename,
            CorrectionEvidence.content_type,
            CorrectionEvidence.size,
            CorrectionEvidence.sha256,
            CorrectionEvidence.uploaded_at,
        )
        .where(CorrectionEvidence.request_id == request.id)
        .order_by(CorrectionEvidence.uploaded_at, CorrectionEvidence.id)
    )
    full = access.sees_full_identifier(caller, request)
    return [_evidence_out(row, full) for row in rows.all()]


async def download_evidence(session: AsyncSession, *, caller: Caller, request_id: str, evidence_id: str) -> Response:
    """The file itself, as an attachment with its SHA-256, for those who may see the subject's full data."""
    request = await get_or_404(session, CorrectionRequest, request_id, where=access.readable_correction(caller))
    access.require_evidence_access(caller, request)
    evidence = await get_or_404(
        session, CorrectionEvidence, evidence_id, where=CorrectionEvidence.request_id == request.id
    )
    return Response(
        evidence.content,
        media_type=evidence.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(evidence.filename)}",
            "X-Content-SHA256": evidence.sha256,
            "X-Content-Type-Options": "nosniff",
        },
    )


def _evidence_out(evidence: Any, full: bool) -> EvidenceOut:
    """A file's record; identifiers in its name masked unless the caller sees them in full."""
    return EvidenceOut(
        id=evidence.id,
        filename=evidence.filename if full else mask_identifiers_in_text(evidence.filename),
        content_type=evidence.content_type,
        size=evidence.size,
        sha256=evidence.sha256,
        uploaded_at=evidence.uploaded_at,
    )
