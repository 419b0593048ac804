"""The data plane: `GET|POST /data/{resource_id}/{path}` with a grant token (DESIGN.md §4, API.md "Data plane").

Every call, allowed or denied, leaves one access record in the gateway's spool before its answer goes out
(accesslog.py); when records cannot be kept, calls are refused with 503 `access_log_unavailable`.

Checks, in order, each refusal being problem+json with a `code`:

1. a Bearer token (401 `unauthenticated`), valid for the data audience: signature, expiry, issuer (401
   `invalid_token`). Verified tokens are cached (token → claims, until `exp`, bounded LRU): a signature check
   costs 100–200 µs, a cache hit a dictionary lookup. Only what the token *is* is cached; everything below is
   decided afresh on every call;
2. the token's client is not disabled, nor its department or system (403 `client_disabled`), from the
   Kafka-fed identity projection — so a client the bureau disables loses its still-valid tokens within a second;
3. the token's resource is the path's resource (403 `wrong_resource`);
4. the grant, from the Kafka-fed projection: known, held by the token's department, active (403
   `grant_not_active`) and today (Asia/Shanghai) within its window (403 `outside_window`) — so a suspension is
   effective as soon as its event is read, not when the token expires;
5. the path equals one of the interface's prefixes or continues one after a '/', without dot segments or
   encoded separators, and the method is offered (403 `outside_interface`);
6. the grant's rate limit (`interface.rate_limit` calls per second, token bucket per grant, shared out among
   `GATEWAY_RATE_LIMIT_REPLICAS` replicas; 429
   with `Retry-After`).

Then the call goes to `interface.base_url` + path (+ query) with the upstream credential of the interface's
`credential_ref` and nothing of the client's but the body, its Content-Type and the request id — never its
Authorization. Only JSON comes back, reduced to the granted items: an object keeps its granted keys, a list
keeps each object's granted keys, and an `{items: [...]}` envelope is filtered element by element keeping only
`items` and the pagination keys total/page/size/next. Anything else (non-JSON, a bare scalar) is 502
`unfilterable_response`; an upstream error (status ≥ 400) keeps its status but not its body (it may hold data):
problem `upstream_error`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import aiohttp
import orjson
from aiohttp import web
from govdata_shared.auth import Role, StaticKeySet, TokenVerifier
from govdata_shared.contracts.access import DENIAL_REASONS
from govdata_shared.errors import Problem
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.tasks import cancel_and_wait
from prometheus_client import Counter, Histogram
from yarl import URL

from govdata_gateway.accesslog import ACCESS_REFUSED, AccessLog, new_record_id, now_iso
from govdata_gateway.clients import Client
from govdata_gateway.credentials import UpstreamCredentials
from govdata_gateway.grant_tokens import GRANT_SCOPE_PREFIX, grant_scope_handler
from govdata_gateway.identity import REGISTRY, SIGNING_KEY, TOKEN_ISSUER, register_scope_handler
from govdata_gateway.keys import ALGORITHM
from govdata_gateway.middleware import REQUEST_ID
from govdata_gateway.problems import problem_response
from govdata_gateway.projection import IDENTITY_PROJECTION, REFUSALS, GrantEntry, Projection, ProjectionFeed
from govdata_gateway.registry.admin import identity_snapshot
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.upstream_guard import REFUSED_DETAIL as UPSTREAM_REFUSED_DETAIL
from govdata_gateway.upstream_guard import UpstreamGuard, refused_by_allow_list

log = logging.getLogger("govdata.gateway.dataplane")

PAGINATION_KEYS = ("total", "page", "size", "next")
GATEWAY_CLIENT = Client(client_id="gateway", dept=None, roles=frozenset({Role.GATEWAY.value}), name="平台网关")
_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="govdata-data"'}
_INVALID_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="govdata-data", error="invalid_token"'}
_JSON_HEADERS = {"Content-Type": "application/json"}
_SCALARS = (str, int, float, bool, type(None))
_GC_FROZEN = False
_ACCESS_LOG_UNAVAILABLE = "访问记录暂时无法保存；为保证每次数据调用都有记录，暂停提供数据调用，请稍后重试"

DATA_CALLS = Counter("govdata_gateway_data_calls_total", "Data calls by outcome", ["outcome"])
_OUTCOMES = {
    name: DATA_CALLS.labels(name)
    for name in (
        *DENIAL_REASONS,
        "ok",
        "upstream_error",
        "upstream_unavailable",
        "upstream_timeout",
        "unfilterable_response",
        "not_ready",
    )
}
UPSTREAM_LATENCY = Histogram(
    "govdata_gateway_upstream_duration_seconds",
    "Time for a provider's upstream to answer a data call (through the whole body)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
_OK = _OUTCOMES["ok"]
TOKEN_VERIFICATIONS = Counter(
    "govdata_gateway_grant_token_verifications_total",
    "Grant token signature checks (a token is checked once, then served from the cache until its exp)",
)


# --------------------------------------------------------------------------------------------- pieces


class TokenCache:
    """Verified tokens → claims until their `exp`; least recently used entries go first."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, now: float) -> dict[str, Any] | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return entry[0]

    def put(self, token: str, claims: dict[str, Any], exp: float) -> None:
        if self.maxsize <= 0:
            return
        self._entries[token] = (claims, exp)
        self._entries.move_to_end(token)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)


