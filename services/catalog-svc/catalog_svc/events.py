"""Events catalog-svc publishes and consumes (it consumes none); their schemas live in
govdata_shared.contracts.catalog. The payload builders below are the one place each payload is written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from govdata_shared.auth import Caller
from govdata_shared.consumer import Handler
from govdata_shared.contracts.catalog import (  # noqa: F401 - the event types and payloads of this service
    DEMAND_ANSWERED,
    DEMAND_MET,
    DEMAND_RECORDED,
    DEMAND_REVIEWED,
    OVERLAP_ALLOWED,
    REFRESH_OVERDUE,
    RESOURCE_PUBLISHED,
    RESOURCE_REFRESHED,
    RESOURCE_REJECTED,
    RESOURCE_RETIRED,
    RESOURCE_SUBMITTED,
    RESOURCE_SUPERSEDED,
    RESPONSIBILITY_ASSIGNED,
    RESPONSIBILITY_WITHDRAWN,
    REVIEW_OVERDUE,
    UPDATE_OVERDUE,
    UPDATE_TRIGGER_RECORDED,
    ResourceEventData,
)

from catalog_svc.domain import public_interface
from catalog_svc.models import (
    Demand,
    RefreshReport,
    Resource,
    ResourceRevision,
    ResponsibilityEntry,
    UpdateTrigger,
)

SOURCE = "catalog-svc"

CONSUMED_TOPICS: tuple[str, ...] = ()
HANDLERS: dict[str, Handler] = {}


def snapshot_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items as consumers need them (the gateway filters responses by their codes)."""
    return [
        {
            "code": i["code"],
            "name": i["name"],
            "type": i["type"],
            "authoritative": bool(i.get("authoritative")),
            "sharing_type": i.get("sharing_type"),  # None: the resource's (第二十四条)
            "subject": i.get("subject"),  # person | org (第十六条)
            "identifier": i.get("identifier"),  # resident_id | credit_code: the key it is collected by
        }
        for i in items
    ]


def resource_payload(
    resource: Resource,
    revision: ResourceRevision,
    caller: Caller | None,
    *,
    reason: str | None = None,
    reviewed_on_time: bool | None = None,
) -> dict[str, Any]:
    """catalog.resource.*: the resource with the revision the transition concerns."""
    return {
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
        "items": snapshot_items(revision.items),
        # What can be called, never where: the address stays with the provider, the bureau and the gateway.
        "interface": public_interface(revision.interface),
        "no_state_secrets": revision.no_state_secrets,
        "submitted_at": revision.submitted_at,
        "review_deadline": revision.review_deadline,
        "review_deadline_estimated": revision.review_deadline_estimated,
        "reviewed_on_time": reviewed_on_time,
        # Who kept (or missed) the 5-working-day review of 第十四条: the reviewer's department, the bureau.
        "reviewed_by_dept": caller.dept if caller is not None and reviewed_on_time is not None else None,
        "published_at": revision.published_at,
        "reason": reason,
        "actor_role": sorted(caller.roles)[0] if caller and caller.roles else None,
    }


def trigger_payload(trigger: UpdateTrigger) -> dict[str, Any]:
    """catalog.update.recorded / catalog.update.overdue."""
    return {
        "trigger_id": trigger.id,
        "dept": trigger.dept,
        "resource_id": trigger.resource_id,
        "resource_ids": trigger.resource_ids,
        "kind": trigger.kind,
        "occurred_on": trigger.occurred_on,
        "submit_deadline": trigger.submit_deadline,
        "estimated": trigger.submit_deadline_estimated,
    }


def review_overdue_payload(submission: UpdateTrigger | ResourceRevision, dept: str) -> dict[str, Any]:
    """catalog.review.overdue: a submission the bureau has not reviewed in 5 working days (第十四条) — a
    revision, or the update trigger a submission answered."""
    trigger = isinstance(submission, UpdateTrigger)
    return {
        "resource_id": submission.resource_id,
        "dept": dept,
        "trigger_id": submission.id if trigger else None,
        "revision": submission.submitted_version if trigger else submission.version,
        "deadline": submission.review_deadline,
        "estimated": submission.review_deadline_estimated,
    }


def demand_payload(demand: Demand) -> dict[str, Any]:
    """catalog.demand.recorded / reviewed / answered / met: the demand after the transition, both parties named."""
    return {
        "demand_id": demand.id,
        "dept": demand.dept,
        "supplier_dept": demand.supplier_dept,
        "routed_from": demand.routed_from,
        "title": demand.title,
        "resource_id": demand.resource_id,
        "status": demand.status,
        "review_decision": demand.review_decision,
        "review_reason": demand.review_reason,
        "answer": demand.answer,
        "provide_by": demand.provide_by,
        "answer_reason": demand.answer_reason,
    }


def refresh_payload(report: RefreshReport, *, late: bool, due_by: datetime | None) -> dict[str, Any]:
    """catalog.resource.refreshed: the provider refreshed the data (采集责任清单, 第十三条)."""
    return {
        "resource_id": report.resource_id,
        "provider_dept": report.dept,
        "refreshed_at": report.refreshed_at,
        "record_count": report.record_count,
        "late": late,
        "due_by": due_by,
    }


def refresh_overdue_payload(resource: Resource, cycle: str, due_by: datetime, last: datetime | None) -> dict[str, Any]:
    """catalog.refresh.overdue: the data was not refreshed by `due_by` (第十三条)."""
    return {
        "resource_id": resource.id,
        "provider_dept": resource.provider_dept,
        "update_cycle": cycle,
        "due_by": due_by,
        "last_refreshed_at": last,
    }


def overlap_payload(item_code: str, dept: str, reason: str) -> dict[str, Any]:
    """catalog.authority.overlap_allowed (一数一源 exception, 第十六条)."""
    return {"item_code": item_code, "dept": dept, "reason": reason}


def responsibility_payload(entry: ResponsibilityEntry) -> dict[str, Any]:
    """catalog.responsibility.assigned / .withdrawn (责任清单, 第十三条)."""
    return {
        "entry_id": entry.id,
        "dept": entry.dept,
        "resource_code": entry.resource_code,
        "title": entry.title,
        "update_cycle": entry.update_cycle,
        "reason": entry.withdrawn_reason,
    }
