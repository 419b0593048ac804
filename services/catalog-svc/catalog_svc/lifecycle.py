"""A resource's lifecycle (第十四条): register a draft, edit it, submit it, the bureau's review, new revisions of
a published resource, retirement — and item authority (一数一源, 第十六条) checked at each step.

Each operation is a unit of work: it checks the caller, applies the rules, writes the change, its search entry
and its event in the caller's transaction, and returns the resource as the caller now sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from govdata_shared.auth import Caller, require_department
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.publish import publish
from govdata_shared.repository import get_or_404, new_id
from govdata_shared.upstream import UpstreamPolicy
from govdata_shared.workdays import DEFAULT_CALENDAR, today_in_shanghai
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import access, domain, events, search, triggers
from catalog_svc.domain import REVISION, ResourceStatus, RevisionStatus
from catalog_svc.models import AuthorityOverlap, ItemAuthority, Resource, ResourceRevision
from catalog_svc.responses import resource_view, revision_fields, shown_version
from catalog_svc.schemas import OverlapIn, ResourceCreate, ResourceFields, ResourceOut, ResourcePatch

# --- rules that need the database ------------------------------------------------------------------------


def check_rules(fields: ResourceFields) -> None:
    errors = domain.rule_violations(fields)
    if errors:
        raise validation_problem(errors)


def _code_fixed() -> Problem:
    return Problem(
        422, "validation_failed", "已发布资源的信息资源代码不能修改", field="code", rule="code_fixed_after_publish"
    )


def check_declared(revision: ResourceRevision) -> None:
    """第二条: state-secret data is managed under the secrecy laws, so a revision goes to review only with the
    provider's declaration that it holds none."""
    if not revision.no_state_secrets:
        raise Problem(
            422,
            "state_secret_declaration_required",
            "提交审核前，提供部门须声明本资源不涉及国家秘密；涉及国家秘密的政务数据资源按照相关保密法律法规的规定管理，"
            "不在本平台登记共享（第二条）",
            field="no_state_secrets",
            rule="state_secret_declaration_required",
        )


async def upstream_policy(request: Request) -> UpstreamPolicy:
    """This app's GOVDATA_UPSTREAM_ALLOWED_NETWORKS, parsed once (the settings checked it at start-up)."""
    state = request.app.state
    policy = getattr(state, "upstream_policy", None)
    if policy is None:
        policy = state.upstream_policy = UpstreamPolicy.parse(state.settings.govdata_upstream_allowed_networks)
    return policy


UpstreamPolicyDep = Annotated[UpstreamPolicy, Depends(upstream_policy)]
"""Route parameter: the upstream allow-list the operations below check `interface.base_url` against."""


async def check_upstream(policy: UpstreamPolicy, fields: ResourceFields) -> None:
    """API.md "Data plane": the interface must be http(s) on a host whose every address is inside the allow-list
    (names are resolved now; the gateway checks again at every connection) — 422 upstream_not_allowed."""
    if fields.interface is None:
        return
    refused = await policy.check_url(str(fields.interface.base_url))
    if refused is not None:
        raise Problem(
            422,
            "upstream_not_allowed",
            f"接口地址不允许：{refused.detail}",
            field="interface.base_url",
            rule=refused.rule,
        )


async def check_code_free(session: AsyncSession, code: str, resource_id: str | None) -> None:
    existing = (await session.execute(sa.select(Resource.id).where(Resource.code == code))).scalar_one_or_none()
    if existing is not None and existing != resource_id:
        raise Problem(
            409,
            "code_taken",
            f"信息资源代码 {code} 已被资源 {existing} 使用",
            field="code",
            rule="unique_code",
            existing_resource=existing,
        )


async def check_item_authority(
    session: AsyncSession, fields: ResourceFields, dept: str, resource_id: str | None
) -> None:
    """一数一源 (第十六条): a second department may not claim authority over an item another already holds,
    unless the bureau allowed the overlap."""
    claimed = {item.code: index for index, item in enumerate(fields.items) if item.authoritative}
    if not claimed:
        return
    holders = (
        (
            await session.execute(
                sa.select(ItemAuthority).where(ItemAuthority.item_code.in_(claimed), ItemAuthority.dept != dept)
            )
        )
        .scalars()
        .all()
    )
    if not holders:
        return
    allowed = set(
        (
            await session.execute(
                sa.select(AuthorityOverlap.item_code).where(
                    AuthorityOverlap.item_code.in_(claimed), AuthorityOverlap.dept == dept
                )
            )
        ).scalars()
    )
    for holder in holders:
        if holder.item_code in allowed or holder.resource_id == resource_id:
            continue
        raise Problem(
            409,
            "item_authority_conflict",
            f"信息项 {holder.item_code} 已由 {holder.dept} 的资源 {holder.resource_id} 作为权威来源提供"
            "（一数一源，第十六条）；如确需重叠，请县政务服务和大数据管理局批准",
            field=f"items[{claimed[holder.item_code]}].authoritative",
            rule="one_item_one_source",
            existing_resource=holder.resource_id,
            existing_dept=holder.dept,
            item_code=holder.item_code,
        )


