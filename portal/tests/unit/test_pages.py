"""The portal's own rules, with no gateway behind it (any call to the gateway fails the test): who is sent to
sign in, what a sign-in attempt carries, the CSRF check, and the headers every page carries."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from govdata_portal.auth import safe_next
from govdata_portal.session import SESSION_COOKIE, SIGNIN_COOKIE

from portal.tests.harness import CALLBACK, PUBLIC, NoNetwork, Portal, portal_settings, running_portal, session_of


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with running_portal(portal_settings(tmp_path), transport=NoNetwork()) as running:
        yield running


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(portal: Portal) -> None:
    resp = await portal.browser.get("/catalog?q=人口&page=2")
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location.startswith("/signin?next=")
    assert unquote(query_of(location)["next"]) == "/catalog?q=人口&page=2"  # as the browser sent it
    assert (await portal.browser.get("/")).headers["Location"] == "/signin"


async def test_signin_sends_the_browser_to_the_gateway_with_pkce_s256_and_a_state_kept_in_a_cookie(
    portal: Portal,
) -> None:
    resp = await portal.browser.get("/signin", params={"next": "/catalog"})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(PUBLIC + "/auth/authorize?")
    params = query_of(location)
    assert params["response_type"] == "code" and params["client_id"] == "portal"
    assert params["redirect_uri"] == CALLBACK and params["code_challenge_method"] == "S256"

    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{SIGNIN_COOKIE}=") and "Path=/signin" in cookie and "Max-Age=600" in cookie
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    pending = portal.codec.open_signin(portal.browser.cookies.get(SIGNIN_COOKIE), portal.clock().timestamp())
    assert pending.state == params["state"] and pending.next_path == "/catalog"
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pending.code_verifier not in location  # the verifier never travels through the browser's address bar


def test_only_a_local_path_is_returned_to_after_sign_in() -> None:
    assert safe_next("/catalog?q=1") == "/catalog?q=1"
    for foreign in ("https://attacker.example/", "//attacker.example/x", "/\\attacker.example", "catalog", None, ""):
        assert safe_next(foreign) == "/", foreign


async def test_a_callback_that_is_not_this_browsers_attempt_is_refused(portal: Portal) -> None:
    resp = await portal.browser.get("/signin/callback", params={"code": "c", "state": "s"})  # no attempt at all
    assert resp.status_code == 400 and "登录页面已过期" in resp.text

    await portal.browser.get("/signin")
    resp = await portal.browser.get("/signin/callback", params={"code": "c", "state": "someone-elses-state"})
    assert resp.status_code == 400 and "state 不符" in resp.text
    assert SESSION_COOKIE not in portal.browser.cookies
    # The attempt is used up by its answer, right or wrong.
    assert SIGNIN_COOKIE not in portal.browser.cookies


async def test_an_error_from_the_gateway_ends_the_attempt_with_a_way_back(portal: Portal) -> None:
    signin = await portal.browser.get("/signin")
    state = query_of(signin.headers["Location"])["state"]
    resp = await portal.browser.get("/signin/callback", params={"error": "access_denied", "state": state})
    assert resp.status_code == 400 and "access_denied" in resp.text and 'href="/signin"' in resp.text


async def test_signing_out_without_the_sessions_csrf_token_is_refused_and_the_session_stays(portal: Portal) -> None:
    session = session_of("zhangmin", "token", dept="YC-MZ", roles=("dept_operator",))
    portal.hold(session)
    for form in ({}, {"csrf": "forged"}, {"csrf": session.csrf[:-1]}):
        resp = await portal.browser.post("/signout", data=form)
        assert resp.status_code == 403, form
        assert "表单已失效" in resp.text and "csrf" in resp.text
        assert portal.session() == session
    resp = await portal.browser.post("/signout", data={}, headers={"Accept": "application/json"})
    assert resp.status_code == 403 and resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["field"] == "csrf" and resp.json()["rule"] == "csrf_token"


async def test_signing_out_with_no_session_left_just_says_so(portal: Portal) -> None:
    resp = await portal.browser.post("/signout", data={"csrf": "whatever"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/signed-out"
    page = await portal.browser.get("/signed-out")
    assert page.status_code == 200 and "您已安全退出" in page.text


async def test_an_altered_session_cookie_is_no_session(portal: Portal) -> None:
    portal.hold(session_of("zhangmin", "token", dept="YC-MZ", roles=("dept_operator",)))
    sealed = portal.browser.cookies.get(SESSION_COOKIE)
    portal.browser.cookies.set(SESSION_COOKIE, sealed[:40] + ("x" if sealed[40] != "x" else "y") + sealed[41:])
    resp = await portal.browser.get("/catalog")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/signin")
    assert f"{SESSION_COOKIE}=;" in resp.headers["Set-Cookie"] and "Max-Age=0" in resp.headers["Set-Cookie"]


async def test_every_page_carries_a_strict_csp_and_is_never_stored(portal: Portal) -> None:
    for path in ("/signed-out", "/no-such-page", "/signin/callback"):
        resp = await portal.browser.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "base-uri 'none'" in csp and "form-action 'self'" in csp
        assert resp.headers["Cache-Control"] == "no-store", path
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
    missing = await portal.browser.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text


async def test_pages_use_no_inline_script_or_style(portal: Portal) -> None:
    html = (await portal.browser.get("/signed-out")).text
    assert '<html lang="zh-CN">' in html
    assert '<script src="/static/vendor/htmx-2.0.11.min.js"' in html
    assert "<style" not in html and " style=" not in html and "onclick" not in html
    css = await portal.browser.get("/static/portal.css")
    assert css.status_code == 200 and css.headers["Cache-Control"] == "no-cache"
    script = await portal.browser.get("/static/vendor/htmx-2.0.11.min.js")
    assert script.status_code == 200 and "htmx" in script.text
