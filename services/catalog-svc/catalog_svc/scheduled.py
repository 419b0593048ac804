"""Periodic work of catalog-svc: emit each 第十四条 deadline that passed, once."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import periodic

from catalog_svc import triggers

OVERDUE_CHECK_SECONDS = 60.0


async def check_overdue(app: FastAPI) -> int:
    async with app.state.db.session() as session:
        return await triggers.emit_overdue(session, app.state.clock())


overdue_watch = periodic("catalog-overdue", OVERDUE_CHECK_SECONDS, check_overdue)
