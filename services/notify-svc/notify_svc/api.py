"""HTTP routes of notify-svc, mounted under /api/notify (API.md "Notifications"). Any authenticated caller, person
or client, may call them; what each sees is its own (access.py). The webhook routes admit department operators
and the bureau only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from govdata_shared.auth import AuthorizeFirst, Caller, CurrentCaller, Role, requires_role
from govdata_shared.service import Now, ReadSessionDep, SessionDep

from notify_svc import messages, subscriptions, todo
from notify_svc.schemas import (
    DeliveryOut,
    DeliveryPage,
    MessageOut,
    MessagePage,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    TodoOut,
)
from notify_svc.subscriptions import UpstreamPolicyDep
from notify_svc.webhooks import DeliveryStatus

router = APIRouter(route_class=AuthorizeFirst)


@router.get("/todo", response_model=TodoOut)
async def my_todo(caller: CurrentCaller, session: ReadSessionDep, now: Now) -> TodoOut:
    """待办: every step waiting for the caller — for the bureau its reviews, stages and decisions; for department
    staff their department's, in the roles they hold — with its deadline and working days left (holidays and 调休
    counted), oldest deadline first. Empty for anyone nothing waits for (citizens, auditors)."""
    return await todo.todo(session, caller=caller, now=now)


@router.get("/messages", response_model=MessagePage)
async def list_messages(
    caller: CurrentCaller,
    session: ReadSessionDep,
    unread: Annotated[
        bool | None, Query(description="true: only those the caller has not read; false: only read")
    ] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MessagePage:
    """站内信: reminders and 逾期通报 addressed to the caller's department (the bureau reads all: each is copied to
    it), newest first."""
    return await messages.list_messages(session, caller=caller, unread=unread, page=page, size=size)


@router.post("/messages/{message_id}/read", response_model=MessageOut)
async def read_message(message_id: str, caller: CurrentCaller, session: SessionDep, now: Now) -> MessageOut:
    """Mark a message read for this person (each person of a department reads for themselves)."""
    return await messages.mark_read(session, caller=caller, message_id=message_id, now=now)


# --- webhooks for departmental systems (subscriptions.py; the sending: sender.py) ----------------------------------

WebhookManager = Annotated[
    Caller,
    Depends(
        requires_role(
            Role.DEPT_OPERATOR,
            Role.BUREAU_ADMIN,
            code="webhook_role_required",
            detail="只有部门经办人（为本部门的系统）或县政务服务和大数据管理局可以管理事件订阅",
        )
    ),
]


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=201)
async def create_subscription(
    body: SubscriptionIn, caller: WebhookManager, session: SessionDep, now: Now, upstream: UpstreamPolicyDep
) -> SubscriptionOut:
    """Subscribe a system of the caller's department to events about that department (the bureau: to every
    event). Each is posted signed: see the README of notify-svc for the headers. The secret is never returned."""
    return await subscriptions.create_subscription(session, caller=caller, body=body, now=now, upstream=upstream)


@router.get("/subscriptions", response_model=SubscriptionList)
async def list_subscriptions(caller: WebhookManager, session: ReadSessionDep) -> SubscriptionList:
    """The department's subscriptions (a client bound to a system: its system's); the bureau's: all."""
    return await subscriptions.list_subscriptions(session, caller=caller)


@router.post("/subscriptions/{subscription_id}/disable", response_model=SubscriptionOut)
async def disable_subscription(
    subscription_id: str, caller: WebhookManager, session: SessionDep, now: Now
) -> SubscriptionOut:
    """Stop a subscription: nothing more is queued for it and what waits is cancelled."""
    return await subscriptions.disable_subscription(session, caller=caller, subscription_id=subscription_id, now=now)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    subscription_id: str,
    caller: WebhookManager,
    session: ReadSessionDep,
    status: Annotated[DeliveryStatus | None, Query(description="pending, delivered, failed, cancelled")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    """The delivery log: every event queued for the subscription, newest first, with its attempts and outcome."""
    return await subscriptions.list_deliveries(
        session, caller=caller, subscription_id=subscription_id, status=status, page=page, size=size
    )


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut)
async def redeliver(delivery_id: str, caller: WebhookManager, session: SessionDep, now: Now) -> DeliveryOut:
    """Send a delivered, failed or cancelled delivery again now (with 24 hours of retries anew)."""
    return await subscriptions.redeliver(session, caller=caller, delivery_id=delivery_id, now=now)
