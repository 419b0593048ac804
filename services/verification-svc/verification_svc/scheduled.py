"""Periodic work of verification-svc: emit each correction request that passed its 第十九条 deadline, once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from verification_svc import service

log = logging.getLogger("verification.scheduled")
OVERDUE_CHECK_SECONDS = 60.0


async def check_overdue(app: FastAPI) -> int:
    async with app.state.db.session() as session:
        return await service.emit_overdue(session, app.state.clock())


@contextlib.asynccontextmanager
async def overdue_watch(app: FastAPI) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                emitted = await check_overdue(app)
                if emitted:
                    log.info("emitted %d overdue correction requests", emitted)
            except Exception:
                log.exception("overdue check failed; retrying next round")
            await asyncio.sleep(OVERDUE_CHECK_SECONDS)

    task = asyncio.create_task(loop(), name="verification-overdue")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
