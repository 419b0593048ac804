"""Periodic work of catalog-svc: emit each 第十四条 deadline that passed, and each data refresh due date of 第十三条
that passed unrefreshed, once."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import CHECK_INTERVAL_SETTING, periodic

from catalog_svc import lists, triggers

OVERDUE_CHECK_SECONDS = 60.0


async def check_overdue(app: FastAPI) -> int:
    async with app.state.db.session() as session:
        now = app.state.clock()
        return await triggers.emit_overdue(session, now) + await lists.emit_refresh_overdue(session, now)


overdue_watch = periodic("catalog-overdue", OVERDUE_CHECK_SECONDS, check_overdue, setting=CHECK_INTERVAL_SETTING)
