"""The webhook sender: a background task of its own, never in the consumer's path (issue 15).

Each round claims the due deliveries — pending, due at the app's clock, of an enabled subscription, with no
earlier pending delivery of the same aggregate for the same subscription (in order per aggregate) — at most
`BATCH` per subscription, skipping subscriptions this process is still sending to. On Postgres the rows are
locked with SKIP LOCKED and leased (their next attempt moved `LEASE` ahead) in a short transaction, so replicas
never send a delivery twice and a replica that dies mid-send leaves it to be retried when the lease runs out.

Every subscription's batch is sent by a task of its own, at most `PER_SUBSCRIPTION` requests at a time, each
limited to the timeout (5 s): a slow or dead receiver holds its own task and at most that many of the process's
`MAX_REQUESTS` connections, never another receiver's deliveries. The receiver's URL is checked against the
upstream allow-list again before every attempt (a name may have been re-pointed); redirects are not followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
import sqlalchemy as sa
from fastapi import FastAPI
from govdata_shared.tasks import running
from prometheus_client import Counter
from sqlalchemy.orm import aliased

from notify_svc import webhooks
from notify_svc.models import WebhookDelivery, WebhookSubscription
from notify_svc.subscriptions import policy_of
from notify_svc.webhooks import DeliveryStatus

log = logging.getLogger("notify.webhooks")

BATCH = 20  # deliveries claimed per subscription and round
PER_SUBSCRIPTION = 4  # requests in flight to one receiver
MAX_REQUESTS = 128  # requests in flight from this process
LEASE = timedelta(minutes=5)  # a claimed delivery is not claimed again before; longer than a batch takes

ATTEMPTS = Counter("govdata_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])


@dataclass(frozen=True)
class _Claimed:
    id: int
    subscription_id: str
    event_type: str
    body: bytes
    attempts: int
    retry_until: datetime


@dataclass(frozen=True)
class _Receiver:
    id: str
    url: str
    secret: str


class WebhookSender:
    """Claims due deliveries and sends them, one task per subscription: `await tick()` starts a round and returns
    how many deliveries it claimed (their sending goes on); `await drain()` waits for what is in flight."""

    def __init__(self, app: FastAPI, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self._client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_REQUESTS),
            timeout=aiohttp.ClientTimeout(total=timeout),
            trust_env=False,  # never through a proxy named in the environment
        )
        self._requests = asyncio.Semaphore(MAX_REQUESTS)
        self._busy: dict[str, asyncio.Task[None]] = {}
        self.idle = asyncio.Event()  # set when a subscription's task ends: its next batch may be due

    async def tick(self) -> int:
        claimed, receivers = await self._claim(self.app.state.clock())
        by_subscription: dict[str, list[_Claimed]] = {}
        for delivery in claimed:
            by_subscription.setdefault(delivery.subscription_id, []).append(delivery)
        for subscription_id, deliveries in by_subscription.items():
            task = asyncio.create_task(
                self._send_batch(receivers[subscription_id], deliveries), name=f"webhook-{subscription_id}"
            )
            self._busy[subscription_id] = task
            task.add_done_callback(lambda _, key=subscription_id: self._done(key))
        return len(claimed)

    def _done(self, subscription_id: str) -> None:
        self._busy.pop(subscription_id, None)
        self.idle.set()

    async def drain(self) -> None:
        while self._busy:
            await asyncio.gather(*self._busy.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._busy.values()):
            task.cancel()  # leased: another round (or replica) sends them once the lease runs out
        await asyncio.gather(*self._busy.values(), return_exceptions=True)
        await self._client.close()

    async def _claim(self, now: datetime) -> tuple[list[_Claimed], dict[str, _Receiver]]:
        d, earlier = WebhookDelivery, aliased(WebhookDelivery)
        held_back = sa.exists().where(
            earlier.subscription_id == d.subscription_id,
            earlier.aggregate == d.aggregate,
            earlier.status == DeliveryStatus.PENDING,
            earlier.id < d.id,
        )
        due = [d.status == DeliveryStatus.PENDING, d.next_attempt_at <= now]
        ranked = (
            sa.select(d.id, sa.func.row_number().over(partition_by=d.subscription_id, order_by=d.id).label("place"))
            .join(WebhookSubscription, WebhookSubscription.id == d.subscription_id)
            .where(*due, WebhookSubscription.enabled, ~held_back)
        )
        if self._busy:
            ranked = ranked.where(d.subscription_id.not_in(list(self._busy)))
        ranked_sq = ranked.subquery()
        picked = sa.select(ranked_sq.c.id).where(ranked_sq.c.place <= BATCH).limit(BATCH * 50)
        query = sa.select(d).where(d.id.in_(picked), *due).order_by(d.id).with_for_update(skip_locked=True)
        async with self.app.state.db.session() as session:
            rows = list((await session.execute(query)).scalars())
            if not rows:
                return [], {}
            claimed = []
            for row in rows:
                row.attempts += 1
                row.last_attempt_at = now
                row.next_attempt_at = now + LEASE
                row.retry_until = row.retry_until or now + webhooks.RETRY_FOR
                claimed.append(
                    _Claimed(
                        row.id, row.subscription_id, row.event_type, row.body.encode(), row.attempts, row.retry_until
                    )
                )
            subscriptions = await session.execute(
                sa.select(WebhookSubscription).where(WebhookSubscription.id.in_({c.subscription_id for c in claimed}))
            )
            receivers = {s.id: _Receiver(s.id, s.url, s.secret) for s in subscriptions.scalars()}
        return claimed, receivers

    async def _send_batch(self, receiver: _Receiver, deliveries: list[_Claimed]) -> None:
        """Send a subscription's batch, then record every outcome in one transaction (a process dying before it
        leaves the batch leased, to be sent again: delivery is at least once)."""
        slots = asyncio.Semaphore(PER_SUBSCRIPTION)

        async def one(delivery: _Claimed) -> sa.Update:
            async with slots, self._requests:
                try:
                    status, error = await self._post(receiver, delivery)
                except Exception as exc:  # noqa: BLE001 - recorded as a failed attempt, retried
                    status, error = None, f"{type(exc).__name__}"
                return self._outcome(delivery, status, error)

        outcomes = await asyncio.gather(*(one(d) for d in deliveries))
        async with self.app.state.db.session() as session:
            for outcome in outcomes:
                await session.execute(outcome)

    async def _post(self, receiver: _Receiver, delivery: _Claimed) -> tuple[int | None, str | None]:
        refused = await policy_of(self.app).check_url(receiver.url)
        if refused is not None:
            return None, f"upstream_not_allowed: {refused.rule}"
        timestamp = int(self.app.state.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "govdata-notify-webhooks/1",
            webhooks.EVENT_HEADER: delivery.event_type,
            webhooks.DELIVERY_HEADER: str(delivery.id),
            webhooks.TIMESTAMP_HEADER: str(timestamp),
            webhooks.SIGNATURE_HEADER: webhooks.signature(receiver.secret, timestamp, delivery.body),
        }
        try:
            async with self._client.post(
                receiver.url, data=delivery.body, headers=headers, allow_redirects=False
            ) as resp:
                status = resp.status  # the body is not read: a receiver's answer is its status
        except TimeoutError:
            return None, f"timeout after {self.timeout:g} s"
        except aiohttp.ClientError as exc:
            return None, type(exc).__name__
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    def _outcome(self, delivery: _Claimed, status: int | None, error: str | None) -> sa.Update:
        """The update recording an attempt that ended now: delivered, to be retried, or failed."""
        now = self.app.state.clock()
        d = WebhookDelivery
        if error is None:
            values = dict(status=DeliveryStatus.DELIVERED, delivered_at=now, last_status_code=status, last_error=None)
            outcome = "delivered"
            query = sa.update(d).where(d.id == delivery.id)
        else:
            retry_at = webhooks.after_failure(delivery.attempts, now, delivery.retry_until)
            values = dict(
                status=DeliveryStatus.PENDING if retry_at else DeliveryStatus.FAILED,
                next_attempt_at=retry_at or now,
                last_status_code=status,
                last_error=error[:300],
            )
            outcome = "retry" if retry_at else "failed"
            # cancelled (subscription disabled) meanwhile: stays cancelled
            query = sa.update(d).where(d.id == delivery.id, d.status == DeliveryStatus.PENDING)
            log.warning(
                "webhook delivery %s to %s: %s (attempt %d, %s)",
                delivery.id,
                delivery.subscription_id,
                error,
                delivery.attempts,
                f"next at {retry_at.isoformat()}" if retry_at else "failed",
            )
        ATTEMPTS.labels(outcome).inc()
        return query.values(**values)


@contextlib.asynccontextmanager
async def webhook_sender(app: FastAPI) -> AsyncIterator[None]:
    """The background task (ServiceSpec.background): a round every NOTIFY_WEBHOOK_INTERVAL_SECONDS, sooner when a
    subscription's batch is done."""
    settings = app.state.settings
    sender = app.state.webhook_sender = WebhookSender(app, timeout=settings.notify_webhook_timeout_seconds)

    async def loop() -> None:
        while True:
            sender.idle.clear()
            try:
                await sender.tick()
            except Exception:
                log.exception("webhook round failed; retrying next round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sender.idle.wait(), settings.notify_webhook_interval_seconds)

    try:
        async with running(loop(), "notify-webhooks"):
            yield
    finally:
        await sender.close()
