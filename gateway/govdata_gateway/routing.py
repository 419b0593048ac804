"""Routing of `/api/<service>/...` to the services, and of every path the gateway does not own to the portal
(共享平台门户, `PORTAL_URL`): status, headers and body passed through, streamed.

The services verify the caller's token themselves (defence in depth); the gateway only forwards — except that a
token of a client or person the bureau disabled is refused here (403 `client_disabled`/`user_disabled`, from the
identity projection, so every replica refuses it within a second). Deciding only a refusal, the gateway reads the
token's `sub`/`client_id` without verifying it: a forged token gains nothing, the service still verifies it.
Failures to reach a service become problem+json 502 (unreachable) or 504 (timed out).

- Path and query go upstream byte for byte: no re-quoting, no folding of dot segments.
- Request bodies are streamed, never buffered, and still held to the app's `client_max_size`
  (`max_request_body_bytes`): a declared Content-Length over it is refused before anything is forwarded (also in
  answer to `Expect: 100-continue`), a chunked body is cut off the moment it passes it — 413 either way.
- `upstream_timeout_seconds` bounds how long a service may stay silent: for its response once the request has
  been sent, and between two pieces of a streamed response. A download that keeps flowing may take longer.
- If a service fails after the response has started, the client connection is cut, so the client sees an
  incomplete response rather than a truncated one passed off as whole.

Paths of a service meant only for the gateway itself (`/api/<service>/internal/...`), and paths whose dot
segments would lead out of `/api/<service>/`, are not passed on: 404 (`public_api_path`).

The portal gets what no route of the gateway answers, outside the gateway's own prefixes (`OWN_PREFIXES`: there
an unknown path stays the gateway's 404, a wrong method its 405). It is proxied exactly as a service is; while it
cannot be reached the answer is 503 (504 when it stays silent), a Chinese page for a browser, problem+json for
anything else.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import hdrs, web
from govdata_shared.identifiers import mask_identifiers_in_text
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from govdata_gateway.middleware import REQUEST_ID, choose_request_id
from govdata_gateway.problems import problem_response
from govdata_gateway.projection import IDENTITY_PROJECTION, REFUSALS
from govdata_gateway.signin import pages

log = logging.getLogger("govdata.gateway.routing")

# RFC 9110 §7.6.1: connection-specific headers are not forwarded by a proxy (plus those the Connection header
# names, see `_connection_specific`).
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
    )
)
# Set anew for each hop rather than copied.
_REFRAMED = frozenset({"host", "content-length"})
# aiohttp's client adds these unless told not to; the upstream must see only what the client sent.
_NO_AUTO_HEADERS = (hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.USER_AGENT, hdrs.CONTENT_TYPE)

SERVICES_KEY = web.AppKey("service_urls", dict)
CLIENT_KEY = web.AppKey("service_client", aiohttp.ClientSession)
PORTAL_KEY = web.AppKey("portal_url", str)  # "" when the gateway serves no portal
# First path segments the gateway answers itself; everything else belongs to the portal. `metrics` stays one
# though Prometheus metrics are served on their own listener (health.py): `/metrics` here is the gateway's 404.
OWN_PREFIXES = frozenset({"auth", "api", "data", ".well-known", "healthz", "readyz", "metrics"})
PORTAL_RETRY_AFTER_SECONDS = 5

Failure = Callable[[bool], web.Response]
"""The answer when an upstream cannot be reached (False) or stays silent too long (True)."""


class _BodyTooLarge(Exception):
    """A streamed request body passed the limit."""


def _connection_specific(headers: CIMultiDict[str] | CIMultiDictProxy[str]) -> frozenset[str]:
    """Hop-by-hop headers plus every header the Connection header names."""
    named = {token.strip().lower() for value in headers.getall(hdrs.CONNECTION, ()) for token in value.split(",")}
    return HOP_BY_HOP | _REFRAMED | (named - {""})


def _forward_headers(request: web.Request) -> CIMultiDict[str]:
    drop = _connection_specific(request.headers)
    headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in drop)
    peer = request.remote or ""
    prior = ", ".join(request.headers.getall("X-Forwarded-For", ()))
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    headers["X-Request-ID"] = request[REQUEST_ID]
    if request.body_exists and request.content_length is not None:
        # A declared length is kept, so the service gets the body as the client framed it.
        headers[hdrs.CONTENT_LENGTH] = str(request.content_length)
    return headers


def _too_large(limit: int) -> web.Response:
    return problem_response(413, "payload_too_large", f"请求体超过 {limit} 字节的上限")


def _declared_too_large(request: web.BaseRequest) -> bool:
    limit = request.client_max_size
    return bool(limit) and request.content_length is not None and request.content_length > limit


async def _capped(request: web.Request, limit: int, exceeded: list[bool]) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.content.iter_any():
        received += len(chunk)
        if limit and received > limit:
            exceeded.append(True)
            raise _BodyTooLarge(f"request body over {limit} bytes")
        yield chunk


async def _expect_continue(request: web.Request) -> web.StreamResponse | None:
    """`Expect: 100-continue`: refuse a body declared too large before the client sends it.

    Runs before the middleware, so a refusal here carries its own request id.
    """
    refusal: web.Response | None = None
    if _declared_too_large(request):
        refusal = _too_large(request.client_max_size)
        refusal.force_close()  # the body will not follow
    elif request.version == aiohttp.HttpVersion11 and request.headers.get(hdrs.EXPECT, "").lower() != "100-continue":
        refusal = problem_response(417, "expectation_failed", "仅支持 Expect: 100-continue")
    if refusal is not None:
        refusal.headers["X-Request-ID"] = choose_request_id(request)
        return refusal
    if request.version == aiohttp.HttpVersion11:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the 100 is not the start of the response
    return None


def _cut(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """End a response that has started but cannot be completed: close the connection under it."""
    response.force_close()
    if request.transport is not None:
        request.transport.close()
    return response


def unverified_claims(authorization: str | None) -> dict[str, Any] | None:
    """The claims of a Bearer JWT, read without checking anything; None when it is not one."""
    scheme, _, token = (authorization or "").partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3 or len(parts[1]) > 16_384:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


async def proxy_api(request: web.Request) -> web.StreamResponse:
    service = request.match_info["service"]
    base = request.app[SERVICES_KEY].get(service)
    if base is None:
        return problem_response(404, "unknown_service", f"没有名为 {service} 的服务")
    if not public_api_path(request.match_info.get("tail", "")):
        return problem_response(404)
    identity = request.app.get(IDENTITY_PROJECTION)
    if identity is not None and identity.any_disabled:
        claims = unverified_claims(request.headers.get(hdrs.AUTHORIZATION))
        refusal = identity.refusal(claims) if claims is not None else None
        if refusal is not None:
            log.info("refused %s %s: token of a disabled account (%s)", request.method, _shown(request), refusal)
            return problem_response(403, refusal, REFUSALS[refusal])

    def failure(timed_out: bool) -> web.Response:
        if timed_out:
            return problem_response(504, "upstream_timeout", f"{service} 服务响应超时")
        return problem_response(502, "upstream_unavailable", f"{service} 服务暂不可达")

    return await forward(request, base, service, failure)


def public_api_path(tail: str) -> bool:
    """Whether `tail` (the decoded path after `/api/<service>/`) may be passed to the service from outside.

    The services' `/api/<service>/internal/...` routes are for the gateway's own projections, which call the
    services directly, never through this port: here they are a 404 like any unknown path, however the path is
    spelt (`%69nternal`, `//internal`, `x/../internal`). The path still goes upstream byte for byte, dot segments
    and all; but one whose dot segments, folded, would leave `/api/<service>/` (towards a service's `/metrics`) is
    refused too, in case anything on the way folds them.
    """
    folded: list[str] = []
    for segment in tail.split("/"):
        if segment == "..":
            if not folded:
                return False
            folded.pop()
        elif segment not in ("", "."):
            folded.append(segment)
    return not folded or folded[0] != "internal"


def _shown(request: web.Request) -> str:
    """The request's path as logged: identifiers masked (a 身份证号 may be part of a path)."""
    return mask_identifiers_in_text(request.path)


def owned_by_gateway(path: str) -> bool:
    """Whether `path` (decoded, as routed) lies under one of the gateway's own prefixes."""
    return path.split("/", 2)[1] in OWN_PREFIXES


@web.middleware
async def portal_fallback(request: web.Request, handler) -> web.StreamResponse:
    """Send to the portal what no route of the gateway answers, outside the gateway's own prefixes."""
    unmatched = request.match_info.http_exception
    if unmatched is None or unmatched.status != 404 or owned_by_gateway(request.path):
        return await handler(request)
    portal = request.app.get(PORTAL_KEY)
    if not portal:
        return await handler(request)
    return await forward(request, portal, "portal", lambda timed_out: _portal_failure(request, timed_out))


def _portal_failure(request: web.Request, timed_out: bool) -> web.Response:
    if timed_out:
        status, code, detail = 504, "upstream_timeout", "门户响应超时，请稍后刷新重试。"
    else:
        status, code, detail = 503, "portal_unavailable", "门户暂时无法访问，请稍后刷新重试。"
    retry = {"Retry-After": str(PORTAL_RETRY_AFTER_SECONDS)}
    if _prefers_html(request):
        heading = "门户暂时无法访问"
        return pages.render(heading, pages.message_body(heading, detail), status=status, headers=retry)
    return problem_response(status, code, detail, headers=retry)


def _prefers_html(request: web.Request) -> bool:
    """A browser navigating (Accept names text/html) gets a page rather than problem+json."""
    return "text/html" in request.headers.get(hdrs.ACCEPT, "")


async def forward(request: web.Request, base: str, name: str, failure: Failure) -> web.StreamResponse:
    """Pass `request` on to the upstream at `base` (named `name` in logs) and its response back, both streamed."""
    limit = request.client_max_size
    if _declared_too_large(request):
        return _too_large(limit)
    target = request.rel_url.raw_path
    if request.rel_url.raw_query_string:
        target += f"?{request.rel_url.raw_query_string}"
    url = URL(f"{base}{target}", encoded=True)
    exceeded: list[bool] = []
    body = _capped(request, limit, exceeded) if request.body_exists else None
    client = request.app[CLIENT_KEY]
    try:
        upstream = await client.request(
            request.method,
            url,
            headers=_forward_headers(request),
            data=body,
            allow_redirects=False,
            auto_decompress=False,
            skip_auto_headers=_NO_AUTO_HEADERS,
        )
    except (TimeoutError, aiohttp.ClientError) as exc:
        if exceeded:
            return _too_large(limit)
        if isinstance(exc, TimeoutError):
            log.warning("%s timed out on %s %s", name, request.method, _shown(request))
            return failure(True)
        log.warning("%s unreachable: %s", name, mask_identifiers_in_text(repr(exc)))  # may name the URL
        return failure(False)

    async with upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        drop = _connection_specific(upstream.headers)
        for key, value in upstream.headers.items():
            if key.lower() not in drop:
                response.headers.add(key, value)
        response.headers["X-Request-ID"] = request[REQUEST_ID]
        declared = upstream.headers.get(hdrs.CONTENT_LENGTH)
        if declared is not None and declared.isdigit():
            response.content_length = int(declared)
        await response.prepare(request)
        while True:
            try:
                chunk = await upstream.content.readany()
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning(
                    "%s broke off its response to %s %s: %s",
                    name,
                    request.method,
                    _shown(request),
                    mask_identifiers_in_text(repr(exc)),
                )
                return _cut(request, response)
            if not chunk:
                break
            try:
                await response.write(chunk)
            except ConnectionError:
                log.info("client left during the response to %s %s", request.method, _shown(request))
                return _cut(request, response)
        await response.write_eof()
        return response


def setup_routing(
    app: web.Application,
    service_urls: dict[str, str],
    connect_timeout: float,
    total_timeout: float,
    portal_url: str = "",
) -> None:
    """Route `/api/<service>/...` and, unless `portal_url` is empty, what the gateway does not own to the portal
    (through `portal_fallback`, which the app lists among its middlewares); `total_timeout` is how long an
    upstream may stay silent (see the module doc)."""
    app[SERVICES_KEY] = {name: url.rstrip("/") for name, url in service_urls.items()}
    app[PORTAL_KEY] = portal_url.rstrip("/")

    async def client_context(app: web.Application):
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=total_timeout)
        connector = aiohttp.TCPConnector(limit=200, ttl_dns_cache=60)
        app[CLIENT_KEY] = aiohttp.ClientSession(timeout=timeout, connector=connector, auto_decompress=False)
        yield
        await app[CLIENT_KEY].close()

    app.cleanup_ctx.append(client_context)
    app.router.add_route("*", r"/api/{service}/{tail:.*}", proxy_api, expect_handler=_expect_continue)
    app.router.add_route("*", r"/api/{service}", proxy_api, expect_handler=_expect_continue)
