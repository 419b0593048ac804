"""The gateway as token issuer: `POST /auth/token` and `/.well-known/jwks.json`, over the identity registry in
the gateway's own database (seeded from `GOVDATA_CLIENTS_FILE` at every start).

Grant types are dispatched through a table (`GRANT_HANDLERS` on the app): `client_credentials` here; people's
`authorization_code` and `refresh_token` are added by sign-in (govdata_gateway/signin). Scopes of
client_credentials go through another table (`SCOPE_HANDLERS`): `api` (the default) issues an API access token;
`grant:<id>` is answered by the sharing integration once it registers its handler with
`register_scope_handler(app, "grant:", handler)`.

Failed client authentications are throttled per client and source address (signin/throttle.py), in the
registry's database so that every replica applies the same lock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from aiohttp import web
from govdata_shared.db import Database
from govdata_shared.errors import NUL_RULE, Problem
from govdata_shared.events import TOPICS
from govdata_shared.kafka import ensure_topics, make_producer
from govdata_shared.migrations import upgrade_async
from govdata_shared.outbox import OutboxRelay
from govdata_shared.settings import REPO_ROOT
from govdata_shared.tasks import running
from govdata_shared.workdays import SHANGHAI

from govdata_gateway import passwords
from govdata_gateway.clients import ID_RE, Client, ClientsFile
from govdata_gateway.keys import SigningKey
from govdata_gateway.problems import render_problem
from govdata_gateway.registry.api import setup_identity_api
from govdata_gateway.registry.seed import seed_registry
from govdata_gateway.registry.store import Registry
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin.rules import Network, parse_networks, source_key
from govdata_gateway.signin.throttle import CLIENT, Throttle

log = logging.getLogger("govdata.gateway.identity")

DEMO_CLIENTS_FILE: Path = REPO_ROOT / "deploy" / "demo" / "clients.yaml"
API_SCOPE = "api"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_TOKEN_REQUEST_BYTES = 16 * 1024
_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="govdata", charset="UTF-8"'}
# Reserved claims a scope handler may not override through `extra_claims`.
_RESERVED_CLAIMS = frozenset({"iss", "sub", "client_id", "iat", "nbf", "exp", "jti"})


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    claims: dict[str, Any]


class TokenIssuer:
    """Builds and signs tokens for authenticated clients."""

    def __init__(self, key: SigningKey, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(
        self,
        client: Client,
        *,
        scope: str = API_SCOPE,
        ttl_seconds: int | None = None,
        audience: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> IssuedToken:
        """Sign a token for `client`; `ttl_seconds`/`audience`/`extra_claims` let scope handlers narrow it."""
        ttl = self.ttl_seconds if ttl_seconds is None else int(ttl_seconds)
        if ttl <= 0:
            raise ValueError("token lifetime must be positive")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience or self.audience,
            "sub": client.client_id,
            "client_id": client.client_id,
            "roles": sorted(client.roles),
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
        }
        if client.dept is not None:
            claims["dept"] = client.dept
        if client.system is not None:
            claims["system"] = client.system
        if client.subject_id is not None:
            claims["subject_id"] = client.subject_id
        if extra_claims:
            clash = _RESERVED_CLAIMS & set(extra_claims)
            if clash:
                raise ValueError(f"extra claims may not override {sorted(clash)}")
            claims.update(extra_claims)
        return IssuedToken(self.key.sign(claims), ttl, scope, claims)


ScopeHandler = Callable[[web.Request, Client, str], Awaitable[IssuedToken]]
"""(request, authenticated client, requested scope) → token; raise `Problem` to refuse."""
GrantHandler = Callable[[web.Request, dict[str, str]], Awaitable[dict[str, Any]]]
"""(request, the token request's form) → the JSON body of the token response; raise `Problem` to refuse."""
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


SIGNING_KEY: web.AppKey[SigningKey] = web.AppKey("govdata_signing_key", SigningKey)
REGISTRY: web.AppKey[Registry] = web.AppKey("govdata_registry", Registry)
TOKEN_ISSUER: web.AppKey[TokenIssuer] = web.AppKey("govdata_token_issuer", TokenIssuer)
SCOPE_HANDLERS: web.AppKey[dict[str, ScopeHandler]] = web.AppKey("govdata_scope_handlers", dict)
GRANT_HANDLERS: web.AppKey[dict[str, GrantHandler]] = web.AppKey("govdata_grant_handlers", dict)
THROTTLE: web.AppKey[Throttle] = web.AppKey("govdata_auth_throttle", Throttle)
# The time lockouts, codes and sessions are judged by; tests pass a movable one to setup_identity.
CLOCK: web.AppKey[Clock] = web.AppKey("govdata_clock")
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("govdata_trusted_proxies", tuple)


async def api_scope(request: web.Request, client: Client, scope: str) -> IssuedToken:
    """The default: an API access token carrying the client's department and roles."""
    return request.app[TOKEN_ISSUER].issue(client, scope=API_SCOPE)


async def grant_scope_not_available(request: web.Request, client: Client, scope: str) -> IssuedToken:
    """Placeholder until the sharing integration registers the real `grant:` handler."""
    raise Problem(
        400,
        "invalid_scope",
        "暂不支持申请共享授权（grant）令牌：该功能随共享服务（sharing-svc）接入后提供",
        error="invalid_scope",
    )


def register_scope_handler(app: web.Application, scope_or_prefix: str, handler: ScopeHandler) -> None:
    """Serve `scope_or_prefix` with `handler`: an exact scope, or a prefix ending in ':' (e.g. 'grant:')."""
    app[SCOPE_HANDLERS][scope_or_prefix] = handler


def find_scope_handler(handlers: Mapping[str, ScopeHandler], scope: str) -> ScopeHandler | None:
    """The handler for `scope`: an exact match, else the longest matching 'prefix:' entry."""
    if scope in handlers and not scope.endswith(":"):
        return handlers[scope]
    prefixes = [p for p in handlers if p.endswith(":") and scope.startswith(p) and len(scope) > len(p)]
    return handlers[max(prefixes, key=len)] if prefixes else None


# --------------------------------------------------------------------------------------------- endpoints


def _oauth_problem(status: int, error: str, detail: str, **kw: Any) -> Problem:
    # `error` repeats `code` under the RFC 6749 §5.2 name, so stock OAuth2 client libraries understand it too.
    return Problem(status, error, detail, error=error, **kw)


def source_of(request: web.Request) -> str:
    """The caller's address as failed authentications are counted (behind `AUTH_TRUSTED_PROXIES`, the client's)."""
    return source_key(request.remote, request.headers.getall("X-Forwarded-For", ()), request.app[TRUSTED_PROXIES])


def locked_problem(seconds: int, now: datetime) -> Problem:
    """429 for an account locked at this address after repeated failures (API.md "Identity")."""
    until = (now + timedelta(seconds=seconds)).astimezone(SHANGHAI).strftime("%H:%M")
    return _oauth_problem(
        429,
        "too_many_failed_attempts",
        f"认证失败次数过多，已在本地址暂时锁定，请于 {until}（北京时间）后重试",
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
    )


def register_grant_handler(app: web.Application, grant_type: str, handler: GrantHandler) -> None:
    """Answer `grant_type` at `POST /auth/token` with `handler`."""
    app[GRANT_HANDLERS][grant_type] = handler


async def read_form(request: web.Request) -> dict[str, str]:
    if request.content_type != FORM_CONTENT_TYPE:
        raise Problem(415, "unsupported_media_type", f"令牌请求必须使用 {FORM_CONTENT_TYPE} 格式提交")
    if request.content_length is not None and request.content_length > MAX_TOKEN_REQUEST_BYTES:
        raise Problem(413, "payload_too_large", "令牌请求过大")
    body = bytearray()
    while chunk := await request.content.readany():
        body += chunk
        if len(body) > MAX_TOKEN_REQUEST_BYTES:
            raise Problem(413, "payload_too_large", "令牌请求过大")
    try:
        pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=32)
    except ValueError:
        raise _oauth_problem(400, "invalid_request", "请求体不是有效的 UTF-8 表单编码") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            # RFC 6749 §3.2: request parameters must not be repeated.
            raise _oauth_problem(400, "invalid_request", f"参数 {name} 重复出现", field=name, rule="not_repeated")
        if "\x00" in name or "\x00" in value:  # a %00: no Postgres text holds it (the sign-in's lookups would 500)
            field = name.replace("\x00", "") or "form"
            raise _oauth_problem(400, "invalid_request", f"参数 {field} 含有空字符", field=field, rule=NUL_RULE)
        form[name] = value
    return form


