"""Federated sign-in: a person may sign in through one external OpenID provider — the province's 统一身份认证 —
instead of with a password. Toward that provider the gateway is a relying party (OpenID Connect Core 1.0,
authorization code flow); toward the portal it stays the authorization server: the provider's answer only
completes the portal's own pending `/auth/authorize` request, whose one-time code the portal redeems as after a
password.

Toward the provider: discovery (`<issuer>/.well-known/openid-configuration`, whose `issuer` must be the configured
one exactly), `state`, `nonce` and PKCE S256 on every request, the code redeemed with client_secret_basic, and the
ID token checked whole — an RS256 or ES256 signature by a key of the provider's JWKS (fetched again for an unknown
`kid`), `iss`, `aud` and `azp`, `exp`, `iat`, `nonce`. The discovery document and the keys are kept for
GOVDATA_OIDC_CACHE_SECONDS, by the app's clock.

The ID token names the person; it grants nothing. Roles and department stay the registry's word (`refusal_for`).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlsplit

import aiohttp
import orjson
from govdata_shared.auth import Role
from govdata_shared.identifiers import InvalidIdentifier, validate_resident_id
from jose import jwk, jwt
from jose.exceptions import JOSEError, JWTClaimsError

from govdata_gateway.registry.models import Person
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin.rules import with_query

log = logging.getLogger("govdata.gateway.signin")

CALLBACK_PATH = "/auth/federated/callback"
# The `amr` of a sign-in the provider vouched for (RFC 8176 registers no value for it; federating issuers use this).
FEDERATED = "fed"
# Signatures accepted on ID tokens, with the key type each needs: never `none` nor HS* (a client secret shared with
# the provider would let anyone who holds it speak for the provider).
ID_TOKEN_ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
LEEWAY_SECONDS = 60  # clock difference tolerated between the province's servers and ours
# An unknown kid fetches the keys again at most this often, so tokens with made-up kids cannot hammer the provider.
JWKS_REFETCH_SECONDS = 10
MAX_DOCUMENT_BYTES = 256 * 1024
_LOOPBACK_HOSTS = frozenset({"localhost"})
_NOT_IN_ERROR_CODE = re.compile(r"[^A-Za-z0-9_.-]")


class ProviderUnavailable(Exception):
    """The provider could not be reached, or answered what no provider should (its fault, not the person's)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FederationRefused(Exception):
    """The provider's answer does not sign anyone in; `reason` is a short stable code for the log."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def error_code(value: str) -> str:
    """A provider's `error`, as it may go into the log: only characters error codes are made of, briefly."""
    return _NOT_IN_ERROR_CODE.sub("", value[:40]) or "unnamed"


# --------------------------------------------------------------------------------------------- configuration


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_url(url: Any) -> bool:
    """An absolute https URL — or http to this machine (a provider beside the gateway, or a test's)."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if not parts.hostname or parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))


@dataclass(frozen=True)
class FederationConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str
    claim_username: str
    claim_dept: str
    claim_subject_id: str
    claim_name: str
    label: str
    timeout_seconds: float
    cache: timedelta

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> FederationConfig | None:
        """The configuration, None when GOVDATA_OIDC_ISSUER is unset; ValueError naming what is missing or wrong."""
        issuer = (settings.govdata_oidc_issuer or "").strip()
        if not issuer:
            return None
        secret = settings.govdata_oidc_client_secret.get_secret_value() if settings.govdata_oidc_client_secret else ""
        missing = [
            name
            for name, value in (
                ("GOVDATA_OIDC_CLIENT_ID", settings.govdata_oidc_client_id),
                ("GOVDATA_OIDC_CLIENT_SECRET", secret),
                ("GOVDATA_OIDC_REDIRECT_URI", settings.govdata_oidc_redirect_uri),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"GOVDATA_OIDC_ISSUER is set: {', '.join(missing)} must be set too")
        if not secure_url(issuer) or urlsplit(issuer).query:
            raise ValueError("GOVDATA_OIDC_ISSUER must be an https URL without query or fragment")
        redirect_uri = str(settings.govdata_oidc_redirect_uri)
        if not secure_url(redirect_uri) or not urlsplit(redirect_uri).path.endswith(CALLBACK_PATH):
            raise ValueError(f"GOVDATA_OIDC_REDIRECT_URI must be the gateway's https address ending in {CALLBACK_PATH}")
        scopes = settings.govdata_oidc_scopes.split()
        if "openid" not in scopes:
            raise ValueError("GOVDATA_OIDC_SCOPES must include openid")
        return cls(
            issuer=issuer,
            client_id=str(settings.govdata_oidc_client_id),
            client_secret=secret,
            redirect_uri=redirect_uri,
            scopes=" ".join(scopes),
            claim_username=settings.govdata_oidc_claim_username.strip(),
            claim_dept=settings.govdata_oidc_claim_dept.strip(),
            claim_subject_id=settings.govdata_oidc_claim_subject_id.strip(),
            claim_name=settings.govdata_oidc_claim_name.strip(),
            label=settings.govdata_oidc_name,
            timeout_seconds=settings.govdata_oidc_timeout_seconds,
            cache=timedelta(seconds=settings.govdata_oidc_cache_seconds),
        )


@dataclass(frozen=True)
class ProviderEndpoints:
    """What discovery tells of the provider."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


# --------------------------------------------------------------------------------------------- the person


@dataclass(frozen=True)
class FederatedIdentity:
    """Who the ID token says the person is, read through the configured claims. `subject_id` is a valid 身份证号
    (normalized), None when the claim is absent; `subject_id_invalid` when it is there but not one."""

    username: str | None
    dept: str | None
    subject_id: str | None
    subject_id_invalid: bool
    name: str | None


def _claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name) if name else None
    return (value.strip() or None) if isinstance(value, str) else None


