"""Departments and machine/user clients of a deployment, and client authentication.

The file named by `GOVDATA_CLIENTS_FILE` (YAML, or JSON when it ends in `.json`):

    departments: [{code: YC-GA, name: 伊川县公安局}, ...]
    clients:
      - {client_id: ga-system, client_secret: "…", dept: YC-GA, roles: [dept_operator]}
      - {client_id: ga-head, client_secret_hash: "pbkdf2_sha256$600000$<salt>$<hash>", dept: YC-GA, roles: [dept_head]}
      - {client_id: citizen-1, client_secret: "…", roles: [citizen], subject_id: "34052419800101001X"}

A stored secret is either plain (`client_secret`) or a PBKDF2-SHA256 hash (`client_secret_hash`). Operators
make the hash with

    python -m govdata_gateway.clients hash-secret < secret.txt

and can check a file with `python -m govdata_gateway.clients check FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from govdata_shared.auth import KNOWN_ROLES, Role

log = logging.getLogger("govdata.gateway.clients")

HASH_SCHEME = "pbkdf2_sha256"
PBKDF2_ITERATIONS = 600_000  # OWASP 2023 figure for PBKDF2-HMAC-SHA256 (~0.35 s here)
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 10_000_000
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CLIENT_FIELDS = {"client_id", "client_secret", "client_secret_hash", "dept", "roles", "subject_id", "name"}
_DEPT_FIELDS = {"code", "name"}


# --------------------------------------------------------------------------------------------- hashing


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_secret(secret: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>` of `secret`."""
    if not secret:
        raise ValueError("secret must not be empty")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"{HASH_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def parse_secret_hash(encoded: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, hash) of an encoded hash; ValueError naming what is wrong."""
    parts = encoded.split("$") if isinstance(encoded, str) else []
    if len(parts) != 4 or parts[0] != HASH_SCHEME:
        raise ValueError(f"expected '{HASH_SCHEME}$<iterations>$<salt base64>$<hash base64>'")
    try:
        iterations = int(parts[1])
    except ValueError:
        raise ValueError("iterations must be an integer") from None
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}")
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except ValueError:
        raise ValueError("salt and hash must be standard base64") from None
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("salt must be at least 8 bytes and hash at least 16 bytes")
    return iterations, salt, digest


def verify_secret_hash(secret: str, encoded: str) -> bool:
    """True when `secret` matches `encoded` (constant-time comparison)."""
    try:
        iterations, salt, expected = parse_secret_hash(encoded)
    except ValueError:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations, dklen=len(expected))
    return hmac.compare_digest(actual, expected)


# --------------------------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Client:
    """A client allowed to obtain tokens."""

    client_id: str
    dept: str | None
    roles: frozenset[str]
    subject_id: str | None = None
    name: str | None = None
    secret: str | None = field(default=None, repr=False)
    secret_hash: str | None = field(default=None, repr=False)

    @property
    def is_citizen(self) -> bool:
        return Role.CITIZEN in self.roles