def _basic_credentials(header: str) -> tuple[str, str]:
    """(client_id, secret) from an HTTP Basic header, url-decoding both parts (RFC 6749 §2.3.1)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _oauth_problem(401, "invalid_client", "客户端认证仅支持 HTTP Basic 或表单参数", headers=_BASIC_CHALLENGE)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise ValueError("no colon")
        return unquote_plus(raw_id, errors="strict"), unquote_plus(raw_secret, errors="strict")
    except (ValueError, binascii.Error):
        raise _oauth_problem(401, "invalid_client", "HTTP Basic 认证头格式无效", headers=_BASIC_CHALLENGE) from None


async def authenticate_client(request: web.Request, form: Mapping[str, str]) -> Client:
    """The client authenticated by HTTP Basic or form parameters (RFC 6749 §2.3.1); 401 when the credentials are
    wrong, 429 while this client is locked at the caller's address after repeated failures, 503 while the
    secret cannot be verified because the hashing budget is spent (passwords.VerificationBudget)."""
    header = request.headers.get("Authorization")
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if header is not None:
        client_id, secret = _basic_credentials(header)
        if form_secret is not None or (form_id is not None and form_id != client_id):
            # RFC 6749 §2.3: one authentication method per request.
            raise _oauth_problem(400, "invalid_request", "不能同时使用 HTTP Basic 和表单参数进行客户端认证")
        challenge: dict[str, str] | None = _BASIC_CHALLENGE
    else:
        if not form_id or form_secret is None:
            raise _oauth_problem(
                401, "invalid_client", "缺少客户端凭据（client_id 和 client_secret）", headers=_BASIC_CHALLENGE
            )
        client_id, secret, challenge = form_id, form_secret, None
    now = request.app[CLOCK]()
    throttle, source, registry = request.app[THROTTLE], source_of(request), request.app[REGISTRY]
    # An id that cannot exist is never counted: it can never succeed, and junk must not fill the table.
    counted = bool(ID_RE.match(client_id))
    # Refusals that need no database read come first: a lock this replica has seen, then — for a secret not
    # verified before — a spent hashing budget (the flood that spent it must cost nothing more; it was not
    # judged, so it is not counted as a failure).
    if counted and (locked := throttle.remembered(CLIENT, client_id, source, now)) is not None:
        raise locked_problem(locked, now)
    attempt = client = None
    try:
        turn = registry.reserve(client_id, secret) if counted else None  # nothing to look up or hash
        try:
            # A guess at an unknown id, the cheapest to send, costs one read and one write: its failure is counted
            # without reading its failure record first. Counting refuses it as locked where the same guess at an
            # existing client would have been, and leaves the lock as it is: the answers do not tell them apart.
            row = await registry.active_client(client_id) if secret else None
            if row is not None:
                attempt = await throttle.check(CLIENT, client_id, source, now)
                if attempt.retry_after is not None:
                    raise locked_problem(attempt.retry_after, now)
                client = await registry.verify(row, secret, now, turn)
        finally:
            registry.budget.release(turn)
    except passwords.VerificationBusy as busy:
        seconds = math.ceil(busy.retry_after)
        log.warning("token request refused unverified: hashing budget spent, client_id=%r", client_id[:64])
        detail, retry = f"认证请求过多，暂时无法校验客户端凭据，请于 {seconds} 秒后重试", {"Retry-After": str(seconds)}
        raise _oauth_problem(503, "temporarily_unavailable", detail, headers=retry, retry_after=seconds) from None
    if client is None:
        # Same answer for an unknown client and a wrong secret, also in how failures are counted.
        log.warning("token request refused: invalid_client client_id=%r", client_id[:64])
        if counted:
            failure = await throttle.failed(CLIENT, client_id, source, now, attempt)
            if failure.retry_after is not None:
                log.warning("client locked after %d failures: client_id=%r", failure.failures, client_id[:64])
                raise locked_problem(failure.retry_after, now)
        raise _oauth_problem(
            401, "invalid_client", "客户端认证失败：client_id 或 client_secret 错误", headers=challenge
        )
    if attempt is not None and attempt.failures:
        await throttle.succeeded(CLIENT, client_id, source)
    return client


async def token_endpoint(request: web.Request) -> web.Response:
    """`POST /auth/token` — dispatched on `grant_type` (RFC 6749 §4.1.3, §4.4, §6)."""
    try:
        form = await read_form(request)
        grant_type = form.get("grant_type")
        handlers = request.app[GRANT_HANDLERS]
        known = "、".join(sorted(handlers))
        if not grant_type:
            raise _oauth_problem(
                400,
                "invalid_request",
                f"缺少参数 grant_type（支持：{known}）",
                field="grant_type",
                rule="required",
            )
        handler = handlers.get(grant_type)
        if handler is None:
            raise _oauth_problem(
                400,
                "unsupported_grant_type",
                f"不支持的 grant_type：{grant_type[:50]}（支持：{known}）",
                field="grant_type",
                rule="supported_grant_type",
            )
        body = await handler(request, form)
    except Problem as problem:
        return render_problem(problem)
    return web.Response(
        body=orjson.dumps(body),
        content_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def client_credentials_grant(request: web.Request, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §4.4: a token for the authenticated client, of the scope asked for."""
    client = await authenticate_client(request, form)
    scope = form.get("scope", "").strip() or API_SCOPE
    handler = None if " " in scope else find_scope_handler(request.app[SCOPE_HANDLERS], scope)
    if handler is None:
        raise _oauth_problem(
            400,
            "invalid_scope",
            f"不支持的 scope：{scope[:100]}（每次只能申请一个：api 或 grant:<授权编号>）",
            field="scope",
            rule="known_scope",
        )
    token = await handler(request, client, scope)
    log.info(
        "token issued client_id=%s scope=%s jti=%s expires_in=%d",
        client.client_id,
        token.scope,
        token.claims.get("jti"),
        token.expires_in,
    )
    return {
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
    }


