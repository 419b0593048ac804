"""Hashes of client secrets and people's passwords.

Everything the platform hashes itself is argon2id (RFC 9106, `argon2-cffi`), with OWASP's minimum parameters
(19 MiB, 2 passes, 1 lane: about 20 ms here), which 等保 2.0 third level accepts for stored credentials.
PBKDF2-SHA256 hashes (`pbkdf2_sha256$<iterations>$<salt>$<hash>`) written into clients files before argon2id are
still accepted. Both verifications compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PBKDF2_SCHEME = "pbkdf2_sha256"
PBKDF2_ITERATIONS = 600_000  # OWASP 2023 figure for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 10_000_000

_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_secret(secret: str) -> str:
    """An argon2id hash of `secret` (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`)."""
    if not secret:
        raise ValueError("secret must not be empty")
    return _ARGON2.hash(secret)


def verify_secret(secret: str, encoded: str) -> bool:
    """True when `secret` matches `encoded` (argon2id or PBKDF2-SHA256); False for a malformed hash."""
    if not isinstance(secret, str) or not isinstance(encoded, str):
        return False
    if encoded.startswith("$argon2"):
        try:
            return _ARGON2.verify(encoded, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    try:
        iterations, salt, expected = parse_pbkdf2(encoded)
    except ValueError:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations, dklen=len(expected))
    return hmac.compare_digest(actual, expected)


def check_hash(encoded: str) -> None:
    """ValueError naming what is wrong when `encoded` is neither an argon2id nor a PBKDF2-SHA256 hash."""
    if isinstance(encoded, str) and encoded.startswith("$argon2id$"):
        try:
            _ARGON2.check_needs_rehash(encoded)  # parses the parameters
        except (InvalidHashError, ValueError):
            raise ValueError("malformed argon2id hash") from None
        return
    parse_pbkdf2(encoded)


def pbkdf2_hash(secret: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>` of `secret` (for tests of files written before argon2id)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"{PBKDF2_SCHEME}${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def parse_pbkdf2(encoded: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, hash) of a PBKDF2 hash; ValueError naming what is wrong."""
    parts = encoded.split("$") if isinstance(encoded, str) else []
    if len(parts) != 4 or parts[0] != PBKDF2_SCHEME:
        raise ValueError(f"expected an argon2id hash or '{PBKDF2_SCHEME}$<iterations>$<salt base64>$<hash base64>'")
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
