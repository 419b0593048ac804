"""notify-svc benchmark (issue 15): events per second its consumer keeps up with, and webhook deliveries per
second to a local receiver.

    .venv/bin/python bench/notify.py --postgres postgresql://postgres@127.0.0.1:5432
    .venv/bin/python bench/notify.py --postgres ... --events 50000 --departments 10

Drops and creates database `govdata_bench_notify` and applies notify-svc's migrations.

1. **consume** — realistic catalog, sharing and verification events (bench/audit.py's generator: ids, Chinese
   text; the access usage reports dropped, notify-svc does not consume them, and so are those that do not meet
   their contract today — the generator's verification events predate the current correction contract)
   fed to the consumer's own transaction code — `IdempotentConsumer.apply` with notify-svc's handlers and batch
   handler, batches of 500 as the consumer fetches them — without the broker (its fetch and offset commits are
   not measured here). Run twice: with no webhook subscription, then with one per department plus the bureau's,
   so the cost of queueing deliveries in the consumer's transaction reads as the difference.
2. **deliver** — the real sender (`WebhookSender`, as the background task runs it: one task per subscription,
   4 requests in flight each) posting every queued delivery, signed, to a minimal aiohttp receiver in a
   process of its own on 127.0.0.1; from the first round to the last delivery recorded.

Prints a markdown table. The machine is shared: other work on it shows up in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit import DEPTS, realistic_events, recreate_database
from govdata_shared.consumer import IdempotentConsumer, _Delivery
from govdata_shared.contracts import EVENT_CONTRACTS
from govdata_shared.db import Database
from govdata_shared.service import utc_now
from notify_svc.domain import BUREAU_DEPT
from notify_svc.events import BATCH_HANDLER, CONSUMED_TOPICS, HANDLERS
from notify_svc.main import NotifySettings
from notify_svc.models import WebhookDelivery, WebhookSubscription
from notify_svc.sender import WebhookSender

BENCH_DB = "govdata_bench_notify"
BATCH = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_receiver(port: int) -> None:
    """A departmental system answering every delivery 204."""
    from aiohttp import web

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook/{dept}", hook)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def consumed_events(n: int, seed: int) -> list:
    areas = {topic.split(".")[1] for topic in CONSUMED_TOPICS}
    events = []
    for event in realistic_events(n * 3, seed=seed):
        if event.type.split(".", 1)[0] in areas and _valid(event):
            events.append(event)
            if len(events) == n:
                break
    return events


def _valid(event) -> bool:
    try:
        EVENT_CONTRACTS[event.type].model_validate(event.data)
    except ValueError:
        return False
    return True


async def consume(db: Database, settings: NotifySettings, events: list) -> float:
    """Events per second through the consumer's transaction code, in batches as fetched."""
    consumer = IdempotentConsumer(
        db, settings, name="notify-svc", topics=CONSUMED_TOPICS, handlers=HANDLERS, batch_handler=BATCH_HANDLER
    )
    started = time.perf_counter()
    for first in range(0, len(events), BATCH):
        deliveries = [
            _Delivery(SimpleNamespace(topic=e.topic, partition=0, offset=first + i), e)  # type: ignore[arg-type]
            for i, e in enumerate(events[first : first + BATCH])
        ]
        await consumer.apply(deliveries)
    return len(events) / (time.perf_counter() - started)


async def subscribe_all(db: Database, receiver: str, departments: list[str]) -> None:
    async with db.session() as session:
        for dept in departments:
            session.add(
                WebhookSubscription(
                    id=f"whs-bench-{dept}",
                    dept=dept,
                    url=f"{receiver}/hook/{dept}",
                    events=["catalog.*", "sharing.*", "verification.*"],
                    secret=f"bench-secret-{dept}-0123456789",
                    created_by="bench",
                    created_at=utc_now(),
                )
            )


async def count(db: Database, *where) -> int:
    async with db.reading() as session:
        query = sa.select(sa.func.count()).select_from(WebhookDelivery).where(*where)
        return (await session.execute(query)).scalar_one()


async def deliver(db: Database, settings: NotifySettings) -> tuple[int, float]:
    """Deliveries per second: the sender's rounds until nothing is pending."""
    app = SimpleNamespace(state=SimpleNamespace(db=db, settings=settings, clock=utc_now))
    sender = WebhookSender(app, timeout=settings.notify_webhook_timeout_seconds)  # type: ignore[arg-type]
    total = await count(db)
    started = time.perf_counter()
    try:
        while await count(db, WebhookDelivery.status == "pending"):
            sender.idle.clear()
            if not await sender.tick():
                await asyncio.wait_for(sender.idle.wait(), 10)
        await sender.drain()
    finally:
        await sender.close()
    elapsed = time.perf_counter() - started
    failed = await count(db, WebhookDelivery.status != "delivered")
    if failed:
        raise SystemExit(f"{failed} deliveries not delivered")
    return total, total / elapsed


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", required=True, help="server URL without database")
    parser.add_argument("--events", type=int, default=20_000, help="events per consume run")
    parser.add_argument("--departments", type=int, default=10, help="departments subscribed (plus the bureau)")
    args = parser.parse_args()

    url = await recreate_database(args.postgres, BENCH_DB, "notify_svc")
    settings = NotifySettings(database_url=url)
    db = Database(url)
    port = free_port()
    receiver = multiprocessing.Process(target=serve_receiver, args=(port,), daemon=True)
    receiver.start()
    try:
        bare = await consume(db, settings, consumed_events(args.events, seed=1))
        await subscribe_all(db, f"http://127.0.0.1:{port}", [*DEPTS[: args.departments], BUREAU_DEPT])
        subscribed = await consume(db, settings, consumed_events(args.events, seed=2))
        await asyncio.sleep(0.5)  # the receiver is up long since; in case it is not
        deliveries, per_second = await deliver(db, settings)
    finally:
        receiver.terminate()
        await db.dispose()
    load = os.getloadavg()
    print(f"| measure ({args.events} events, {args.departments} departments + the bureau subscribed) | per second |")
    print("|---|---|")
    print(f"| events consumed, no subscription | {bare:,.0f} |")
    print(f"| events consumed, deliveries queued in the same transaction | {subscribed:,.0f} |")
    print(f"| webhook deliveries sent and recorded ({deliveries:,} in all) | {per_second:,.0f} |")
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
