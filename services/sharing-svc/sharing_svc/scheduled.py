"""Periodic work of sharing-svc: overdue stages (emitted once), grants past valid_to, and — when the policy
says so — revocation of grants unused for three months (第二十九条)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from sharing_svc import service

log = logging.getLogger("sharing.scheduled")
CHECK_SECONDS = 60.0


async def run_checks(app: FastAPI, *, auto_revoke: bool = False) -> dict[str, int]:
    now = app.state.clock()
    async with app.state.db.session() as session:
        overdue = await service.emit_overdue(session, now)
    async with app.state.db.session() as session:
        expired = await service.expire_grants(session, now)
    revoked = 0
    if auto_revoke:
        async with app.state.db.session() as session:
            for grant in await service.inactive_grants(session, now):
                await service.revoke_inactive(session, None, grant.id, now)
                revoked += 1
    return {"overdue": overdue, "expired": expired, "revoked": revoked}


@contextlib.asynccontextmanager
async def sharing_watch(app: FastAPI) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                counts = await run_checks(
                    app, auto_revoke=getattr(app.state.settings, "sharing_auto_revoke_inactive", False)
                )
                if any(counts.values()):
                    log.info("sharing checks: %s", counts)
            except Exception:
                log.exception("sharing checks failed; retrying next round")
            await asyncio.sleep(CHECK_SECONDS)

    task = asyncio.create_task(loop(), name="sharing-checks")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