class RateLimiter:
    """A token bucket per key: `rate` calls per second, bursts of up to `rate` calls — divided among `replicas`
    gateways: each refills at rate/replicas and holds at most that (and never less than one call), so N replicas
    together never pass more than the rate the provider set, however many the autoscaler runs (up to N)."""

    def __init__(self, clock=time.monotonic, replicas: int = 1) -> None:
        self._clock = clock
        self._share = 1.0 / replicas
        self._buckets: dict[str, list[float]] = {}

    def take(self, key: str, rate: int) -> float:
        """0 when a call may go now, else the seconds until one may."""
        refill = rate * self._share
        capacity = max(1.0, refill)
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [capacity - 1.0, now]
            return 0.0
        tokens = min(capacity, bucket[0] + (now - bucket[1]) * refill)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / refill

    def forget(self, keep: Mapping[str, Any]) -> None:
        for key in [k for k in self._buckets if k not in keep]:
            del self._buckets[key]


class Unfilterable(Exception):
    """The upstream's JSON has no shape the filter understands."""


def _keep(record: dict[str, Any], items: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k in items}


def filter_document(doc: Any, items: frozenset[str]) -> Any:
    """Only the granted items of `doc` (see the module doc); raises `Unfilterable`."""
    if isinstance(doc, dict):
        inner = doc.get("items")
        if isinstance(inner, list):
            out: dict[str, Any] = {"items": [_keep(e, items) for e in inner if isinstance(e, dict)]}
            for key in PAGINATION_KEYS:
                if key in doc and isinstance(doc[key], _SCALARS):
                    out[key] = doc[key]
            return out
        return _keep(doc, items)
    if isinstance(doc, list):
        return [_keep(e, items) for e in doc if isinstance(e, dict)]
    raise Unfilterable(type(doc).__name__)


def upstream_path(raw: str) -> str | None:
    """The decoded form of the raw path `raw` (starting with '/'), or None when it could escape a prefix on
    the provider's side: dot segments, encoded '/' or '\\', NUL, backslashes."""
    if "%" not in raw and "/." not in raw and "\\" not in raw:
        return raw
    if "\\" in raw:
        return None
    segments = raw.split("/")
    decoded = []
    for segment in segments:
        try:
            part = unquote(segment, errors="strict") if "%" in segment else segment
        except UnicodeDecodeError:
            return None
        if part in (".", "..") or "/" in part or "\\" in part or "\x00" in part:
            return None
        decoded.append(part)
    return "/".join(decoded)


class _Call:
    """What the checks learned about a call, for its access record."""

    __slots__ = ("claims", "grant", "outcome", "records")

    def __init__(self) -> None:
        self.outcome = "ok"
        self.claims: Mapping[str, Any] = {}
        self.grant: GrantEntry | None = None
        self.records = 0


def count_records(doc: Any) -> int:
    """Records in a filtered document: the elements of a list or of an `{items: [...]}` envelope, else 1."""
    if isinstance(doc, list):
        return len(doc)
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        return len(doc["items"])
    return 1


def masked_path(request: web.Request) -> str:
    """The call's path and query as recorded: identifiers masked, at most 1000 characters."""
    query = request.query_string
    text = request.path + ("?" + query if query else "")
    return mask_identifiers_in_text(text)[:1000]


