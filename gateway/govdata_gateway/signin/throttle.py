"""Throttling failed authentications per account and source address (等保 2.0 third level: 登录失败处理), for
people's passwords and second factors and for machine clients' secrets alike.

The counts live in the registry's database, so every gateway replica applies the same locks. An account is
locked only for the address its failures came from: the same account from another address keeps working, so
a stranger cannot lock its owner out. A lock only ends with its time, so each replica also remembers the locks
it has seen until they end, and refuses attempts under them without reading the database: a guesser who keeps
knocking once locked costs next to nothing.
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
REMEMBERED_LOCKS = 10_000  # beyond this many locks at once, further ones are read from the database each time


@dataclass(frozen=True)
class Attempt:
    """What the throttle says before an authentication: whether it is locked now, and whether earlier failures
    are on record (only then does a success need a write); and the record as read, so that counting a failure
    after it takes one statement when nobody counted in between."""

    retry_after: int | None
    failures: int
    last_failed_at: datetime | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Failure:
    failures: int
    retry_after: int | None  # set when the account is locked here (by this failure or before it)
    remaining: int  # failures still allowed before the lock


class Throttle:
    def __init__(self, db: Database, *, max_failures: int, lockout_seconds: int) -> None:
        self.db = db
        self.max_failures = max_failures
        self.lockout = timedelta(seconds=lockout_seconds)
        self._locks: dict[tuple[str, str, str], datetime] = {}  # (kind, account, source) → locked until

    def remembered(self, kind: str, account: str, source: str, now: datetime) -> int | None:
        """Seconds left of a lock this replica has seen on `account` at `source`, or None; no database read."""
        return self._remembered((kind, account[:64], source), now)

    async def check(self, kind: str, account: str, source: str, now: datetime) -> Attempt:
        key = (kind, account[:64], source)
        if (seconds := self._remembered(key, now)) is not None:
            return Attempt(seconds, self.max_failures)
        async with self.db.reading() as session:
            row = (await session.execute(_STATE, {"kind": kind, "account": account[:64], "source": source})).first()
        if row is None:
            return Attempt(None, 0)
        self._remember(key, row.locked_until, now)
        return Attempt(retry_after(row.locked_until, now), row.failures, row.last_failed_at, row.locked_until)

    def _remembered(self, key: tuple[str, str, str], now: datetime) -> int | None:
        until = self._locks.get(key)
        seconds = retry_after(until, now) if until is not None else None
        if until is not None and seconds is None:
            del self._locks[key]
        return seconds

    def _remember(self, key: tuple[str, str, str], until: datetime | None, now: datetime) -> None:
        if until is None or until <= now:
            return
        if len(self._locks) >= REMEMBERED_LOCKS:
            self._locks = {k: u for k, u in self._locks.items() if u > now}
        if len(self._locks) < REMEMBERED_LOCKS:
            self._locks[key] = until

    async def failed(self, kind: str, account: str, source: str, now: datetime, seen: Attempt | None = None) -> Failure:
        """Count one failure, unless the account is locked here already: then the lock stands as it is.

        `seen` is what `check` read (without it: no failures on record, the usual case of a guesser trying ever
        new names or addresses). While the record is still as seen, one statement counts; else the record is
        locked while counting, so replicas failing at once count each."""
        key = (kind, account[:64], source)
        seen = seen if seen is not None else Attempt(None, 0)
        if seen.retry_after is None:
            previous = FailureState(seen.failures, seen.locked_until) if seen.failures else None
            state = self._after(previous, seen.last_failed_at, now)
            if await self._count_if_unchanged(key, seen, state, now):
                return self._failure(key, state, now)
        async with self.db.session() as session:
            insert = (postgresql if self.db.is_postgres else sqlite).insert(AuthFailure)
            await session.execute(
                insert.values(**_columns(key), failures=0, last_failed_at=now).on_conflict_do_nothing()
            )
            row = await session.get(AuthFailure, key, with_for_update=True, populate_existing=True)
            if retry_after(row.locked_until, now) is not None:
                state = FailureState(row.failures, row.locked_until)
            else:
                previous = FailureState(row.failures, row.locked_until) if row.failures else None
                state = self._after(previous, row.last_failed_at, now)
                row.failures, row.locked_until, row.last_failed_at = state.failures, state.locked_until, now
        return self._failure(key, state, now)

    def _after(self, previous: FailureState | None, last_failed_at: datetime | None, now: datetime) -> FailureState:
        return after_failure(previous, last_failed_at, now, max_failures=self.max_failures, lockout=self.lockout)

    async def _count_if_unchanged(
        self, key: tuple[str, str, str], seen: Attempt, state: FailureState, now: datetime
    ) -> bool:
        values = {"failures": state.failures, "locked_until": state.locked_until, "last_failed_at": now}
        if seen.failures == 0:
            insert = (postgresql if self.db.is_postgres else sqlite).insert(AuthFailure)
            statement = insert.values(**_columns(key), **values).on_conflict_do_nothing()
        else:
            statement = (
                sa.update(AuthFailure)
                .where(
                    *_primary_key(*key),
                    AuthFailure.failures == seen.failures,
                    AuthFailure.last_failed_at == seen.last_failed_at,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        async with self.db.session() as session:
            result = await session.execute(statement)
        return result.rowcount == 1

    def _failure(self, key: tuple[str, str, str], state: FailureState, now: datetime) -> Failure:
        self._remember(key, state.locked_until, now)
        seconds = retry_after(state.locked_until, now)
        return Failure(state.failures, seconds, max(0, self.max_failures - state.failures))

    async def succeeded(self, kind: str, account: str, source: str) -> None:
        async with self.db.session() as session:
            await session.execute(sa.delete(AuthFailure).where(*_primary_key(kind, account[:64], source)))
        self._locks.pop((kind, account[:64], source), None)

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


def _columns(key: tuple[str, str, str]) -> dict[str, str]:
    return dict(zip(("kind", "account", "source"), key, strict=True))


def _primary_key(kind: str, account: str, source: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (AuthFailure.kind == kind, AuthFailure.account == account, AuthFailure.source == source)


# Built once, with parameters: its compiled form is cached under a key computed once, not per request.
_STATE = sa.select(AuthFailure.failures, AuthFailure.locked_until, AuthFailure.last_failed_at).where(
    AuthFailure.kind == sa.bindparam("kind"),
    AuthFailure.account == sa.bindparam("account"),
    AuthFailure.source == sa.bindparam("source"),
)
