"""Seeding the registry from the clients file (`GOVDATA_CLIENTS_FILE`), idempotently, at every start.

Each entry of the file is compared with what the registry last took from it: a keyed digest (HMAC-SHA256 under
a random key kept in the registry, so a weak demo secret cannot be guessed from it) of the entry as the file
states it. Then:
- an entry the registry does not have is created;
- an entry whose digest changed — the operator edited it in the file — is overwritten with what the file says,
  also over changes made by hand through /api/identity since (the file wins when the file changed);
- an entry whose file text did not change is left alone, so changes made by hand stay;
- entries no longer in the file, and entries created through /api/identity, are left alone (never deleted).
Every creation or overwrite is an identity.* event. Several gateway replicas may start at once: the seeding
transaction holds a lock (an advisory lock on Postgres; SQLite's writer lock) so they take turns.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_gateway import passwords
from govdata_gateway.clients import ClientsFile
from govdata_gateway.registry.events import Entry, publish_change
from govdata_gateway.registry.models import AppSystem, ClientRecord, Department, Person, RegistryMeta

SEED_KEY = "seed_digest_key"
_ADVISORY_LOCK = 0x676F7664  # "govd": one seeding transaction at a time across replicas
# Plain secrets this process has hashed, by their SHA-256: seeding another database from the same file (a second
# gateway app in one process, as the tests start them) reuses the hash instead of ~40 ms of argon2id an entry.
_HASHED: dict[bytes, str] = {}


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


async def seed_registry(session: AsyncSession, clients_file: ClientsFile, now: datetime) -> SeedReport:
    """Apply the file to the registry in the caller's transaction (see the module doc)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    key = await _digest_key(session)
    report = SeedReport()
    plan: list[tuple[type, dict[str, dict[str, Any]]]] = [
        (Department, clients_file.departments),
        (AppSystem, clients_file.systems),
        (ClientRecord, clients_file.clients),
        (Person, clients_file.users),
    ]
    for model, entries in plan:
        for ident, entry in entries.items():
            digest = hmac.new(key, json.dumps(entry, sort_keys=True, ensure_ascii=False).encode(), "sha256")
            row = await session.get(model, ident, with_for_update=True)
            if row is not None and row.seed_digest == digest.hexdigest():
                report.unchanged += 1
                continue
            created = row is None
            row = row if row is not None else model(created_at=now, updated_at=now, **{_KEYS[model]: ident})
            _apply(row, entry)
            row.seed_digest = digest.hexdigest()
            row.updated_at = now
            if created:
                session.add(row)
            await session.flush()
            await publish_change(session, "created" if created else "updated", row, None)
            (report.created if created else report.updated).append(f"{_KINDS[model]}:{ident}")
    return report


_KEYS: dict[type, str] = {Department: "code", AppSystem: "id", ClientRecord: "client_id", Person: "username"}
_KINDS: dict[type, str] = {Department: "department", AppSystem: "system", ClientRecord: "client", Person: "user"}


async def _digest_key(session: AsyncSession) -> bytes:
    meta = await session.get(RegistryMeta, SEED_KEY)
    if meta is None:
        meta = RegistryMeta(key=SEED_KEY, value=secrets.token_hex(32))
        session.add(meta)
        await session.flush()
    return bytes.fromhex(meta.value)


def _apply(row: Entry, entry: dict[str, Any]) -> None:
    """Make `row` what the file entry says (the file describes the whole entry)."""
    row.name = entry.get("name")
    row.disabled = bool(entry.get("disabled", False))
    if isinstance(row, Department):
        return
    row.dept = entry.get("dept")
    if isinstance(row, AppSystem):
        return
    row.roles = sorted(entry.get("roles") or [])
    row.subject_id = entry.get("subject_id")
    if isinstance(row, ClientRecord):
        row.system = entry.get("system")
        row.redirect_uris = entry.get("redirect_uris")
        row.secret_hash = _stored_hash(getattr(row, "secret_hash", None), entry, "client_secret")
        row.previous_secret_hash = row.previous_secret_until = None
    else:
        row.password_hash = _stored_hash(getattr(row, "password_hash", None), entry, "password")
        row.must_change_password = False


def _stored_hash(current: str | None, entry: dict[str, Any], plain_field: str) -> str:
    """The hash the file gives, or the current hash when it already matches the file's plain secret (no needless
    rehashing), or a new argon2id hash of it."""
    given = entry.get(f"{plain_field}_hash")
    if given is not None:
        return given
    plain = entry[plain_field]
    digest = hashlib.sha256(plain.encode("utf-8")).digest()
    known = _HASHED.get(digest)
    if current is not None and (current == known or passwords.verify_secret(plain, current)):
        return current
    if known is None:
        known = _HASHED[digest] = passwords.hash_secret(plain)
    return known
