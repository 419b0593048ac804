"""Who is signed in, written once: the session read from its cookie (or the way to /signin), the person's API
calls with a fresh token, and the CSRF check every form passes.

Routes declare what they need as annotated parameters: `session: CurrentSession` for a signed-in page,
`api: PersonApiDep` to call the public API as that person, `dependencies=[CsrfChecked]` on every POST.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, Request

from govdata_portal.gateway import ApiProblem, Gateway, SigninRefused, json_body
from govdata_portal.session import SESSION_COOKIE, CookieCodec, Session

log = logging.getLogger("govdata.portal.auth")

# Refresh a little before the access token's exp, so a token does not lapse between the portal and the service.
REFRESH_EARLY_SECONDS = 30


class SigninRequired(Exception):
    """No usable session: the browser goes to /signin, and back to `next_path` afterwards."""

    def __init__(self, next_path: str = "/", *, clear_cookie: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.clear_cookie = clear_cookie


class CsrfRefused(Exception):
    """A form posted without this session's CSRF token (forged from another site, or from a stale page)."""


def now_of(request: Request) -> float:
    return request.app.state.clock().timestamp()


def codec_of(request: Request) -> CookieCodec:
    return request.app.state.codec


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway


def safe_next(path: str | None) -> str:
    """A local path to return to after sign-in; anything that could leave the portal becomes the home page."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or any(c < " " for c in path):
        return "/"
    return path


def here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signin_location(next_path: str) -> str:
    return "/signin" if next_path == "/" else f"/signin?next={quote(next_path, safe='/')}"


# --------------------------------------------------------------------------------------------- cookies


@dataclass(frozen=True)
class CookieChange:
    """A Set-Cookie the security middleware adds to whatever response the route returns."""

    name: str
    value: str
    path: str = "/"
    max_age: int | None = None  # None: until the browser closes; 0: delete now

    def header(self, secure: bool) -> str:
        parts = [f"{self.name}={self.value}", f"Path={self.path}", "HttpOnly", "SameSite=Lax"]
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if secure:
            parts.append("Secure")
        return "; ".join(parts)


def set_cookie(request: Request, name: str, value: str, *, path: str = "/", max_age: int | None = None) -> None:
    changes: dict[tuple[str, str], CookieChange] = request.scope.setdefault("state", {}).setdefault("cookies", {})
    changes[(name, path)] = CookieChange(name, value, path, max_age)


def delete_cookie(request: Request, name: str, *, path: str = "/") -> None:
    set_cookie(request, name, "", path=path, max_age=0)


def store_session(request: Request, session: Session) -> None:
    request.state.session = session
    set_cookie(request, SESSION_COOKIE, codec_of(request).seal_session(session, now_of(request)))


# --------------------------------------------------------------------------------------------- the session


def read_session(request: Request) -> Session | None:
    session = codec_of(request).open_session(request.cookies.get(SESSION_COOKIE), now_of(request))
    request.state.session = session
    return session


async def current_session(request: Request) -> Session:
    session = read_session(request)
    if session is None:
        raise SigninRequired(here(request), clear_cookie=SESSION_COOKIE in request.cookies)
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


async def check_csrf(request: Request, session: CurrentSession) -> None:
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        log.warning("form refused: CSRF token missing or wrong on %s", request.url.path)
        raise CsrfRefused()


CsrfChecked = Depends(check_csrf)


# --------------------------------------------------------------------------------------------- the person's API


class PersonApi:
    """The public API through the gateway, as the signed-in person: their token, refreshed when it lapses."""

    def __init__(self, request: Request, session: Session) -> None:
        self.request = request
        self.gateway = gateway_of(request)
        request.state.session = session

    @property
    def session(self) -> Session:
        return self.request.state.session

    async def _token(self, *, force: bool = False) -> str:
        session = self.session
        now = now_of(self.request)
        if force or now >= session.expires_at - REFRESH_EARLY_SECONDS:
            try:
                tokens = await self.gateway.refresh(session.refresh_token, now)
            except SigninRefused as refused:
                log.info("refresh refused (%s): back to sign-in", refused.reason)
                raise SigninRequired(here(self.request), clear_cookie=True) from None
            caller = tokens.caller
            session = replace(
                self.session,
                name=str(caller.claims.get("name") or session.name),
                dept=caller.dept,
                roles=tuple(sorted(caller.roles)),
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                expires_at=tokens.expires_at,
            )
            store_session(self.request, session)
        return session.access_token

    async def _answer(self, call: Callable[[str], Awaitable[httpx.Response]]) -> httpx.Response:
        """`call` with the person's token. A 401 (lapsed early: a key rotation, a clock apart) gets one fresh token,
        once; a 4xx is an ApiProblem (the page names its field and rule)."""
        response = await call(await self._token())
        if response.status_code == 401:
            await response.aclose()
            response = await call(await self._token(force=True))
            if response.status_code == 401:
                await response.aclose()
                raise SigninRequired(here(self.request), clear_cookie=True)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise ApiProblem(response.status_code, json_body(response))
        return response

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """`method path` of the public API as this person: the answer's JSON body (None when it has none).

        A 4xx is an ApiProblem (the page names its field and rule), an unavailable service GatewayUnavailable."""
        query = _query(params)
        response = await self._answer(
            lambda token: self.gateway.call(method, path, token, params=query, json=json, files=files)
        )
        if not response.content:
            return None
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.send("GET", path, params=params)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.send("POST", path, json=json if json is not None else {})

    async def patch(self, path: str, json: Any) -> Any:
        return await self.send("PATCH", path, json=json)

    async def stream(self, path: str, **params: Any) -> httpx.Response:
        """GET `path` as it comes (a file download), its body not yet read: headers as the service sent them, the
        body to pass on while it arrives (`aiter_bytes`). The caller closes it (`aclose`)."""
        query = _query(params)
        return await self._answer(lambda token: self.gateway.stream(path, token, params=query))


def _query(params: dict[str, Any] | None) -> dict[str, Any]:
    """The query of a call: parameters left blank are not sent."""
    return {k: v for k, v in (params or {}).items() if v not in (None, "")}


def person_api(request: Request, session: CurrentSession) -> PersonApi:
    return PersonApi(request, session)


PersonApiDep = Annotated[PersonApi, Depends(person_api)]
