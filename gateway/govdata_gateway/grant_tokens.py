"""Grant tokens: `POST /auth/token` with `scope=grant:<grant_id>` (DESIGN.md §4, API.md "Identity").

Answered from the gateway's grant projection:
- only a client of the grant's holder department gets one; any other client — and any grant the gateway does
  not know — gets the same 403 `grant_not_held`, so the answer does not reveal whether a grant exists;
- of the holder department, only a client bound to the grant's `holder_system` gets one (第二十九条: data is
  granted to a business system, not to a whole department); a client with another or no system gets 403
  `system_mismatch`. This comes after `grant_not_held` (only the holder department, which sees its grants
  anyway, learns that the grant exists) and before `grant_not_active` (a client of another system learns
  nothing of the grant's state);
- only while the grant is active and today (Asia/Shanghai) is within [valid_from, valid_to], else 403
  `grant_not_active`;
- the token is for the data audience (`GOVDATA_DATA_AUDIENCE`), lives `GOVDATA_GRANT_TOKEN_TTL_SECONDS` but never
  past the end of `valid_to` in Shanghai, and names the grant, resource, items and holder department, with a
  `jti`. The services refuse it (wrong audience), and `/data` refuses API tokens the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web
from govdata_shared.errors import Problem

from govdata_gateway.clients import Client
from govdata_gateway.identity import TOKEN_ISSUER, IssuedToken, ScopeHandler
from govdata_gateway.projection import Projection

GRANT_SCOPE_PREFIX = "grant:"
MAX_GRANT_ID_LENGTH = 100


def _not_held() -> Problem:
    return Problem(
        403, "grant_not_held", "本部门未持有该共享授权，不能申请其访问令牌", error="invalid_scope", field="scope"
    )


def grant_scope_handler(
    projection: Projection,
    ready: asyncio.Event,
    *,
    audience: str,
    ttl_seconds: int,
    clock: Callable[[], float] = time.time,
) -> ScopeHandler:
    """The `grant:` scope handler over `projection` (refuses with 503 until `ready` is set)."""

    async def grant_scope(request: web.Request, client: Client, scope: str) -> IssuedToken:
        grant_id = scope.removeprefix(GRANT_SCOPE_PREFIX)
        if not ready.is_set():
            raise Problem(
                503,
                "projection_not_ready",
                "网关尚未完成授权数据同步，请稍后重试",
                headers={"Retry-After": "1"},
            )
        grant = projection.grants.get(grant_id) if len(grant_id) <= MAX_GRANT_ID_LENGTH else None
        if grant is None or client.dept is None or client.dept != grant.holder_dept:
            raise _not_held()
        if client.system is None or client.system != grant.holder_system:
            raise Problem(
                403,
                "system_mismatch",
                f"该共享授权属于应用系统 {grant.holder_system}，本客户端未绑定该系统，不能申请其访问令牌",
                error="invalid_scope",
                field="scope",
                holder_system=grant.holder_system,
            )
        now = clock()
        if not grant.active:
            raise Problem(
                403,
                "grant_not_active",
                f"该共享授权当前状态为 {grant.status}，不能申请访问令牌",
                error="invalid_scope",
                grant_status=grant.status,
            )
        remaining = int(grant.ends_at - now)
        if not grant.in_window(now) or remaining < 1:
            raise Problem(
                403,
                "grant_not_active",
                f"当前不在授权期限（{grant.valid_from} 至 {grant.valid_to}）内",
                error="invalid_scope",
                valid_from=grant.valid_from.isoformat(),
                valid_to=grant.valid_to.isoformat(),
            )
        return request.app[TOKEN_ISSUER].issue(
            client,
            scope=f"{GRANT_SCOPE_PREFIX}{grant.grant_id}",
            ttl_seconds=min(ttl_seconds, remaining),
            audience=audience,
            extra_claims={
                "grant_id": grant.grant_id,
                "resource_id": grant.resource_id,
                "items": list(grant.item_list),
                "holder_dept": grant.holder_dept,
                "holder_system": grant.holder_system,
            },
        )

    return grant_scope
