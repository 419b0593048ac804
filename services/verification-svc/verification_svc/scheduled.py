"""Periodic work of verification-svc: emit each correction request that passed its 第十九条 deadline, once."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import CHECK_INTERVAL_SETTING, periodic

from verification_svc import corrections

OVERDUE_CHECK_SECONDS = 60.0


async def check_overdue(app: FastAPI) -> int:
    async with app.state.db.session() as session:
        return await corrections.emit_overdue(session, now=app.state.clock())


overdue_watch = periodic("verification-overdue", OVERDUE_CHECK_SECONDS, check_overdue, setting=CHECK_INTERVAL_SETTING)
