"""ASGI middleware every service installs: request id, trace id, access log, metrics, the body size limit and
the refusal of NUL characters.

Written as plain ASGI (not BaseHTTPMiddleware) so streaming bodies pass through untouched and cheaply; only a
JSON body is read whole first, to look for NUL characters, and then handed on as it came.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import orjson
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govdata_shared.errors import PROBLEM_JSON, Problem, nul_in_document, nul_in_target, nul_problem
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.logs import request_id_var, trace_id_var

log = logging.getLogger("govdata.http")

HTTP_REQUESTS = Counter("govdata_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "govdata_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _trace_from_traceparent(value: str | None) -> str | None:
    # W3C traceparent: version-traceid-parentid-flags
    if value:
        parts = value.split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            return parts[1]
    return None


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, service: str, max_body_bytes: int = 10 * 1024 * 1024, *, refuse_nul: bool = True
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        # The services refuse NUL characters here; the portal keeps nothing and lets the services' 422s name
        # the field in its own error summary.
        self.refuse_nul = refuse_nul

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else uuid.uuid4().hex
        trace_id = _trace_from_traceparent(_header(scope, b"traceparent")) or request_id
        rid_token = request_id_var.set(request_id)
        tid_token = trace_id_var.set(trace_id)
        started = time.perf_counter()
        status = 500
        too_large = Problem(413, "payload_too_large", f"请求体超过上限 {self.max_body_bytes} 字节")

        async def refuse(problem: Problem) -> None:
            await self._problem(scope, send, request_id, problem)
            request_id_var.reset(rid_token)
            trace_id_var.reset(tid_token)

        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            await refuse(too_large)
            return
        nul = _nul_in_query_or_path(scope) if self.refuse_nul else None
        if nul is None and self.refuse_nul and _is_json(scope):
            # The whole JSON body first (the limit above holds): a NUL escaped in it reaches the handler as a
            # string that Postgres cannot store, and the insert would fail as a 500 after the handler's checks.
            body, more = b"", True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > self.max_body_bytes:
                    await refuse(too_large)
                    return
            nul = _nul_in_json(body)
            receive = _replay(body, receive)
        if nul is not None:
            await refuse(nul_problem(nul))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise too_large
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(self.service, scope["method"], route_path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], route_path).observe(elapsed)
            if scope["path"] not in _QUIET_PATHS:
                # Identifiers in the path (/api/verification/... may carry a 身份证号) are masked in the record
                # itself, so no handler ever sees them; the query string is not logged.
                shown = mask_identifiers_in_text(scope["path"])
                log.info(
                    "%s %s %s",
                    scope["method"],
                    shown,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": shown,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(rid_token)
            trace_id_var.reset(tid_token)

    async def _problem(self, scope: Scope, send: Send, request_id: str, problem: Problem) -> None:
        """Answer before the app runs (a body too large, a NUL character), counted and logged like the rest."""
        HTTP_REQUESTS.labels(self.service, scope["method"], "unmatched", str(problem.status)).inc()
        shown = mask_identifiers_in_text(scope["path"])
        log.info("%s %s %s", scope["method"], shown, problem.status, extra={"path": shown, "status": problem.status})
        await send(
            {
                "type": "http.response.start",
                "status": problem.status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"x-request-id", request_id.encode())],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(problem.body())})


# ---- NUL characters: no Postgres text column holds one, so they are refused at the door, by field


def _nul_in_query_or_path(scope: Scope) -> str | None:
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    return nul_in_target(raw_path, scope.get("query_string", b"").decode("latin-1"))


def _is_json(scope: Scope) -> bool:
    kind = _header(scope, b"content-type") or ""
    return scope["method"] in ("POST", "PUT", "PATCH") and "json" in kind.split(";")[0].lower()


def _nul_in_json(body: bytes) -> str | None:
    if b"\\u0000" not in body:  # the only way JSON carries a NUL
        return None
    try:
        return nul_in_document(orjson.loads(body))
    except orjson.JSONDecodeError:
        return None  # FastAPI answers the malformed body itself


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then what the server sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
