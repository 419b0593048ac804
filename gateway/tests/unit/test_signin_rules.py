"""The pure rules of people's sign-in: PKCE S256 (RFC 7636), the TOTP window and its once-only steps (RFC 6238),
who owes a second factor, the password policy a new password meets, the lockout arithmetic, and which address
failures are counted against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from govdata_gateway.clients import password_policy_violation
from govdata_gateway.signin import pages
from govdata_gateway.signin.rules import (
    FailureState,
    after_failure,
    challenge_problem,
    grouped,
    needs_second_factor,
    new_totp_secret,
    otpauth_uri,
    parse_networks,
    pkce_matches,
    retry_after,
    s256_challenge,
    source_key,
    totp,
    totp_step,
    with_query,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

# --------------------------------------------------------------------------------------------- PKCE

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_challenge_is_the_rfc_7636_example() -> None:
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert pkce_matches(RFC_VERIFIER, RFC_CHALLENGE)


def test_a_verifier_that_does_not_hash_to_the_challenge_fails() -> None:
    assert not pkce_matches(RFC_VERIFIER[:-1] + "j", RFC_CHALLENGE)
    # `plain` would compare the verifier with the challenge itself: never accepted.
    assert not pkce_matches(RFC_CHALLENGE, RFC_CHALLENGE)


@pytest.mark.parametrize("verifier", ["", "a" * 42, "a" * 129, RFC_VERIFIER[:-1] + " ", RFC_VERIFIER[:-1] + "+"])
def test_a_verifier_of_the_wrong_shape_never_matches(verifier: str) -> None:
    assert not pkce_matches(verifier, s256_challenge(verifier))  # hashes right, but is not a verifier


def test_only_an_s256_challenge_is_accepted() -> None:
    assert challenge_problem(RFC_CHALLENGE, "S256") is None
    assert "S256" in challenge_problem(RFC_CHALLENGE, "plain")
    assert "S256" in challenge_problem(RFC_CHALLENGE, None)
    assert "required" in challenge_problem(None, "S256")
    assert challenge_problem(RFC_CHALLENGE + "A", "S256") is not None
    assert challenge_problem(RFC_CHALLENGE[:-1] + "=", "S256") is not None


def test_the_redirect_keeps_the_clients_own_query() -> None:
    assert with_query("https://p.example/cb?x=1", {"code": "a b", "state": None}) == "https://p.example/cb?x=1&code=a+b"


# --------------------------------------------------------------------------------------------- TOTP

# RFC 6238 Appendix B, SHA-1 key "12345678901234567890" (base32 below), at T = 59 s: 94287082 in 8 digits.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
AT_59 = datetime.fromtimestamp(59, UTC)


def test_totp_matches_the_rfc_6238_vector() -> None:
    assert totp(RFC_SECRET).at(AT_59) == "287082"  # the last six digits of 94287082
    assert totp_step(RFC_SECRET, "287082", AT_59, None) == 1


def test_a_code_one_step_either_side_is_accepted_two_steps_are_not() -> None:
    secret = new_totp_secret()
    generator = totp(secret)
    now_step = generator.timecode(T0)
    for offset in (-1, 0, 1):
        code = generator.generate_otp(now_step + offset)
        assert totp_step(secret, code, T0, None) == now_step + offset
    window = {generator.generate_otp(now_step + o) for o in (-1, 0, 1)}
    for offset in (-2, 2):
        code = generator.generate_otp(now_step + offset)
        if code not in window:  # six digits may collide by chance
            assert totp_step(secret, code, T0, None) is None


def test_a_code_is_good_once() -> None:
    secret = new_totp_secret()
    code = totp(secret).at(T0)
    step = totp_step(secret, code, T0, None)
    assert step is not None
    assert totp_step(secret, code, T0, step) is None
    assert totp_step(secret, code, T0 + timedelta(seconds=20), step) is None
    later = totp(secret).at(T0 + timedelta(seconds=30))
    assert totp_step(secret, later, T0 + timedelta(seconds=30), step) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_a_code_that_is_not_six_digits_fails(code: str) -> None:
    assert totp_step(new_totp_secret(), code, T0, None) is None


def test_spaces_people_type_are_ignored() -> None:
    secret = new_totp_secret()
    code = totp(secret).at(T0)
    assert totp_step(secret, f" {code[:3]} {code[3:]} ", T0, None) is not None


def test_a_new_secret_has_160_bits_and_an_otpauth_uri() -> None:
    secret = new_totp_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    uri = otpauth_uri(secret, "lina", "伊川县政务大数据平台")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "lina" in uri
    assert grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_bureau_admins_and_auditors_owe_a_second_factor() -> None:
    assert needs_second_factor(["bureau_admin"]) and needs_second_factor(["auditor"])
    assert needs_second_factor(["dept_operator", "auditor"])
    assert not needs_second_factor(["dept_operator"]) and not needs_second_factor(["citizen"])
    assert not needs_second_factor([])


# --------------------------------------------------------------------------------------------- password policy


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Ab#1234", "至少 8 位"),
        ("abcdefgh", "至少三类"),
        ("abcd1234", "至少三类"),
        ("Lina#2026x", "用户名"),
        ("LINA2026-x", "用户名"),
    ],
)
def test_a_new_password_that_breaks_the_policy_is_named(password: str, reason: str) -> None:
    assert reason in password_policy_violation(password, "lina")


@pytest.mark.parametrize("password", ["Bureau#2026", "bureau-2026x", "密码很长Abc123"])
def test_a_new_password_of_three_classes_passes(password: str) -> None:
    assert password_policy_violation(password, "lina") is None


# --------------------------------------------------------------------------------------------- lockout

LOCK = timedelta(minutes=15)


def fail(state: FailureState | None, last: datetime | None, now: datetime) -> FailureState:
    return after_failure(state, last, now, max_failures=5, lockout=LOCK)


def test_the_fifth_failure_locks_for_fifteen_minutes() -> None:
    state, last = None, None
    for i in range(4):
        now = T0 + timedelta(minutes=i)
        state, last = fail(state, last, now), now
        assert state.locked_until is None
    now = T0 + timedelta(minutes=4)
    state = fail(state, last, now)
    assert (state.failures, state.locked_until) == (5, now + LOCK)
    assert retry_after(state.locked_until, now) == 900
    assert retry_after(state.locked_until, now + LOCK - timedelta(seconds=0.5)) == 1
    assert retry_after(state.locked_until, now + LOCK) is None


def test_old_failures_and_ended_locks_are_forgotten() -> None:
    four = FailureState(4, None)
    assert fail(four, T0, T0 + LOCK).failures == 1  # quiet for the whole period
    assert fail(four, T0, T0 + LOCK - timedelta(seconds=1)).failures == 5
    ended = FailureState(5, T0 + LOCK)
    assert fail(ended, T0, T0 + LOCK) == FailureState(1, None)


# --------------------------------------------------------------------------------------------- addresses


def test_the_peer_is_the_caller_unless_it_is_a_trusted_proxy() -> None:
    trusted = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert source_key("203.0.113.7", ["198.51.100.1"], trusted) == "203.0.113.7"  # not a proxy: header ignored
    assert source_key("127.0.0.1", ["198.51.100.1"], trusted) == "198.51.100.1"
    assert source_key("10.0.0.5", ["198.51.100.1, 10.2.3.4", "10.9.9.9"], trusted) == "198.51.100.1"
    # The caller may put anything left of the real address: only the nearest untrusted hop counts.
    assert source_key("10.0.0.5", ["1.2.3.4, 198.51.100.1"], trusted) == "198.51.100.1"
    assert source_key("127.0.0.1", [], trusted) == "127.0.0.1"
    assert source_key("127.0.0.1", ["garbage"], trusted) == "127.0.0.1"
    assert source_key(None, [], ()) == "unknown"


def test_ipv6_callers_count_by_their_64_block() -> None:
    assert (
        source_key("2001:db8:1:2:aaaa::1", [], ()) == source_key("2001:db8:1:2:bbbb::9", [], ()) == "2001:db8:1:2::/64"
    )
    assert source_key("::ffff:192.0.2.1", [], ()) == "192.0.2.1"


def test_a_bad_trusted_proxy_entry_is_named() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.local'"):
        parse_networks("10.0.0.1, proxy.local")


# --------------------------------------------------------------------------------------------- pages


def test_an_error_is_summarised_with_a_link_and_repeated_beside_its_field() -> None:
    error = pages.FieldError("password", "密码", "用户名或密码错误")
    html = pages.login_body("p1", "门户", username='<b>"x"</b>', errors=[error])
    assert '<a href="#password">密码：用户名或密码错误</a>' in html
    assert '<p class="field-error" id="password-error">用户名或密码错误</p>' in html
    assert 'aria-describedby="password-error"' in html
    assert "<b>" not in html and "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in html  # what people typed is escaped
