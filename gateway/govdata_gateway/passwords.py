"""Hashes of client secrets and people's passwords.

Everything the platform hashes itself is argon2id (RFC 9106, `argon2-cffi`), with OWASP's minimum parameters
(19 MiB, 2 passes, 1 lane: about 20 ms here), which 等保 2.0 third level accepts for stored credentials.
PBKDF2-SHA256 hashes (`pbkdf2_sha256$<iterations>$<salt>$<hash>`) written into clients files before argon2id are
still accepted. Both verifications compare in constant time.

Checking credentials at request time goes through a `VerificationBudget`, within a share of one CPU: hashing on a
thread of its own, one verification at a time. argon2-cffi and hashlib release the GIL while hashing, so a
verification does not stall the event loop by itself; but each costs ~20 ms of CPU, and the database reads and
writes around it a few more, and guesses from ever new addresses or at ever new names, which the lockout per
account and address never stops, would otherwise take the gateway's whole core from the data plane.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from prometheus_client import Counter

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


@functools.cache
def dummy_hash() -> str:
    """A hash of a random secret nobody knows, verified in place of an unknown name's so that its answer takes as
    long as a wrong password's. One per process: any hash with the same parameters costs the same to check."""
    return hash_secret(secrets.token_urlsafe(24))


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


# --------------------------------------------------------------------------------------------- budget

# The share is what bench/auth.py needs for data calls to keep 80 % of their rate, on one core, while 50 wrong
# guesses a second come from ever new addresses or at ever new ids: about 1.7 argon2id checks a second sustained
# (a restarted gateway whose 200 clients come back for tokens within five minutes needs under one), or 6 lookups
# of unknown ids.
HASH_CPU_SHARE = 0.05  # of one core, over time
HASH_LOOKUP_SECONDS = 0.008  # charged per check for its database read and write (3-5 ms of CPU on Postgres, more
# on the embedded SQLite, whose every statement is a round trip to a thread of its own)
HASH_BURST_SECONDS = 1.0  # allowed at once after a quiet spell: about 35 checks (a replica restarting, `make run`)
HASH_MAX_WAIT_SECONDS = 2.0  # a check further off than this is refused at once
SECRET_VERIFICATIONS = Counter(
    "govdata_gateway_secret_verifications_total",
    "Hash verifications of client secrets and passwords: match, mismatch, or refused unhashed (budget spent)",
    ["result"],
)


class VerificationBusy(Exception):
    """No verification now: the hashing budget is spent. Nothing was hashed; retry after `retry_after` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"hashing budget spent; retry after {retry_after:.1f}s")
        self.retry_after = retry_after


@dataclass
class Turn:
    """A reserved check: when its hashing may start, and the hashing CPU seconds reserved for it not yet
    accounted (its lookup charge is kept whatever happens)."""

    start_at: float
    reserved: float


class VerificationBudget:
    """Credential checks not answered from memory, within `cpu_share` of a core over time.

    A check is charged `lookup_cost` for its database work, and the CPU time its hashing took, measured on the
    hashing thread (so a PBKDF2 hash ten times dearer counts ten times). What is charged is paid back at
    `cpu_share` seconds per second; up to `burst` seconds may be owed at once. A check is given a turn when what
    is owed leaves room for it (its hashing estimated from the last ones), waiting for that at most `max_wait`
    seconds; a turn further off is refused at once (`VerificationBusy`). `reserve` and `release` touch no
    database, so a caller can refuse before doing anything else."""

    def __init__(
        self,
        *,
        cpu_share: float = HASH_CPU_SHARE,
        lookup_cost: float = HASH_LOOKUP_SECONDS,
        burst: float = HASH_BURST_SECONDS,
        max_wait: float = HASH_MAX_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < cpu_share <= 1 or min(lookup_cost, burst, max_wait) < 0:
            raise ValueError("cpu_share must be in (0, 1]; lookup_cost, burst and max_wait must not be negative")
        self.cpu_share, self.lookup_cost, self.burst, self.max_wait = cpu_share, lookup_cost, burst, max_wait
        self._clock = clock
        self._paid_at = -math.inf  # when everything charged or reserved so far is paid back
        self.estimate = 0.02  # CPU seconds of one verification, learnt from each run (the last ones count most)

    def reserve(self) -> Turn:
        """A turn for one check, or `VerificationBusy` when it is more than `max_wait` away."""
        now = self._clock()
        paid_at = max(self._paid_at, now)
        need = self.lookup_cost + self.estimate
        # Owed at time t: (paid_at - t) * share. The turn starts once that plus this one fits in `burst`, or once
        # nothing is owed (a check dearer than the burst must still get its turn).
        start_at = max(now, paid_at - max(0.0, self.burst - need) / self.cpu_share)
        if start_at - now > self.max_wait:
            SECRET_VERIFICATIONS.labels("refused").inc()
            raise VerificationBusy(start_at - now)
        self._paid_at = paid_at + need / self.cpu_share
        return Turn(start_at, self.estimate)

    def release(self, turn: Turn | None) -> None:
        """Give back the hashing `turn` reserved and did not use (an unknown client needs none)."""
        if turn is not None:
            self._settle(turn, 0.0)

    def _settle(self, turn: Turn, spent: float) -> None:
        self._paid_at += (spent - turn.reserved) / self.cpu_share
        turn.reserved = 0.0
        if spent > 0:
            self.estimate = 0.8 * self.estimate + 0.2 * spent

    async def verify(self, secret: str, encoded: str, turn: Turn | None = None) -> bool:
        """`verify_secret` on the budget's thread, in `turn` (reserved here when not given; several
        verifications may share one turn, each accounted as it ran)."""
        turn = turn if turn is not None else self.reserve()
        delay = turn.start_at - self._clock()
        if delay > 0:
            try:
                await asyncio.sleep(delay)
            except BaseException:
                self.release(turn)
                raise
        # Cancelled from here on, the hashing still runs to its end on the thread: its reservation stays charged.
        loop = asyncio.get_running_loop()
        right, spent = await loop.run_in_executor(_HASHING_THREAD, _timed_verify, secret, encoded)
        self._settle(turn, spent)
        SECRET_VERIFICATIONS.labels("match" if right else "mismatch").inc()
        return right


# One thread hashes for the whole process, whichever budget a verification is in: hashing never takes more than
# one core, and it never waits behind (nor holds up) the default executor's work such as name lookups.
_HASHING_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-secret")


def _timed_verify(secret: str, encoded: str) -> tuple[bool, float]:
    """(verify_secret's answer, the CPU seconds it took on this thread)."""
    started = time.thread_time()
    right = verify_secret(secret, encoded)
    return right, time.thread_time() - started