async def jwks_endpoint(request: web.Request) -> web.Response:
    """`GET /.well-known/jwks.json` — current and previous public keys."""
    return web.Response(
        body=orjson.dumps(request.app[SIGNING_KEY].jwks()),
        content_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


def setup_identity(
    app: web.Application, settings: GatewaySettings, *, relay: bool = True, clock: Clock = utc_now
) -> None:
    """Load the signing key and the clients file, and add the identity routes. At start-up the registry's
    database is migrated (`MIGRATE_ON_START`) and seeded from the file; with `relay`, its identity.* events
    leave through the outbox to Kafka (held there while the broker is unreachable). `clock` is the time
    lockouts (and sign-in's codes and sessions) are judged by."""
    key = SigningKey.from_settings(settings)
    clients_file = ClientsFile.from_file(settings.govdata_clients_file or DEMO_CLIENTS_FILE)  # fail fast
    db = Database(settings.effective_database_url())
    app[SIGNING_KEY] = key
    app[REGISTRY] = Registry(db)
    app[TOKEN_ISSUER] = TokenIssuer(
        key,
        issuer=settings.govdata_jwt_issuer,
        audience=settings.govdata_jwt_audience,
        ttl_seconds=settings.govdata_token_ttl_seconds,
    )
    app[SCOPE_HANDLERS] = {API_SCOPE: api_scope, "grant:": grant_scope_not_available}
    app[GRANT_HANDLERS] = {"client_credentials": client_credentials_grant}
    app[CLOCK] = clock
    app[TRUSTED_PROXIES] = parse_networks(settings.auth_trusted_proxies)  # fail fast on a bad entry
    app[THROTTLE] = Throttle(db, max_failures=settings.auth_max_failures, lockout_seconds=settings.auth_lockout_seconds)

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await upgrade_async("govdata_gateway", db.url)
        async with db.session() as session:
            report = await seed_registry(session, clients_file, datetime.now(UTC))
        log.info(
            "identity: signing key kid=%s (%d published); registry seeded from %s: %d created, %d updated, "
            "%d unchanged",
            key.kid,
            len(key.jwks()["keys"]),
            clients_file.source,
            len(report.created),
            len(report.updated),
            report.unchanged,
        )
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(db.dispose)
            if relay:
                await stack.enter_async_context(_event_relay(settings, db))
            yield

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/auth/token", token_endpoint)
    app.router.add_get("/.well-known/jwks.json", jwks_endpoint)
    setup_identity_api(app, settings, key=key, db=db, now=clock)


@contextlib.asynccontextmanager
async def _event_relay(settings: GatewaySettings, db: Database) -> AsyncIterator[None]:
    """The registry's outbox relay. The gateway serves tokens while the broker is down: the producer connects
    in the background, retrying, and events wait in the outbox meanwhile."""
    producer = make_producer(settings)
    outbox = OutboxRelay(db, producer, sweep_interval=settings.outbox_sweep_interval_seconds)

    async def connect() -> None:
        delay = 0.5
        while True:
            try:
                if settings.kafka_create_topics:
                    await ensure_topics(settings, (TOPICS["identity"],))
                await producer.start()
                break
            except Exception as exc:  # noqa: BLE001 - retried; the outbox keeps the events
                log.warning("identity events: broker unreachable (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        outbox.start()

    try:
        async with running(connect(), "identity-relay-connect"):
            yield
    finally:
        await outbox.stop()
        await producer.stop()
