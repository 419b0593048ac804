"""A stalled broker delays events, never the services' writes: on the embedded default (SQLite, where a write
transaction locks the whole database) the outbox relay must not hold the database while it waits for Kafka."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import httpx

DEMAND_RECORDED = "catalog.demand.recorded"


def _client(platform, client_id: str) -> httpx.Client:
    token = platform.token(client_id)
    return httpx.Client(base_url=platform.gateway, timeout=15, headers={"Authorization": f"Bearer {token}"})


def _record_demand(ga: httpx.Client, n: int) -> str:
    response = ga.post(
        "/api/catalog/demands",
        json={
            "title": f"低保核查需要的婚姻登记数据（{n}）",
            "description": "办理最低生活保障审批时核验婚姻状况。",
            "supplier_dept": "YC-MZ",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _trail_subjects(auditor: httpx.Client) -> list[str]:
    response = auditor.get("/api/audit/events", params={"type": DEMAND_RECORDED, "size": 200})
    assert response.status_code == 200, response.text
    return [entry["subject"] for entry in response.json()["items"]]


def _wait_for_trail(auditor: httpx.Client, ids: list[str], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        subjects = _trail_subjects(auditor)
        if set(ids) <= set(subjects) or time.monotonic() > deadline:
            return subjects
        time.sleep(0.2)


def test_with_the_broker_frozen_writes_answer_at_once_and_each_event_reaches_the_trail_once(embedded_platform):
    platform = embedded_platform
    ga, auditor = _client(platform, "ga-system"), _client(platform, "auditor")
    # The relay, the producer and audit-svc's consumer are connected before the broker stops.
    warm_up = _record_demand(ga, 0)
    assert warm_up in _wait_for_trail(auditor, [warm_up], timeout=30)

    os.kill(platform.broker.pid, signal.SIGSTOP)
    try:
        ids, took = [], []
        for n in range(1, 21):
            started = time.monotonic()
            ids.append(_record_demand(ga, n))
            took.append(time.monotonic() - started)
        # Long enough for the relay to be waiting on the frozen broker with these events in hand.
        time.sleep(1.0)
        assert _trail_subjects(auditor).count(ids[0]) == 0
    finally:
        os.kill(platform.broker.pid, signal.SIGCONT)
    assert max(took) < 1.0, [f"{t:.2f}s" for t in took]

    subjects = Counter(_wait_for_trail(auditor, ids, timeout=60))
    assert {demand: subjects[demand] for demand in ids} == dict.fromkeys(ids, 1)
