"""The registry as the token endpoint uses it: who a client is, and whether its secret is right.

A disabled client — or one of a disabled department or system — is refused like an unknown one. Every replica
reads the shared database, so a client disabled through any replica is refused by all of them at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa
from govdata_shared.db import Database

from govdata_gateway import passwords
from govdata_gateway.clients import ID_RE, Client
from govdata_gateway.registry.models import AppSystem, ClientRecord, Department

# Built once, with the id as a parameter: its compiled form is cached under a key computed once, not per request.
_ACTIVE_CLIENT = (
    sa.select(ClientRecord)
    .join(Department, Department.code == ClientRecord.dept, isouter=True)
    .join(AppSystem, AppSystem.id == ClientRecord.system, isouter=True)
    .where(
        ClientRecord.client_id == sa.bindparam("client_id"),
        ClientRecord.disabled.is_(False),
        sa.or_(ClientRecord.dept.is_(None), Department.disabled.is_(False)),
        sa.or_(ClientRecord.system.is_(None), AppSystem.disabled.is_(False)),
    )
)


def principal(row: ClientRecord) -> Client:
    return Client(
        client_id=row.client_id,
        dept=row.dept,
        roles=frozenset(row.roles),
        subject_id=row.subject_id,
        name=row.name,
        system=row.system,
    )


class Registry:
    """Client authentication over the registry database; hash verifications within `budget`."""

    def __init__(self, db: Database, budget: passwords.VerificationBudget | None = None) -> None:
        self.db = db
        self.budget = budget if budget is not None else passwords.VerificationBudget()
        # Successful hash checks, remembered as an HMAC of the secret under a per-process key (keyed by the hash
        # too, so a rotated secret is checked afresh): a token request does not pay argon2id each time.
        # Failures are not cached: guessing must stay expensive.
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[str, dict[str, bytes]] = {}  # client_id → {stored hash: tag of the secret}
        self.hash_verifications = 0  # argon2id/PBKDF2 runs, for tests and metrics

    async def active_client(self, client_id: str) -> ClientRecord | None:
        if not isinstance(client_id, str) or not ID_RE.match(client_id):
            return None
        async with self.db.reading() as session:
            return (await session.execute(_ACTIVE_CLIENT, {"client_id": client_id})).scalar()

    def _tag(self, secret: str) -> bytes:
        return hmac.new(self._cache_key, secret.encode("utf-8"), hashlib.sha256).digest()

    def reserve(self, client_id: str, secret: str) -> passwords.Turn | None:
        """A hashing turn for authenticating `client_id` with `secret`, or None when `secret` was verified
        before (if it is still the client's, no hashing is needed). Raises `passwords.VerificationBusy` at once,
        before any database read, when the budget is spent."""
        if isinstance(secret, str) and secret and isinstance(client_id, str):
            tag = self._tag(secret)
            if any(hmac.compare_digest(known, tag) for known in self._verified.get(client_id, {}).values()):
                return None
        return self.budget.reserve()

    async def authenticate(
        self, client_id: str, secret: str, now: datetime, turn: passwords.Turn | None = None
    ) -> Client | None:
        """The client when `secret` is its secret (or its previous one, within the rotation's grace period);
        else None. An unknown or disabled client costs no hashing. Verifications run in `turn` (from
        `reserve`), else in one reserved here, which may raise `passwords.VerificationBusy`."""
        try:
            row = await self.active_client(client_id) if isinstance(secret, str) and secret else None
            return await self.verify(row, secret, now, turn) if row is not None else None
        finally:
            self.budget.release(turn)  # what the turn reserved and no verification used

    async def verify(
        self, row: ClientRecord, secret: str, now: datetime, turn: passwords.Turn | None = None
    ) -> Client | None:
        """`authenticate` for a client already read (`active_client`)."""
        if not isinstance(secret, str) or not secret:
            return None
        hashes = [row.secret_hash]
        if row.previous_secret_hash and row.previous_secret_until and now < row.previous_secret_until:
            hashes.append(row.previous_secret_hash)
        tag = self._tag(secret)
        known = self._verified.get(row.client_id, {})
        for stored in hashes:
            cached = known.get(stored)
            if cached is not None and hmac.compare_digest(cached, tag):
                return principal(row)
        turn = turn if turn is not None else self.budget.reserve()
        try:
            for stored in hashes:
                self.hash_verifications += 1
                if await self.budget.verify(secret, stored, turn):
                    # Tags of hashes that are no longer the client's go.
                    self._verified[row.client_id] = {h: t for h, t in known.items() if h in hashes} | {stored: tag}
                    return principal(row)
            return None
        finally:
            self.budget.release(turn)
