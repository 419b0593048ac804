"""Catalog operations: each one a unit of work that checks the caller, applies the rules, writes the change
and its event in one transaction (the caller's session commits it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller, Role
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.publish import publish
from govdata_shared.workdays import DEFAULT_CALENDAR, today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_svc import domain, events, search
from catalog_svc.models import AuthorityOverlap, ItemAuthority, Resource, ResourceRevision, UpdateTrigger
from catalog_svc.schemas import (
    InterfaceOut,
    PendingRevision,
    ResourceCreate,
    ResourceFields,
    ResourceOut,
    ResourcePatch,
)

SOURCE = "catalog-svc"
EDITOR_ROLES = (Role.DEPT_OPERATOR, Role.DEPT_HEAD)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


# --- who may do what -------------------------------------------------------------------------------------


def require_department(caller: Caller) -> str:
    if not caller.dept or not caller.has_role(*EDITOR_ROLES):
        raise Problem(403, "department_role_required", "只有部门经办人或部门负责人可以执行此操作")
    return caller.dept


def require_provider(caller: Caller, resource: Resource) -> None:
    """Only the provider department edits its own resources."""
    require_department(caller)
    if caller.dept != resource.provider_dept:
        raise Problem(
            403,
            "not_provider",
            f"只有提供方部门 {resource.provider_dept} 可以修改该资源",
            provider_dept=resource.provider_dept,
        )


def require_bureau(caller: Caller) -> None:
    if not caller.has_role(Role.BUREAU_ADMIN):
        raise Problem(403, "bureau_role_required", "只有县政务服务和大数据管理局可以审核")


def can_see_unpublished(caller: Caller, resource: Resource) -> bool:
    return caller.is_bureau or caller.has_role(Role.AUDITOR) or caller.dept == resource.provider_dept


# --- loading ---------------------------------------------------------------------------------------------


async def get_resource(session: AsyncSession, resource_id: str, *, for_update: bool = False) -> Resource:
    query = sa.select(Resource).where(Resource.id == resource_id)
    if for_update:
        query = query.with_for_update()
    resource = (await session.execute(query)).scalar_one_or_none()
    if resource is None:
        raise Problem(404, "resource_not_found", f"资源 {resource_id} 不存在")
    return resource


async def get_revision(session: AsyncSession, resource_id: str, version: int) -> ResourceRevision:
    revision = await session.get(ResourceRevision, (resource_id, version))
    if revision is None:
        raise Problem(404, "revision_not_found", f"资源 {resource_id} 没有第 {version} 版")
    return revision


async def visible_resource(session: AsyncSession, caller: Caller, resource_id: str) -> Resource:
    resource = await get_resource(session, resource_id)
    if (
        resource.published_version is None
        and resource.status != "retired"
        and not can_see_unpublished(caller, resource)
    ):
        raise Problem(404, "resource_not_found", f"资源 {resource_id} 不存在")
    return resource


# --- views -----------------------------------------------------------------------------------------------


def revision_fields(revision: ResourceRevision) -> dict[str, Any]:
    return {name: getattr(revision, name) for name in ResourceFields.model_fields if name != "code"}


async def resource_view(
    session: AsyncSession, resource: Resource, caller: Caller, version: int | None = None
) -> ResourceOut:
    """The published revision for everyone; owners and the bureau also see the pending one."""
    owner_view = can_see_unpublished(caller, resource)
    if version is not None:
        if version != resource.published_version and not owner_view:
            raise Problem(404, "revision_not_found", f"资源 {resource.id} 没有第 {version} 版")
        shown = await get_revision(session, resource.id, version)
    else:
        shown = await get_revision(session, resource.id, resource.published_version or resource.latest_version)
    pending = None
    if owner_view and resource.latest_version != shown.version:
        latest = await get_revision(session, resource.id, resource.latest_version)
        if latest.status in domain.PENDING_STATUSES:
            pending = PendingRevision(
                version=latest.version, status=latest.status, review_deadline=latest.review_deadline
            )
    interface = None
    if shown.interface:
        interface = InterfaceOut(
            base_url=shown.interface["base_url"],
            methods=shown.interface.get("methods", ["GET"]),
            path_prefixes=shown.interface.get("path_prefixes", ["/"]),
            rate_limit=shown.interface.get("rate_limit", 20),
            has_credential=bool(shown.interface.get("credential_ref")),
        )
    return ResourceOut(
        id=resource.id,
        code=resource.code,
        provider_dept=resource.provider_dept,
        status=resource.status,
        version=shown.version,
        published_version=resource.published_version,
        **{k: v for k, v in revision_fields(shown).items() if k != "interface"},
        interface=interface,
        revision_status=shown.status,
        submitted_at=shown.submitted_at,
        review_deadline=shown.review_deadline,
        review_deadline_estimated=shown.review_deadline_estimated,
        review_reason=shown.review_reason,
        published_at=shown.published_at,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
        pending_revision=pending,
    )


# --- rules that need the database ------------------------------------------------------------------------


def check_rules(fields: ResourceFields) -> None:
    errors = domain.rule_violations(fields)
    if errors:
        raise validation_problem(errors)


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


async def record_item_authority(session: AsyncSession, resource: Resource, revision: ResourceRevision, now: datetime):
    await session.execute(sa.delete(ItemAuthority).where(ItemAuthority.resource_id == resource.id))
    for item in revision.items:
        if item.get("authoritative"):
            overlap = await session.get(AuthorityOverlap, (item["code"], resource.provider_dept))
            session.add(
                ItemAuthority(
                    item_code=item["code"],
                    dept=resource.provider_dept,
                    resource_id=resource.id,
                    allowed_overlap=overlap is not None,
                    recorded_at=now,
                )
            )


# --- events and the search index -------------------------------------------------------------------------


async def emit(
    session: AsyncSession,
    event_type: str,
    subject: str,
    data: Any,
    *,
    caller: Caller | None,
    version: int,
    dept: str | None,
) -> None:
    await publish(session, event_type, subject, data, caller=caller, version=version, dept=dept, source=SOURCE)


async def emit_resource_event(
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
    interface = dict(revision.interface) if revision.interface else None
    if interface is not None:
        interface.setdefault("methods", ["GET"])
        interface.setdefault("path_prefixes", ["/"])
        interface.setdefault("rate_limit", 20)
    data = {
        "resource_id": resource.id,
        "code": resource.code,
        "name": revision.name,
        "provider_dept": resource.provider_dept,
        "status": resource.status,
        "revision": revision.version,
        "revision_status": revision.status,
        "category": revision.category,
        "format": revision.format,
        "sharing_type": revision.sharing_type,
        "sharing_method": revision.sharing_method,
        "open_type": revision.open_type,
        "security_level": revision.security_level,
        "update_cycle": revision.update_cycle,
        "items": events.snapshot_items(revision.items),
        "interface": interface,
        "submitted_at": revision.submitted_at,
        "review_deadline": revision.review_deadline,
        "review_deadline_estimated": revision.review_deadline_estimated,
        "reviewed_on_time": reviewed_on_time,
        "published_at": revision.published_at,
        "reason": reason,
        "actor_role": sorted(caller.roles)[0] if caller and caller.roles else None,
    }
    await emit(
        session,
        event_type,
        resource.id,
        data,
        caller=caller,
        version=resource.event_version,
        dept=resource.provider_dept,
    )


async def reindex(session: AsyncSession, is_postgres: bool, resource: Resource) -> None:
    shown = await get_revision(session, resource.id, resource.published_version or resource.latest_version)
    await search.index_resource(
        session,
        is_postgres,
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


# --- lifecycle -------------------------------------------------------------------------------------------


def _revision_values(fields: ResourceFields) -> dict[str, Any]:
    values = fields.model_dump(mode="json", exclude={"code"})
    return values


async def create_resource(
    session: AsyncSession, is_postgres: bool, caller: Caller, body: ResourceCreate, now: datetime
) -> Resource:
    dept = require_department(caller)
    check_rules(body)
    await check_code_free(session, body.code, None)
    await check_item_authority(session, body, dept, None)
    resource = Resource(
        id=new_id("res"),
        code=body.code,
        provider_dept=dept,
        status="draft",
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
            status="draft",
            created_by=caller.sub,
            created_at=now,
            updated_at=now,
            **_revision_values(body),
        )
    )
    await session.flush()
    await reindex(session, is_postgres, resource)
    return resource


async def editable_revision(session: AsyncSession, resource: Resource) -> ResourceRevision:
    revision = await get_revision(session, resource.id, resource.latest_version)
    if revision.status not in ("draft", "rejected"):
        if revision.status == "published":
            raise Problem(
                409, "revision_required", "已发布的资源不能直接修改，请先创建新的修订版本", rule="edit_through_revision"
            )
        domain.transition(revision.status, "edit")
    return revision


def _merged(resource: Resource, revision: ResourceRevision, patch: ResourcePatch) -> ResourceFields:
    current = {"code": resource.code, **revision_fields(revision)}
    changes = patch.model_dump(mode="json", exclude_unset=True)
    return ResourceFields.model_validate({**current, **changes})


async def patch_resource(
    session: AsyncSession, is_postgres: bool, caller: Caller, resource_id: str, patch: ResourcePatch, now: datetime
) -> Resource:
    resource = await get_resource(session, resource_id, for_update=True)
    require_provider(caller, resource)
    if resource.status == "retired":
        raise Problem(409, "resource_retired", "资源已停用，不能修改")
    revision = await editable_revision(session, resource)
    merged = _merged(resource, revision, patch)
    check_rules(merged)
    if merged.code != resource.code:
        if resource.published_version is not None:
            raise Problem(
                422,
                "validation_failed",
                "已发布资源的信息资源代码不能修改",
                field="code",
                rule="code_fixed_after_publish",
            )
        await check_code_free(session, merged.code, resource.id)
        resource.code = merged.code
    await check_item_authority(session, merged, resource.provider_dept, resource.id)
    for name, value in _revision_values(merged).items():
        setattr(revision, name, value)
    revision.status = domain.transition(revision.status, "edit")
    revision.updated_at = now
    if resource.published_version is None:
        resource.status = revision.status
    resource.updated_at = now
    await session.flush()
    await reindex(session, is_postgres, resource)
    return resource


async def submit_resource(
    session: AsyncSession, is_postgres: bool, caller: Caller, resource_id: str, now: datetime
) -> Resource:
    resource = await get_resource(session, resource_id, for_update=True)
    require_provider(caller, resource)
    revision = await get_revision(session, resource.id, resource.latest_version)
    revision.status = domain.transition(revision.status, "submit")
    fields = ResourceFields.model_validate({"code": resource.code, **revision_fields(revision)})
    check_rules(fields)
    await check_item_authority(session, fields, resource.provider_dept, resource.id)
    # 第十四条: the bureau reviews within 5 working days of receiving the submission.
    deadline = DEFAULT_CALENDAR.add_working_days(today_in_shanghai(now), domain.REVIEW_WORKING_DAYS)
    revision.submitted_at = now
    revision.review_deadline = deadline.due
    revision.review_deadline_estimated = deadline.estimated
    revision.review_overdue_emitted = False
    revision.review_reason = None
    revision.updated_at = now
    if resource.published_version is None:
        resource.status = "submitted"
    resource.updated_at = now
    await mark_triggers_submitted(session, resource, revision, now)
    await emit_resource_event(session, events.RESOURCE_SUBMITTED, resource, revision, caller)
    await session.flush()
    await reindex(session, is_postgres, resource)
    return resource


async def review_resource(
    session: AsyncSession,
    is_postgres: bool,
    caller: Caller,
    resource_id: str,
    decision: str,
    reason: str | None,
    now: datetime,
) -> Resource:
    require_bureau(caller)
    resource = await get_resource(session, resource_id, for_update=True)
    revision = await get_revision(session, resource.id, resource.latest_version)
    if decision == "reject" and not (reason and reason.strip()):
        raise validation_problem([{"field": "reason", "rule": "required_on_reject", "detail": "退回时必须说明理由"}])
    revision.status = domain.transition(revision.status, "approve" if decision == "approve" else "reject")
    on_time = revision.review_deadline is None or today_in_shanghai(now) <= revision.review_deadline
    revision.reviewed_at = now
    revision.reviewed_by = caller.sub
    revision.review_reason = reason
    revision.updated_at = now
    resource.updated_at = now
    if decision == "approve":
        fields = ResourceFields.model_validate({"code": resource.code, **revision_fields(revision)})
        await check_item_authority(session, fields, resource.provider_dept, resource.id)
        previous = resource.published_version
        revision.published_at = now
        resource.published_version = revision.version
        resource.published_at = resource.published_at or now
        resource.status = "published"
        if previous is not None:
            old = await get_revision(session, resource.id, previous)
            old.status = domain.transition(old.status, "supersede")
            old.superseded_at = now
            await emit_resource_event(session, events.RESOURCE_SUPERSEDED, resource, old, caller)
        await record_item_authority(session, resource, revision, now)
        await emit_resource_event(
            session, events.RESOURCE_PUBLISHED, resource, revision, caller, reviewed_on_time=on_time
        )
    else:
        if resource.published_version is None:
            resource.status = "rejected"
        await emit_resource_event(
            session, events.RESOURCE_REJECTED, resource, revision, caller, reason=reason, reviewed_on_time=on_time
        )
    await mark_triggers_reviewed(session, resource, revision, now)
    await session.flush()
    await reindex(session, is_postgres, resource)
    return resource


async def create_revision(
    session: AsyncSession,
    is_postgres: bool,
    caller: Caller,
    resource_id: str,
    patch: ResourcePatch | None,
    now: datetime,
) -> Resource:
    resource = await get_resource(session, resource_id, for_update=True)
    require_provider(caller, resource)
    if resource.status == "retired":
        raise Problem(409, "resource_retired", "资源已停用，不能修订")
    if resource.published_version is None:
        raise Problem(409, "not_published", "资源尚未发布，请直接修改草稿", rule="revise_published_only")
    latest = await get_revision(session, resource.id, resource.latest_version)
    if latest.status in domain.PENDING_STATUSES:
        raise Problem(
            409, "revision_pending", f"资源已有未完成的第 {latest.version} 版修订", pending_version=latest.version
        )
    published = await get_revision(session, resource.id, resource.published_version)
    values = revision_fields(published)
    draft = ResourceRevision(
        resource_id=resource.id,
        version=resource.latest_version + 1,
        status="draft",
        created_by=caller.sub,
        created_at=now,
        updated_at=now,
        **values,
    )
    if patch is not None and patch.model_fields_set:
        merged = _merged(resource, draft, patch)
        if merged.code != resource.code:
            raise Problem(
                422,
                "validation_failed",
                "已发布资源的信息资源代码不能修改",
                field="code",
                rule="code_fixed_after_publish",
            )
        check_rules(merged)
        await check_item_authority(session, merged, resource.provider_dept, resource.id)
        for name, value in _revision_values(merged).items():
            setattr(draft, name, value)
    session.add(draft)
    resource.latest_version = draft.version
    resource.updated_at = now
    await session.flush()
    return resource


async def retire_resource(
    session: AsyncSession, is_postgres: bool, caller: Caller, resource_id: str, reason: str | None, now: datetime
) -> Resource:
    resource = await get_resource(session, resource_id, for_update=True)
    if not caller.is_bureau:
        require_provider(caller, resource)
    if resource.status == "retired":
        raise Problem(409, "resource_retired", "资源已停用")
    latest = await get_revision(session, resource.id, resource.latest_version)
    if latest.status in domain.PENDING_STATUSES:
        latest.status = domain.transition(latest.status, "withdraw")
        latest.updated_at = now
    resource.status = "retired"
    resource.retired_at = now
    resource.updated_at = now
    await session.execute(sa.delete(ItemAuthority).where(ItemAuthority.resource_id == resource.id))
    shown = await get_revision(session, resource.id, resource.published_version or resource.latest_version)
    await emit_resource_event(session, events.RESOURCE_RETIRED, resource, shown, caller, reason=reason)
    await session.flush()
    await reindex(session, is_postgres, resource)
    return resource


# --- update triggers (第十四条) ----------------------------------------------------------------------------


async def mark_triggers_submitted(
    session: AsyncSession, resource: Resource, revision: ResourceRevision, now: datetime
) -> None:
    """The first submission after a trigger answers it; the bureau's 5 working days start then."""
    open_triggers = (
        (
            await session.execute(
                sa.select(UpdateTrigger).where(
                    UpdateTrigger.dept == resource.provider_dept,
                    UpdateTrigger.submitted_at.is_(None),
                    sa.or_(UpdateTrigger.resource_id.is_(None), UpdateTrigger.resource_id == resource.id),
                )
            )
        )
        .scalars()
        .all()
    )
    for trigger in open_triggers:
        trigger.submitted_at = now
        trigger.submitted_version = revision.version
        trigger.resource_id = trigger.resource_id or resource.id
        trigger.review_deadline = revision.review_deadline
        trigger.review_deadline_estimated = revision.review_deadline_estimated


