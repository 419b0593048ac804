"""Webhook subscriptions of departmental systems (issue 15): subscribing, the list, disabling, the delivery log and
redelivery; and the queueing of a delivery for every subscription that receives a consumed event, in the
consumer's own transaction (`enqueue`, the consumer's batch handler), so an event applied is never an event lost
to a receiver. The sending is sender.py's; the rules webhooks.py's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem
from govdata_shared.events import Event
from govdata_shared.repository import get_or_404, new_id, not_found
from govdata_shared.upstream import UpstreamPolicy
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import webhooks
from notify_svc.access import manages_subscription
from notify_svc.domain import BUREAU_DEPT
from notify_svc.models import WebhookDelivery, WebhookSubscription
from notify_svc.schemas import DeliveryOut, DeliveryPage, SubscriptionIn, SubscriptionList, SubscriptionOut
from notify_svc.webhooks import DeliveryStatus


def policy_of(app: FastAPI) -> UpstreamPolicy:
    """This app's GOVDATA_UPSTREAM_ALLOWED_NETWORKS, parsed once (the settings checked it at start-up)."""
    policy = getattr(app.state, "upstream_policy", None)
    if policy is None:
        policy = app.state.upstream_policy = UpstreamPolicy.parse(app.state.settings.govdata_upstream_allowed_networks)
    return policy


async def _upstream_policy(request: Request) -> UpstreamPolicy:
    return policy_of(request.app)


UpstreamPolicyDep = Annotated[UpstreamPolicy, Depends(_upstream_policy)]


# --- subscriptions ------------------------------------------------------------------------------------------------


async def create_subscription(
    session: AsyncSession, *, caller: Caller, body: SubscriptionIn, now: datetime, upstream: UpstreamPolicy
) -> SubscriptionOut:
    """A subscription of the caller's department (and of its system, for a client bound to one); the bureau's
    receive every department's events."""
    events = list(dict.fromkeys(body.events))
    unknown = webhooks.unknown_patterns(events)
    if unknown:
        raise Problem(
            422,
            "unknown_event_type",
            f"不能订阅的事件类型：{'、'.join(unknown)}；可订阅 catalog.*、sharing.*、verification.* 下的事件类型",
            field="events",
            rule="known_event_type",
        )
    # 第二十二条: the receiver is a system on the e-government extranet, like a provider's interface.
    refused = await upstream.check_url(body.url)
    if refused is not None:
        raise Problem(422, "upstream_not_allowed", f"回调地址不允许：{refused.detail}", field="url", rule=refused.rule)
    dept = BUREAU_DEPT if caller.is_bureau else caller.dept
    if not dept:
        raise Problem(403, "department_role_required", "只有部门经办人可以为本部门的系统订阅事件")
    system = caller.claims.get("system")
    subscription = WebhookSubscription(
        id=new_id("whs"),
        dept=dept,
        system=system if isinstance(system, str) and not caller.is_bureau else None,
        url=body.url,
        events=events,
        secret=body.secret,
        enabled=True,
        created_by=caller.sub,
        created_at=now,
    )
    session.add(subscription)
    return _subscription_out(subscription)


async def list_subscriptions(session: AsyncSession, *, caller: Caller) -> SubscriptionList:
    query = sa.select(WebhookSubscription).where(manages_subscription(caller))
    rows = await session.execute(query.order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id))
    return SubscriptionList(items=[_subscription_out(s) for s in rows.scalars()])


async def disable_subscription(
    session: AsyncSession, *, caller: Caller, subscription_id: str, now: datetime
) -> SubscriptionOut:
    """Stop sending: nothing new is queued, what waits is cancelled (again: no change)."""
    subscription = await get_or_404(
        session, WebhookSubscription, subscription_id, where=manages_subscription(caller), for_update=True
    )
    if subscription.enabled:
        subscription.enabled, subscription.disabled_at = False, now
        await session.execute(
            sa.update(WebhookDelivery)
            .where(
                WebhookDelivery.subscription_id == subscription.id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
            )
            .values(status=DeliveryStatus.CANCELLED, last_error="订阅已停用")
        )
    return _subscription_out(subscription)


def _subscription_out(s: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=s.id,
        dept=s.dept,
        system=s.system,
        url=s.url,
        events=list(s.events),
        enabled=s.enabled,
        created_by=s.created_by,
        created_at=s.created_at,
        disabled_at=s.disabled_at,
    )


# --- deliveries ---------------------------------------------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession,
    *,
    caller: Caller,
    subscription_id: str,
    status: DeliveryStatus | None,
    page: int,
    size: int,
) -> DeliveryPage:
    """The delivery log of one subscription, newest first."""
    await get_or_404(session, WebhookSubscription, subscription_id, where=manages_subscription(caller))
    query = sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    total = (await session.execute(sa.select(sa.func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(WebhookDelivery.id.desc()).offset((page - 1) * size).limit(size))
    return DeliveryPage(items=[delivery_out(d) for d in rows.scalars()], total=total, page=page, size=size)


async def redeliver(session: AsyncSession, *, caller: Caller, delivery_id: str, now: datetime) -> DeliveryOut:
    """Send a delivered, failed or cancelled delivery again, from now on with a fresh 24 hours of retries; a
    pending one is already on its way (409 delivery_pending), a disabled subscription sends nothing (409)."""
    if not delivery_id.isdigit():
        raise not_found(WebhookDelivery, delivery_id)
    delivery = await get_or_404(
        session,
        WebhookDelivery,
        int(delivery_id),
        where=WebhookDelivery.subscription_id.in_(
            sa.select(WebhookSubscription.id).where(manages_subscription(caller))
        ),
        for_update=True,
    )
    if delivery.status == DeliveryStatus.PENDING:
        raise Problem(409, "delivery_pending", f"投递记录 {delivery_id} 正在等待投递，无需重新投递")
    subscription = await session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or not subscription.enabled:
        raise Problem(409, "subscription_disabled", "该订阅已停用，不能重新投递")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.retry_until = None
    delivery.delivered_at = None
    return delivery_out(delivery)


def delivery_out(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        event_type=d.event_type,
        aggregate=d.aggregate,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


# --- queueing, in the consumer's transaction -----------------------------------------------------------------------


async def enqueue(session: AsyncSession, events: list[Event]) -> None:
    """The consumer's batch handler: one pending delivery per (enabled subscription, event it receives), in the
    transaction that records the events as consumed. Due at the event's time: the sender's next round."""
    offered = [e for e in events if e.type.split(".", 1)[0] in webhooks.SUBSCRIBABLE_AREAS]
    if not offered:
        return
    subscriptions = list(
        (await session.execute(sa.select(WebhookSubscription).where(WebhookSubscription.enabled))).scalars()
    )
    if not subscriptions:
        return
    queued_at = datetime.now(UTC)
    rows = []
    for event in offered:
        concerned = webhooks.concerned_depts(event.dept, event.data)
        receivers = [
            s for s in subscriptions if webhooks.wants(s.events, event.type) and webhooks.receives(s.dept, concerned)
        ]
        if not receivers:
            continue
        body = event.to_json().decode()
        rows.extend(
            dict(
                subscription_id=s.id,
                event_id=event.id,
                event_type=event.type,
                aggregate=event.subject[:200],
                body=body,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=event.time,
                created_at=queued_at,
            )
            for s in receivers
        )
    if rows:
        await session.execute(sa.insert(WebhookDelivery), rows)
