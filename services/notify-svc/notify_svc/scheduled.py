"""Periodic work of notify-svc: the reminders and 逾期通报 due at the app's clock (reminders.py), and the gauges
of what is overdue that the check refreshes (deploy/k8s/README.md "Alerts")."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import CHECK_INTERVAL_SETTING, periodic
from prometheus_client import Gauge

from notify_svc import reminders

CHECK_SECONDS = 60.0

# Every replica runs the check and reads the same database, so each reports the same counts: aggregate with max,
# never sum.
DEADLINES_OVERDUE = Gauge(
    "govdata_deadlines_overdue", "Open steps past their deadline (逾期未办) at the last deadline check", ["kind"]
)
DEADLINES_CHECKED = Gauge("govdata_deadlines_checked_timestamp_seconds", "Unix time the last deadline check completed")


async def check_deadlines(app: FastAPI) -> dict[str, int] | None:
    now = app.state.clock()
    async with app.state.db.session() as session:
        sent = await reminders.send_due(session, now=now, remind_days=app.state.settings.notify_remind_working_days)
        overdue = await reminders.overdue_by_kind(session, now=now)
    # Set once the messages are committed: a failed round leaves the last good counts and an older timestamp.
    for kind, count in overdue.items():
        DEADLINES_OVERDUE.labels(kind).set(count)
    DEADLINES_CHECKED.set_to_current_time()
    return {kind: count for kind, count in sent.items() if count} or None


deadline_watch = periodic("notify-deadlines", CHECK_SECONDS, check_deadlines, setting=CHECK_INTERVAL_SETTING)