async def mark_triggers_reviewed(
    session: AsyncSession, resource: Resource, revision: ResourceRevision, now: datetime
) -> None:
    await session.execute(
        sa.update(UpdateTrigger)
        .where(
            UpdateTrigger.resource_id == resource.id,
            UpdateTrigger.submitted_version == revision.version,
            UpdateTrigger.reviewed_at.is_(None),
        )
        .values(reviewed_at=now)
    )


async def record_trigger(session: AsyncSession, caller: Caller, body, now: datetime) -> UpdateTrigger:
    dept = require_department(caller)
    if body.resource_id is not None:
        resource = await get_resource(session, body.resource_id)
        require_provider(caller, resource)
    if body.occurred_on > today_in_shanghai(now):
        raise validation_problem([{"field": "occurred_on", "rule": "not_in_future", "detail": "变更日期不能晚于今天"}])
    # 第十四条: apply for the catalog update within 10 working days of the change.
    deadline = DEFAULT_CALENDAR.add_working_days(body.occurred_on, domain.UPDATE_SUBMIT_WORKING_DAYS)
    trigger = UpdateTrigger(
        id=new_id("trg"),
        dept=dept,
        resource_id=body.resource_id,
        kind=body.kind,
        occurred_on=body.occurred_on,
        description=body.description,
        recorded_by=caller.sub,
        recorded_at=now,
        submit_deadline=deadline.due,
        submit_deadline_estimated=deadline.estimated,
    )
    session.add(trigger)
    await emit(
        session,
        events.UPDATE_TRIGGER_RECORDED,
        trigger.id,
        _trigger_event(trigger),
        caller=caller,
        version=1,
        dept=dept,
    )
    return trigger


