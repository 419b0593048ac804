"""Periodic work of sharing-svc: overdue stages (emitted once), grants past valid_to, and — when the policy
says so — revocation of grants unused for three months (第二十九条)."""

from __future__ import annotations

from fastapi import FastAPI
from govdata_shared.service import CHECK_INTERVAL_SETTING, periodic

from sharing_svc import grants, requests

CHECK_SECONDS = 60.0


async def run_checks(app: FastAPI, *, auto_revoke: bool = False) -> dict[str, int]:
    now = app.state.clock()
    async with app.state.db.session() as session:
        overdue = await requests.emit_overdue(session, now)
    async with app.state.db.session() as session:
        expired = await grants.expire_grants(session, now)
    revoked = 0
    if auto_revoke:
        async with app.state.db.session() as session:
            for grant in await grants.inactive_grants(session, now):
                await grants.revoke_inactive(session, None, grant.id, now)
                revoked += 1
    return {"overdue": overdue, "expired": expired, "revoked": revoked}


async def _scheduled_checks(app: FastAPI) -> dict[str, int]:
    counts = await run_checks(app, auto_revoke=getattr(app.state.settings, "sharing_auto_revoke_inactive", False))
    return {k: v for k, v in counts.items() if v}


sharing_watch = periodic("sharing-checks", CHECK_SECONDS, _scheduled_checks, setting=CHECK_INTERVAL_SETTING)
