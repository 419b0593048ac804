"""A small but real OpenID provider, standing in for the province's 统一身份认证 in tests: an aiohttp app on a port
of its own with discovery, a JWKS, an authorization endpoint that signs in one configured person without asking
(or answers `error=` when told to deny), and a token endpoint that checks the client (client_secret_basic), the
code (once, for the redirect_uri it was issued to) and PKCE (S256 only) before answering with a signed ID token.

What a misbehaving or hostile provider would send is set on purpose: `tamper` changes claims of the next ID tokens,
`sign_with` signs them with a key the JWKS does not publish, `algorithm` signs them with `none` or HS256,
`discovery_issuer` makes discovery name another issuer. Everything the relying party sent is kept for assertions.

    async with OidcProvider(client_id="yichuan-govdata", client_secret="…") as provider:
        provider.redirect_uris.append(callback)
        provider.person = {"sub": "p-1", "preferred_username": "zhangmin", "name": "张敏"}
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt

REMOVE = object()  # a `tamper` value: leave the claim out


@dataclass(frozen=True)
class ProviderKey:
    """A signing key of the provider: the private PEM and the public JWK it publishes."""

    kid: str
    alg: str
    private_pem: bytes
    public_jwk: dict[str, Any]


@functools.cache
def provider_key(kid: str, alg: str = "RS256") -> ProviderKey:
    """A key per (kid, alg), made once per test session (RSA keys take a while to generate)."""
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(alg)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public = jwk.construct(public_pem, alg).to_dict()
    public = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in public.items()}
    return ProviderKey(kid, alg, pem, {**public, "kid": kid, "use": "sig", "alg": alg})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@dataclass
class Authorization:
    """A code the authorization endpoint issued, and what it was issued for."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    claims: dict[str, Any]
    used: bool = False


@dataclass
class OidcProvider:
    client_id: str = "yichuan-govdata"
    client_secret: str = "provincial-secret-4d1f"
    redirect_uris: list[str] = field(default_factory=list)
    person: dict[str, Any] = field(default_factory=lambda: {"sub": "p-0"})
    keys: list[ProviderKey] = field(default_factory=lambda: [provider_key("prov-rsa-1")])
    clock: Callable[[], float] = time.time
    id_token_ttl: int = 300

    # ---- misbehaviour, set by tests
    deny: str | None = None  # answer the authorization request with this `error`
    tamper: dict[str, Any] = field(default_factory=dict)  # claims of the ID token replaced (REMOVE: left out)
    sign_with: ProviderKey | None = None  # a key the JWKS does not publish
    algorithm: str | None = None  # "none" or "HS256" instead of the key's own
    discovery_issuer: str | None = None  # the issuer discovery states, when not the provider's own

    # ---- what the relying party sent
    discovery_requests: int = 0
    jwks_requests: int = 0
    authorization_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    url: str = ""
    _codes: dict[str, Authorization] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> OidcProvider:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop answering (a provider that is down)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def issuer(self) -> str:
        return self.url

    # ---- endpoints

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        return app

    async def _discovery(self, request: web.Request) -> web.Response:
        self.discovery_requests += 1
        return web.json_response(
            {
                "issuer": self.discovery_issuer or self.issuer,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": sorted({k.alg for k in self.keys}),
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["openid", "profile"],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_requests += 1
        return web.json_response({"keys": [k.public_jwk for k in self.keys]})

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorization_requests.append(query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return web.Response(status=400, text="unknown client or redirect_uri")
        state = query.get("state", "")
        well_formed = (
            query.get("response_type") == "code"
            and "openid" in query.get("scope", "").split()
            and query.get("code_challenge_method") == "S256"
            and len(query.get("code_challenge", "")) == 43
        )
        refused = self.deny if well_formed else "invalid_request"
        if refused:
            raise web.HTTPFound(_with_query(redirect_uri, {"error": refused, "state": state}))
        code = secrets.token_urlsafe(24)
        self._codes[code] = Authorization(
            self.client_id, redirect_uri, query["code_challenge"], query.get("nonce"), dict(self.person)
        )
        raise web.HTTPFound(_with_query(redirect_uri, {"code": code, "state": state}))

    def _client(self, request: web.Request) -> str | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        raw_id, _, raw_secret = base64.b64decode(value).decode().partition(":")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if client_id != self.client_id or not hmac.compare_digest(secret, self.client_secret):
            return None
        return client_id

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({"authorization": request.headers.get("Authorization"), **form})
        if self._client(request) is None:
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self._codes.get(str(form.get("code", "")))
        verifier = str(form.get("code_verifier", ""))
        challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.used
            or grant.redirect_uri != form.get("redirect_uri")
            or not hmac.compare_digest(challenge, grant.code_challenge)
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        grant.used = True
        access_token = secrets.token_urlsafe(32)
        return web.json_response(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant, access_token),
            },
            headers={"Cache-Control": "no-store"},
        )

    # ---- ID tokens

    def id_token(self, grant: Authorization, access_token: str | None = None) -> str:
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + self.id_token_ttl,
            "auth_time": now,
            **grant.claims,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name, value in self.tamper.items():
            if value is REMOVE:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self.sign_with or self.keys[0]
        headers = {"kid": key.kid}
        if self.algorithm == "none":
            header = _b64url(orjson.dumps({"alg": "none", "typ": "JWT", **headers}))
            return f"{header}.{_b64url(orjson.dumps(claims))}."
        if self.algorithm == "HS256":
            # A forger who knows the client secret (or the public key) signing symmetrically.
            return jwt.encode(claims, self.client_secret, algorithm="HS256", headers=headers)
        return jwt.encode(
            claims, key.private_pem.decode(), algorithm=key.alg, headers=headers, access_token=access_token
        )