class ClientsFileError(ValueError):
    """The clients file is invalid; `errors` lists every problem, each naming the client and field."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"invalid clients file {source}:\n  - " + "\n  - ".join(errors))


class ClientRegistry:
    """Departments (code → name) and clients by id."""

    def __init__(self, departments: Mapping[str, str], clients: Iterable[Client], *, source: str = "<memory>"):
        self.source = source
        self.departments: Mapping[str, str] = MappingProxyType(dict(departments))
        self.clients: Mapping[str, Client] = MappingProxyType({c.client_id: c for c in clients})
        # Successful PBKDF2 checks, remembered as an HMAC of the secret under a per-process key, so a token
        # request does not cost ~0.35 s each time. Failures are not cached: guessing must stay expensive.
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self.hash_verifications = 0  # PBKDF2 runs, for tests and metrics

    def get(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    async def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The client when `secret` is its secret, else None. PBKDF2 runs in a thread, off the event loop."""
        client = self.clients.get(client_id) if isinstance(client_id, str) else None
        if client is None or not isinstance(secret, str) or not secret:
            return None
        if client.secret is not None:
            # Compare digests so the comparison time does not depend on the secret's length either.
            given = hashlib.sha256(secret.encode("utf-8")).digest()
            stored = hashlib.sha256(client.secret.encode("utf-8")).digest()
            return client if hmac.compare_digest(given, stored) else None
        assert client.secret_hash is not None
        tag = hmac.new(self._cache_key, secret.encode("utf-8"), hashlib.sha256).digest()
        cached = self._verified.get(client.client_id)
        if cached is not None and hmac.compare_digest(cached, tag):
            return client
        self.hash_verifications += 1
        if await asyncio.to_thread(verify_secret_hash, secret, client.secret_hash):
            self._verified[client.client_id] = tag
            return client
        return None

    @classmethod
    def from_data(cls, data: Any, *, source: str = "<data>") -> ClientRegistry:
        """Validate parsed file content; raise `ClientsFileError` listing every problem."""
        departments, clients, errors = _validate(data)
        if errors:
            raise ClientsFileError(source, errors)
        return cls(departments, clients, source=source)

    @classmethod
    def from_file(cls, path: Path | str) -> ClientRegistry:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ClientsFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
            raise ClientsFileError(str(path), [f"not valid {kind}: {exc}"]) from None
        return cls.from_data(data, source=str(path))


def load_clients_file(path: Path | str) -> ClientRegistry:
    """`ClientRegistry.from_file(path)`."""
    return ClientRegistry.from_file(path)


def _validate(data: Any) -> tuple[dict[str, str], list[Client], list[str]]:
    errors: list[str] = []
    if not isinstance(data, Mapping):
        return {}, [], ["the file must be a mapping with 'departments' and 'clients'"]
    for extra in sorted(set(map(str, data)) - {"departments", "clients"}):
        # Other sections may belong to other tools; only the two we own are checked strictly.
        log.warning("clients file: ignoring top-level field '%s'", extra)

    departments: dict[str, str] = {}
    raw_departments = data.get("departments")
    if not isinstance(raw_departments, list):
        errors.append("field 'departments' must be a list of {code, name}")
        raw_departments = []
    for i, raw in enumerate(raw_departments):
        where = f"departments[{i}]"
        if not isinstance(raw, Mapping):
            errors.append(f"{where}: must be a mapping with 'code' and 'name'")
            continue
        code, name = raw.get("code"), raw.get("name")
        if isinstance(code, str) and code.strip():
            where = f"department '{code}' ({where})"
        for extra in sorted(set(map(str, raw)) - _DEPT_FIELDS):
            errors.append(f"{where}: unknown field '{extra}'")
        if not isinstance(code, str) or not code.strip():
            errors.append(f"{where}: field 'code' must be a non-empty string")
            continue
        if not isinstance(name, str) or not name.strip():
            errors.append(f"{where}: field 'name' must be a non-empty string")
        if code in departments:
            errors.append(f"{where}: field 'code': duplicate department code")
        departments[code] = name if isinstance(name, str) else ""

    clients: list[Client] = []
    seen: set[str] = set()
    raw_clients = data.get("clients")
    if not isinstance(raw_clients, list):
        errors.append("field 'clients' must be a list")
        raw_clients = []
    for i, raw in enumerate(raw_clients):
        client, client_errors = _validate_client(i, raw, departments, seen)
        errors.extend(client_errors)
        if client is not None:
            clients.append(client)
    return departments, clients, errors