def _trigger_event(trigger: UpdateTrigger) -> dict[str, Any]:
    return {
        "trigger_id": trigger.id,
        "dept": trigger.dept,
        "resource_id": trigger.resource_id,
        "kind": trigger.kind,
        "occurred_on": trigger.occurred_on,
        "submit_deadline": trigger.submit_deadline,
        "estimated": trigger.submit_deadline_estimated,
    }


async def overdue_items(session: AsyncSession, now: datetime, dept: str | None = None) -> list[dict[str, Any]]:
    """What is past its 第十四条 deadline today: unsubmitted updates, and submissions the bureau has not
    reviewed in 5 working days."""
    today = today_in_shanghai(now)
    items: list[dict[str, Any]] = []
    trigger_query = sa.select(UpdateTrigger).where(
        sa.or_(
            sa.and_(UpdateTrigger.submitted_at.is_(None), UpdateTrigger.submit_deadline < today),
            sa.and_(
                UpdateTrigger.submitted_at.is_not(None),
                UpdateTrigger.reviewed_at.is_(None),
                UpdateTrigger.review_deadline < today,
            ),
        )
    )
    if dept:
        trigger_query = trigger_query.where(UpdateTrigger.dept == dept)
    for trigger in (await session.execute(trigger_query)).scalars():
        if trigger.submitted_at is None:
            items.append(
                {
                    "kind": "update_submission",
                    "dept": trigger.dept,
                    "resource_id": trigger.resource_id,
                    "trigger_id": trigger.id,
                    "deadline": trigger.submit_deadline,
                    "estimated": trigger.submit_deadline_estimated,
                    "days_overdue": DEFAULT_CALENDAR.working_days_between(trigger.submit_deadline, today),
                    "_row": trigger,
                }
            )
        else:
            items.append(
                {
                    "kind": "update_review",
                    "dept": trigger.dept,
                    "resource_id": trigger.resource_id,
                    "trigger_id": trigger.id,
                    "version": trigger.submitted_version,
                    "deadline": trigger.review_deadline,
                    "estimated": trigger.review_deadline_estimated,
                    "days_overdue": DEFAULT_CALENDAR.working_days_between(trigger.review_deadline, today),
                    "_row": trigger,
                }
            )
    revision_query = (
        sa.select(ResourceRevision, Resource.provider_dept)
        .join(Resource, Resource.id == ResourceRevision.resource_id)
        .where(ResourceRevision.status == "submitted", ResourceRevision.review_deadline < today)
    )
    if dept:
        revision_query = revision_query.where(Resource.provider_dept == dept)
    for revision, provider in (await session.execute(revision_query)).all():
        items.append(
            {
                "kind": "resource_review",
                "dept": provider,
                "resource_id": revision.resource_id,
                "version": revision.version,
                "deadline": revision.review_deadline,
                "estimated": revision.review_deadline_estimated,
                "days_overdue": DEFAULT_CALENDAR.working_days_between(revision.review_deadline, today),
                "_row": revision,
            }
        )
    items.sort(key=lambda i: (i["deadline"], i["dept"]))
    return items


