"""`/api/identity`: the bureau's management of the identity registry, served by the gateway itself (the registry
is the gateway's database; no service behind it). Routes only: who may call, the body, one call of admin.py.

Every route but `GET /me` is for `bureau_admin`. The caller's API token is verified here with the gateway's own
key (issuer and audience as the services check them): 401 `unauthenticated`/`invalid_token`, 403
`forbidden_role`, and 403 `client_disabled`/`user_disabled` for a token of a disabled client or person.

aiohttp resolves the most specific path first, so these routes win over the proxy's `/api/{service}/...`
whatever the order of registration; the catch-all below answers the rest of `/api/identity` (404, or 405 with
Allow) instead of letting it fall through to the proxy's "unknown service".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from govdata_shared.auth import Caller, Role, StaticKeySet, TokenVerifier, bearer_token, describe_roles
from govdata_shared.db import Database
from govdata_shared.errors import Problem, nul_in_document, nul_problem
from sqlalchemy.exc import IntegrityError

from govdata_gateway.keys import ALGORITHM, SigningKey
from govdata_gateway.problems import problem_response, render_problem
from govdata_gateway.projection import IDENTITY_PROJECTION, refusal_problem
from govdata_gateway.registry import admin
from govdata_gateway.settings import GatewaySettings

PREFIX = "/api/identity"
MAX_BODY_BYTES = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class IdentityApi:
    """What the routes share: the registry's database, the verifier of API tokens, the rotation grace, and the
    gateway's clock (the one token issuance reads, so a rotation's grace ends when issuance says it does)."""

    def __init__(
        self,
        db: Database,
        verifier: TokenVerifier,
        grace: timedelta,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.verifier = verifier
        self.grace = grace
        self.now = now


IDENTITY_API: web.AppKey[IdentityApi] = web.AppKey("govdata_identity_api", IdentityApi)
Handler = Callable[[web.Request, Caller, IdentityApi], Awaitable[Any]]


# --------------------------------------------------------------------------------------------- the routes


async def list_departments(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.list_departments(api.db)


async def create_department(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.create_department(api.db, body=await _body(request), caller=caller, now=api.now())


async def list_systems(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.list_systems(api.db)


async def create_system(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.create_system(api.db, body=await _body(request), caller=caller, now=api.now())


async def list_clients(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.list_clients(api.db)


async def create_client(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.create_client(api.db, body=await _body(request), caller=caller, now=api.now())


async def rotate_client_secret(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    client_id = request.match_info["client_id"]
    return await admin.rotate_client_secret(api.db, client_id=client_id, caller=caller, now=api.now(), grace=api.grace)


async def disable_client(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.disable_client(api.db, client_id=request.match_info["client_id"], caller=caller, now=api.now())


async def list_users(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.list_users(api.db)


async def create_user(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.create_user(api.db, body=await _body(request), caller=caller, now=api.now())


async def disable_user(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.disable_user(api.db, username=request.match_info["username"], caller=caller, now=api.now())


async def reset_password(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.reset_password(api.db, username=request.match_info["username"], caller=caller, now=api.now())


async def me(request: web.Request, caller: Caller, api: IdentityApi) -> Any:
    return await admin.whoami(api.db, caller=caller)


# (method, path, handler, status, roles — None: any valid API token)
ROUTES: tuple[tuple[str, str, Handler, int, tuple[str, ...] | None], ...] = (
    # The departments' codes and names are the county's public organisation: every member of staff may read them
    # (to name the department a demand is for, 第十二条), only the bureau may change them.
    (
        "GET",
        "/departments",
        list_departments,
        200,
        (Role.BUREAU_ADMIN, Role.AUDITOR, Role.DEPT_OPERATOR, Role.DEPT_HEAD),
    ),
    ("POST", "/departments", create_department, 201, (Role.BUREAU_ADMIN,)),
    ("GET", "/systems", list_systems, 200, (Role.BUREAU_ADMIN,)),
    ("POST", "/systems", create_system, 201, (Role.BUREAU_ADMIN,)),
    ("GET", "/clients", list_clients, 200, (Role.BUREAU_ADMIN,)),
    ("POST", "/clients", create_client, 201, (Role.BUREAU_ADMIN,)),
    ("POST", "/clients/{client_id}/rotate-secret", rotate_client_secret, 200, (Role.BUREAU_ADMIN,)),
    ("POST", "/clients/{client_id}/disable", disable_client, 200, (Role.BUREAU_ADMIN,)),
    ("GET", "/users", list_users, 200, (Role.BUREAU_ADMIN,)),
    ("POST", "/users", create_user, 201, (Role.BUREAU_ADMIN,)),
    ("POST", "/users/{username}/disable", disable_user, 200, (Role.BUREAU_ADMIN,)),
    ("POST", "/users/{username}/reset-password", reset_password, 200, (Role.BUREAU_ADMIN,)),
    ("GET", "/me", me, 200, None),
)


# --------------------------------------------------------------------------------------------- plumbing


async def _caller(request: web.Request, api: IdentityApi, roles: tuple[str, ...] | None) -> Caller:
    caller = await api.verifier.verify(bearer_token(request.headers.get("Authorization")))
    identity = request.app.get(IDENTITY_PROJECTION)
    refusal = identity.refusal(caller.claims) if identity is not None else None
    if refusal is not None:
        raise refusal_problem(refusal)
    if roles is not None and not caller.has_role(*roles):
        raise Problem(
            403,
            "forbidden_role",
            f"此操作需要以下角色之一：{describe_roles(roles)}（requires one of the roles: {', '.join(roles)}）",
            required_roles=list(roles),
        )
    return caller


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object of the request; 415, 413 or 422 naming the body otherwise."""
    if request.content_type not in ("application/json", "application/octet-stream") and request.body_exists:
        raise Problem(415, "unsupported_media_type", "请求体须为 JSON（Content-Type: application/json）")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise Problem(413, "payload_too_large", f"请求体超过 {MAX_BODY_BYTES} 字节的上限")
    raw = bytearray()
    while chunk := await request.content.readany():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise Problem(413, "payload_too_large", f"请求体超过 {MAX_BODY_BYTES} 字节的上限")
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise Problem(422, "validation_failed", "请求体须为 JSON 对象", field="body", rule="json_object")
    if (field := nul_in_document(body)) is not None:
        raise nul_problem(field)
    return body