def _validate_client(
    i: int, raw: Any, departments: Mapping[str, str], seen: set[str]
) -> tuple[Client | None, list[str]]:
    where = f"clients[{i}]"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: must be a mapping"]
    errors: list[str] = []
    cid = raw.get("client_id")
    if isinstance(cid, str) and cid:
        where = f"client '{cid}' ({where})"

    def err(field_name: str, message: str) -> None:
        errors.append(f"{where}: field '{field_name}': {message}")

    for extra in sorted(set(map(str, raw)) - _CLIENT_FIELDS):
        err(extra, "unknown field")
    if not isinstance(cid, str) or not _CLIENT_ID_RE.match(cid):
        err("client_id", "required; 1-64 characters of letters, digits, '.', '_' or '-'")
    elif cid in seen:
        err("client_id", "duplicate client_id")
    else:
        seen.add(cid)

    secret, secret_hash = raw.get("client_secret"), raw.get("client_secret_hash")
    if (secret is None) == (secret_hash is None):
        err("client_secret", "give exactly one of 'client_secret' or 'client_secret_hash'")
    elif secret is not None and (not isinstance(secret, str) or not secret):
        err("client_secret", "must be a non-empty string (quote it in YAML)")
    elif secret_hash is not None:
        try:
            iterations, _, _ = parse_secret_hash(secret_hash)
            if iterations < 100_000:
                log.warning("%s: client_secret_hash uses only %d PBKDF2 iterations", where, iterations)
        except ValueError as exc:
            err("client_secret_hash", str(exc))

    roles = raw.get("roles")
    if not isinstance(roles, list) or not roles:
        err("roles", f"must be a non-empty list of roles from {sorted(KNOWN_ROLES)}")
        roles = []
    if not all(isinstance(r, str) for r in roles):
        err("roles", "every role must be a string")
        roles = [r for r in roles if isinstance(r, str)]
    unknown = [r for r in roles if r not in KNOWN_ROLES]
    if unknown:
        err("roles", f"unknown role(s) {unknown}; known roles: {sorted(KNOWN_ROLES)}")

    dept, subject_id, name = raw.get("dept"), raw.get("subject_id"), raw.get("name")
    if Role.CITIZEN in roles:
        if len(set(roles)) > 1:
            err("roles", "a citizen client cannot also hold department roles")
        if not isinstance(subject_id, str) or not subject_id.strip():
            err("subject_id", "citizen clients need the subject_id (ID card or unified social credit code) as a string")
        if dept is not None:
            err("dept", "citizen clients belong to no department")
    else:
        if subject_id is not None:
            err("subject_id", "only citizen clients have a subject_id")
        if not isinstance(dept, str) or not dept:
            err("dept", "department clients need the code of a department listed under 'departments'")
        elif dept not in departments:
            err("dept", f"unknown department '{dept}'; listed departments: {', '.join(departments) or 'none'}")
    if name is not None and not isinstance(name, str):
        err("name", "must be a string")

    if errors:
        return None, errors
    return (
        Client(
            client_id=cid,
            dept=dept,
            roles=frozenset(roles),
            subject_id=subject_id,
            name=name,
            secret=secret,
            secret_hash=secret_hash,
        ),
        [],
    )


# --------------------------------------------------------------------------------------------- CLI


def _read_secret() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("client secret: ")
    text = sys.stdin.read()
    # Drop only the line ending a pipe or file adds; other whitespace is part of the secret.
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govdata_gateway.clients", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    hs = sub.add_parser("hash-secret", help="read a client secret from stdin and print its client_secret_hash")
    hs.add_argument("--iterations", type=int, default=PBKDF2_ITERATIONS)
    check = sub.add_parser("check", help="validate a clients file")
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "hash-secret":
        secret = _read_secret()
        if not secret:
            print("error: empty secret", file=sys.stderr)
            return 2
        if not MIN_ITERATIONS <= args.iterations <= MAX_ITERATIONS:
            print(f"error: iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}", file=sys.stderr)
            return 2
        print(hash_secret(secret, iterations=args.iterations))
        return 0
    try:
        registry = ClientRegistry.from_file(args.file)
    except ClientsFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"ok: {len(registry.departments)} departments, {len(registry.clients)} clients")
    return 0


if __name__ == "__main__":
    sys.exit(main())
