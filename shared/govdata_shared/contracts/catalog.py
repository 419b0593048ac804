"""Events of catalog-svc (topic govdata.catalog.v1).

Every transition of a resource is an event carrying what its consumers need: the gateway needs the items and
learns that the interface changed (it reads the interface's address from catalog-svc, never from an event),
sharing-svc the provider, items and sharing type, verification-svc the provider.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict

from govdata_shared.contracts import EventData, event_contract

RESOURCE_SUBMITTED = "catalog.resource.submitted"
RESOURCE_PUBLISHED = "catalog.resource.published"
RESOURCE_REJECTED = "catalog.resource.rejected"
RESOURCE_SUPERSEDED = "catalog.resource.superseded"
RESOURCE_RETIRED = "catalog.resource.retired"
RESOURCE_REFRESHED = "catalog.resource.refreshed"
UPDATE_TRIGGER_RECORDED = "catalog.update.recorded"
UPDATE_OVERDUE = "catalog.update.overdue"
REVIEW_OVERDUE = "catalog.review.overdue"
REFRESH_OVERDUE = "catalog.refresh.overdue"  # a published resource's data passed its refresh due date unrefreshed
DEMAND_RECORDED = "catalog.demand.recorded"
DEMAND_REVIEWED = "catalog.demand.reviewed"  # 第十二条: the bureau accepted, routed or rejected a demand
DEMAND_ANSWERED = "catalog.demand.answered"  # the supplying department will provide by a date, or cannot
DEMAND_MET = "catalog.demand.met"
OVERLAP_ALLOWED = "catalog.authority.overlap_allowed"
RESPONSIBILITY_ASSIGNED = "catalog.responsibility.assigned"  # 第十三条: the bureau assigns a 责任清单 entry
RESPONSIBILITY_WITHDRAWN = "catalog.responsibility.withdrawn"


class ItemData(EventData):
    code: str
    name: str
    type: str
    authoritative: bool = False
    sharing_type: str | None = None  # stricter than the resource's (第二十四条 仅能够部分提供); None: the resource's
    subject: str | None = None  # person | org: whose data the item is (第十六条)
    identifier: str | None = None  # resident_id | credit_code: the key identifier records are collected by


class InterfaceData(EventData):
    """What every consumer may know of an interface: what can be called, not where. The address (`base_url`)
    and the credential reference are only for the provider department, the bureau and the gateway (API.md
    "Catalog"), so they never travel on the bus, where every service and the audit trail read; the gateway reads
    them from catalog-svc (`GET /api/catalog/internal/interfaces/{id}`). Unknown fields are dropped, not kept, so
    a producer handing in the whole stored interface publishes none of them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    methods: list[str]
    path_prefixes: list[str]
    rate_limit: int


@event_contract(RESOURCE_SUBMITTED, RESOURCE_PUBLISHED, RESOURCE_REJECTED, RESOURCE_SUPERSEDED, RESOURCE_RETIRED)
class ResourceEventData(EventData):
    """A snapshot of the resource's revision that the transition concerns."""

    resource_id: str
    code: str
    name: str
    provider_dept: str
    status: str  # the resource's status after the transition
    revision: int
    revision_status: str
    category: str
    format: str
    sharing_type: str
    sharing_method: str
    open_type: str
    security_level: str
    update_cycle: str
    items: list[ItemData]
    interface: InterfaceData | None
    no_state_secrets: bool = False  # the provider's declaration that it holds no state secret (第二条)
    submitted_at: datetime | None = None
    review_deadline: date | None = None
    review_deadline_estimated: bool = False
    reviewed_on_time: bool | None = None  # set on published/rejected: was the 5-working-day review kept
    reviewed_by_dept: str | None = None  # and by whom: the reviewing department (the bureau)
    published_at: datetime | None = None
    reason: str | None = None
    actor_role: str | None = None


@event_contract(RESOURCE_REFRESHED)
class RefreshEventData(EventData):
    resource_id: str
    provider_dept: str
    refreshed_at: datetime
    record_count: int | None = None
    late: bool  # was the refresh already late for the update cycle when it came
    due_by: datetime | None = None  # when it was due: a late refresh and the overdue notice of one due count once


@event_contract(REFRESH_OVERDUE)
class RefreshOverdueEventData(EventData):
    """第十三条: the provider did not refresh the data within its update cycle; one notice per missed due date, so
    a department that never reports is late, not clean."""

    resource_id: str
    provider_dept: str
    update_cycle: str
    due_by: datetime
    last_refreshed_at: datetime | None = None


@event_contract(UPDATE_TRIGGER_RECORDED, UPDATE_OVERDUE)
class UpdateTriggerEventData(EventData):
    trigger_id: str
    dept: str
    resource_id: str | None
    resource_ids: list[str] | None = None  # several resources named: each must be submitted
    kind: str
    occurred_on: date
    submit_deadline: date
    estimated: bool


@event_contract(REVIEW_OVERDUE)
class ReviewOverdueEventData(EventData):
    resource_id: str | None
    dept: str
    revision: int | None = None
    trigger_id: str | None = None
    deadline: date
    estimated: bool


@event_contract(DEMAND_RECORDED, DEMAND_REVIEWED, DEMAND_ANSWERED, DEMAND_MET)
class DemandEventData(EventData):
    """需求清单 entry (第十二条) after the transition. Both parties are in the data: `dept` asks, `supplier_dept` is
    expected to supply (None only on demands recorded before a supplier was named)."""

    demand_id: str
    dept: str
    supplier_dept: str | None = None
    routed_from: str | None = None  # the supplier first named, when the bureau routed the demand elsewhere
    title: str
    resource_id: str | None
    status: str
    review_decision: str | None = None  # accept | route | reject
    review_reason: str | None = None
    answer: str | None = None  # will_provide | cannot_provide
    provide_by: date | None = None
    answer_reason: str | None = None


@event_contract(OVERLAP_ALLOWED)
class OverlapEventData(EventData):
    item_code: str
    dept: str
    reason: str


@event_contract(RESPONSIBILITY_ASSIGNED, RESPONSIBILITY_WITHDRAWN)
class ResponsibilityEventData(EventData):
    """第十三条: a 责任清单 entry — the department, the resource (by catalog code) it must provide, the update cycle."""

    entry_id: str
    dept: str
    resource_code: str
    title: str
    update_cycle: str
    reason: str | None = None  # why the bureau withdrew it