async def record_item_authority(
    session: AsyncSession, resource: Resource, revision: ResourceRevision, now: datetime
) -> None:
    """The published revision's authoritative items become the department's (第十六条)."""
    await session.execute(sa.delete(ItemAuthority).where(ItemAuthority.resource_id == resource.id))
    claimed = [item["code"] for item in revision.items if item.get("authoritative")]
    if not claimed:
        return
    allowed = set(
        (
            await session.execute(
                sa.select(AuthorityOverlap.item_code).where(
                    AuthorityOverlap.item_code.in_(claimed), AuthorityOverlap.dept == resource.provider_dept
                )
            )
        ).scalars()
    )
    for code in claimed:
        session.add(
            ItemAuthority(
                item_code=code,
                dept=resource.provider_dept,
                resource_id=resource.id,
                allowed_overlap=code in allowed,
                recorded_at=now,
            )
        )


# --- loading, events and the search index ----------------------------------------------------------------


async def _locked(session: AsyncSession, resource_id: str) -> Resource:
    return await get_or_404(session, Resource, resource_id, for_update=True)


async def _revision(session: AsyncSession, resource_id: str, version: int) -> ResourceRevision:
    return await get_or_404(session, ResourceRevision, (resource_id, version))


async def _publish_resource_event(
    session: AsyncSession,
    event_type: str,
    resource: Resource,
    revision: ResourceRevision,
    caller: Caller | None,
    *,
    reason: str | None = None,
    reviewed_on_time: bool | None = None,
) -> None:
    resource.event_version += 1
    await publish(
        session,
        event_type,
        resource.id,
        events.resource_payload(resource, revision, caller, reason=reason, reviewed_on_time=reviewed_on_time),
        caller=caller,
        version=resource.event_version,
        dept=resource.provider_dept,
        source=events.SOURCE,
    )


async def reindex(session: AsyncSession, resource: Resource) -> None:
    """Write the resource's search entry from the revision everyone sees (after the change is flushed)."""
    await session.flush()
    shown = await _revision(session, resource.id, shown_version(resource))
    await search.index_resource(
        session,
        search.is_postgres(session),
        search.SearchDocument(
            resource_id=resource.id,
            code=resource.code,
            name=shown.name,
            summary=shown.summary,
            item_names=[i["name"] for i in shown.items],
            item_codes=[i["code"] for i in shown.items],
            provider_dept=resource.provider_dept,
            category=shown.category,
            sharing_type=shown.sharing_type,
            security_level=shown.security_level,
            format=shown.format,
            status=resource.status,
            updated_at=resource.updated_at,
        ),
    )


def _revision_values(fields: ResourceFields) -> dict[str, Any]:
    return fields.model_dump(mode="json", exclude={"code"})


def _merged(resource: Resource, revision: ResourceRevision, patch: ResourcePatch) -> ResourceFields:
    current = {"code": resource.code, **revision_fields(revision)}
    changes = patch.model_dump(mode="json", exclude_unset=True)
    try:
        return ResourceFields.model_validate({**current, **changes})
    except ValidationError as error:  # a required field patched to null: 422 naming it, like a bad body
        raise RequestValidationError(error.errors()) from None


def _fields(resource: Resource, revision: ResourceRevision) -> ResourceFields:
    return ResourceFields.model_validate({"code": resource.code, **revision_fields(revision)})


# --- the lifecycle ---------------------------------------------------------------------------------------


async def create_resource(
    session: AsyncSession, *, caller: Caller, body: ResourceCreate, now: datetime, upstream: UpstreamPolicy
) -> ResourceOut:
    """Register a resource as a draft of the caller's department."""
    dept = require_department(caller)
    check_rules(body)
    await check_upstream(upstream, body)
    await check_code_free(session, body.code, None)
    await check_item_authority(session, body, dept, None)
    resource = Resource(
        id=new_id("res"),
        code=body.code,
        provider_dept=dept,
        status=ResourceStatus.DRAFT,
        latest_version=1,
        created_by=caller.sub,
        created_at=now,
        updated_at=now,
    )
    session.add(resource)
    session.add(
        ResourceRevision(
            resource_id=resource.id,
            version=1,
            status=RevisionStatus.DRAFT,
            created_by=caller.sub,
            created_at=now,
            updated_at=now,
            **_revision_values(body),
        )
    )
    await reindex(session, resource)
    return await resource_view(session, caller, resource.id)


