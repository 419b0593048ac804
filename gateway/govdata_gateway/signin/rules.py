"""The rules of sign-in as plain functions: PKCE (RFC 7636, S256 only), the TOTP window (RFC 6238), who needs a
second factor, the lockout arithmetic, the caller's address behind trusted proxies, and the secrets' hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyotp
from govdata_shared import upstream
from govdata_shared.auth import Role

# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
CODE_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
# An S256 challenge is BASE64URL(SHA-256) without padding: exactly 43 characters.
S256_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_STATE_LENGTH = 1024

# 等保 2.0 third level: a second factor for those who administer the platform or oversee it.
SECOND_FACTOR_ROLES = frozenset({Role.BUREAU_ADMIN.value, Role.AUDITOR.value})

TOTP_INTERVAL = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # one step either side: a phone clock 30 s off still works


def token_hash(value: str) -> str:
    """How codes, refresh tokens and browser bindings are stored: SHA-256, hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


# --------------------------------------------------------------------------------------------- PKCE


def s256_challenge(code_verifier: str) -> str:
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(code_verifier: str, code_challenge: str) -> bool:
    """RFC 7636 §4.6 for S256; a verifier of the wrong shape never matches."""
    if not isinstance(code_verifier, str) or not CODE_VERIFIER_RE.match(code_verifier):
        return False
    return hmac.compare_digest(s256_challenge(code_verifier), code_challenge)


def challenge_problem(code_challenge: str | None, method: str | None) -> str | None:
    """Why an authorization request's PKCE parameters are refused (English, for `error_description`), or None.
    Only S256 is accepted: `plain` would hand the verifier to whoever sees the request."""
    if not code_challenge:
        return "code_challenge required (PKCE, RFC 7636)"
    if method != "S256":
        return "code_challenge_method must be S256"
    if not S256_CHALLENGE_RE.match(code_challenge):
        return "code_challenge must be the 43-character BASE64URL of a SHA-256 digest"
    return None


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """`uri` with `params` added to its query (RFC 6749 §4.1.2: the redirect URI's own query is kept)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


# --------------------------------------------------------------------------------------------- TOTP


def needs_second_factor(roles: Iterable[str]) -> bool:
    return not SECOND_FACTOR_ROLES.isdisjoint(roles)


def new_totp_secret() -> str:
    """160 random bits in base32, the size RFC 4226 recommends and authenticator apps expect."""
    return pyotp.random_base32(32)


def totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)


def totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to when it is right for `now` within ±TOTP_WINDOW steps and newer than
    `last_step` (a code is good once); else None."""
    code = code.strip().replace(" ", "")
    if not re.fullmatch(rf"\d{{{TOTP_DIGITS}}}", code):
        return None
    generator = totp(secret)
    current = generator.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(generator.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def otpauth_uri(secret: str, username: str, issuer: str) -> str:
    return totp(secret).provisioning_uri(name=username, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret as people type it: groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --------------------------------------------------------------------------------------------- lockout


@dataclass(frozen=True)
class FailureState:
    failures: int
    locked_until: datetime | None


def after_failure(
    previous: FailureState | None,
    last_failed_at: datetime | None,
    now: datetime,
    *,
    max_failures: int,
    lockout: timedelta,
) -> FailureState:
    """The state after one more failure. Failures older than the lockout period, or from before a lock that has
    ended, are forgotten; the `max_failures`-th failure locks for `lockout`."""
    failures = 1
    if previous is not None and last_failed_at is not None:
        lock_over = previous.locked_until is not None and previous.locked_until <= now
        stale = now - last_failed_at >= lockout
        if not lock_over and not stale:
            failures = previous.failures + 1
    return FailureState(failures, now + lockout if failures >= max_failures else None)


def retry_after(locked_until: datetime | None, now: datetime) -> int | None:
    """Whole seconds until a lock ends, or None when there is no lock now."""
    if locked_until is None or locked_until <= now:
        return None
    return max(1, math.ceil((locked_until - now).total_seconds()))


# --------------------------------------------------------------------------------------------- addresses

Network = upstream.Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """`AUTH_TRUSTED_PROXIES`: comma-separated addresses or networks; ValueError naming a bad entry."""
    return upstream.parse_networks(text, "AUTH_TRUSTED_PROXIES")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def source_key(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The caller's address as failures are counted: the TCP peer, or — when the peer is a trusted proxy — the
    nearest X-Forwarded-For entry that is not one. IPv6 counts by /64, the block one subscriber usually holds,
    so rotating addresses within it gains nothing."""
    address = _address(peer or "")
    if address is not None and _is_trusted(address, trusted):
        hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
        for hop in reversed(hops):
            candidate = _address(hop)
            if candidate is None:
                break
            address = candidate
            if not _is_trusted(candidate, trusted):
                break
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