# --------------------------------------------------------------------------------------------- the plane


class DataPlane:
    """State of the data plane on one app: projection and its feed, verifier, cache, limits, upstream pool."""

    def __init__(self, settings: GatewaySettings, verifier: TokenVerifier, feed: ProjectionFeed) -> None:
        self.settings = settings
        self.verifier = verifier
        self.feed = feed
        self.projection: Projection = feed.projection
        self.identity = feed.projection.identity
        self.access = AccessLog(settings)
        self.credentials = UpstreamCredentials.from_file(settings.govdata_upstream_credentials_file)
        self.tokens = TokenCache(settings.data_token_cache_size)
        # Every worker of every replica allows its share: the grant's rate holds in total.
        self.limiter = RateLimiter(replicas=settings.gateway_rate_limit_replicas * settings.processes_serving())
        self.http: aiohttp.ClientSession | None = None
        self._drains: list[asyncio.Task[None]] = []
        self._headers_by_ref: dict[str | None, dict[str, str]] = {}
        self.max_response = settings.data_max_response_bytes

    @property
    def ready(self) -> bool:
        return self.feed.ready.is_set()

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(
            total=self.settings.data_upstream_timeout_seconds,
            sock_connect=self.settings.upstream_connect_timeout_seconds,
        )
        # Upstream allow-list (API.md "Data plane"): names are judged by the resolver after DNS, literals in handle().
        self.upstream_guard = UpstreamGuard.from_settings(self.settings)
        connector = aiohttp.TCPConnector(
            limit=self.settings.data_upstream_max_connections,
            limit_per_host=0,
            ttl_dns_cache=300,
            resolver=self.upstream_guard.resolver(),
        )
        # No cookie jar: a provider's cookie set in one holder's call must never ride along in another's.
        self.http = aiohttp.ClientSession(
            timeout=timeout,
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self.access.start()
        self._drains = [asyncio.create_task(left.drain(), name=f"drain {left.dir}") for left in self.access.left_over()]
        self.feed.start()
        global _GC_FROZEN
        if not _GC_FROZEN:
            # Everything loaded so far lives as long as the process: keep it out of the garbage collector's full
            # passes, which otherwise walk every module, model and key object and stall calls for tens of ms.
            _GC_FROZEN = True
            gc.collect()
            gc.freeze()

    async def stop(self) -> None:
        await self.feed.stop()
        for drain in self._drains:
            await cancel_and_wait(drain)
        await self.access.stop()
        if self.http is not None:
            await self.http.close()
            self.http = None

    # ---- refusals

    def _deny(
        self,
        call: _Call,
        status: int,
        denial: str,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> web.Response:
        _OUTCOMES[denial].inc()
        call.outcome = denial
        log.info("data call refused: %s (%s)", denial, status)
        return problem_response(status, code, detail, headers=headers, **extra)

    # ---- the handler

    async def handle(self, request: web.Request) -> web.Response:
        """Serve the call, then keep its access record; refuse it when the record cannot be kept."""
        started = time.perf_counter()
        now = time.time()
        access = self.access
        if access.refusing:
            ACCESS_REFUSED.inc()
            return problem_response(
                503, "access_log_unavailable", _ACCESS_LOG_UNAVAILABLE, headers={"Retry-After": "5"}
            )
        call = _Call()
        resource_id = request.match_info["resource_id"]
        response = await self._serve(request, call, now)
        claims, grant = call.claims, call.grant
        body = response.body
        kept = access.record(
            {
                "id": new_record_id(),
                "time": now_iso(now),
                "grant_id": grant.grant_id if grant else _str_or_none(claims.get("grant_id")),
                "client_id": _str_or_none(claims.get("client_id")),
                "system": grant.holder_system if grant else _str_or_none(claims.get("holder_system")),
                "holder_dept": grant.holder_dept if grant else _str_or_none(claims.get("holder_dept")),
                # Refused before the grant was known: the resource's provider still learns of the attempt.
                "provider_dept": grant.provider_dept if grant else self._provider_of(resource_id),
                "resource_id": mask_identifiers_in_text(resource_id[:200]),  # the caller's words, like the path
                "method": request.method[:16],
                "path": masked_path(request),
                "status": response.status,
                "outcome": call.outcome,
                "records": call.records,
                "bytes": len(body) if isinstance(body, bytes | bytearray) else 0,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "request_id": mask_identifiers_in_text(request[REQUEST_ID]),  # may be the caller's X-Request-ID
            }
        )
        if not kept:
            return problem_response(
                503, "access_log_unavailable", _ACCESS_LOG_UNAVAILABLE, headers={"Retry-After": "5"}
            )
        return response

    async def _serve(self, request: web.Request, call: _Call, now: float) -> web.Response:
        resource_id = request.match_info["resource_id"]
        if not self.feed.ready.is_set():
            call.outcome = "not_ready"
            _OUTCOMES["not_ready"].inc()
            return problem_response(
                503, "projection_not_ready", "网关尚未完成授权数据同步，请稍后重试", headers={"Retry-After": "1"}
            )

        # 1. the token
        header = request.headers.get("Authorization")
        scheme, _, token = header.partition(" ") if header else ("", "", "")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self._deny(
                call,
                401,
                "missing_token",
                "unauthenticated",
                "缺少授权访问令牌：请先以 scope=grant:<授权编号> 申请令牌，并在 Authorization 头中以 Bearer 方式提供",
                headers=_BEARER_CHALLENGE,
            )
        claims = self.tokens.get(token, now)
        if claims is None:
            TOKEN_VERIFICATIONS.inc()
            try:
                caller = await self.verifier.verify(token)
                claims = caller.claims
                exp = float(claims["exp"])
                if exp <= now:
                    raise Problem(401, "invalid_token", reason="expired")
                if not (
                    isinstance(claims.get("grant_id"), str)
                    and isinstance(claims.get("resource_id"), str)
                    and str(claims.get("scope", "")).startswith(GRANT_SCOPE_PREFIX)
                ):
                    raise Problem(401, "invalid_token", reason="not_a_grant_token")
            except Problem as problem:
                return self._deny(
                    call,
                    401,
                    "invalid_token",
                    "invalid_token",
                    "授权访问令牌无效或已过期，请重新申请",
                    headers=_INVALID_CHALLENGE,
                    reason=problem.extra.get("reason", "invalid"),
                )
            self.tokens.put(token, claims, exp)
        call.claims = claims

        # 2. the client, as the identity projection knows it now
        if self.identity.any_disabled and self.identity.refusal(claims) is not None:
            return self._deny(
                call,
                403,
                "client_disabled",
                "client_disabled",
                REFUSALS["client_disabled"],
            )

        # 3. the resource
        if claims["resource_id"] != resource_id:
            return self._deny(
                call,
                403,
                "wrong_resource",
                "wrong_resource",
                "该授权访问令牌不是为此数据资源签发的",
            )

        # 4. the grant, as the projection knows it now
        grant = self.projection.grants.get(claims["grant_id"])
        if grant is None or grant.holder_dept != claims.get("dept") or grant.resource_id != resource_id:
            return self._deny(
                call,
                403,
                "unknown_grant",
                "grant_not_active",
                "该共享授权不存在或已失效",
            )
        call.grant = grant
        if grant.status != "active":
            return self._deny(
                call,
                403,
                "grant_not_active",
                "grant_not_active",
                f"该共享授权当前状态为 {grant.status}，暂不能调用",
                grant_status=grant.status,
            )
        if not grant.in_window(now):
            return self._deny(
                call,
                403,
                "outside_window",
                "outside_window",
                f"当前不在授权期限（{grant.valid_from} 至 {grant.valid_to}）内",
            )

        # 5. the interface
        resource = self.projection.resources.get(resource_id)
        interface = resource.interface if resource is not None else None
        raw = request.rel_url.raw_path
        cut = raw.find("/", 6)  # "/data/<resource>/..."
        raw_tail = raw[cut:] if cut > 0 else "/"
        path = upstream_path(raw_tail) if interface is not None else None
        if interface is None or path is None or not interface.allows_path(path):
            return self._deny(
                call,
                403,
                "outside_interface",
                "outside_interface",
                "请求路径不在该数据资源开放的接口范围内" if resource is not None else "该数据资源当前未开放接口",
            )
        if request.method not in interface.methods:
            return self._deny(
                call,
                403,
                "outside_interface",
                "outside_interface",
                f"该数据资源的接口不支持 {request.method} 方法",
                allowed_methods=sorted(interface.methods),
            )

        # 6. the rate limit
        wait = self.limiter.take(grant.grant_id, interface.rate_limit)
        if wait > 0:
            return self._deny(
                call,
                429,
                "rate_limited",
                "rate_limited",
                f"调用过于频繁：该授权每秒最多 {interface.rate_limit} 次",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

        # forward (inline: this is the hot path)
        if self.upstream_guard.literal_refusal(interface.base_url) is not None:
            call.outcome = "upstream_not_allowed"
            return problem_response(502, "upstream_not_allowed", UPSTREAM_REFUSED_DETAIL)
        target = interface.base_url + raw_tail
        query = request.rel_url.raw_query_string
        if query:
            target += "?" + query
        headers = self._static_headers(interface.credential_ref)
        headers["X-Request-ID"] = request[REQUEST_ID]
        headers["X-Govdata-Grant-Id"] = grant.grant_id
        headers["X-Govdata-Holder-Dept"] = grant.holder_dept
        body = None
        if request.method == "POST":
            body = await request.read()
            content_type = request.headers.get("Content-Type")
            if content_type:
                headers["Content-Type"] = content_type
        assert self.http is not None
        started = time.perf_counter()
        try:
            async with self.http.request(
                request.method, URL(target, encoded=True), headers=headers, data=body, allow_redirects=False
            ) as upstream:
                status = upstream.status
                if status >= 300 or status < 200:
                    UPSTREAM_LATENCY.observe(time.perf_counter() - started)
                    call.outcome = "upstream_error"
                    return self._upstream_status(upstream)
                if status == 204:
                    UPSTREAM_LATENCY.observe(time.perf_counter() - started)
                    _OK.inc()
                    return web.Response(status=204)
                upstream_headers = upstream.headers
                media_type = upstream_headers.get("Content-Type", "").partition(";")[0].strip().lower()
                if media_type != "application/json" and not media_type.endswith("+json"):
                    UPSTREAM_LATENCY.observe(time.perf_counter() - started)
                    call.outcome = "unfilterable_response"
                    return self._unfilterable(f"上游返回了非 JSON 内容（{media_type[:60] or '无类型'}）")
                declared = upstream_headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) <= self.max_response:
                    raw = await upstream.read()
                else:
                    raw = await self._read_limited(upstream)
        except TimeoutError:
            call.outcome = "upstream_timeout"
            _OUTCOMES["upstream_timeout"].inc()
            log.warning("upstream of %s timed out", resource_id)
            return problem_response(504, "upstream_timeout", "数据提供方接口响应超时")
        except aiohttp.ClientConnectorDNSError as exc:  # the name resolved only outside the allow-list, or not at all
            if refused_by_allow_list(exc):
                call.outcome = "upstream_not_allowed"
                return problem_response(502, "upstream_not_allowed", UPSTREAM_REFUSED_DETAIL)
            call.outcome = "upstream_unavailable"
            _OUTCOMES["upstream_unavailable"].inc()
            log.warning("upstream of %s does not resolve: %s", resource_id, mask_identifiers_in_text(repr(exc)))
            return problem_response(502, "upstream_unavailable", "数据提供方接口暂不可达")
        except aiohttp.ClientError as exc:
            call.outcome = "upstream_unavailable"
            _OUTCOMES["upstream_unavailable"].inc()
            log.warning("upstream of %s unreachable: %s", resource_id, mask_identifiers_in_text(repr(exc)))
            return problem_response(502, "upstream_unavailable", "数据提供方接口暂不可达")
        UPSTREAM_LATENCY.observe(time.perf_counter() - started)
        if raw is None:
            call.outcome = "unfilterable_response"
            return self._unfilterable(f"上游响应超过 {self.max_response} 字节的上限")
        try:
            filtered = filter_document(orjson.loads(raw), grant.items)
        except (orjson.JSONDecodeError, Unfilterable):
            call.outcome = "unfilterable_response"
            return self._unfilterable("上游返回的 JSON 无法按授权数据项过滤")
        _OK.inc()
        call.records = count_records(filtered)
        return web.Response(body=orjson.dumps(filtered), status=status, headers=_JSON_HEADERS)

    def _provider_of(self, resource_id: str) -> str | None:
        resource = self.projection.resources.get(resource_id)
        return resource.provider_dept if resource is not None else None

    def _static_headers(self, credential_ref: str | None) -> dict[str, str]:
        """A fresh copy of what every call to an upstream with `credential_ref` carries."""
        static = self._headers_by_ref.get(credential_ref)
        if static is None:
            static = {"Accept": "application/json", "User-Agent": "govdata-gateway"}
            static.update(self.credentials.headers_for(credential_ref))
            self._headers_by_ref[credential_ref] = static
        return static.copy()

    async def _read_limited(self, upstream: aiohttp.ClientResponse) -> bytes | None:
        """The body, or None once it passes the limit (no or an oversized Content-Length: read in chunks)."""
        chunks = bytearray()
        async for chunk in upstream.content.iter_any():
            chunks += chunk
            if len(chunks) > self.max_response:
                return None
        return bytes(chunks)

    def _upstream_status(self, upstream: aiohttp.ClientResponse) -> web.Response:
        status = upstream.status
        _OUTCOMES["upstream_error"].inc()
        headers = {}
        retry_after = upstream.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            headers["Retry-After"] = retry_after
        if status < 400:  # a redirect (not followed: it could lead anywhere) or an informational status
            return problem_response(
                502, "upstream_error", f"数据提供方接口返回了无法转发的状态 {status}", upstream_status=status
            )
        return problem_response(
            status,
            "upstream_error",
            f"数据提供方接口返回错误（HTTP {status}）；其响应内容不予转发",
            headers=headers,
            upstream_status=status,
        )

    def _unfilterable(self, detail: str) -> web.Response:
        _OUTCOMES["unfilterable_response"].inc()
        return problem_response(502, "unfilterable_response", detail + "；为保证只返回授权数据项，本次响应不予转发")


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------------------------- wiring

DATAPLANE: web.AppKey[DataPlane] = web.AppKey("govdata_dataplane", DataPlane)


async def readyz(request: web.Request) -> web.Response:
    """Ready once the grant and resource projections are bootstrapped (503 until then), and while the access
    record spool takes records (a pod refusing data calls for a full spool leaves the load balancer's rotation)."""
    plane = request.app[DATAPLANE]
    if plane.ready and plane.access.refusing:
        return problem_response(503, "access_log_unavailable", _ACCESS_LOG_UNAVAILABLE, headers={"Retry-After": "5"})
    if plane.ready:
        return web.json_response({"status": "ok"})
    return problem_response(503, "not_ready", "网关尚未完成授权与资源数据的同步", headers={"Retry-After": "1"})


def setup_dataplane(app: web.Application, settings: GatewaySettings) -> DataPlane:
    """Add `/data/...`, the `grant:` scope and the projections to `app` (after `setup_identity`, whose registry
    database the identity projection starts from).

    Registers `/readyz` too; call it before `setup_health` so this one answers (aiohttp matches routes of the
    same path in registration order).
    """
    key = app[SIGNING_KEY]
    issuer = app[TOKEN_ISSUER]
    verifier = TokenVerifier(
        StaticKeySet(key.jwks()),
        issuer=settings.govdata_jwt_issuer,
        audience=settings.govdata_data_audience,
        algorithms=(ALGORITHM,),
    )
    registry_db = app[REGISTRY].db
    feed = ProjectionFeed(
        settings,
        Projection(),
        lambda: issuer.issue(GATEWAY_CLIENT).access_token,
        identity_snapshot=lambda: identity_snapshot(registry_db),
    )
    plane = DataPlane(settings, verifier, feed)
    app[DATAPLANE] = plane
    app[IDENTITY_PROJECTION] = plane.identity  # also read by the API routing and /api/identity
    register_scope_handler(
        app,
        GRANT_SCOPE_PREFIX,
        grant_scope_handler(
            plane.projection,
            feed.ready,
            audience=settings.govdata_data_audience,
            ttl_seconds=settings.govdata_grant_token_ttl_seconds,
        ),
    )

    async def lifecycle(_: web.Application):
        await plane.start()
        yield
        await plane.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_route("GET", "/data/{resource_id}/{path:.*}", plane.handle)
    app.router.add_route("POST", "/data/{resource_id}/{path:.*}", plane.handle)
    app.router.add_get("/readyz", readyz)
    return plane
