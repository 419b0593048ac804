"""Access records of data calls (第三十二条) on a platform of the test's own: with the broker frozen for 20 s every
call is answered and later recorded once; a gateway killed in the middle of a load sends its spooled records when it
is started again."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import httpx
from govdata_local.flows import Dept, apply, grant_token_of, now_iso, publish, wait_access


def _grant_in_embedded(platform) -> tuple[str, str, Dept]:
    """On a platform of its own: YC-GA's population resource granted to 民政低保审批系统; (resource, token, auditor)."""
    ga, mz, bureau = Dept(platform, "ga-system"), Dept(platform, "mz-system"), Dept(platform, "bureau")
    rid = publish(platform, ga, bureau, "户籍人口基本信息", "101001/900101", rate_limit=200)["id"]
    request = apply(mz, rid, ["id_number", "name"])
    assert request.status_code == 201, request.text
    grant_id = bureau.post(f"/api/sharing/requests/{request.json()['id']}/approve").json()["grant_id"]
    token = grant_token_of(mz, grant_id)
    return rid, token, Dept(platform, "auditor")


def test_broker_frozen_or_gateway_killed_every_answered_call_is_recorded_once(embedded_platform):
    platform = embedded_platform
    rid, token, auditor = _grant_in_embedded(platform)
    http = httpx.Client(base_url=platform.gateway, timeout=10, headers={"Authorization": f"Bearer {token}"})
    since = now_iso()

    # 1. The broker freezes for 20 s while 500 calls are made: each is answered, and recorded once after the thaw.
    os.kill(platform.broker.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        statuses = Counter()
        for n in range(500):
            statuses[http.get(f"/data/{rid}/records/{n % 50 + 1:06d}").status_code] += 1
            time.sleep(max(0.0, frozen_at + n * 0.035 - time.monotonic()))  # spread over ~18 s
        time.sleep(max(0.0, frozen_at + 20 - time.monotonic()))
    finally:
        os.kill(platform.broker.pid, signal.SIGCONT)
    assert statuses == {200: 500}
    records = wait_access(auditor, since, 500, timeout=90)
    assert len(records) == 500 and len({r["id"] for r in records}) == 500
    assert {r["outcome"] for r in records} == {"ok"}

    # 2. The gateway is killed (SIGKILL) in the middle of a load, with the broker frozen so that what it answered
    #    is still in its spool; restarted, it sends those records.
    since = now_iso()
    os.kill(platform.broker.pid, signal.SIGSTOP)
    answered = 0
    try:
        for n in range(300):
            if n == 150:
                platform.processes["gateway"].kill()
                platform.processes["gateway"].wait(10)
                break
            if http.get(f"/data/{rid}/records/{n % 50 + 1:06d}").status_code == 200:
                answered += 1
    finally:
        os.kill(platform.broker.pid, signal.SIGCONT)
    assert answered == 150
    platform.start("gateway")
    platform.wait_healthy(timeout=60)
    records = wait_access(auditor, since, answered, timeout=90)
    assert len(records) == answered and len({r["id"] for r in records}) == answered
    assert auditor.get("/api/audit/verify").json()["ok"] is True