def identity_of(claims: Mapping[str, Any], config: FederationConfig) -> FederatedIdentity:
    raw_id = _claim(claims, config.claim_subject_id)
    subject_id, invalid = None, False
    if raw_id is not None:
        try:
            subject_id = validate_resident_id(raw_id).value
        except InvalidIdentifier:
            invalid = True
    name = _claim(claims, config.claim_name)
    return FederatedIdentity(
        username=_claim(claims, config.claim_username),
        dept=_claim(claims, config.claim_dept),
        subject_id=subject_id,
        subject_id_invalid=invalid,
        name=name[:200] if name else None,
    )


def refusal_for(person: Person, identity: FederatedIdentity, *, dept_claimed: bool) -> str | None:
    """Why the registry's `person`, named by the ID token's username, may not sign in on it; None when they may.
    The registry decides: a disabled person stays out; where the deployment names a department claim, a staff
    member's token must carry it and it must be their registry department (so a citizen of the same username
    cannot take their place); a citizen's 身份证号, when the token carries one, must be the registry's."""
    if person.disabled:
        return "user_disabled"
    if Role.CITIZEN in person.roles:
        if identity.subject_id_invalid:
            return "subject_id_invalid"
        if identity.subject_id is not None and identity.subject_id != person.subject_id:
            return "subject_id_mismatch"
        return None
    if dept_claimed and identity.dept != person.dept:
        return "dept_mismatch"
    return None


# --------------------------------------------------------------------------------------------- the ID token


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    )


def claims_refusal(
    claims: Mapping[str, Any], *, client_id: str, nonce: str, now: datetime, max_age: timedelta
) -> str | None:
    """What the signature check leaves to us (OpenID Connect Core §3.1.3.7), by our clock: `azp` when there are
    several audiences, `exp`, `iat` neither ahead of us nor older than a login page lives, `nbf`, the `nonce` of
    this request, a `sub`. None when all hold."""
    audiences = claims.get("aud")
    several = isinstance(audiences, list) and len(audiences) > 1
    if (several or "azp" in claims) and claims.get("azp") != client_id:
        return "azp_mismatch"
    if not all(_is_number(claims.get(name)) for name in ("exp", "iat")):
        return "malformed_claims"
    if "nbf" in claims and not _is_number(claims["nbf"]):
        return "malformed_claims"
    at = now.timestamp()
    if claims["exp"] <= at - LEEWAY_SECONDS:
        return "expired"
    if claims["iat"] > at + LEEWAY_SECONDS:
        return "issued_in_future"
    if claims["iat"] < at - max_age.total_seconds() - LEEWAY_SECONDS:
        return "issued_too_long_ago"
    if "nbf" in claims and claims["nbf"] > at + LEEWAY_SECONDS:
        return "not_yet_valid"
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        return "nonce_mismatch"
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        return "malformed_claims"
    return None


