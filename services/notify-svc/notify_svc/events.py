"""Events notify-svc consumes and publishes; their schemas live in govdata_shared.contracts.

Consumed: govdata.catalog.v1 (resource submissions for the bureau's review, update triggers, demands, and the
resources' names), govdata.sharing.v1 (the stages of share requests, disputes), govdata.verification.v1
(corrections) and govdata.identity.v1 (departments' names). Each handler reads what waits after the event
(`StepSpec`s) and hands it to steps.apply_steps, by the aggregate's version.

Published (govdata.notify.v1): `notify.reminder.sent` and `notify.overdue.notified`, one per message sent, so the
audit trail shows who was told of which deadline and when.
"""

from __future__ import annotations

from typing import Any

from govdata_shared.consumer import Handler
from govdata_shared.contracts import catalog as catalog_events
from govdata_shared.contracts import identity as identity_events
from govdata_shared.contracts import sharing as sharing_events
from govdata_shared.contracts import verification as verification_events
from govdata_shared.contracts.notify import OVERDUE_NOTIFIED, REMINDER_SENT
from govdata_shared.events import TOPICS, Event
from govdata_shared.publish import publish
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import subscriptions
from notify_svc.domain import BUREAU_DEPT, TRIGGER_KIND_LABELS, Aggregate, MessageKind, StepKind
from notify_svc.models import KnownDepartment, KnownResource, Message, OpenStep
from notify_svc.steps import StepSpec, answer_triggers, apply_steps, resource_names

SOURCE = "notify-svc"

# --- catalog: resources, update triggers, demands --------------------------------------------------------------


async def on_resource(session: AsyncSession, event: Event) -> None:
    """第十四条: a submitted resource waits for the bureau's review (5 working days); any later event of the
    resource (published, rejected, superseded, retired) ends the wait. A submission also answers the provider's
    update triggers."""
    data = catalog_events.ResourceEventData.model_validate(event.data)
    await _remember_resource(session, data, event)
    specs = []
    if event.type == catalog_events.RESOURCE_SUBMITTED:
        specs.append(
            StepSpec(
                StepKind.RESOURCE_REVIEW,
                f"review@{data.revision}",
                BUREAU_DEPT,
                data.review_deadline,
                data.review_deadline_estimated,
                resource_id=data.resource_id,
                subject=data.name,
                party_dept=data.provider_dept,
            )
        )
        # However late it arrives, the submission answered what was recorded before it.
        await answer_triggers(
            session,
            dept=data.provider_dept,
            resource_id=data.resource_id,
            first_revision=data.revision == 1,
            at=event.time,
        )
    await apply_steps(session, Aggregate.RESOURCE, data.resource_id, event.version, specs, event.time)


async def _remember_resource(session: AsyncSession, data: catalog_events.ResourceEventData, event: Event) -> None:
    known = await session.get(KnownResource, data.resource_id, with_for_update=True)
    submitted = event.time if event.type == catalog_events.RESOURCE_SUBMITTED else None
    if known is None:
        session.add(
            KnownResource(
                resource_id=data.resource_id,
                name=data.name[:200],
                provider_dept=data.provider_dept,
                submitted_at=submitted,
                version=event.version,
            )
        )
        return
    if submitted is not None and (known.submitted_at is None or known.submitted_at < submitted):
        known.submitted_at = submitted
    if event.version > known.version:
        known.name, known.provider_dept, known.version = data.name[:200], data.provider_dept, event.version


async def on_trigger(session: AsyncSession, event: Event) -> None:
    """第十四条: after a law or its duties change, the department applies for the catalog update within 10 working
    days; its submissions answer the trigger (steps.answer_triggers)."""
    data = catalog_events.UpdateTriggerEventData.model_validate(event.data)
    named = list(data.resource_ids or ([data.resource_id] if data.resource_id else []))
    names = await resource_names(session, named)
    label = TRIGGER_KIND_LABELS.get(data.kind, data.kind)
    subject = f"{label}：{'、'.join(names.get(rid, rid) for rid in named)}" if named else label
    detail: dict[str, Any] = {"resource_ids": named}
    if event.type == catalog_events.UPDATE_TRIGGER_RECORDED and named:
        # Submissions that reached us before the trigger did, though made after it was recorded.
        detail["answered"] = sorted(
            [rid for rid in named if (known := await session.get(KnownResource, rid)) and _after(known, event)]
        )
    specs = []
    if set(detail.get("answered", [])) != set(named) or not named:
        specs.append(
            StepSpec(
                StepKind.UPDATE_SUBMISSION,
                "submit",
                data.dept,
                data.submit_deadline,
                data.estimated,
                subject=subject,
                detail=detail,
            )
        )
    await apply_steps(session, Aggregate.TRIGGER, data.trigger_id, event.version, specs, event.time)


