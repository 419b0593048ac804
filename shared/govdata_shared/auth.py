"""Who is calling: verifying the gateway's JWTs, and role checks for FastAPI routes.

Every service verifies the caller's token itself (defence in depth, DESIGN §4): signature against the
gateway's JWKS (keys chosen by `kid`), a fixed list of asymmetric algorithms, and `exp`/`nbf`/`iat`/`iss`/`aud`.
Any failure is a 401 `invalid_token` problem carrying only a short `reason` code.

    app.state.token_verifier = make_verifier(get_settings())

    @router.post("/resources/{id}/review")
    async def review(caller: Annotated[Caller, Depends(requires_role(Role.BUREAU_ADMIN))]): ...
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError

from govdata_shared.errors import Problem
from govdata_shared.settings import Settings

log = logging.getLogger("govdata.auth")


class Role(StrEnum):
    DEPT_OPERATOR = "dept_operator"
    DEPT_HEAD = "dept_head"
    BUREAU_ADMIN = "bureau_admin"
    AUDITOR = "auditor"
    CITIZEN = "citizen"
    CITY_PLATFORM = "city_platform"  # 第二十三条: the city exchange platform pulls the published catalog
    GATEWAY = "gateway"  # the gateway itself, reading the snapshots its projections start from


ROLE_LABELS: dict[str, str] = {
    Role.DEPT_OPERATOR: "部门经办人",
    Role.DEPT_HEAD: "部门负责人",
    Role.BUREAU_ADMIN: "县政务服务和大数据管理局管理员",
    Role.AUDITOR: "审计监督人员",
    Role.CITY_PLATFORM: "市级共享交换平台",
    Role.GATEWAY: "平台网关",
    Role.CITIZEN: "公民或企业",
}

KNOWN_ROLES: frozenset[str] = frozenset(r.value for r in Role)
# Staff who act for their department: they file, edit and decide for it.
DEPARTMENT_ROLES = (Role.DEPT_OPERATOR, Role.DEPT_HEAD)
# 第三十七、三十八条: the bureau supervises and evaluates every department; auditors read what it reads.
OVERSIGHT_ROLES = (Role.BUREAU_ADMIN, Role.AUDITOR)


@dataclass(frozen=True)
class Caller:
    """The verified identity behind a request."""

    sub: str
    dept: str | None
    roles: frozenset[str]
    subject_id: str | None
    client_id: str
    scope: str
    token_id: str | None
    claims: dict[str, Any] = field(repr=False, compare=False)

    def has_role(self, *roles: str) -> bool:
        """True when the caller holds at least one of `roles`."""
        return any(r in self.roles for r in roles)

    @property
    def is_bureau(self) -> bool:
        return Role.BUREAU_ADMIN in self.roles

    @property
    def oversees(self) -> bool:
        """The bureau and auditors, who see every department's records."""
        return self.has_role(*OVERSIGHT_ROLES)

    @property
    def acting_dept(self) -> str | None:
        """The department the caller acts for (its operators and heads); None for everyone else."""
        return self.dept if self.dept and self.has_role(*DEPARTMENT_ROLES) else None


def require_department(caller: Caller) -> str:
    """The caller's department, or 403 when the caller does not act for one."""
    if caller.acting_dept is None:
        raise Problem(403, "department_role_required", "只有部门经办人或部门负责人可以执行此操作")
    return caller.acting_dept


# --------------------------------------------------------------------------------------------- key sets


class KeySetUnavailable(Exception):
    """The key set could never be loaded, so no token can be judged (our fault, not the caller's)."""


class KeySet(ABC):
    """Public verification keys by `kid`."""

    @abstractmethod
    async def get_key(self, kid: str) -> dict[str, Any] | None:
        """The public JWK named `kid`, or None when it is not (or no longer) published."""