def _claims_error_reason(message: str) -> str:
    # python-jose tells claim failures apart only by message.
    if "at_hash" in message or "access_token" in message:
        return "at_hash_mismatch"
    if "audience" in message or "aud" in message:
        return "wrong_audience"
    if "issuer" in message:
        return "wrong_issuer"
    return "invalid_claims"


# --------------------------------------------------------------------------------------------- the provider


class Federation:
    """The relying party of one provider: its discovery document and keys (cached), the authorization request,
    and the redemption of its code into verified ID token claims."""

    def __init__(self, config: FederationConfig, clock: Callable[[], datetime], *, max_age: timedelta) -> None:
        self.config = config
        self.max_age = max_age  # how old an ID token may be: as long as a login page stays open
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None
        self._endpoints: ProviderEndpoints | None = None
        self._endpoints_at: datetime | None = None
        self._keys: list[dict[str, Any]] = []
        self._keys_at: datetime | None = None
        self._keys_tried_at: datetime | None = None
        self._discovery_lock = asyncio.Lock()
        self._keys_lock = asyncio.Lock()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds),
                headers={"Accept": "application/json"},
            )
        return self._http

    async def _json(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        """(status, parsed JSON body or None) of one request; ProviderUnavailable when there is no usable answer."""
        try:
            async with self._session().request(method, url, allow_redirects=False, **kwargs) as resp:
                body = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise ProviderUnavailable("answer_too_large")
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(f"unreachable:{type(exc).__name__}") from None
        try:
            return status, orjson.loads(bytes(body)) if body else None
        except orjson.JSONDecodeError:
            return status, None

    # ---- discovery and keys

    async def endpoints(self) -> ProviderEndpoints:
        """The provider's endpoints, from its discovery document (fetched again after the cache period; while
        the provider cannot answer, the last good document is kept)."""
        if self._endpoints is not None and self._clock() - self._endpoints_at < self.config.cache:
            return self._endpoints
        async with self._discovery_lock:
            if self._endpoints is not None and self._clock() - self._endpoints_at < self.config.cache:
                return self._endpoints
            try:
                endpoints = await self._discover()
            except ProviderUnavailable as exc:
                if self._endpoints is None:
                    raise
                log.warning("OIDC discovery failed (%s); keeping the last document", exc.reason)
                return self._endpoints
            self._endpoints, self._endpoints_at = endpoints, self._clock()
            return endpoints

    async def _discover(self) -> ProviderEndpoints:
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        status, document = await self._json("GET", url)
        if status != 200 or not isinstance(document, dict):
            raise ProviderUnavailable(f"discovery_http_{status}")
        # OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for.
        if document.get("issuer") != self.config.issuer:
            raise ProviderUnavailable("discovery_issuer_mismatch")
        names = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not all(secure_url(document.get(name)) for name in names):
            raise ProviderUnavailable("discovery_endpoints_invalid")
        return ProviderEndpoints(*(document[name] for name in names))

    async def _fetch_keys(self, endpoints: ProviderEndpoints) -> None:
        async with self._keys_lock:
            now = self._clock()
            if self._keys_tried_at is not None and now - self._keys_tried_at < timedelta(seconds=JWKS_REFETCH_SECONDS):
                return  # another request fetched them just now
            self._keys_tried_at = now
            try:
                status, document = await self._json("GET", endpoints.jwks_uri)
                keys = document.get("keys") if isinstance(document, dict) else None
                if status != 200 or not isinstance(keys, list):
                    raise ProviderUnavailable(f"jwks_http_{status}")
            except ProviderUnavailable as exc:
                if self._keys_at is None:
                    raise
                log.warning("OIDC keys could not be fetched (%s); keeping the last ones", exc.reason)
                return
            self._keys = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
            self._keys_at = now

    def _pick(self, kid: str | None, kty: str) -> dict[str, Any] | None:
        if kid is not None:
            return next((k for k in self._keys if k.get("kid") == kid), None)
        # Without a kid the provider must publish a single key of that type (OpenID Connect Core §10.1).
        candidates = [k for k in self._keys if k.get("kty") == kty]
        return candidates[0] if len(candidates) == 1 else None

    async def _key(self, kid: str | None, kty: str) -> dict[str, Any] | None:
        endpoints = await self.endpoints()
        if self._keys_at is None or self._clock() - self._keys_at >= self.config.cache:
            await self._fetch_keys(endpoints)
        if self._keys_at is None:
            raise ProviderUnavailable("jwks_unavailable")
        key = self._pick(kid, kty)
        if key is None:
            await self._fetch_keys(endpoints)  # the provider may have rotated its keys
            key = self._pick(kid, kty)
        return key

    # ---- the flow

    def authorization_url(self, endpoints: ProviderEndpoints, *, state: str, nonce: str, code_challenge: str) -> str:
        return with_query(
            endpoints.authorization_endpoint,
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_uri,
                "scope": self.config.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            },
        )

    async def redeem(self, code: str, *, code_verifier: str, nonce: str) -> dict[str, Any]:
        """The verified claims of the ID token the provider gives for `code`."""
        endpoints = await self.endpoints()
        # RFC 6749 §2.3.1: client_secret_basic form-encodes id and secret before joining them.
        pair = f"{quote_plus(self.config.client_id, safe='')}:{quote_plus(self.config.client_secret, safe='')}"
        status, answer = await self._json(
            "POST",
            endpoints.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.redirect_uri,
                "code_verifier": code_verifier,
            },
            headers={"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()},
        )
        if status != 200:
            error = answer.get("error") if isinstance(answer, dict) else None
            if 400 <= status < 500 and isinstance(error, str):
                raise FederationRefused("token_request_refused:" + error_code(error))
            raise ProviderUnavailable(f"token_http_{status}")
        id_token = answer.get("id_token") if isinstance(answer, dict) else None
        if not isinstance(id_token, str) or not id_token:
            raise FederationRefused("id_token_missing")
        access_token = answer.get("access_token")
        return await self.verify_id_token(
            id_token, nonce=nonce, access_token=access_token if isinstance(access_token, str) else None
        )

    async def verify_id_token(self, id_token: str, *, nonce: str, access_token: str | None = None) -> dict[str, Any]:
        if len(id_token) > 16_384:
            raise FederationRefused("malformed")
        try:
            header = jwt.get_unverified_header(id_token)
        except JOSEError:
            raise FederationRefused("malformed") from None
        alg = header.get("alg")
        if alg not in ID_TOKEN_ALGORITHMS:
            raise FederationRefused("algorithm_not_allowed")
        if "crit" in header:
            raise FederationRefused("unsupported_header")  # RFC 7515 §4.1.11: we understand no extension
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise FederationRefused("malformed")
        kty = ID_TOKEN_ALGORITHMS[alg]
        key = await self._key(kid, kty)
        if key is None:
            raise FederationRefused("unknown_key")
        if key.get("kty") != kty or key.get("alg", alg) != alg:
            raise FederationRefused("key_not_usable")
        try:
            key_object = jwk.construct(key, alg)
        except JOSEError:
            raise FederationRefused("key_not_usable") from None
        options = {
            "verify_signature": True,
            "verify_aud": True,
            "verify_iss": True,
            "verify_sub": True,
            "verify_at_hash": True,
            # Times are judged by the app's clock in claims_refusal, which requires exp and iat too (python-jose
            # would check a required claim by the wall clock).
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "require_aud": True,
            "require_iss": True,
            "require_sub": True,
        }
        try:
            claims = jwt.decode(
                id_token,
                key_object,
                algorithms=[alg],
                audience=self.config.client_id,
                issuer=self.config.issuer,
                access_token=access_token,
                options=options,
            )
        except JWTClaimsError as exc:
            raise FederationRefused(_claims_error_reason(str(exc))) from None
        except JOSEError as exc:
            raise FederationRefused(
                "missing_claim" if "missing required key" in str(exc) else "bad_signature"
            ) from None
        except (TypeError, ValueError, OverflowError):
            raise FederationRefused("malformed_claims") from None
        refused = claims_refusal(
            claims, client_id=self.config.client_id, nonce=nonce, now=self._clock(), max_age=self.max_age
        )
        if refused is not None:
            raise FederationRefused(refused)
        return claims

    def identity(self, claims: Mapping[str, Any]) -> FederatedIdentity:
        return identity_of(claims, self.config)
