"""Audit trail benchmark: sustained ingest (events/s from the broker into Postgres) and verify (records/s) at
1,000,000 records (issue 6).

    .venv/bin/python bench/audit.py --postgres postgresql://postgres@127.0.0.1:5432 --events 1000000
    .venv/bin/python bench/audit.py --postgres ... --events 1000000 --replicas 2      # two audit-svc replicas
    .venv/bin/python bench/audit.py --postgres ... --events 1000000 --ingest-events 1000000   # ingest all 1M
    .venv/bin/python bench/audit.py --postgres ... --events 20000 --ingest-events 20000 --access-records 500000

Drops and creates database `govdata_bench_audit` and applies audit-svc's migrations. Ingest: starts a local
broker (govdata_local.broker.LocalBroker), produces `--ingest-events` realistic events of every area (catalog,
sharing, verification, access; shaped by their contracts, ids and Chinese text included) to the four topics,
keyed by aggregate id, then starts `--replicas` processes each running the service's real consumer —
IdempotentConsumer with audit-svc's topics and batch handler, as `create_service_app` wires it — and times
until the chain head reaches the count. "Sustained" runs from the first committed batch (process start and the
consumer group join excluded); "wall" from starting the processes. Meanwhile the growing tables are ANALYZEd
every 3 s, as autovacuum keeps a long-running database's statistics (see `keep_statistics`).
Fill: appends the rest up to `--events` through `chain.append_events` directly (the same append code, no
broker). Verify: `chain.verify_chain` over the whole chain, as GET /verify runs it. Prints a markdown table.
The machine is shared: other work on it shows up in the figures, so the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
from audit_svc import chain
from audit_svc.events import CONSUMED_TOPICS, PARTITION_FETCH_BYTES, append_batch
from govdata_local.broker import LOCAL_BROKER_GROUP_TIMING, LocalBroker
from govdata_shared.consumer import IdempotentConsumer
from govdata_shared.contracts.access import ACCESS_RECORDS
from govdata_shared.db import Database
from govdata_shared.events import Event, new_event
from govdata_shared.kafka import ensure_topics, make_producer
from govdata_shared.migrations import upgrade_async
from govdata_shared.settings import Settings

BENCH_DB = "govdata_bench_audit"
SEED = 20260302
START = datetime(2025, 1, 1, tzinfo=UTC)

DEPTS = ["YC-GA", "YC-MZ", "YC-RS", "YC-SCJG", "YC-ZRZY", "YC-WJW", "YC-JY", "YC-SW", "YC-TJ", "YC-NY"]
BUREAU = "YC-ZSJ"
RESOURCES = [
    ("户籍人口基本信息", ["公民身份号码", "姓名", "性别", "出生日期", "户籍地址"]),
    ("婚姻登记信息", ["公民身份号码", "婚姻状况", "登记日期", "登记机关"]),
    ("企业登记信息", ["统一社会信用代码", "企业名称", "法定代表人", "注册资本", "成立日期"]),
    ("社会保险参保信息", ["公民身份号码", "参保险种", "参保状态", "缴费基数"]),
    ("不动产登记信息", ["不动产单元号", "权利人", "坐落", "面积", "登记时间"]),
]
DENIAL_REASONS = ["wrong_resource", "outside_interface", "grant_not_active", "outside_window", "rate_limited"]


def realistic_events(n: int, seed: int = SEED) -> Iterator[Event]:
    """A mix like a county platform's year: mostly data-call usage reports, then sharing, catalog,
    correction and denial events."""
    rng = random.Random(seed)
    for i in range(n):
        moment = START + timedelta(seconds=i * 31 + rng.randint(0, 30))
        provider, holder = rng.sample(DEPTS, 2)
        resource_id = f"res-{rng.randrange(400):04d}"
        grant_id = f"grant-{rng.randrange(2000):05d}"
        request_id = f"req-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
        roll = rng.random()
        if roll < 0.35:
            kind, subject, dept = "access.usage", grant_id, holder
            data = {
                "grant_id": grant_id,
                "holder_dept": holder,
                "provider_dept": provider,
                "resource_id": resource_id,
                "calls": rng.randint(1, 500),
                "window_start": moment - timedelta(minutes=1),
                "window_end": moment,
                "last_used_at": moment,
            }
        elif roll < 0.40:
            kind, subject, dept = "access.denied", grant_id, holder
            data = {
                "reason": rng.choice(DENIAL_REASONS),
                "resource_id": resource_id,
                "method": "GET",
                "path": f"/records/{rng.randrange(10**6)}",
                "at": moment,
                "grant_id": grant_id,
                "holder_dept": holder,
                "provider_dept": provider,
                "client_id": f"{holder.lower()}-system",
                "status": 403,
            }
        elif roll < 0.55:
            kind = rng.choice(["sharing.request.submitted", "sharing.request.approved", "sharing.request.rejected"])
            subject, dept = request_id, provider
            data = {
                "request_id": request_id,
                "requester_dept": holder,
                "provider_dept": provider,
                "resource_id": resource_id,
                "stage": "provider_review",
                "decided_by_dept": provider,
                "deadline": (moment + timedelta(days=7)).date(),
                "on_time": rng.random() < 0.9,
                "next_status": "delivery",
                "reason": "用于办理城乡居民最低生活保障审核，依法申请共享",
                "items": ["公民身份号码", "姓名"],
                "path": "conditional",
                "status": "provider_review",
                "deadline_estimated": False,
                "valid_from": date(2025, 1, 1),
                "valid_to": date(2026, 12, 31),
            }
        elif roll < 0.65:
            kind = rng.choice(["sharing.grant.created", "sharing.grant.used", "sharing.grant.suspended"])
            subject, dept = grant_id, provider
            data = {
                "grant_id": grant_id,
                "request_id": request_id,
                "holder_dept": holder,
                "holder_system": f"{holder.lower()}-system",
                "provider_dept": provider,
                "resource_id": resource_id,
                "items": ["公民身份号码", "姓名", "婚姻状况"],
                "purpose": "社会救助对象家庭经济状况核对",
                "valid_from": date(2025, 1, 1),
                "valid_to": date(2026, 12, 31),
                "status": "suspended" if kind.endswith("suspended") else "active",
                "last_used_at": moment,
            }
        elif roll < 0.80:
            kind = rng.choice(
                ["catalog.resource.submitted", "catalog.resource.published", "catalog.resource.refreshed"]
            )
            subject, dept = resource_id, provider
            name, items = rng.choice(RESOURCES)
            data = {
                "resource_id": resource_id,
                "code": f"30{rng.randrange(10**4):04d}/{rng.randrange(10**6):06d}",
                "name": name,
                "provider_dept": provider,
                "status": "published",
                "revision": rng.randint(1, 4),
                "revision_status": "published",
                "category": "department",
                "format": "api",
                "sharing_type": "conditional",
                "sharing_method": "platform_api",
                "open_type": "closed",
                "security_level": "3",
                "update_cycle": "daily",
                "items": [
                    {"code": f"i{k}", "name": item, "type": "C", "authoritative": k == 0}
                    for k, item in enumerate(items)
                ],
                "interface": {
                    "base_url": f"http://10.0.{rng.randrange(255)}.{rng.randrange(255)}:8080/{provider.lower()}/api",
                    "methods": ["GET"],
                    "path_prefixes": ["/records"],
                    "rate_limit": 20,
                    "credential_ref": f"vault:{provider.lower()}/{resource_id}",
                },
                "reviewed_on_time": rng.random() < 0.95,
                "late": rng.random() < 0.1,
                "refreshed_at": moment,
            }
        else:
            kind = rng.choice(["verification.request.submitted", "verification.request.resolved"])
            subject, dept = request_id, provider
            data = {
                "request_id": request_id,
                "resource_id": resource_id,
                "provider_dept": provider,
                "received_on": moment.date(),
                "deadline": (moment + timedelta(days=14)).date(),
                "outcome": "corrected",
                "on_time": rng.random() < 0.9,
                "working_days_taken": rng.randint(1, 12),
                # Producers mask identifiers; one that slipped through is masked again by the audit trail.
                "note": "申请人称户籍地址有误，身份证号 410329198001010012",
            }
        yield new_event(
            kind,
            subject,
            {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in data.items()},
            version=1,
            actor=f"{dept.lower()}-system",
            dept=dept if kind.split(".")[0] != "access" else holder,
            source="bench",
            time=moment,
        )


def access_batches(records: int, per_batch: int = 500, seed: int = SEED) -> Iterator[Event]:
    """`records` per-call access records as the gateway sends them: `access.records` events of `per_batch`
    records (GATEWAY_ACCESS_BATCH_MAX's default), from two gateway instances, paths already masked."""
    rng = random.Random(seed)
    for first in range(0, records, per_batch):
        gateway = f"gateway-{first // per_batch % 2}"
        batch = []
        for i in range(first, min(first + per_batch, records)):
            moment = START + timedelta(milliseconds=i * 40)
            provider, holder = rng.sample(DEPTS, 2)
            allowed = rng.random() < 0.97
            batch.append(
                {
                    "id": f"acc-{uuid.UUID(int=rng.getrandbits(128)).hex}",
                    "time": moment.isoformat(),
                    "grant_id": f"grt-{rng.randrange(2000):05d}",
                    "client_id": f"{holder.lower()}-system",
                    "system": f"sys-{holder.lower()}",
                    "holder_dept": holder,
                    "provider_dept": provider,
                    "resource_id": f"res-{rng.randrange(400):04d}",
                    "method": "GET",
                    "path": f"/records?id_card=4103***********{rng.randrange(1000):03d}",
                    "status": 200 if allowed else 403,
                    "outcome": "ok" if allowed else rng.choice(DENIAL_REASONS),
                    "records": rng.randint(1, 20) if allowed else 0,
                    "bytes": rng.randint(200, 20_000),
                    "duration_ms": round(rng.uniform(2, 80), 1),
                    "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                }
            )
        yield new_event(
            ACCESS_RECORDS,
            gateway,
            {"gateway": gateway, "records": batch},
            version=1,
            actor="gateway",
            dept=None,
            source="gateway",
            time=START + timedelta(milliseconds=first * 40),
        )


async def recreate_database(postgres: str, name: str = BENCH_DB, package: str = "audit_svc") -> str:
    """A fresh database `name` on the server, migrated to `package`'s head; its SQLAlchemy URL."""
    conn = await asyncpg.connect(f"{postgres}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await conn.close()
    url = postgres.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    await upgrade_async(package, url)
    return url


async def head_seq(db: Database) -> int:
    async with db.session() as session:
        return (await chain.chain_head(session))[0]


async def keep_statistics(postgres_url: str, every: float = 3.0) -> None:
    """ANALYZE the growing tables every few seconds. A database that has run for a while has statistics that
    match its tables; this one grows from empty by thousands of rows a second, faster than autovacuum's
    one-minute round notices, and with "empty table" statistics the planner scans instead of probing indexes."""
    conn = await asyncpg.connect(postgres_url)
    try:
        while True:
            await asyncio.sleep(every)
            await conn.execute("ANALYZE processed_event; ANALYZE audit_log")
    finally:
        await conn.close()


async def run_replica(bootstrap: str, url: str) -> None:
    """One audit-svc replica's consumer, exactly as create_service_app wires it, until SIGTERM."""
    settings = Settings(service_name="audit", kafka_bootstrap_servers=bootstrap, **LOCAL_BROKER_GROUP_TIMING)
    db = Database(url)
    consumer = IdempotentConsumer(
        db,
        settings,
        name="audit-svc",
        topics=CONSUMED_TOPICS,
        batch_handler=append_batch,
        partition_fetch_bytes=PARTITION_FETCH_BYTES,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await consumer.start()
    try:
        await stop.wait()
    finally:
        await consumer.stop()
        await db.dispose()


async def ingest(
    db: Database, postgres: str, count: int, replicas: int, events: Iterable[Event] | None = None
) -> dict[str, float]:
    """Produce `events` (default: `count` realistic events), then time `replicas` consumers until the chain
    head reaches `count` (one chain record an event; an access.records batch is one too)."""
    events = realistic_events(count) if events is None else events
    with LocalBroker() as broker:
        settings = Settings(
            service_name="audit", kafka_bootstrap_servers=broker.bootstrap_servers, **LOCAL_BROKER_GROUP_TIMING
        )
        await ensure_topics(settings)
        producer = make_producer(settings, linger_ms=20, max_batch_size=512 * 1024)
        await producer.start()
        started = time.perf_counter()
        pending = []
        produced = 0
        for event in events:
            produced += 1
            pending.append(await producer.send(event.topic, event.to_json(), key=event.subject.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        await producer.stop()
        print(f"produced {produced:,} events in {time.perf_counter() - started:.1f}s", file=sys.stderr)

        # Each replica in a process of its own, as pods are; this process only watches the chain head.
        analyzer = asyncio.create_task(keep_statistics(f"{postgres}/{BENCH_DB}"))
        started = time.perf_counter()
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--replica", broker.bootstrap_servers, db.url, "--postgres", postgres
            )
            for _ in range(replicas)
        ]
        first_at, first_seq = None, 0
        try:
            while True:
                seq = await head_seq(db)
                now = time.perf_counter()
                if seq and first_at is None:
                    first_at, first_seq = now, seq
                if seq >= count:
                    break
                if any(p.returncode is not None for p in processes):
                    raise SystemExit("a replica exited")
                await asyncio.sleep(0.05)
        finally:
            finished = time.perf_counter()
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            await asyncio.gather(*(p.wait() for p in processes))
            analyzer.cancel()
    return {
        "events": count,
        "replicas": replicas,
        "wall_s": finished - started,
        "wall_rate": count / (finished - started),
        "sustained_rate": (count - first_seq) / (finished - first_at),
    }


async def fill(db: Database, total: int, batch: int = 2000) -> dict[str, float]:
    have = await head_seq(db)
    missing = total - have
    if missing <= 0:
        return {"events": 0, "seconds": 0.0, "rate": 0.0}
    seconds = 0.0
    events = realistic_events(missing, seed=SEED + 1)
    while True:
        # As the consumer hands them over: decoded from the wire (event generation is not timed).
        chunk = [Event.from_json(e.to_json()) for _, e in zip(range(batch), events, strict=False)]
        if not chunk:
            break
        started = time.perf_counter()
        async with db.session() as session:
            await chain.append_events(session, chunk)
        seconds += time.perf_counter() - started
    return {"events": missing, "seconds": seconds, "rate": missing / seconds}


async def verify(db: Database) -> dict[str, float]:
    started = time.perf_counter()
    async with db.session() as session:
        outcome = await chain.verify_chain(session)
    seconds = time.perf_counter() - started
    if not outcome.ok:
        raise SystemExit(f"chain does not verify: {outcome.broken}")
    return {"records": outcome.checked, "seconds": seconds, "rate": outcome.checked / seconds}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres", required=True, help="server URL without database, e.g. postgresql://postgres@127.0.0.1:5432"
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="records in the chain for verify")
    parser.add_argument("--ingest-events", type=int, default=200_000, help="events ingested through the broker")
    parser.add_argument("--replicas", type=int, default=1, help="consumer processes (audit-svc replicas)")
    parser.add_argument(
        "--access-records",
        type=int,
        default=0,
        help="also: access records ingested through the broker, in batches of 500 (into a fresh database)",
    )
    parser.add_argument("--replica", nargs=2, metavar=("BOOTSTRAP", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.replica:
        await run_replica(*args.replica)
        return 0
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    url = await recreate_database(args.postgres)
    db = Database(url)
    try:
        ingested = await ingest(db, args.postgres, min(args.ingest_events, args.events), args.replicas)
        filled = await fill(db, args.events)
        verified = await verify(db)
        again = await verify(db)
    finally:
        await db.dispose()
    access = None
    if args.access_records:
        db = Database(await recreate_database(args.postgres))
        try:
            batches = -(-args.access_records // 500)
            access = await ingest(db, args.postgres, batches, args.replicas, access_batches(args.access_records))
        finally:
            await db.dispose()
    print(f"load average before/after: {load_before} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| measure | count | seconds | rate | target |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| ingest, broker → {ingested['replicas']} consumer(s) → Postgres (sustained) | {ingested['events']:,} "
        f"| {ingested['wall_s']:.1f} "
        f"| {ingested['sustained_rate']:,.0f} events/s (wall {ingested['wall_rate']:,.0f}) "
        "| ≥ 10,000 events/s (issue 17) |"
    )
    print(
        f"| append directly (fill) | {filled['events']:,} | {filled['seconds']:.1f} | {filled['rate']:,.0f} events/s |"
    )
    print(
        f"| verify whole chain | {verified['records']:,} | {verified['seconds']:.2f} | "
        f"{verified['rate']:,.0f} records/s | 1,000,000 in < 5 s (issue 17) |"
    )
    print(f"| verify again (warm) | {again['records']:,} | {again['seconds']:.2f} | {again['rate']:,.0f} records/s | |")
    if access:
        per_batch = args.access_records / access["events"]
        print(
            f"| access records, broker → {access['replicas']} consumer(s) → Postgres (sustained) "
            f"| {args.access_records:,} in {access['events']:,} batches | {access['wall_s']:.1f} "
            f"| {access['sustained_rate'] * per_batch:,.0f} records/s (wall {access['wall_rate'] * per_batch:,.0f}) "
            "| ≥ 20,000 records/s (issue 17) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