def _after(known: KnownResource, event: Event) -> bool:
    return known.submitted_at is not None and known.submitted_at >= event.time


async def on_review_overdue(session: AsyncSession, event: Event) -> None:
    """A trigger's submission is overdue at the bureau's review: the department's part is done (the review itself
    is the resource's step)."""
    data = catalog_events.ReviewOverdueEventData.model_validate(event.data)
    if data.trigger_id:
        await apply_steps(session, Aggregate.TRIGGER, data.trigger_id, event.version, [], event.time)


async def on_demand(session: AsyncSession, event: Event) -> None:
    """第十二条: a submitted demand waits for the bureau's review; an accepted (or routed) one for the supplying
    department's answer. Neither has a term."""
    data = catalog_events.DemandEventData.model_validate(event.data)
    specs = []
    if data.status == "submitted":
        specs.append(StepSpec(StepKind.DEMAND_REVIEW, "review", BUREAU_DEPT, subject=data.title, party_dept=data.dept))
    elif data.status == "accepted" and data.supplier_dept:
        specs.append(
            StepSpec(
                StepKind.DEMAND_ANSWER,
                f"answer:{data.supplier_dept}",
                data.supplier_dept,
                subject=data.title,
                party_dept=data.dept,
            )
        )
    await apply_steps(session, Aggregate.DEMAND, data.demand_id, event.version, specs, event.time)


# --- sharing: requests and disputes ---------------------------------------------------------------------------

_BUREAU_STAGES = frozenset({StepKind.PLATFORM_REVIEW, StepKind.DELIVERY})
_STAGES = frozenset({StepKind.PLATFORM_REVIEW, StepKind.PROVIDER_REVIEW, StepKind.DELIVERY})


async def on_request(session: AsyncSession, event: Event) -> None:
    """第二十九条: the open stage of a share request waits for its decider — the bureau (平台审核 3, 平台交付 3
    working days) or the provider (提供方审批 5 working days); a rejection or the grant ends it."""
    if event.type == sharing_events.REQUEST_SUBMITTED:
        submitted = sharing_events.RequestSubmittedData.model_validate(event.data)
        stage, deadline, estimated = submitted.status, submitted.deadline, submitted.deadline_estimated
        parties = submitted
    elif event.type == sharing_events.REQUEST_OVERDUE:
        overdue = sharing_events.RequestOverdueData.model_validate(event.data)
        stage, deadline, estimated = overdue.stage, overdue.deadline, overdue.deadline_estimated
        parties = overdue
    else:  # approved or rejected: `next_status` is the stage that follows, if any
        decision = sharing_events.RequestDecisionData.model_validate(event.data)
        stage, deadline, estimated = decision.next_status, decision.next_deadline, False
        parties = decision
    specs = []
    if stage in _STAGES:
        kind = StepKind(stage)
        specs.append(
            StepSpec(
                kind,
                stage,
                BUREAU_DEPT if kind in _BUREAU_STAGES else parties.provider_dept,
                deadline,
                estimated,
                resource_id=parties.resource_id,
                subject=parties.resource_id,
                party_dept=parties.requester_dept,
            )
        )
    await apply_steps(session, Aggregate.REQUEST, parties.request_id, event.version, specs, event.time)


async def on_dispute(session: AsyncSession, event: Event) -> None:
    """第二十七条: an open dispute waits for the provider's answer and for the bureau's decision (ten working days
    from its opening); the provider is asked to answer by the same day, so the bureau can decide on it."""
    data = sharing_events.DisputeData.model_validate(event.data)
    specs = []
    if data.status == "open":
        common = dict(resource_id=data.resource_id, subject=data.resource_id, party_dept=data.requester_dept)
        specs.append(StepSpec(StepKind.DISPUTE_DECISION, "decision", BUREAU_DEPT, data.deadline, **common))
        if data.provider_dept and data.provider_answer is None:
            specs.append(StepSpec(StepKind.DISPUTE_ANSWER, "answer", data.provider_dept, data.deadline, **common))
    await apply_steps(session, Aggregate.DISPUTE, data.dispute_id, event.version, specs, event.time)