def _index_jwks(jwks: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise ValueError("JWKS must be an object with a 'keys' list")
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        # Keys without a kid, or meant for encryption, can never be chosen for a signature: skip them.
        if not isinstance(key, dict) or not isinstance(key.get("kid"), str) or not key.get("kty"):
            continue
        if key.get("use", "sig") != "sig":
            continue
        out[key["kid"]] = dict(key)
    return out


class StaticKeySet(KeySet):
    """A fixed JWKS — the gateway verifies its own tokens this way, without HTTP."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = _index_jwks(jwks)

    async def get_key(self, kid: str) -> dict[str, Any] | None:
        return self._keys.get(kid)


class JWKSKeySet(KeySet):
    """Keys fetched from a JWKS URL, cached for `cache_seconds`.

    A token naming an unknown `kid` triggers a refresh (that is how rotation reaches us), but fetches happen at
    most once per `min_refresh_interval` seconds, so tokens with forged kids cannot make us hammer the issuer.
    When a fetch fails the previous keys stay in use.
    """

    def __init__(
        self,
        url: str,
        cache_seconds: float = 300,
        http_client: httpx.AsyncClient | None = None,
        *,
        min_refresh_interval: float = 10.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refresh_interval = min_refresh_interval
        self.timeout_seconds = timeout_seconds
        self._http = http_client
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._loaded = False
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self.min_refresh_interval

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.cache_seconds

    async def _wait_for_fetch_in_flight(self) -> None:
        # Callers arriving while another task fetches must wait for that fetch, not report "unavailable".
        if self._lock.locked():
            async with self._lock:
                pass

    async def get_key(self, kid: str) -> dict[str, Any] | None:
        await self._wait_for_fetch_in_flight()
        if self._stale() and self._may_fetch():
            await self._refresh()
        key = self._keys.get(kid)
        if key is None and self._may_fetch():
            await self._refresh()
            key = self._keys.get(kid)
        if key is None:
            await self._wait_for_fetch_in_flight()
            key = self._keys.get(kid)
        if key is None and not self._loaded:
            raise KeySetUnavailable(f"JWKS at {self.url} could not be loaded")
        return key

    async def refresh(self) -> None:
        """Fetch the JWKS now if the throttle allows it."""
        if self._may_fetch():
            await self._refresh()

    async def _refresh(self) -> None:
        async with self._lock:
            # Another task may have fetched while we waited for the lock.
            if not self._may_fetch():
                return
            self._attempted_at = self._clock()
            self.fetch_count += 1
            try:
                jwks = await self._fetch()
                self._keys = _index_jwks(jwks)
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("could not fetch JWKS from %s: %s", self.url, exc)
                return
            self._loaded = True
            self._fetched_at = self._clock()

    async def _fetch(self) -> Any:
        if self._http is not None:
            resp = await self._http.get(self.url, timeout=self.timeout_seconds)
        else:
            async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
                resp = await client.get(self.url)
        resp.raise_for_status()
        return resp.json()


# --------------------------------------------------------------------------------------------- verifier

_INVALID_TOKEN_DETAIL = "访问令牌无效或已过期，请重新获取令牌"
# The asymmetric signature algorithms python-jose implements (it has no PS*), with the key type each needs.
_ASYMMETRIC_ALGS = {"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "ES256": "EC", "ES384": "EC", "ES512": "EC"}


def invalid_token(reason: str) -> Problem:
    """The one 401 for every bad token; `reason` is a short code, never the library's message."""
    return Problem(
        401,
        "invalid_token",
        _INVALID_TOKEN_DETAIL,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        reason=reason,
    )


def _is_number(value: Any) -> bool:
    # NumericDate is a JSON number; python-jose would also take strings ("123") and crash on null or lists.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or isinstance(value, str):
        return value
    raise invalid_token("malformed_claims")


class TokenVerifier:
    """Verifies bearer tokens into a `Caller`."""

    def __init__(
        self,
        keyset: KeySet,
        issuer: str | Iterable[str],
        audience: str,
        algorithms: Iterable[str] = ("RS256",),
        leeway_seconds: int = 30,
    ) -> None:
        self.keyset = keyset
        self.issuer = issuer if isinstance(issuer, str) else tuple(issuer)
        self.audience = audience
        self.algorithms = tuple(algorithms)
        # Symmetric algorithms (HS*) and `none` are refused outright: with a public key set, HS256 would turn a
        # public key into a shared secret anyone can sign with.
        bad = [a for a in self.algorithms if a not in _ASYMMETRIC_ALGS]
        if bad or not self.algorithms:
            raise ValueError(f"only asymmetric JWS algorithms may be allowed, got {bad or 'none'}")
        self.leeway_seconds = leeway_seconds
        self._constructed: dict[tuple[str, str], Any] = {}

    def _key_object(self, key: dict[str, Any], alg: str) -> Any:
        cache_key = (alg, json.dumps(key, sort_keys=True))
        obj = self._constructed.get(cache_key)
        if obj is None:
            if len(self._constructed) > 64:
                self._constructed.clear()
            obj = jwk.construct(key, alg)
            self._constructed[cache_key] = obj
        return obj

    async def verify(self, token: str) -> Caller:
        """Check `token` completely; raise `Problem(401, "invalid_token", reason=...)` on any failure."""
        if not isinstance(token, str) or not token or len(token) > 16_384:
            raise invalid_token("malformed")
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError:
            raise invalid_token("malformed") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise invalid_token("algorithm_not_allowed")
        if "crit" in header:
            # RFC 7515 §4.1.11: we understand no extensions, so a token that insists on one must be refused.
            raise invalid_token("unsupported_header")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise invalid_token("missing_kid")
        try:
            key = await self.keyset.get_key(kid)
        except KeySetUnavailable:
            log.error("token verification impossible: signing keys unavailable")
            raise Problem(503, "auth_unavailable", "暂时无法校验访问令牌（签名公钥不可用），请稍后重试") from None
        if key is None:
            raise invalid_token("unknown_key")
        if key.get("kty") != _ASYMMETRIC_ALGS[alg] or key.get("alg", alg) != alg:
            raise invalid_token("key_not_usable")
        try:
            key_obj = self._key_object(key, alg)
        except JOSEError:
            raise invalid_token("key_not_usable") from None

        options = {
            "verify_signature": True,
            "verify_aud": True,
            "verify_iat": True,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iss": True,
            "verify_sub": True,
            "verify_jti": True,
            "require_exp": True,
            # python-jose accepts a token *without* `aud` even when an audience is given: require it.
            "require_aud": True,
            "require_iss": True,
            "require_sub": True,
            "leeway": self.leeway_seconds,
        }
        try:
            claims = jwt.decode(
                token, key_obj, algorithms=[alg], options=options, audience=self.audience, issuer=self.issuer
            )
        except ExpiredSignatureError:
            raise invalid_token("expired") from None
        except JWTClaimsError as exc:
            raise invalid_token(_claims_reason(str(exc))) from None
        except JOSEError as exc:
            msg = str(exc)
            reason = "missing_claim" if "missing required key" in msg else "bad_signature"
            if "payload" in msg:
                reason = "malformed"
            raise invalid_token(reason) from None
        except (TypeError, ValueError, OverflowError):
            # python-jose lets these escape for claims like `"exp": null` or `"exp": [1]`.
            raise invalid_token("malformed_claims") from None
        return self._caller(claims)

    def _caller(self, claims: dict[str, Any]) -> Caller:
        now = time.time()
        for name in ("exp", "nbf", "iat"):
            if name in claims and not _is_number(claims[name]):
                raise invalid_token("malformed_claims")
        if "iat" in claims and claims["iat"] > now + self.leeway_seconds:
            # python-jose only checks that iat is a number; a token "issued" in the future is not ours.
            raise invalid_token("issued_in_future")
        sub = claims.get("sub")
        roles = claims.get("roles", [])
        if not isinstance(sub, str) or not sub:
            raise invalid_token("malformed_claims")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise invalid_token("malformed_claims")
        client_id = _optional_str(claims, "client_id") or _optional_str(claims, "azp") or sub
        return Caller(
            sub=sub,
            dept=_optional_str(claims, "dept"),
            roles=frozenset(roles),
            subject_id=_optional_str(claims, "subject_id"),
            client_id=client_id,
            scope=_optional_str(claims, "scope") or "",
            token_id=_optional_str(claims, "jti"),
            claims=claims,
        )


def _claims_reason(message: str) -> str:
    # python-jose distinguishes claim failures only by message; tests pin this mapping.
    if "nbf" in message:
        return "not_yet_valid"
    if "audience" in message or "claim format" in message:
        return "wrong_audience"
    if "issuer" in message:
        return "wrong_issuer"
    return "invalid_claims"


def make_verifier(settings: Settings) -> TokenVerifier:
    """The verifier a service uses: the gateway's JWKS over HTTP, issuer and audience from settings."""
    keyset = JWKSKeySet(settings.govdata_jwks_url, settings.govdata_jwks_cache_seconds)
    return TokenVerifier(keyset, issuer=settings.govdata_jwt_issuer, audience=settings.govdata_jwt_audience)


# --------------------------------------------------------------------------------------------- FastAPI


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header; 401 `unauthenticated` when there is none."""
    if not authorization:
        raise Problem(
            401,
            "unauthenticated",
            "缺少访问令牌，请在 Authorization 头中提供 Bearer 令牌",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Problem(401, "unauthenticated", "仅支持 Bearer 访问令牌", headers={"WWW-Authenticate": "Bearer"})
    token = token.strip()
    if not token:
        raise invalid_token("malformed")
    return token


async def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the verified caller (verifier at `request.app.state.token_verifier`)."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    token = bearer_token(request.headers.get("authorization"))
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("app.state.token_verifier is not set; assign make_verifier(settings) at start-up")
    caller = await verifier.verify(token)
    request.state.caller = caller  # for logging and audit middleware
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def describe_roles(roles: Iterable[str]) -> str:
    return "、".join(f"{ROLE_LABELS.get(r, r)}({r})" for r in roles)


def requires_role(
    *roles: str, code: str = "forbidden_role", detail: str | None = None
) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers holding any of `roles`; others get 403 `code` (default `forbidden_role`)
    with `detail`, or a message naming the roles. Declared on the route:

        @router.post("/x", dependencies=[Depends(requires_role(Role.BUREAU_ADMIN))])
    """
    unknown = [r for r in roles if r not in KNOWN_ROLES]
    if unknown or not roles:
        raise ValueError(f"unknown roles {unknown}; known: {sorted(KNOWN_ROLES)}")
    needed = tuple(str(r) for r in roles)
    message = detail or (
        f"此操作需要以下角色之一：{describe_roles(needed)}（requires one of the roles: {', '.join(needed)}）"
    )

    async def dependency(caller: CurrentCaller) -> Caller:
        if not caller.has_role(*needed):
            raise Problem(403, code, message, required_roles=list(needed))
        return caller

    dependency.__name__ = f"requires_role_{'_'.join(needed)}"
    return role_gate(dependency)


def role_gate(dependency: Callable[[Caller], Awaitable[Caller]]) -> Callable[[Caller], Awaitable[Caller]]:
    """Mark `dependency` (`async (caller) -> caller`, 403 for a caller of the wrong role) as a gate that
    `AuthorizeFirst` runs before the request body is read."""
    dependency.role_gate = True  # type: ignore[attr-defined]
    return dependency


@role_gate
async def requires_department(caller: CurrentCaller) -> Caller:
    """A dependency admitting the staff of a department (operators and heads); others get 403."""
    require_department(caller)
    return caller


DepartmentStaff = Annotated[Caller, Depends(requires_department)]
"""A caller who acts for a department; `caller.acting_dept` is set."""

gateway_only = requires_role(Role.GATEWAY, code="gateway_only", detail="仅供平台网关使用")
"""For the internal routes the gateway's projections start from: `dependencies=[Depends(gateway_only)]`."""


# --------------------------------------------------------------------------------------------- authorization first


def _authorization_of(dependant: Dependant) -> tuple[bool, list[Callable[[Caller], Awaitable[Caller]]]]:
    """Whether a route's dependencies authenticate the caller, and its role gates, in the order declared."""
    authenticates = False
    gates: list[Callable[[Caller], Awaitable[Caller]]] = []
    pending = list(dependant.dependencies)
    while pending:
        sub = pending.pop(0)
        if sub.call is current_caller:
            authenticates = True
        if getattr(sub.call, "role_gate", False) and sub.call not in gates:
            gates.append(sub.call)  # type: ignore[arg-type]
        pending.extend(sub.dependencies)
    return authenticates, gates


class AuthorizeFirst(APIRoute):
    """A route that settles who may call it before it reads the request body: `APIRouter(route_class=AuthorizeFirst)`.

    "A caller who may not use an endpoint gets 403 whatever the body" (issue 13): the schema of an endpoint is not
    explained to someone who may not call it. FastAPI solves a route's dependencies before it validates the body, so
    a role gate (`requires_role`, `requires_department`, `role_gate`; on the route's `dependencies=[...]` or as a
    parameter) already answers 403 before a wrong-shaped body could answer 422. But FastAPI parses the body before
    any dependency runs: a body that is not JSON at all, or a broken form, would still be a 422 or 400 to anyone,
    even to a caller without a token. So this route authenticates the caller (401) and runs the route's role gates
    (403) first; FastAPI then solves them again as usual, from the caller kept on the request.

    Checks that need the stored record ("the provider of this resource") stay in the operation, after validation;
    the gate only decides on the caller's roles.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        authenticates, gates = _authorization_of(self.dependant)
        if not authenticates:
            return handler

        async def authorized_first(request: Request) -> Response:
            caller = await current_caller(request)
            for gate in gates:
                await gate(caller)
            return await handler(request)

        return authorized_first
