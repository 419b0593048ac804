"""Usage and denials of the data plane as events on `govdata.access.v1`, produced directly (no outbox: the
gateway has no database).

- `access.usage`: calls are counted in memory per grant and reported once per window (`USAGE_FLUSH_SECONDS`):
  N calls of a grant in a window are one event with `calls=N` (sharing-svc moves `last_used_at` from it).
- `access.denied`: every refused data call, sent promptly (the sender is woken at once and batches what else
  arrives within 50 ms).

A data call never waits for Kafka and never fails because of it: events go into a bounded buffer that a
background task sends; when the broker cannot be reached they stay there and are retried with backoff, the
oldest being dropped (and counted) once `ACCESS_EVENT_BUFFER_MAX` is reached. On shutdown the current window is
closed and the buffer flushed (bounded by a timeout).

The envelope's `version` is 1: these are standalone, additive reports (several replicas report the same grant),
not versions of an aggregate; consumers deduplicate them by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from govdata_shared.contracts import validated_data
from govdata_shared.contracts.access import ACCESS_DENIED, ACCESS_USAGE, DENIAL_REASONS
from govdata_shared.events import TOPICS, Event, new_event
from govdata_shared.kafka import make_producer
from prometheus_client import Counter, Gauge

from govdata_gateway.projection import cancel_task
from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.usage")

ACCESS_TOPIC = TOPICS["access"]
SOURCE = "gateway"
SEND_BATCH = 500
SEND_TIMEOUT_SECONDS = 10.0
SHUTDOWN_FLUSH_SECONDS = 5.0
COALESCE_SECONDS = 0.05

ACCESS_EVENTS = Counter(
    "govdata_gateway_access_events_total", "access.* events by outcome", ["type", "outcome"]
)  # outcome: sent | dropped
ACCESS_SEND_FAILURES = Counter("govdata_gateway_access_send_failures_total", "Failed attempts to send access events")
ACCESS_BUFFERED = Gauge("govdata_gateway_access_events_buffered", "access.* events waiting to be sent")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(slots=True)
class _Usage:
    holder_dept: str
    provider_dept: str
    resource_id: str
    calls: int
    last_used: float


class AccessEvents:
    """Aggregates usage, records denials, and sends both in the background (see the module doc)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.flush_seconds = settings.usage_flush_seconds
        self.max_buffered = settings.access_event_buffer_max
        self._usage: dict[str, _Usage] = {}
        self._window_start = time.time()
        self._buffer: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._retry_delay = 0.5
        self.dropped = 0

    # ---- the request path: cheap, synchronous, never raises for Kafka's sake

    def record_call(
        self, grant_id: str, holder_dept: str, provider_dept: str, resource_id: str, now: float | None = None
    ) -> None:
        now = time.time() if now is None else now
        usage = self._usage.get(grant_id)
        if usage is None:
            self._usage[grant_id] = _Usage(holder_dept, provider_dept, resource_id, 1, now)
        else:
            usage.calls += 1
            usage.last_used = now

    def record_denial(
        self,
        reason: str,
        status: int,
        resource_id: str,
        method: str,
        path: str,
        *,
        grant_id: str | None = None,
        holder_dept: str | None = None,
        provider_dept: str | None = None,
        client_id: str | None = None,
    ) -> None:
        if reason not in DENIAL_REASONS:
            raise ValueError(f"unknown denial reason {reason!r}")
        data = {
            "reason": reason,
            "status": status,
            "resource_id": resource_id[:200],
            "method": method[:16],
            "path": path[:1000],
            "at": datetime.now(UTC),
            "grant_id": grant_id,
            "holder_dept": holder_dept,
            "provider_dept": provider_dept,
            "client_id": client_id,
        }
        try:
            event = new_event(
                ACCESS_DENIED,
                grant_id or resource_id[:200] or "-",
                validated_data(ACCESS_DENIED, data),
                version=1,
                actor=client_id,
                dept=holder_dept,
                source=SOURCE,
            )
        except ValueError:
            log.exception("could not build an access.denied event")
            return
        self._enqueue(event)
        self._wake.set()

    def _enqueue(self, event: Event) -> None:
        if len(self._buffer) >= self.max_buffered:
            lost = self._buffer.popleft()
            self.dropped += 1
            ACCESS_EVENTS.labels(lost.type, "dropped").inc()
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("access event buffer full (%d): dropped %d events so far", self.max_buffered, self.dropped)
        self._buffer.append(event)
        ACCESS_BUFFERED.set(len(self._buffer))

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def pending_calls(self, grant_id: str) -> int:
        usage = self._usage.get(grant_id)
        return usage.calls if usage else 0

    # ---- windows

    def close_window(self, now: float | None = None) -> int:
        """Turn the counts of the window that ends now into access.usage events; returns how many."""
        now = time.time() if now is None else now
        usage, self._usage = self._usage, {}
        start, self._window_start = self._window_start, now
        for grant_id, u in usage.items():
            data = {
                "grant_id": grant_id,
                "holder_dept": u.holder_dept,
                "provider_dept": u.provider_dept,
                "resource_id": u.resource_id,
                "calls": u.calls,
                "window_start": _utc(start),
                "window_end": _utc(now),
                "last_used_at": _utc(u.last_used),
            }
            event = new_event(
                ACCESS_USAGE,
                grant_id,
                validated_data(ACCESS_USAGE, data),
                version=1,
                actor=SOURCE,
                dept=u.holder_dept,
                source=SOURCE,
            )
            self._enqueue(event)
        return len(usage)

    # ---- the sender

    def start(self) -> None:
        self._window_start = time.time()
        self._task = asyncio.create_task(self._run(), name="gateway-access-events")

    async def stop(self) -> None:
        """Close the window, flush what can be sent within a few seconds, stop the producer."""
        if self._task is not None:
            await cancel_task(self._task, "access events")
            self._task = None
        self.close_window()
        if self._buffer:
            try:
                async with asyncio.timeout(SHUTDOWN_FLUSH_SECONDS):
                    await self._send_all()
            except Exception as exc:  # noqa: BLE001 - shutting down: report and go
                log.error("shutdown: %d access events could not be sent: %r", len(self._buffer), exc)
        await self._close_producer()

    async def _run(self) -> None:
        next_flush = time.monotonic() + self.flush_seconds
        while True:
            timeout = max(0.0, next_flush - time.monotonic())
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that coincides with
            # the wake-up, and stop() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            if self._wake.is_set():
                # A denial woke us: gather whatever else comes within a moment into the same batch, so a burst
                # of refused calls (an attack, a misconfigured client) is a few sends, not one per call.
                await asyncio.sleep(COALESCE_SECONDS)
            self._wake.clear()
            if time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self.flush_seconds
                self.close_window()
            if not self._buffer:
                continue
            try:
                await self._send_all()
                self._retry_delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Kafka trouble never reaches a data call
                ACCESS_SEND_FAILURES.inc()
                log.warning(
                    "could not send %d access events (retry in %.1fs): %r", len(self._buffer), self._retry_delay, exc
                )
                await self._close_producer()
                await asyncio.sleep(self._retry_delay)
                self._retry_delay = min(self._retry_delay * 2, 30.0)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self.settings, request_timeout_ms=5000, client_id="gateway-access")
            try:
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await producer.stop()

    async def _send_all(self) -> None:
        producer = await self._ensure_producer()
        while self._buffer:
            batch = [self._buffer.popleft() for _ in range(min(SEND_BATCH, len(self._buffer)))]
            try:
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await self._send_batch(producer, batch)
            except BaseException:
                # Put back what was not confirmed, in order, ahead of newer events.
                self._buffer.extendleft(reversed([e for e in batch if e is not None]))
                ACCESS_BUFFERED.set(len(self._buffer))
                raise
            ACCESS_BUFFERED.set(len(self._buffer))

    @staticmethod
    async def _send_batch(producer: AIOKafkaProducer, batch: list[Event | None]) -> None:
        futures = []
        for event in batch:
            assert event is not None
            futures.append(await producer.send(ACCESS_TOPIC, event.to_json(), key=event.subject.encode("utf-8")))
        results = await asyncio.gather(*futures, return_exceptions=True)
        failure: BaseException | None = None
        for i, result in enumerate(results):
            event = batch[i]
            assert event is not None
            if isinstance(result, BaseException):
                failure = failure or result
            else:
                ACCESS_EVENTS.labels(event.type, "sent").inc()
                batch[i] = None  # confirmed: not to be sent again
        if failure is not None:
            raise failure
