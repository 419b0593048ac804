"""People's sign-in at the gateway, the authorization server (OAuth2 authorization code with PKCE, S256 only):

    GET  /auth/authorize   checks the client and its registered redirect URI, then shows the login page
    GET  /auth/login       the current step of a pending sign-in (after each step the browser is sent here)
    POST /auth/login       one step: password → second factor (TOTP; enrolment on first sign-in) → new password
                           when it was reset → a one-time code and a 302 to redirect_uri?code=&state=
    POST /auth/token       grant_type=authorization_code and refresh_token (rotating, in families)
    POST /auth/logout      ends the sign-in named by an access token or a refresh token
    GET  /auth/federated   (with GOVDATA_OIDC_ISSUER) sends the login page's person on to the province's
                           统一身份认证, the external OpenID provider (federation.py)
    GET  /auth/federated/callback  the provider's answer: the person it vouched for, mapped to the registry,
                           continues the same pending sign-in (a second factor when owed, then the code)

等保 2.0 third level: argon2id passwords under the complexity rule, lockout after repeated failures per account
and address, a second factor for bureau admins and auditors, sessions that idle out.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from govdata_shared.auth import StaticKeySet, TokenVerifier
from govdata_shared.errors import Problem
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.tasks import running
from govdata_shared.workdays import SHANGHAI

from govdata_gateway import passwords
from govdata_gateway.clients import ID_RE, password_policy_violation
from govdata_gateway.identity import (
    API_SCOPE,
    CLOCK,
    REGISTRY,
    SIGNING_KEY,
    THROTTLE,
    TOKEN_ISSUER,
    authenticate_client,
    read_form,
    register_grant_handler,
    source_of,
)
from govdata_gateway.problems import render_problem
from govdata_gateway.registry.models import Person
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin import pages
from govdata_gateway.signin.federation import (
    FEDERATED,
    Federation,
    FederationConfig,
    FederationRefused,
    ProviderUnavailable,
    error_code,
)
from govdata_gateway.signin.models import PendingSignin
from govdata_gateway.signin.pages import FieldError
from govdata_gateway.signin.rules import (
    CODE_VERIFIER_RE,
    MAX_STATE_LENGTH,
    challenge_problem,
    grouped,
    needs_second_factor,
    new_secret_token,
    new_totp_secret,
    origin_of,
    otpauth_uri,
    s256_challenge,
    with_query,
)
from govdata_gateway.signin.service import (
    NEW_PASSWORD,
    PASSWORD,
    TOTP,
    TOTP_ENROL,
    Issued,
    Refused,
    SigninService,
)
from govdata_gateway.signin.throttle import USER, Attempt

log = logging.getLogger("govdata.gateway.signin")

COOKIE = "govdata_signin"  # binds a login page to the browser that opened it
# Binds a request sent on to the provider to the browser that left. SameSite=Lax, not Strict: the provider's answer
# arrives as a cross-site navigation, which carries no Strict cookie.
FEDERATION_COOKIE = "govdata_federated"
_COOKIE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
PURGE_INTERVAL_SECONDS = 300.0


@dataclass
class Signin:
    service: SigninService
    settings: GatewaySettings
    verifier: TokenVerifier
    dummy_hash: str  # verified for unknown usernames, so their answer takes as long as a wrong password's
    federation: Federation | None = None  # sign-in through the province's 统一身份认证, when configured


SIGNIN: web.AppKey[Signin] = web.AppKey("govdata_signin", Signin)


def _masked(username: str) -> str:
    # A citizen may sign in with an identifier as username: logs never show it whole.
    return mask_identifiers_in_text(username[:64])


def _shanghai(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%H:%M")


# --------------------------------------------------------------------------------------------- pages


def _error_page(heading: str, message: str, status: int) -> web.Response:
    return pages.render(heading, pages.message_body(heading, message), status=status)


def _expired_page() -> web.Response:
    return _error_page(
        "登录页面已失效",
        "该登录页面已超时，或已在其他窗口完成或重新打开。请返回原应用重新登录。",
        400,
    )


async def _step_page(
    request: web.Request,
    pending: PendingSignin,
    *,
    errors: list[FieldError] | None = None,
    status: int = 200,
    username: str = "",
    notice: str = "",
    headers: dict[str, str] | None = None,
    client_name: str | None = None,
) -> web.Response:
    settings = request.app[SIGNIN].settings
    errors = errors or []
    if pending.step == TOTP:
        title, body = "双因素认证", pages.totp_body(pending.id, errors=errors)
    elif pending.step == TOTP_ENROL:
        secret = pending.totp_enrolment_secret or ""
        uri = otpauth_uri(secret, pending.username or "", settings.signin_totp_issuer)
        title, body = "绑定双因素认证", pages.enrol_body(pending.id, grouped(secret), uri, errors=errors)
    elif pending.step == NEW_PASSWORD:
        title, body = "设置新密码", pages.new_password_body(pending.id, errors=errors)
    else:
        if client_name is None:  # the page names the application the person signs in to, never its id
            record = await request.app[REGISTRY].active_client(pending.client_id)
            client_name = record.name if record is not None else None
        name = client_name or pending.client_id
        federation = request.app[SIGNIN].federation
        label = federation.config.label if federation is not None else None
        title = "登录"
        body = pages.login_body(
            pending.id, name, username=username, errors=errors, notice=notice, federated_label=label
        )
    return pages.render(title, body, status=status, form_targets=[origin_of(pending.redirect_uri)], headers=headers)


async def _locked_page(
    request: web.Request, pending: PendingSignin, field: str, label: str, seconds: int, now: datetime
) -> web.Response:
    until = _shanghai(now + timedelta(seconds=seconds))
    error = FieldError(field, label, f"登录失败次数过多，账户已在本地址锁定，请于 {until}（北京时间）后再试")
    return await _step_page(request, pending, errors=[error], status=429, headers={"Retry-After": str(seconds)})


def _set_browser_cookie(response: web.Response, value: str, secure: bool) -> None:
    response.set_cookie(COOKIE, value, path="/auth", httponly=True, secure=secure, samesite="Strict")


# --------------------------------------------------------------------------------------------- authorize


async def authorize(request: web.Request) -> web.Response:
    """`GET /auth/authorize` (RFC 6749 §4.1.1 with RFC 7636 §4.3)."""
    signin = request.app[SIGNIN]
    query = request.query
    client_id, redirect_uri = query.get("client_id"), query.get("redirect_uri")
    record = None
    if client_id and redirect_uri and len(query.getall("client_id")) == 1 and len(query.getall("redirect_uri")) == 1:
        record = await request.app[REGISTRY].active_client(client_id)
    if record is None or not record.redirect_uris or redirect_uri not in record.redirect_uris:
        # RFC 6749 §4.1.2.1: never redirect to an address not registered for the client.
        log.warning("authorize refused: unregistered client or redirect_uri client_id=%r", (client_id or "")[:64])
        return _error_page(
            "无法登录",
            "发起登录的应用未登记，或其回调地址（redirect_uri）与登记的不一致。请从政务大数据平台门户或已登记的应用重新登录。",
            400,
        )

    state = query.get("state")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        state = None  # not echoed back: the error below says why

    def back(error: str, description: str) -> web.Response:
        location = with_query(redirect_uri, {"error": error, "error_description": description, "state": state})
        return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})

    repeated = [name for name in set(query) if len(query.getall(name)) > 1]
    if repeated:
        return back("invalid_request", f"parameter {sorted(repeated)[0]} repeated")
    if len(query.get("state", "")) > MAX_STATE_LENGTH:
        return back("invalid_request", f"state longer than {MAX_STATE_LENGTH} characters")
    if query.get("response_type") != "code":
        return back("unsupported_response_type", "response_type must be code")
    refused = challenge_problem(query.get("code_challenge"), query.get("code_challenge_method"))
    if refused is not None:
        return back("invalid_request", refused)

    browser = request.cookies.get(COOKIE, "")
    if not _COOKIE_RE.match(browser):
        browser = new_secret_token()
    pending = await signin.service.start(
        browser=browser,
        client_id=record.client_id,
        redirect_uri=redirect_uri,
        code_challenge=query["code_challenge"],
        state=state,
        now=request.app[CLOCK](),
    )
    response = await _step_page(request, pending, client_name=record.name)
    _set_browser_cookie(response, browser, signin.settings.signin_cookie_secure)
    return response


async def login_page(request: web.Request) -> web.Response:
    """`GET /auth/login?pending=…` — the current step of a pending sign-in."""
    signin = request.app[SIGNIN]
    pending_id = request.query.get("pending", "")
    if not pending_id:
        return _error_page("请从应用发起登录", "请通过政务大数据平台门户或已登记的应用进入登录页面。", 400)
    pending = await signin.service.pending(pending_id, request.cookies.get(COOKIE), request.app[CLOCK]())
    if pending is None:
        return _expired_page()
    return await _step_page(request, pending)


async def login_step(request: web.Request) -> web.Response:
    """`POST /auth/login` — one step of a pending sign-in."""
    signin = request.app[SIGNIN]
    now = request.app[CLOCK]()
    try:
        form = await read_form(request)
    except Problem as problem:
        return render_problem(problem)
    pending = await signin.service.pending(form.get("pending", ""), request.cookies.get(COOKIE), now)
    if pending is None:
        return _expired_page()
    if pending.step == PASSWORD:
        return await _password_step(request, pending, form, now)
    person = await signin.service.active_person(pending.username or "")
    if person is None:
        return _error_page("无法登录", "该用户已停用。如有疑问请联系县政务服务和大数据管理局。", 403)
    if pending.step in (TOTP, TOTP_ENROL):
        return await _totp_step(request, pending, person, form, now)
    return await _new_password_step(request, pending, person, form, now)


async def _password_step(
    request: web.Request, pending: PendingSignin, form: dict[str, str], now: datetime
) -> web.Response:
    signin, throttle = request.app[SIGNIN], request.app[THROTTLE]
    username, password = form.get("username", "").strip(), form.get("password", "")
    errors = []
    if not username:
        errors.append(FieldError("username", "用户名", "请输入用户名"))
    if not password:
        errors.append(FieldError("password", "密码", "请输入密码"))
    if errors:
        return await _step_page(request, pending, errors=errors, status=400, username=username)

    source = source_of(request)
    counted = bool(ID_RE.match(username))
    attempt = await throttle.check(USER, username, source, now) if counted else Attempt(None, 0)
    if attempt.retry_after is not None:
        return await _locked_page(request, pending, "password", "密码", attempt.retry_after, now)
    person = await signin.service.active_person(username)
    stored = person.password_hash if person is not None else signin.dummy_hash
    right = await asyncio.to_thread(passwords.verify_secret, password, stored)
    if person is None or not right:
        log.warning("sign-in refused: wrong username or password user=%s source=%s", _masked(username), source)
        notice = ""
        if counted:
            failure = await throttle.failed(USER, username, source, now)
            if failure.retry_after is not None:
                log.warning("sign-in locked: user=%s source=%s", _masked(username), source)
                return await _locked_page(request, pending, "password", "密码", failure.retry_after, now)
            minutes = signin.settings.auth_lockout_seconds // 60
            notice = f"再输错 {failure.remaining} 次，账户将在本地址锁定 {minutes} 分钟。"
        error = FieldError("password", "密码", "用户名或密码错误，请重新输入")
        return await _step_page(request, pending, errors=[error], status=401, username=username, notice=notice)
    if attempt.failures:
        await throttle.succeeded(USER, username, source)
    pending.username = person.username
    return await _next_step(request, pending, person, ["pwd"], now)


async def _totp_step(
    request: web.Request, pending: PendingSignin, person: Person, form: dict[str, str], now: datetime
) -> web.Response:
    signin, throttle = request.app[SIGNIN], request.app[THROTTLE]
    code = form.get("code", "").strip()
    if not code:
        return await _step_page(
            request, pending, errors=[FieldError("code", "动态验证码", "请输入动态验证码")], status=400
        )
    source = source_of(request)
    attempt = await throttle.check(USER, person.username, source, now)
    if attempt.retry_after is not None:
        return await _locked_page(request, pending, "code", "动态验证码", attempt.retry_after, now)
    enrol = pending.step == TOTP_ENROL
    secret = pending.totp_enrolment_secret if enrol else person.totp_secret
    if not secret or not await signin.service.accept_totp(person.username, secret, code, now, enrol=enrol):
        log.warning("sign-in refused: wrong TOTP code user=%s source=%s", _masked(person.username), source)
        failure = await throttle.failed(USER, person.username, source, now)
        if failure.retry_after is not None:
            return await _locked_page(request, pending, "code", "动态验证码", failure.retry_after, now)
        error = FieldError("code", "动态验证码", "动态验证码错误或已使用过，请输入验证器应用当前显示的 6 位数字")
        return await _step_page(request, pending, errors=[error], status=401)
    if attempt.failures:
        await throttle.succeeded(USER, person.username, source)
    if enrol:
        log.info("second factor enrolled user=%s", _masked(person.username))
    return await _next_step(request, pending, person, [*pending.amr, "otp"], now)


async def _new_password_step(
    request: web.Request, pending: PendingSignin, person: Person, form: dict[str, str], now: datetime
) -> web.Response:
    signin = request.app[SIGNIN]
    new, confirm = form.get("new_password", ""), form.get("new_password_confirm", "")
    errors = []
    if not new:
        errors.append(FieldError("new_password", "新密码", "请输入新密码"))
    elif reason := password_policy_violation(new, person.username):
        errors.append(FieldError("new_password", "新密码", reason))
    elif await asyncio.to_thread(passwords.verify_secret, new, person.password_hash):
        errors.append(FieldError("new_password", "新密码", "新密码不能与原密码相同"))
    if new and confirm != new:
        errors.append(FieldError("new_password_confirm", "确认新密码", "两次输入的新密码不一致"))
    if errors:
        return await _step_page(request, pending, errors=errors, status=422)
    new_hash = await asyncio.to_thread(passwords.hash_secret, new)
    if not await signin.service.change_password(person.username, new_hash, now):
        return _error_page("无法登录", "该用户已停用。如有疑问请联系县政务服务和大数据管理局。", 403)
    log.info("password changed by its owner user=%s", _masked(person.username))
    person = await signin.service.active_person(person.username)
    if person is None:
        return _expired_page()
    return await _next_step(request, pending, person, pending.amr, now)


async def _next_step(
    request: web.Request,
    pending: PendingSignin,
    person: Person,
    amr: list[str],
    now: datetime,
    *,
    show_step: bool = False,
) -> web.Response:
    """After a step succeeded: the next one the person owes (a second factor, then a new password after a
    reset), or — none left — the one-time code and the way back to the client. With `show_step` the next step's
    page is the answer itself instead of a redirect to it."""
    signin = request.app[SIGNIN]
    step = None
    if needs_second_factor(person.roles) and "otp" not in amr:
        step = TOTP if person.totp_secret else TOTP_ENROL
    elif person.must_change_password and FEDERATED not in amr:
        # Whoever signed in through the provider used no password: a reset one is changed at its first use.
        step = NEW_PASSWORD
    if step is not None:
        secret = (pending.totp_enrolment_secret or new_totp_secret()) if step == TOTP_ENROL else None
        await signin.service.advance(
            pending.id, step=step, username=person.username, amr=amr, totp_enrolment_secret=secret
        )
        if show_step:
            pending.step, pending.username, pending.amr = step, person.username, amr
            pending.totp_enrolment_secret = secret
            return await _step_page(request, pending)
        # Post/Redirect/Get: a reload shows the step again instead of re-posting the last one.
        location = f"/auth/login?pending={pending.id}"
        return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
    code = await signin.service.issue_code(pending.id, person.username, amr, source_of(request), now)
    if code is None:
        return _expired_page()
    log.info("signed in user=%s client_id=%s amr=%s", _masked(person.username), pending.client_id, ",".join(amr))
    location = with_query(pending.redirect_uri, {"code": code, "state": pending.state})
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


# --------------------------------------------------------------------------------------------- federated sign-in

_TRY_AGAIN = "请返回原应用重新登录，或使用用户名和密码登录。"
_CONTACT = "如有疑问请联系县政务服务和大数据管理局。"
# Why a federated sign-in was refused (the reasons of federation.py and SigninService) → status, heading, message.
_FEDERATION_REFUSALS: dict[str, tuple[int, str, str]] = {
    "state_unknown": (400, "登录请求无效", "该统一身份认证登录请求无效或已使用过。" + _TRY_AGAIN),
    "browser_mismatch": (400, "登录请求无效", "该统一身份认证登录请求不是由本浏览器发起的。" + _TRY_AGAIN),
    "state_expired": (400, "登录请求已过期", "在统一身份认证平台停留时间过长，登录请求已过期。" + _TRY_AGAIN),
    "signin_closed": (
        400,
        "登录页面已失效",
        "该登录页面已超时，或已在其他窗口完成或重新打开。请返回原应用重新登录。",
    ),
    "access_denied": (403, "未完成统一身份认证", "您在统一身份认证平台取消了登录，或未获授权。" + _TRY_AGAIN),
    "not_registered": (
        403,
        "无法登录",
        "您的统一身份认证账户未在伊川县政务大数据平台登记，无法登录。部门工作人员请联系县政务服务和大数据管理局开通账户。",
    ),
    "user_disabled": (403, "无法登录", "该用户已停用。" + _CONTACT),
    "dept_mismatch": (
        403,
        "无法登录",
        "统一身份认证平台登记的所属部门与本平台登记的不一致，无法登录。请联系县政务服务和大数据管理局核对。",
    ),
    "subject_id_mismatch": (
        403,
        "无法登录",
        "统一身份认证平台提供的身份证号与本平台登记的不一致，无法登录。请联系县政务服务和大数据管理局核对。",
    ),
    "subject_id_invalid": (403, "无法登录", "统一身份认证平台提供的身份证号无效，无法登录。" + _CONTACT),
    "subject_id_ambiguous": (
        403,
        "无法登录",
        "本平台有多个账户登记了该身份证号，无法确定登录哪一个。请联系县政务服务和大数据管理局核对。",
    ),
}
# Whatever else the provider's answer failed (an error it returned, a token request it refused, an ID token that
# does not verify): nothing the person can mend.
_FEDERATION_FAILED = (
    400,
    "统一身份认证登录失败",
    "无法确认统一身份认证平台返回的身份信息，登录未完成。"
    + _TRY_AGAIN
    + "如多次出现，请联系县政务服务和大数据管理局。",
)


def _federation_refused(reason: str, request: web.Request, *, user: str | None = None) -> web.Response:
    status, heading, message = _FEDERATION_REFUSALS.get(reason, _FEDERATION_FAILED)
    who = f" user={_masked(user)}" if user else ""
    log.warning("federated sign-in refused: %s%s source=%s", reason, who, source_of(request))
    return _error_page(heading, message, status)


def _provider_unavailable(reason: str) -> web.Response:
    log.warning("federated sign-in: provider unavailable (%s)", reason)
    return _error_page(
        "统一身份认证暂时无法使用", "暂时无法连接统一身份认证平台，请稍后重试，或使用用户名和密码登录。", 502
    )


async def federated_start(request: web.Request) -> web.Response:
    """`GET /auth/federated?pending=…` — the login page's link: the pending sign-in goes on at the provider."""
    signin = request.app[SIGNIN]
    federation = signin.federation
    assert federation is not None
    now = request.app[CLOCK]()
    pending = await signin.service.pending(request.query.get("pending", ""), request.cookies.get(COOKIE), now)
    if pending is None or pending.step != PASSWORD:
        return _expired_page()
    try:
        endpoints = await federation.endpoints()
    except ProviderUnavailable as exc:
        return _provider_unavailable(exc.reason)
    browser = request.cookies.get(FEDERATION_COOKIE, "")
    if not _COOKIE_RE.match(browser):
        browser = new_secret_token()
    state, nonce, verifier = new_secret_token(), new_secret_token(), new_secret_token()
    await signin.service.start_federated(
        state=state,
        pending_id=pending.id,
        browser=browser,
        nonce=nonce,
        code_verifier=verifier,
        expires_at=pending.expires_at,
        now=now,
    )
    location = federation.authorization_url(
        endpoints, state=state, nonce=nonce, code_challenge=s256_challenge(verifier)
    )
    response = web.Response(
        status=302, headers={"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
    response.set_cookie(
        FEDERATION_COOKIE,
        browser,
        path="/auth/federated",
        httponly=True,
        secure=signin.settings.signin_cookie_secure,
        samesite="Lax",
        max_age=signin.settings.signin_form_ttl_seconds,
    )
    return response


async def federated_callback(request: web.Request) -> web.Response:
    """`GET /auth/federated/callback?code=…&state=…` (or `error=…`) — the provider's answer."""
    signin = request.app[SIGNIN]
    federation = signin.federation
    assert federation is not None
    now = request.app[CLOCK]()
    query = request.query
    try:
        request_sent, pending = await signin.service.take_federated(
            query.get("state", ""), request.cookies.get(FEDERATION_COOKIE), now
        )
    except Refused as refused:
        return _federation_refused(refused.reason, request)
    if "error" in query:
        error = error_code(query["error"])
        return _federation_refused("access_denied" if error == "access_denied" else f"provider_error:{error}", request)
    # RFC 9207: a provider that names itself in its answer must name the one the request went to.
    if "iss" in query and query["iss"] != federation.config.issuer:
        return _federation_refused("callback_issuer_mismatch", request)
    code = query.get("code", "")
    if not code:
        return _federation_refused("code_missing", request)
    try:
        claims = await federation.redeem(code, code_verifier=request_sent.code_verifier, nonce=request_sent.nonce)
    except FederationRefused as refused:
        return _federation_refused(refused.reason, request)
    except ProviderUnavailable as exc:
        return _provider_unavailable(exc.reason)
    identity = federation.identity(claims)
    try:
        person = await signin.service.federated_person(
            identity, dept_claimed=bool(federation.config.claim_dept), now=now
        )
    except Refused as refused:
        return _federation_refused(refused.reason, request, user=identity.username)
    log.info("vouched for by the provider user=%s client_id=%s", _masked(person.username), pending.client_id)
    pending.username = person.username
    # The person arrives by a cross-site navigation, which brings no SameSite=Strict cookie: a redirect to the next
    # step's page would find its login page unknown, so the page is shown here (its form posts as usual).
    return await _next_step(request, pending, person, [FEDERATED], now, show_step=True)


# --------------------------------------------------------------------------------------------- token grants


def _invalid_grant(refused: Refused) -> Problem:
    return Problem(400, "invalid_grant", refused.detail, error="invalid_grant", reason=refused.reason)


def _required(form: dict[str, str], *names: str) -> list[str]:
    values = []
    for name in names:
        value = form.get(name)
        if not value:
            raise Problem(
                400, "invalid_request", f"缺少参数 {name}", error="invalid_request", field=name, rule="required"
            )
        values.append(value)
    return values


def _token_body(request: web.Request, issued: Issued) -> dict[str, Any]:
    settings = request.app[SIGNIN].settings
    extra: dict[str, Any] = {"sid": issued.session_id, "azp": issued.client_id, "amr": issued.amr}
    if issued.person.name:
        extra["name"] = issued.person.name
    token = request.app[TOKEN_ISSUER].issue(
        issued.person, scope=API_SCOPE, ttl_seconds=settings.signin_access_token_ttl_seconds, extra_claims=extra
    )
    return {
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "refresh_token": issued.refresh_token,
        "refresh_expires_in": settings.signin_idle_timeout_seconds,
        "scope": token.scope,
    }


async def authorization_code_grant(request: web.Request, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §4.1.3: the portal (a confidential client) exchanges the code and its PKCE verifier."""
    client = await authenticate_client(request, form)
    code, redirect_uri, verifier = _required(form, "code", "redirect_uri", "code_verifier")
    if not CODE_VERIFIER_RE.match(verifier):
        raise Problem(
            400,
            "invalid_request",
            "code_verifier 须为 43 至 128 位的字母、数字或 -._~（RFC 7636）",
            error="invalid_request",
            field="code_verifier",
            rule="pkce_code_verifier",
        )
    try:
        issued = await request.app[SIGNIN].service.redeem_code(
            code,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            source=source_of(request),
            now=request.app[CLOCK](),
        )
    except Refused as refused:
        log.warning("code refused: %s client_id=%s", refused.reason, client.client_id)
        raise _invalid_grant(refused) from None
    log.info("session started user=%s sid=%s", _masked(issued.person.client_id), issued.session_id)
    return _token_body(request, issued)


async def refresh_token_grant(request: web.Request, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §6, rotating: each refresh token is good once."""
    client = await authenticate_client(request, form)
    (refresh_token,) = _required(form, "refresh_token")
    try:
        issued = await request.app[SIGNIN].service.refresh(
            refresh_token, client_id=client.client_id, now=request.app[CLOCK]()
        )
    except Refused as refused:
        log.warning("refresh refused: %s client_id=%s", refused.reason, client.client_id)
        raise _invalid_grant(refused) from None
    return _token_body(request, issued)


# --------------------------------------------------------------------------------------------- logout


async def logout(request: web.Request) -> web.Response:
    """`POST /auth/logout` with the person's access token (Bearer) or a refresh token of the sign-in (form
    `refresh_token`, or `token` as RFC 7009 names it): the sign-in ends and its refresh tokens with it.
    204 whether or not there was still one to end (RFC 7009 §2.2)."""
    signin = request.app[SIGNIN]
    now = request.app[CLOCK]()
    try:
        scheme, _, credential = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and credential:
            caller = await signin.verifier.verify(credential.strip())
            sid = caller.claims.get("sid")
            if not isinstance(sid, str) or await signin.service.session_owner(sid) != caller.sub:
                raise Problem(
                    400,
                    "not_a_signin_token",
                    "该访问令牌不属于某次人员登录（无 sid），无法用于退出",
                    field="Authorization",
                )
            username = await signin.service.logout(session_id=sid, now=now)
        else:
            form = await read_form(request) if request.body_exists else {}
            token = form.get("refresh_token") or form.get("token")
            if not token:
                raise Problem(
                    400,
                    "invalid_request",
                    "请提供访问令牌（Authorization: Bearer）或刷新令牌（refresh_token）",
                    field="refresh_token",
                    rule="required",
                )
            username = await signin.service.logout(refresh_token=token, now=now)
    except Problem as problem:
        return render_problem(problem)
    if username is not None:
        log.info("signed out user=%s", _masked(username))
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------------------------- setup


def setup_signin(app: web.Application, settings: GatewaySettings) -> None:
    """Add people's sign-in to an app that `setup_identity` has set up (its registry database, clock, signing
    key and token endpoint)."""
    key = app[SIGNING_KEY]
    service = SigninService(
        app[REGISTRY].db,
        form_ttl=timedelta(seconds=settings.signin_form_ttl_seconds),
        code_ttl=timedelta(seconds=settings.signin_code_ttl_seconds),
        idle_timeout=timedelta(seconds=settings.signin_idle_timeout_seconds),
        session_max=timedelta(seconds=settings.signin_session_max_seconds),
    )
    verifier = TokenVerifier(
        StaticKeySet(key.jwks()), issuer=settings.govdata_jwt_issuer, audience=settings.govdata_jwt_audience
    )
    config = FederationConfig.from_settings(settings)  # fail fast on an incomplete configuration
    federation = None
    if config is not None:
        federation = Federation(config, app[CLOCK], max_age=timedelta(seconds=settings.signin_form_ttl_seconds))
    app[SIGNIN] = Signin(service, settings, verifier, passwords.dummy_hash(), federation)
    register_grant_handler(app, "authorization_code", authorization_code_grant)
    register_grant_handler(app, "refresh_token", refresh_token_grant)
    # No HEAD: opening the login page records a pending request.
    app.router.add_get("/auth/authorize", authorize, allow_head=False)
    app.router.add_get("/auth/login", login_page, allow_head=False)
    app.router.add_post("/auth/login", login_step)
    app.router.add_post("/auth/logout", logout)
    if federation is not None:
        app.router.add_get("/auth/federated", federated_start, allow_head=False)
        app.router.add_get("/auth/federated/callback", federated_callback, allow_head=False)

    async def housekeeping(app: web.Application) -> AsyncIterator[None]:
        async def purge_forever() -> None:
            while True:
                await asyncio.sleep(PURGE_INTERVAL_SECONDS)
                try:
                    now = app[CLOCK]()
                    await app[THROTTLE].purge(now)
                    await service.purge(now)
                except Exception:  # the next round tries again
                    log.exception("sign-in housekeeping failed")

        try:
            async with running(purge_forever(), "signin-housekeeping"):
                yield
        finally:
            if federation is not None:
                await federation.close()

    app.cleanup_ctx.append(housekeeping)
