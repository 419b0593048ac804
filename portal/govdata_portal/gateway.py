"""The portal's back channel to the gateway: the token endpoint (code exchange, refresh), logout, and the public
API called with the person's own token. The portal holds no token of its own; its client secret only
authenticates it at /auth/token (a confidential client, RFC 6749 §2.3.1).

Refresh tokens rotate and a refresh token used twice ends the whole sign-in (the gateway's reuse detection). A
page and the partial requests it starts may all find the access token expired at once and race to refresh with
the same refresh token: refreshes of one refresh token are therefore made once per process and their answer
shared with every request that asks within a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from govdata_shared.auth import Caller, TokenVerifier

from govdata_portal.settings import PortalSettings

log = logging.getLogger("govdata.portal.gateway")

SHARED_REFRESH_SECONDS = 60.0


class GatewayUnavailable(Exception):
    """The gateway or a service behind it did not answer usefully (unreachable, timed out, 5xx)."""


class SigninRefused(Exception):
    """The gateway refused a code or refresh token: the sign-in is over (`reason` as the gateway gave it)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class ApiProblem(Exception):
    """A 4xx problem+json from the API, kept whole so the page can name the field and rule."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body.get("code"))
        self.status = status
        self.body = body

    @property
    def code(self) -> str:
        return str(self.body.get("code", ""))

    @property
    def detail(self) -> str:
        return str(self.body.get("detail") or self.body.get("title") or "请求未被接受")

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors")
        if isinstance(errors, list):
            return [e for e in errors if isinstance(e, dict)]
        if self.body.get("field"):
            return [{"field": self.body["field"], "rule": self.body.get("rule"), "detail": self.detail}]
        return []


@dataclass(frozen=True)
class Tokens:
    """What /auth/token answered, with the verified caller of the access token."""

    access_token: str
    refresh_token: str
    expires_at: float
    caller: Caller


def json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


class Gateway:
    def __init__(self, settings: PortalSettings, http: httpx.AsyncClient, verifier: TokenVerifier) -> None:
        if settings.portal_client_secret is None:
            raise RuntimeError("PORTAL_CLIENT_SECRET is not set: the portal cannot sign anyone in without it")
        self.http = http
        self.verifier = verifier
        self._client_auth = (settings.portal_client_id, settings.portal_client_secret.get_secret_value())
        self._redirect_uri = settings.redirect_uri()
        self._refreshes: dict[str, tuple[float, asyncio.Task[Tokens]]] = {}

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("gateway unreachable: %s %s: %s", method, path, type(exc).__name__)
            raise GatewayUnavailable(path) from exc
        if response.status_code >= 500:
            log.warning("gateway answered %s to %s %s", response.status_code, method, path)
            raise GatewayUnavailable(path)
        return response

    # ---- the token endpoint

    async def _token(self, form: dict[str, str], now: float) -> Tokens:
        response = await self._send("POST", "/auth/token", data=form, auth=self._client_auth)
        body = json_body(response)
        if response.status_code != 200:
            reason = str(body.get("reason") or body.get("error") or body.get("code") or response.status_code)
            log.info("gateway refused %s: %s", form["grant_type"], reason)
            raise SigninRefused(reason, str(body.get("detail", "")))
        try:
            access_token, refresh_token = body["access_token"], body["refresh_token"]
            expires_in = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise GatewayUnavailable("/auth/token") from None
        caller = await self.verifier.verify(access_token)
        return Tokens(access_token, refresh_token, now + expires_in, caller)

    async def redeem_code(self, code: str, code_verifier: str, now: float) -> Tokens:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
            "code_verifier": code_verifier,
        }
        return await self._token(form, now)

    async def refresh(self, refresh_token: str, now: float) -> Tokens:
        """New tokens for `refresh_token`, asked of the gateway once however many requests want them."""
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        moment = time.monotonic()
        for stale in [k for k, (at, _) in self._refreshes.items() if moment - at > SHARED_REFRESH_SECONDS]:
            del self._refreshes[stale]
        if key not in self._refreshes:
            form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
            self._refreshes[key] = (moment, asyncio.ensure_future(self._token(form, now)))
        return await asyncio.shield(self._refreshes[key][1])

    async def logout(self, refresh_token: str) -> None:
        """End the sign-in at the gateway. By its refresh token rather than the access token, which may have lapsed
        while the page stood open; 204 whether or not the sign-in was still open (RFC 7009 §2.2)."""
        response = await self._send("POST", "/auth/logout", data={"refresh_token": refresh_token})
        if response.status_code != 204:
            log.warning("logout answered %s", response.status_code)

    # ---- the public API, as the person

    async def call(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """`method path` of the public API with the person's token; the body as JSON or as a multipart upload."""
        headers = {"Authorization": f"Bearer {access_token}"}
        if files is not None:
            return await self._send(method, path, params=params, files=files, headers=headers)
        if json is not None:
            return await self._send(
                method,
                path,
                params=params,
                content=orjson.dumps(json),
                headers={**headers, "Content-Type": "application/json"},
            )
        return await self._send(method, path, params=params, headers=headers)

    async def stream(self, path: str, access_token: str, *, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET `path` with the person's token, the body left unread (a file passed on while it arrives): the
        caller reads it and closes the answer."""
        request = self.http.build_request(
            "GET", path, params=params, headers={"Authorization": f"Bearer {access_token}"}
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning("gateway unreachable: GET %s: %s", path, type(exc).__name__)
            raise GatewayUnavailable(path) from exc
        if response.status_code >= 500:
            await response.aclose()
            log.warning("gateway answered %s to GET %s", response.status_code, path)
            raise GatewayUnavailable(path)
        return response

    async def ready(self) -> bool:
        try:
            response = await self.http.get("/.well-known/jwks.json")
        except httpx.HTTPError:
            return False
        return response.status_code == 200
