"""Routing of `/api/<service>/...` to the four services: status, headers and body passed through, streamed.

The services verify the caller's token themselves (defence in depth); the gateway only forwards. Failures to
reach a service become problem+json 502 (unreachable) or 504 (timed out).
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from govdata_gateway.problems import problem_response

log = logging.getLogger("govdata.gateway.routing")

# RFC 9110 §7.6.1: connection-specific headers are not forwarded by a proxy.
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
        "Content-Length",
    )
)
SERVICES_KEY = web.AppKey("service_urls", dict)
CLIENT_KEY = web.AppKey("service_client", aiohttp.ClientSession)


def _forward_headers(request: web.Request) -> CIMultiDict[str]:
    headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
    peer = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    headers["X-Request-ID"] = request["request_id"]
    return headers


async def proxy_api(request: web.Request) -> web.StreamResponse:
    service = request.match_info["service"]
    base = request.app[SERVICES_KEY].get(service)
    if base is None:
        return problem_response(404, "unknown_service", f"没有名为 {service} 的服务")
    url = f"{base}{request.rel_url.raw_path}"
    if request.rel_url.raw_query_string:
        url += f"?{request.rel_url.raw_query_string}"
    body = request.content if request.body_exists else None
    client = request.app[CLIENT_KEY]
    try:
        async with client.request(
            request.method,
            url,
            headers=_forward_headers(request),
            data=body,
            allow_redirects=False,
            auto_decompress=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            if upstream.headers.get("Content-Length") is not None:
                response.content_length = int(upstream.headers["Content-Length"])
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except TimeoutError:
        log.warning("service %s timed out on %s %s", service, request.method, request.path)
        return problem_response(504, "upstream_timeout", f"{service} 服务响应超时")
    except aiohttp.ClientError as exc:
        log.warning("service %s unreachable: %s", service, exc)
        return problem_response(502, "upstream_unavailable", f"{service} 服务暂不可达")


def setup_routing(
    app: web.Application, service_urls: dict[str, str], connect_timeout: float, total_timeout: float
) -> None:
    app[SERVICES_KEY] = {name: url.rstrip("/") for name, url in service_urls.items()}

    async def client_context(app: web.Application):
        timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)
        connector = aiohttp.TCPConnector(limit=200, ttl_dns_cache=60)
        app[CLIENT_KEY] = aiohttp.ClientSession(timeout=timeout, connector=connector, auto_decompress=False)
        yield
        await app[CLIENT_KEY].close()

    app.cleanup_ctx.append(client_context)
    app.router.add_route("*", r"/api/{service}/{tail:.*}", proxy_api)
    app.router.add_route("*", r"/api/{service}", proxy_api)