def _endpoint(handler: Handler, status: int, roles: tuple[str, ...] | None) -> Callable[[web.Request], Awaitable]:
    async def endpoint(request: web.Request) -> web.Response:
        api = request.app[IDENTITY_API]
        try:
            caller = await _caller(request, api, roles)
            result = await handler(request, caller, api)
        except Problem as problem:
            return render_problem(problem)
        except IntegrityError:
            # A concurrent request created the same entry between our check and the insert.
            return problem_response(409, "conflict", "与同时提交的其他修改冲突，请刷新后重试")
        return web.Response(
            body=orjson.dumps(result), status=status, content_type="application/json", headers=_NO_STORE
        )

    endpoint.__name__ = handler.__name__
    return endpoint


def setup_identity_api(
    app: web.Application,
    settings: GatewaySettings,
    *,
    key: SigningKey,
    db: Database,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Add `/api/identity/...` to `app` (called by identity.setup_identity, which owns `key` and `db`)."""
    verifier = TokenVerifier(
        StaticKeySet(key.jwks()),
        issuer=settings.govdata_jwt_issuer,
        audience=settings.govdata_jwt_audience,
        algorithms=(ALGORITHM,),
    )
    grace = timedelta(seconds=settings.govdata_secret_rotation_grace_seconds)
    app[IDENTITY_API] = IdentityApi(db, verifier, grace, now)
    resources: list[web.AbstractResource] = []
    for method, path, handler, status, roles in ROUTES:
        route = app.router.add_route(method, PREFIX + path, _endpoint(handler, status, roles))
        if route.resource is not None and route.resource not in resources:
            resources.append(route.resource)

    async def elsewhere(request: web.Request) -> web.Response:
        allowed: set[str] = set()
        for resource in resources:
            _, methods = await resource.resolve(request)
            allowed |= methods
        if allowed:
            return problem_response(
                405,
                "method_not_allowed",
                f"{PREFIX} 的这一路径不支持 {request.method} 方法",
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        return problem_response(404, "not_found", f"身份管理接口没有 {request.path}")

    app.router.add_route("*", PREFIX + "/{tail:.*}", elsewhere)
    app.router.add_route("*", PREFIX, elsewhere)
