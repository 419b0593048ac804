"""Signing in and out through the gateway, the authorization server (OAuth2 authorization code with PKCE, S256):

GET  /signin            a new attempt: verifier and state kept in a short-lived encrypted cookie, then a 302
                        to the gateway's login page (/auth/authorize)
GET  /signin/callback   the state checked against that cookie, the code exchanged at /auth/token with the
                        portal's client credentials, the session cookie set, back to the page asked for
POST /signout           (CSRF) the sign-in ended at the gateway, the cookie cleared, 303 to /signed-out
GET  /signed-out        says so, with the way back in
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata_portal.auth import (
    CsrfChecked,
    CurrentSession,
    codec_of,
    delete_cookie,
    gateway_of,
    now_of,
    read_session,
    safe_next,
    set_cookie,
    store_session,
)
from govdata_portal.gateway import GatewayUnavailable, SigninRefused
from govdata_portal.pages import error_page, render
from govdata_portal.session import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    SIGNIN_COOKIE_PATH,
    SIGNIN_MAX_SECONDS,
    PendingSignin,
    Session,
)

log = logging.getLogger("govdata.portal.signin")

router = APIRouter()

OptionalText = Annotated[str | None, Query(max_length=2048)]


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _start_again(request: Request, message: str, status_code: int = 400) -> Response:
    return error_page(request, status_code, "登录未完成", message, signin_link=True)


@router.get("/signin")
async def signin(request: Request, next: OptionalText = None) -> Response:
    settings = request.app.state.settings
    pending = PendingSignin(
        state=secrets.token_urlsafe(24), code_verifier=secrets.token_urlsafe(48), next_path=safe_next(next)
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.portal_client_id,
            "redirect_uri": settings.redirect_uri(),
            "code_challenge": s256(pending.code_verifier),
            "code_challenge_method": "S256",
            "state": pending.state,
        }
    )
    seal = codec_of(request).seal_signin(pending, now_of(request))
    set_cookie(request, SIGNIN_COOKIE, seal, path=SIGNIN_COOKIE_PATH, max_age=SIGNIN_MAX_SECONDS)
    return RedirectResponse(f"{settings.authorize_url()}?{query}", status_code=302)


@router.get("/signin/callback")
async def signin_callback(
    request: Request,
    code: OptionalText = None,
    state: OptionalText = None,
    error: OptionalText = None,
) -> Response:
    pending = codec_of(request).open_signin(request.cookies.get(SIGNIN_COOKIE), now_of(request))
    delete_cookie(request, SIGNIN_COOKIE, path=SIGNIN_COOKIE_PATH)  # one attempt, one answer
    if pending is None:
        return _start_again(request, "登录页面已过期，或不是从本浏览器发起的登录。请重新登录。")
    if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        log.warning("sign-in callback refused: state does not match this browser's attempt")
        return _start_again(request, "登录请求与本浏览器发起的不一致（state 不符），已拒绝。请重新登录。")
    if error or not code:
        log.info("sign-in ended at the gateway: %s", error or "no code")
        return _start_again(request, f"统一登录未完成（{error or '未返回授权码'}）。请重新登录。")
    try:
        tokens = await gateway_of(request).redeem_code(code, pending.code_verifier, now_of(request))
    except SigninRefused as refused:
        return _start_again(request, f"授权码无效或已使用（{refused.reason}）。请重新登录。")
    except GatewayUnavailable:
        return error_page(request, 502, "统一登录服务暂不可用", "暂时无法完成登录，请稍后重试。", signin_link=True)
    caller = tokens.caller
    session = Session(
        sub=caller.sub,
        name=str(caller.claims.get("name") or caller.sub),
        dept=caller.dept,
        roles=tuple(sorted(caller.roles)),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        csrf=secrets.token_urlsafe(32),
    )
    store_session(request, session)
    log.info("signed in sid=%s", caller.claims.get("sid"))
    return RedirectResponse(pending.next_path, status_code=303)


@router.post("/signout", dependencies=[CsrfChecked])
async def signout(request: Request, session: CurrentSession) -> Response:
    delete_cookie(request, SESSION_COOKIE)
    try:
        await gateway_of(request).logout(session.refresh_token)
        ended = True
    except GatewayUnavailable:
        ended = False
    return RedirectResponse("/signed-out" if ended else "/signed-out?ended=0", status_code=303)


@router.get("/signed-out")
async def signed_out(request: Request, ended: OptionalText = None) -> Response:
    if read_session(request) is not None:  # still signed in (another tab signed in again): nothing to say
        return RedirectResponse("/", status_code=303)
    return render(request, "signed_out.html", title="已退出", ended=ended != "0")
