"""Periodic work of notify-svc: the reminders and 逾期通报 due at the app's clock (reminders.py)."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import CHECK_INTERVAL_SETTING, periodic

from notify_svc import reminders

CHECK_SECONDS = 60.0


async def check_deadlines(app: FastAPI) -> dict[str, int] | None:
    async with app.state.db.session() as session:
        sent = await reminders.send_due(
            session, now=app.state.clock(), remind_days=app.state.settings.notify_remind_working_days
        )
    return {kind: count for kind, count in sent.items() if count} or None


deadline_watch = periodic("notify-deadlines", CHECK_SECONDS, check_deadlines, setting=CHECK_INTERVAL_SETTING)
