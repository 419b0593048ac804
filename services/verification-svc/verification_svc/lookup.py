"""What others learn from the corrections: whether a subject's data is under verification right now (第十九条
第三款, the active lookup) and the data-quality figures per resource and provider (第二十条). Both only read.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.identifiers import mask_identifier
from govdata_shared.workdays import today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from verification_svc import access, domain
from verification_svc.domain import SubjectType
from verification_svc.models import CatalogResource, CorrectionRequest
from verification_svc.schemas import ActiveOut, ActiveRequest, ProviderQuality, QualityOut, ResourceQuality


async def active_lookup(
    session: AsyncSession,
    *,
    caller: Caller,
    subject_id: str,
    resource_id: str,
    now: datetime,
    subject_type: SubjectType | None = None,
) -> ActiveOut:
    """第十九条第三款: while a check runs, the office serving the subject must not refuse it — so any department may
    ask whether it runs; the answer names the subject masked. `subject_type` absent: read from the shape."""
    today = today_in_shanghai(now)
    if subject_type:
        subject = domain.validate_subject(subject_type, subject_id, today)
    else:
        subject = domain.validate_any_identifier(subject_id, today)
    access.require_lookup(caller, subject.value)
    rows = (
        await session.execute(
            sa.select(CorrectionRequest)
            .where(
                CorrectionRequest.subject_id == subject.value,
                CorrectionRequest.resource_id == resource_id,
                CorrectionRequest.status.in_(domain.UNRESOLVED_STATUSES),
            )
            .order_by(CorrectionRequest.deadline, CorrectionRequest.id)
        )
    ).scalars()
    requests = [
        ActiveRequest(id=r.id, deadline=r.deadline, deadline_estimated=r.deadline_estimated, items=r.items)
        for r in rows
    ]
    return ActiveOut(
        under_verification=bool(requests),
        subject_id=mask_identifier(subject.value),
        resource_id=resource_id,
        requests=requests,
    )


async def quality(
    session: AsyncSession,
    *,
    caller: Caller,
    now: datetime,
    resource_id: str | None = None,
    provider_dept: str | None = None,
    year: int | None = None,
) -> QualityOut:
    """第二十条: requests received, corrected, found without error and overdue, and the median working days to
    resolve, per resource and per provider department (a department sees its own)."""
    provider_dept = access.quality_scope(caller, provider_dept)
    query = sa.select(
        CorrectionRequest.resource_id,
        CorrectionRequest.provider_dept,
        CorrectionRequest.status,
        CorrectionRequest.outcome,
        CorrectionRequest.deadline,
        CorrectionRequest.on_time,
        CorrectionRequest.working_days_taken,
        CatalogResource.name.label("resource_name"),
    ).outerjoin(CatalogResource, CatalogResource.resource_id == CorrectionRequest.resource_id)
    if resource_id:
        query = query.where(CorrectionRequest.resource_id == resource_id)
    if provider_dept:
        query = query.where(CorrectionRequest.provider_dept == provider_dept)
    if year is not None:
        query = query.where(CorrectionRequest.received_on.between(date(year, 1, 1), date(year, 12, 31)))
    today = today_in_shanghai(now)
    by_resource: dict[tuple[str, str], domain.QualityTally] = {}
    by_provider: dict[str, domain.QualityTally] = {}
    names: dict[str, str | None] = {}
    for row in (await session.execute(query)).all():
        names[row.resource_id] = row.resource_name
        for tally in (
            by_resource.setdefault((row.resource_id, row.provider_dept), domain.QualityTally()),
            by_provider.setdefault(row.provider_dept, domain.QualityTally()),
        ):
            tally.add(
                status=row.status,
                outcome=row.outcome,
                deadline=row.deadline,
                on_time=row.on_time,
                days=row.working_days_taken,
                today=today,
            )
    return QualityOut(
        as_of=today,
        resources=[
            ResourceQuality(resource_id=rid, resource_name=names[rid], provider_dept=dept, **tally.figures())
            for (rid, dept), tally in sorted(by_resource.items())
        ],
        providers=[
            ProviderQuality(provider_dept=dept, **tally.figures()) for dept, tally in sorted(by_provider.items())
        ],
    )
