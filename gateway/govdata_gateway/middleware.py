"""aiohttp middleware of the gateway: request id, access log, metrics, and problem+json for every failure."""

from __future__ import annotations

import functools
import logging
import os
import re
import time

from aiohttp import hdrs, web
from govdata_shared.errors import nul_in_target, nul_problem
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.logs import request_id_var, trace_id_var
from prometheus_client import Counter, Histogram

from govdata_gateway.problems import problem_response, render_problem

REQUEST_ID = web.RequestKey("request_id", str)
log = logging.getLogger("govdata.gateway")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_QUIET = {"/healthz", "/readyz"}
SERVER_NAME = "govdata-gateway"

GATEWAY_REQUESTS = Counter("govdata_gateway_requests_total", "Gateway requests", ["area", "method", "status"])
GATEWAY_LATENCY = Histogram(
    "govdata_gateway_request_duration_seconds",
    "Gateway latency",
    ["area"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Headers of aiohttp's own HTTP exceptions worth keeping on the problem (Allow on a 405, ...); the body is ours.
_OWN_BODY_HEADERS = frozenset({"content-type", "content-length"})


@functools.cache
def _counter(area: str, method: str, status: int):
    return GATEWAY_REQUESTS.labels(area, method, str(status))


@functools.cache
def _latency(area: str):
    return GATEWAY_LATENCY.labels(area)


def _area(path: str) -> str:
    if path.startswith("/data/"):  # the hot path first
        return "data"
    for prefix in (
        "/api/catalog",
        "/api/sharing",
        "/api/verification",
        "/api/audit",
        "/api/notify",
        "/api/identity",
        "/data",
        "/auth",
    ):
        if path == prefix or path.startswith(prefix + "/"):
            return prefix.strip("/").replace("/", "_")
    return "other"


async def hide_server_software(_: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: one `Server` header naming no software or version, instead of aiohttp's own
    ("Python/3.11 aiohttp/3.x") or whatever a service or the portal answered with ("uvicorn")."""
    response.headers[hdrs.SERVER] = SERVER_NAME


def choose_request_id(request: web.BaseRequest) -> str:
    """The caller's X-Request-ID when it is safe to log and forward, else a new one (128 random bits, as a
    uuid4's hex but without building the UUID object: this runs on every call)."""
    incoming = request.headers.get("X-Request-ID")
    return incoming if incoming and _SAFE_ID.fullmatch(incoming) else os.urandom(16).hex()


def _nul_outside_the_data_plane(request: web.Request) -> str | None:
    """Where a %00 is in the path or query of a call to the gateway's own routes (sign-in, identity, the services'
    pass-through): no Postgres text holds a NUL, and a lookup with one would fail as a 500. A data call keeps its
    path as sent: the data plane refuses NUL segments itself, and the access record keeps the rest."""
    if "%00" not in request.raw_path or request.path.startswith("/data/"):
        return None
    raw_path, _, raw_query = request.raw_path.partition("?")
    return nul_in_target(raw_path, raw_query)


@web.middleware
async def request_context(request: web.Request, handler) -> web.StreamResponse:
    request_id = choose_request_id(request)
    request[REQUEST_ID] = request_id
    rid = request_id_var.set(request_id)
    tid = trace_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        try:
            nul = _nul_outside_the_data_plane(request)
            response = render_problem(nul_problem(nul)) if nul is not None else await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:  # a redirect is an answer, not a failure
                status = exc.status
                exc.headers["X-Request-ID"] = request_id
                raise
            # aiohttp's own 404/405/413 become problem+json like every other error, keeping e.g. Allow.
            kept = {k: v for k, v in exc.headers.items() if k.lower() not in _OWN_BODY_HEADERS}
            response = problem_response(exc.status, detail=None, headers=kept)
        except Exception:
            if request.writer.output_size > 0:
                # The response has started: a problem can no longer be sent. aiohttp drops the connection.
                log.exception(
                    "error after the response started on %s %s",
                    request.method,
                    mask_identifiers_in_text(request.path),
                )
                raise
            log.exception("unhandled error on %s %s", request.method, mask_identifiers_in_text(request.path))
            response = problem_response(500, detail="网关内部错误，已记录")
        status = response.status
        if not response.prepared:
            response.headers["X-Request-ID"] = request_id
        return response
    finally:
        elapsed = time.perf_counter() - started
        path = request.path
        area = _area(path)
        method = request.method if request.method in _METHODS else "other"
        _counter(area, method, status).inc()
        _latency(area).observe(elapsed)
        # Successful data calls are counted in metrics and reported as aggregated access.usage events; a JSON
        # log line each would cost about a tenth of a millisecond per call, so they are logged at DEBUG.
        level = logging.DEBUG if status < 400 and area == "data" else logging.INFO
        if log.isEnabledFor(level) and path not in _QUIET:
            # A 身份证号 or 统一社会信用代码 in the path is masked in the record itself, not only by our formatters:
            # every handler sees the record. The query string is not logged at all.
            shown = mask_identifiers_in_text(path)
            log.log(
                level,
                "%s %s %s",
                request.method,
                shown,
                status,
                extra={
                    "method": request.method,
                    "path": shown,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
        request_id_var.reset(rid)
        trace_id_var.reset(tid)
