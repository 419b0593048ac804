"""The person's session, kept in the browser as an encrypted cookie (Fernet: AES-128-CBC + HMAC-SHA256), so every
portal replica reads it with the shared key and none keeps state.

The cookie `govdata_portal` holds who signed in, the tokens the gateway gave for them and the CSRF token of the
session; it is HttpOnly, Secure and SameSite=Lax. A cookie that was altered, encrypted under another key or is
older than a sign-in can last is refused as if absent. While a person signs in, a second short-lived cookie
(`govdata_portal_signin`, path /signin) holds the PKCE verifier and the state of that one attempt.

The key file holds Fernet keys one per line: the first encrypts, every one decrypts — to rotate, put a new key
on the first line and remove the old one after a sign-in's longest life (12 hours).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("govdata.portal.session")

SESSION_COOKIE = "govdata_portal"
SIGNIN_COOKIE = "govdata_portal_signin"
SIGNIN_COOKIE_PATH = "/signin"
# The gateway ends any sign-in after 12 hours; a cookie older than that is worthless and refused unread.
SESSION_MAX_SECONDS = 12 * 3600
# As long as the gateway's login page stays open (SIGNIN_FORM_TTL_SECONDS).
SIGNIN_MAX_SECONDS = 600


class SessionKeyError(RuntimeError):
    """The session key cannot be loaded; the message says what to do."""


@dataclass(frozen=True)
class Session:
    """Who is signed in and the gateway's tokens for them. `expires_at`: the access token's expiry, seconds since
    the epoch; `csrf`: the token every form of this session carries."""

    sub: str
    name: str
    dept: str | None
    roles: tuple[str, ...]
    access_token: str
    refresh_token: str
    expires_at: float
    csrf: str

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def is_department_staff(self) -> bool:
        """An operator or head of a department: the API lets them act for it."""
        return bool(self.dept) and self.has_role("dept_operator", "dept_head")


@dataclass(frozen=True)
class PendingSignin:
    """One sign-in attempt between /signin and /signin/callback."""

    state: str
    code_verifier: str
    next_path: str = "/"


@dataclass
class CookieCodec:
    """Encrypts and decrypts the portal's cookies; anything it cannot read back is None, never an error."""

    keys: list[bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise SessionKeyError("no session key")
        self._fernet = MultiFernet([Fernet(k) for k in self.keys])

    def seal(self, value: dict[str, Any], now: float) -> str:
        return self._fernet.encrypt_at_time(orjson.dumps(value), int(now)).decode("ascii")

    def open(self, token: str | None, now: float, max_age: int) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            raw = self._fernet.decrypt_at_time(token.encode("ascii"), max_age, int(now))
            value = orjson.loads(raw)
        except (InvalidToken, UnicodeEncodeError, orjson.JSONDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def seal_session(self, session: Session, now: float) -> str:
        return self.seal(asdict(session), now)

    def open_session(self, token: str | None, now: float) -> Session | None:
        value = self.open(token, now, SESSION_MAX_SECONDS)
        if value is None:
            return None
        try:
            return Session(**{**value, "roles": tuple(value["roles"])})
        except (TypeError, KeyError):
            return None

    def seal_signin(self, pending: PendingSignin, now: float) -> str:
        return self.seal(asdict(pending), now)

    def open_signin(self, token: str | None, now: float) -> PendingSignin | None:
        value = self.open(token, now, SIGNIN_MAX_SECONDS)
        if value is None:
            return None
        try:
            return PendingSignin(**value)
        except TypeError:
            return None


def _write_new_key(path: Path) -> None:
    """A new key at `path`, mode 0600, written atomically; a file that appeared meanwhile wins."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".portal-session-", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another replica starting at the same time made it
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def load_codec(path: Path, *, generate: bool) -> CookieCodec:
    """The codec over the keys in `path`, generating the file when allowed and missing."""
    if not path.exists():
        if not generate:
            raise SessionKeyError(
                f"session key {path} does not exist. In production mount it from a Secret and point "
                "PORTAL_SESSION_KEY_FILE at it; set PORTAL_GENERATE_SESSION_KEY=true only for the embedded default."
            )
        _write_new_key(path)
        log.info("generated a new session key at %s", path)
    keys = [line.strip().encode("ascii") for line in path.read_text("ascii").splitlines() if line.strip()]
    try:
        return CookieCodec(keys)
    except ValueError as exc:
        raise SessionKeyError(f"session key {path} holds a line that is not a Fernet key: {exc}") from None