async def emit_overdue(session: AsyncSession, now: datetime) -> int:
    """Emit each overdue item once (the flags remember what was emitted)."""
    emitted = 0
    for item in await overdue_items(session, now):
        row = item["_row"]
        if item["kind"] == "update_submission" and not row.submit_overdue_emitted:
            row.submit_overdue_emitted = True
            await emit(
                session, events.UPDATE_OVERDUE, row.id, _trigger_event(row), caller=None, version=2, dept=row.dept
            )
            emitted += 1
        elif item["kind"] == "update_review" and not row.review_overdue_emitted:
            row.review_overdue_emitted = True
            await emit(
                session,
                events.REVIEW_OVERDUE,
                row.id,
                {
                    "resource_id": row.resource_id,
                    "dept": row.dept,
                    "trigger_id": row.id,
                    "revision": row.submitted_version,
                    "deadline": row.review_deadline,
                    "estimated": row.review_deadline_estimated,
                },
                caller=None,
                version=3,
                dept=row.dept,
            )
            emitted += 1
        elif item["kind"] == "resource_review" and not row.review_overdue_emitted:
            row.review_overdue_emitted = True
            await emit(
                session,
                events.REVIEW_OVERDUE,
                f"{row.resource_id}@{row.version}",
                {
                    "resource_id": row.resource_id,
                    "dept": item["dept"],
                    "revision": row.version,
                    "deadline": row.review_deadline,
                    "estimated": row.review_deadline_estimated,
                },
                caller=None,
                version=row.version,
                dept=item["dept"],
            )
            emitted += 1
    return emitted


