"""Throttling failed authentications per account and source address (等保 2.0 third level: 登录失败处理), for
people's passwords and second factors and for machine clients' secrets alike.

The counts live in the registry's database, so every gateway replica applies the same locks. An account is
locked only for the address its failures came from: the same account from another address keeps working, so
a stranger cannot lock its owner out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from govdata_shared.db import Database
from sqlalchemy.dialects import postgresql, sqlite

from govdata_gateway.signin.models import AuthFailure
from govdata_gateway.signin.rules import FailureState, after_failure, retry_after

USER = "user"
CLIENT = "client"


@dataclass(frozen=True)
class Attempt:
    """What the throttle says before an authentication: whether it is locked now, and whether earlier failures
    are on record (only then does a success need a write)."""

    retry_after: int | None
    failures: int


@dataclass(frozen=True)
class Failure:
    failures: int
    retry_after: int | None  # set when this failure locked the account here
    remaining: int  # failures still allowed before the lock


class Throttle:
    def __init__(self, db: Database, *, max_failures: int, lockout_seconds: int) -> None:
        self.db = db
        self.max_failures = max_failures
        self.lockout = timedelta(seconds=lockout_seconds)

    async def check(self, kind: str, account: str, source: str, now: datetime) -> Attempt:
        async with self.db.reading() as session:
            row = await session.get(AuthFailure, (kind, account[:64], source))
        if row is None:
            return Attempt(None, 0)
        return Attempt(retry_after(row.locked_until, now), row.failures)

    async def failed(self, kind: str, account: str, source: str, now: datetime) -> Failure:
        """Count one failure; the row is locked while counting, so replicas failing at once count each."""
        key = {"kind": kind, "account": account[:64], "source": source}
        async with self.db.session() as session:
            insert = (postgresql if self.db.is_postgres else sqlite).insert(AuthFailure)
            await session.execute(insert.values(**key, failures=0, last_failed_at=now).on_conflict_do_nothing())
            row = await session.get(AuthFailure, tuple(key.values()), with_for_update=True, populate_existing=True)
            previous = FailureState(row.failures, row.locked_until) if row.failures else None
            state = after_failure(
                previous, row.last_failed_at, now, max_failures=self.max_failures, lockout=self.lockout
            )
            row.failures, row.locked_until, row.last_failed_at = state.failures, state.locked_until, now
        return Failure(state.failures, retry_after(state.locked_until, now), max(0, self.max_failures - state.failures))

    async def succeeded(self, kind: str, account: str, source: str) -> None:
        async with self.db.session() as session:
            await session.execute(
                sa.delete(AuthFailure).where(
                    AuthFailure.kind == kind, AuthFailure.account == account[:64], AuthFailure.source == source
                )
            )

    async def purge(self, now: datetime) -> int:
        """Forget failures that no longer count and locks that have ended."""
        async with self.db.session() as session:
            result = await session.execute(
                sa.delete(AuthFailure).where(
                    AuthFailure.last_failed_at < now - self.lockout,
                    sa.or_(AuthFailure.locked_until.is_(None), AuthFailure.locked_until <= now),
                )
            )
        return result.rowcount or 0