# --- verification: corrections ----------------------------------------------------------------------------------


async def on_correction(session: AsyncSession, event: Event) -> None:
    """第十九条: an unresolved correction waits for its provider department (10 working days, once extended by the
    head). The events name no applicant person — only a department that filed it — so a citizen's own
    corrections are not routed to the citizen here."""
    data = verification_events.CorrectionRequestData.model_validate(event.data)
    specs = []
    if data.status != "resolved":
        specs.append(
            StepSpec(
                StepKind.CORRECTION,
                "answer",
                data.provider_dept,
                data.deadline,
                data.deadline_estimated,
                resource_id=data.resource_id,
                subject=data.resource_id,
                party_dept=data.applicant_dept,
            )
        )
    await apply_steps(session, Aggregate.CORRECTION, data.request_id, event.version, specs, event.time)


# --- identity: departments' names -------------------------------------------------------------------------------


async def on_department(session: AsyncSession, event: Event) -> None:
    data = identity_events.DepartmentData.model_validate(event.data)
    known = await session.get(KnownDepartment, data.code, with_for_update=True)
    if known is None:
        session.add(KnownDepartment(code=data.code, name=data.name[:200], version=event.version))
    elif event.version > known.version:
        known.name, known.version = data.name[:200], event.version


CONSUMED_TOPICS: tuple[str, ...] = (TOPICS["catalog"], TOPICS["sharing"], TOPICS["verification"], TOPICS["identity"])
# Every new event of a fetched batch, after its handler, in the same transaction: the webhook deliveries it makes.
BATCH_HANDLER = subscriptions.enqueue
HANDLERS: dict[str, Handler] = {
    **{
        event_type: on_resource
        for event_type in (
            catalog_events.RESOURCE_SUBMITTED,
            catalog_events.RESOURCE_PUBLISHED,
            catalog_events.RESOURCE_REJECTED,
            catalog_events.RESOURCE_SUPERSEDED,
            catalog_events.RESOURCE_RETIRED,
        )
    },
    catalog_events.UPDATE_TRIGGER_RECORDED: on_trigger,
    catalog_events.UPDATE_OVERDUE: on_trigger,
    catalog_events.REVIEW_OVERDUE: on_review_overdue,
    **{
        event_type: on_demand
        for event_type in (
            catalog_events.DEMAND_RECORDED,
            catalog_events.DEMAND_REVIEWED,
            catalog_events.DEMAND_ANSWERED,
            catalog_events.DEMAND_MET,
        )
    },
    **{
        event_type: on_request
        for event_type in (
            sharing_events.REQUEST_SUBMITTED,
            sharing_events.REQUEST_APPROVED,
            sharing_events.REQUEST_REJECTED,
            sharing_events.REQUEST_OVERDUE,
        )
    },
    **{
        event_type: on_dispute
        for event_type in (
            sharing_events.DISPUTE_OPENED,
            sharing_events.DISPUTE_ANSWERED,
            sharing_events.DISPUTE_RESOLVED,
        )
    },
    **{event_type: on_correction for event_type in verification_events.REQUEST_EVENTS},
    **{event_type: on_department for event_type in identity_events.DEPARTMENT_EVENTS},
}


# --- published ----------------------------------------------------------------------------------------------------

NOTICE_EVENT = {MessageKind.REMINDER: REMINDER_SENT, MessageKind.OVERDUE: OVERDUE_NOTIFIED}


def notice_payload(message: Message, step: OpenStep, left: int) -> dict[str, Any]:
    """What a notice event says: which step, whose, which deadline and article — never the message's text."""
    return {
        "message_id": message.id,
        "step_id": step.id,
        "step_kind": step.kind,
        "aggregate_type": step.aggregate_type,
        "aggregate_id": step.aggregate_id,
        "resource_id": step.resource_id,
        "dept": message.dept,
        "copied_to": list(message.copied_to),
        "deadline": message.deadline,
        "deadline_estimated": step.deadline_estimated,
        "working_days_left": left,
        "article": message.article,
    }


async def publish_notice(session: AsyncSession, message: Message, step: OpenStep, left: int) -> None:
    """Stage the notice event of `message`, filed under the department addressed; its version is the step's count
    of notices."""
    await publish(
        session,
        NOTICE_EVENT[MessageKind(message.kind)],
        step.aggregate_id,
        notice_payload(message, step, left),
        caller=None,
        version=step.notices,
        dept=message.dept,
        source=SOURCE,
    )
