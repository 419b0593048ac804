"""The session cookie: only the portal's key opens it, any change to it is refused, it ages out, and the key file
is made once, private, and may hold a previous key during a rotation."""

from __future__ import annotations

import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from govdata_portal.session import (
    SESSION_MAX_SECONDS,
    SIGNIN_MAX_SECONDS,
    CookieCodec,
    PendingSignin,
    Session,
    SessionKeyError,
    load_codec,
)

NOW = 1_790_000_000.0
SESSION = Session(
    sub="zhangmin",
    name="张敏",
    dept="YC-MZ",
    roles=("dept_operator",),
    access_token="eyJ.access.token",
    refresh_token="refresh-1",
    expires_at=NOW + 600,
    csrf="csrf-token-1",
)


def codec() -> CookieCodec:
    return CookieCodec([Fernet.generate_key()])


def test_a_sealed_session_opens_to_the_same_session_and_hides_its_tokens() -> None:
    c = codec()
    sealed = c.seal_session(SESSION, NOW)
    assert c.open_session(sealed, NOW + 10) == SESSION
    assert "refresh-1" not in sealed and "zhangmin" not in sealed and "access" not in sealed


def test_an_altered_cookie_is_refused() -> None:
    c = codec()
    sealed = c.seal_session(SESSION, NOW)
    for i in (10, len(sealed) // 2, len(sealed) - 5):
        flipped = sealed[:i] + ("A" if sealed[i] != "A" else "B") + sealed[i + 1 :]
        assert c.open_session(flipped, NOW) is None
    assert c.open_session(sealed[:-4], NOW) is None
    assert c.open_session("not a cookie ☃", NOW) is None
    assert c.open_session("", NOW) is None and c.open_session(None, NOW) is None


def test_a_cookie_sealed_under_another_key_is_refused() -> None:
    assert codec().open_session(codec().seal_session(SESSION, NOW), NOW) is None


def test_a_session_cookie_older_than_a_sign_in_can_last_is_refused() -> None:
    c = codec()
    sealed = c.seal_session(SESSION, NOW)
    assert c.open_session(sealed, NOW + SESSION_MAX_SECONDS) == SESSION
    assert c.open_session(sealed, NOW + SESSION_MAX_SECONDS + 1) is None


def test_a_sign_in_attempt_lasts_as_long_as_the_login_page() -> None:
    c = codec()
    pending = PendingSignin(state="st", code_verifier="v" * 64, next_path="/catalog")
    sealed = c.seal_signin(pending, NOW)
    assert c.open_signin(sealed, NOW + SIGNIN_MAX_SECONDS) == pending
    assert c.open_signin(sealed, NOW + SIGNIN_MAX_SECONDS + 1) is None
    # The two cookies cannot stand in for each other.
    assert c.open_session(sealed, NOW) is None
    assert c.open_signin(c.seal_session(SESSION, NOW), NOW) is None


def test_the_key_file_is_generated_once_and_readable_by_its_owner_alone(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "portal-session.key"
    first = load_codec(path, generate=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    second = load_codec(path, generate=True)
    assert path.read_bytes() == content
    assert second.open_session(first.seal_session(SESSION, NOW), NOW) == SESSION


def test_a_missing_key_is_an_error_where_generating_is_not_allowed(tmp_path: Path) -> None:
    with pytest.raises(SessionKeyError, match="PORTAL_SESSION_KEY_FILE"):
        load_codec(tmp_path / "absent.key", generate=False)
    bad = tmp_path / "bad.key"
    bad.write_text("not-a-fernet-key\n")
    with pytest.raises(SessionKeyError, match="not a Fernet key"):
        load_codec(bad, generate=False)


def test_during_a_rotation_the_new_key_seals_and_the_old_one_still_opens(tmp_path: Path) -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    old = CookieCodec([old_key])
    issued_before = old.seal_session(SESSION, NOW)
    path = tmp_path / "rotating.key"
    path.write_bytes(new_key + b"\n" + old_key + b"\n")
    rotating = load_codec(path, generate=False)
    assert rotating.open_session(issued_before, NOW) == SESSION
    renewed = rotating.seal_session(replace(SESSION, csrf="csrf-2"), NOW)
    assert CookieCodec([new_key]).open_session(renewed, NOW) is not None
    assert old.open_session(renewed, NOW) is None


def test_the_codec_uses_the_time_it_is_given() -> None:
    c = codec()
    sealed = c.seal_session(SESSION, time.time() - SESSION_MAX_SECONDS - 60)
    assert c.open_session(sealed, time.time()) is None