# --- 一数一源 overlaps allowed by the bureau --------------------------------------------------------------


async def allow_overlap(session: AsyncSession, caller: Caller, body, now: datetime) -> AuthorityOverlap:
    require_bureau(caller)
    overlap = await session.get(AuthorityOverlap, (body.item_code, body.dept))
    if overlap is None:
        overlap = AuthorityOverlap(
            item_code=body.item_code, dept=body.dept, reason=body.reason, allowed_by=caller.sub, allowed_at=now
        )
        session.add(overlap)
    await emit(
        session,
        events.OVERLAP_ALLOWED,
        f"{body.item_code}@{body.dept}",
        {"item_code": body.item_code, "dept": body.dept, "reason": body.reason},
        caller=caller,
        version=1,
        dept=body.dept,
    )
    return overlap


async def interface_snapshot(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            sa.select(Resource, ResourceRevision)
            .join(
                ResourceRevision,
                sa.and_(
                    ResourceRevision.resource_id == Resource.id, ResourceRevision.version == Resource.published_version
                ),
            )
            .where(Resource.status.in_(("published", "retired")))
            .order_by(Resource.id)
        )
    ).all()
    snapshot = []
    for resource, revision in rows:
        interface = dict(revision.interface) if revision.interface else None
        if interface is not None:
            interface.setdefault("methods", ["GET"])
            interface.setdefault("path_prefixes", ["/"])
            interface.setdefault("rate_limit", 20)
        snapshot.append(
            {
                "resource_id": resource.id,
                "provider_dept": resource.provider_dept,
                "status": resource.status,
                "version": resource.event_version,
                "revision": revision.version,
                "sharing_type": revision.sharing_type,
                "items": events.snapshot_items(revision.items),
                "interface": interface,
            }
        )
    return snapshot
