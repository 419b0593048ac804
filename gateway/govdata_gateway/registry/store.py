"""The registry as the token endpoint uses it: who a client is, and whether its secret is right.

A disabled client — or one of a disabled department or system — is refused like an unknown one. Every replica
reads the shared database, so a client disabled through any replica is refused by all of them at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa
from govdata_shared.db import Database

from govdata_gateway import passwords
from govdata_gateway.clients import ID_RE, Client
from govdata_gateway.registry.models import AppSystem, ClientRecord, Department

_ACTIVE_CLIENT = (
    sa.select(ClientRecord)
    .join(Department, Department.code == ClientRecord.dept, isouter=True)
    .join(AppSystem, AppSystem.id == ClientRecord.system, isouter=True)
    .where(
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
    """Client authentication over the registry database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Successful hash checks, remembered as an HMAC of the secret under a per-process key (keyed by the hash
        # too, so a rotated secret is checked afresh): a token request does not pay argon2id each time.
        # Failures are not cached: guessing must stay expensive.
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[tuple[str, str], bytes] = {}
        self.hash_verifications = 0  # argon2id/PBKDF2 runs, for tests and metrics

    async def active_client(self, client_id: str) -> ClientRecord | None:
        if not isinstance(client_id, str) or not ID_RE.match(client_id):
            return None
        async with self.db.reading() as session:
            return (await session.execute(_ACTIVE_CLIENT.where(ClientRecord.client_id == client_id))).scalar()

    async def authenticate(self, client_id: str, secret: str, now: datetime) -> Client | None:
        """The client when `secret` is its secret (or its previous one, within the rotation's grace period);
        else None. An unknown or disabled client costs no hashing."""
        if not isinstance(secret, str) or not secret:
            return None
        row = await self.active_client(client_id)
        if row is None:
            return None
        hashes = [row.secret_hash]
        if row.previous_secret_hash and row.previous_secret_until and now < row.previous_secret_until:
            hashes.append(row.previous_secret_hash)
        tag = hmac.new(self._cache_key, secret.encode("utf-8"), hashlib.sha256).digest()
        for stored in hashes:
            cached = self._verified.get((row.client_id, stored))
            if cached is not None and hmac.compare_digest(cached, tag):
                return principal(row)
        for stored in hashes:
            self.hash_verifications += 1
            if await asyncio.to_thread(passwords.verify_secret, secret, stored):
                self._verified[(row.client_id, stored)] = tag
                return principal(row)
        return None