async def _editable_revision(session: AsyncSession, resource: Resource) -> ResourceRevision:
    revision = await _revision(session, resource.id, resource.latest_version)
    if revision.status == RevisionStatus.PUBLISHED:
        raise Problem(
            409, "revision_required", "已发布的资源不能直接修改，请先创建新的修订版本", rule="edit_through_revision"
        )
    REVISION.next(revision.status, "edit")  # 409 unless draft or rejected
    return revision


async def patch_resource(
    session: AsyncSession,
    *,
    caller: Caller,
    resource_id: str,
    patch: ResourcePatch,
    now: datetime,
    upstream: UpstreamPolicy,
) -> ResourceOut:
    """Edit the draft (or rejected) revision; the provider department only."""
    resource = await _locked(session, resource_id)
    access.require_provider(caller, resource)
    if resource.status == ResourceStatus.RETIRED:
        raise Problem(409, "resource_retired", "资源已停用，不能修改")
    revision = await _editable_revision(session, resource)
    merged = _merged(resource, revision, patch)
    check_rules(merged)
    if "interface" in patch.model_fields_set:
        await check_upstream(upstream, merged)
    if merged.code != resource.code:
        if resource.published_version is not None:
            raise _code_fixed()
        await check_code_free(session, merged.code, resource.id)
        resource.code = merged.code
    await check_item_authority(session, merged, resource.provider_dept, resource.id)
    for name, value in _revision_values(merged).items():
        setattr(revision, name, value)
    revision.status = REVISION.next(revision.status, "edit")
    revision.updated_at = now
    if resource.published_version is None:
        resource.status = ResourceStatus.DRAFT
    resource.updated_at = now
    await reindex(session, resource)
    return await resource_view(session, caller, resource.id, resource.latest_version)


async def submit_resource(
    session: AsyncSession, *, caller: Caller, resource_id: str, now: datetime, upstream: UpstreamPolicy
) -> ResourceOut:
    """Submit the latest revision for the bureau's review; the review deadline is 5 working days (第十四条)."""
    resource = await _locked(session, resource_id)
    access.require_provider(caller, resource)
    revision = await _revision(session, resource.id, resource.latest_version)
    submitted = REVISION.next(revision.status, "submit")  # 409 unless draft or rejected
    check_declared(revision)
    fields = _fields(resource, revision)
    check_rules(fields)
    await check_upstream(upstream, fields)  # again: the allow-list may have changed since the draft was written
    await check_item_authority(session, fields, resource.provider_dept, resource.id)
    # 第十四条: the bureau reviews within 5 working days of receiving the submission.
    deadline = DEFAULT_CALENDAR.add_working_days(today_in_shanghai(now), domain.REVIEW_WORKING_DAYS)
    revision.status = submitted
    revision.submitted_at = now
    revision.review_deadline = deadline.due
    revision.review_deadline_estimated = deadline.estimated
    revision.review_overdue_emitted = False
    revision.review_reason = None
    revision.updated_at = now
    if resource.published_version is None:
        resource.status = ResourceStatus.SUBMITTED
    resource.updated_at = now
    await triggers.mark_submitted(session, resource, revision, now)
    await _publish_resource_event(session, events.RESOURCE_SUBMITTED, resource, revision, caller)
    await reindex(session, resource)
    return await resource_view(session, caller, resource.id, resource.latest_version)


async def review_resource(
    session: AsyncSession, *, caller: Caller, resource_id: str, decision: str, reason: str | None, now: datetime
) -> ResourceOut:
    """The bureau approves (publishes) or rejects (with a reason) the submitted revision."""
    resource = await _locked(session, resource_id)
    revision = await _revision(session, resource.id, resource.latest_version)
    if decision == "reject" and not (reason and reason.strip()):
        raise validation_problem([{"field": "reason", "rule": "required_on_reject", "detail": "退回时必须说明理由"}])
    revision.status = REVISION.next(revision.status, "approve" if decision == "approve" else "reject")
    on_time = domain.reviewed_on_time(revision.review_deadline, today_in_shanghai(now))
    revision.reviewed_at = now
    revision.reviewed_by = caller.sub
    revision.review_reason = reason
    revision.updated_at = now
    resource.updated_at = now
    if decision == "approve":
        await check_item_authority(session, _fields(resource, revision), resource.provider_dept, resource.id)
        previous = resource.published_version
        revision.published_at = now
        resource.published_version = revision.version
        resource.published_at = resource.published_at or now
        resource.status = ResourceStatus.PUBLISHED
        if previous is not None:
            old = await _revision(session, resource.id, previous)
            old.status = REVISION.next(old.status, "supersede")
            old.superseded_at = now
            await _publish_resource_event(session, events.RESOURCE_SUPERSEDED, resource, old, caller)
        await record_item_authority(session, resource, revision, now)
        await _publish_resource_event(
            session, events.RESOURCE_PUBLISHED, resource, revision, caller, reviewed_on_time=on_time
        )
    else:
        if resource.published_version is None:
            resource.status = ResourceStatus.REJECTED
        await _publish_resource_event(
            session, events.RESOURCE_REJECTED, resource, revision, caller, reason=reason, reviewed_on_time=on_time
        )
    await triggers.mark_reviewed(session, resource, revision, now)
    await reindex(session, resource)
    return await resource_view(session, caller, resource.id, resource.latest_version)


async def create_revision(
    session: AsyncSession,
    *,
    caller: Caller,
    resource_id: str,
    patch: ResourcePatch | None,
    now: datetime,
    upstream: UpstreamPolicy,
) -> ResourceOut:
    """Start a new draft revision of a published resource (the published one stays what others see until the
    new one is approved), with optional changes applied right away."""
    resource = await _locked(session, resource_id)
    access.require_provider(caller, resource)
    if resource.status == ResourceStatus.RETIRED:
        raise Problem(409, "resource_retired", "资源已停用，不能修订")
    if resource.published_version is None:
        raise Problem(409, "not_published", "资源尚未发布，请直接修改草稿", rule="revise_published_only")
    latest = await _revision(session, resource.id, resource.latest_version)
    if latest.status in domain.PENDING_STATUSES:
        raise Problem(
            409, "revision_pending", f"资源已有未完成的第 {latest.version} 版修订", pending_version=latest.version
        )
    published = await _revision(session, resource.id, resource.published_version)
    draft = ResourceRevision(
        resource_id=resource.id,
        version=resource.latest_version + 1,
        status=RevisionStatus.DRAFT,
        created_by=caller.sub,
        created_at=now,
        updated_at=now,
        **revision_fields(published),
    )
    if patch is not None and patch.model_fields_set:
        merged = _merged(resource, draft, patch)
        if merged.code != resource.code:
            raise _code_fixed()
        check_rules(merged)
        if "interface" in patch.model_fields_set:
            await check_upstream(upstream, merged)
        await check_item_authority(session, merged, resource.provider_dept, resource.id)
        for name, value in _revision_values(merged).items():
            setattr(draft, name, value)
    session.add(draft)
    resource.latest_version = draft.version
    resource.updated_at = now
    await session.flush()
    return await resource_view(session, caller, resource.id, resource.latest_version)


async def retire_resource(
    session: AsyncSession, *, caller: Caller, resource_id: str, reason: str | None, now: datetime
) -> ResourceOut:
    """End the resource (its provider or the bureau); an undecided revision is withdrawn."""
    resource = await _locked(session, resource_id)
    access.require_retirer(caller, resource)
    if resource.status == ResourceStatus.RETIRED:
        raise Problem(409, "resource_retired", "资源已停用")
    latest = await _revision(session, resource.id, resource.latest_version)
    if latest.status in domain.PENDING_STATUSES:
        latest.status = REVISION.next(latest.status, "withdraw")
        latest.updated_at = now
    resource.status = ResourceStatus.RETIRED
    resource.retired_at = now
    resource.updated_at = now
    await session.execute(sa.delete(ItemAuthority).where(ItemAuthority.resource_id == resource.id))
    shown = await _revision(session, resource.id, shown_version(resource))
    await _publish_resource_event(session, events.RESOURCE_RETIRED, resource, shown, caller, reason=reason)
    await reindex(session, resource)
    return await resource_view(session, caller, resource.id)


# --- 一数一源 overlaps allowed by the bureau (第十六条) --------------------------------------------------------


async def allow_overlap(session: AsyncSession, *, caller: Caller, body: OverlapIn, now: datetime) -> dict[str, Any]:
    """The bureau allows a department to be a second authoritative source of an item (the first permission
    stands; asking again records nothing new but is announced again)."""
    overlap = await session.get(AuthorityOverlap, (body.item_code, body.dept))
    if overlap is None:
        overlap = AuthorityOverlap(
            item_code=body.item_code, dept=body.dept, reason=body.reason, allowed_by=caller.sub, allowed_at=now
        )
        session.add(overlap)
    await publish(
        session,
        events.OVERLAP_ALLOWED,
        f"{body.item_code}@{body.dept}",
        events.overlap_payload(body.item_code, body.dept, body.reason),
        caller=caller,
        version=1,
        dept=body.dept,
        source=events.SOURCE,
    )
    return {"item_code": overlap.item_code, "dept": overlap.dept, "reason": overlap.reason}
