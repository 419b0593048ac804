"""The error model: every 4xx/5xx is `application/problem+json` (RFC 9457).

A problem carries `type`, `title`, `status`, `detail` (Chinese, for people) and `code` (stable English, for
programs). Validation problems also name each failing `field` and the `rule` it broke.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.validation_messages import chinese_message

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://govdata.yichuan.gov.cn/problems/"

log = logging.getLogger("govdata.errors")

_STATUS_CODES = {
    400: ("bad_request", "请求无效"),
    401: ("unauthenticated", "未认证或令牌无效"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持的请求方法"),
    409: ("conflict", "与现有数据冲突"),
    413: ("payload_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_failed", "输入数据不符合规则"),
    429: ("rate_limited", "请求过于频繁"),
    500: ("internal_error", "服务器内部错误"),
    502: ("bad_gateway", "上游服务不可用"),
    503: ("unavailable", "服务暂不可用"),
    504: ("gateway_timeout", "上游服务超时"),
}


class Problem(Exception):
    """A failure to report to the caller as problem+json.

    Raise it from anywhere in a request; the installed handler renders it.
    """

    def __init__(
        self,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        *,
        title: str | None = None,
        field: str | None = None,
        rule: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        default_code, default_title = _STATUS_CODES.get(status, ("error", "错误"))
        self.status = status
        self.code = code or default_code
        self.title = title or default_title
        self.detail = detail or self.title
        self.field = field
        self.rule = rule
        self.headers = headers or {}
        self.extra = extra
        super().__init__(f"{status} {self.code}: {self.detail}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.field is not None:
            body["field"] = self.field
        if self.rule is not None:
            body["rule"] = self.rule
        if self.field is not None and self.rule is not None and "errors" not in self.extra:
            body["errors"] = [{"field": self.field, "rule": self.rule, "detail": self.detail}]
        body.update(self.extra)
        return body


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    """One 422 naming every field and rule; `errors` items need `field`, `rule` and `detail`."""
    first = errors[0]
    detail = "；".join(f"{e['field']}：{e['detail']}" for e in errors)
    return Problem(422, "validation_failed", detail, field=first["field"], rule=first["rule"], errors=errors)


# A NUL character (U+0000): no Postgres text column holds one, so it is refused where text comes in, by field.
NUL_RULE = "no_nul_character"


def nul_problem(field: str) -> Problem:
    return validation_problem([{"field": field, "rule": NUL_RULE, "detail": "不能包含空字符（U+0000）"}])


def nul_in_query(query: str) -> str | None:
    """The parameter of a raw query string that holds a NUL (percent-encoded as %00)."""
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return "query"


def nul_in_target(raw_path: str, query: str) -> str | None:
    """Where an undecoded path and query carry a NUL (as %00): "path", the query parameter, or None."""
    return "path" if "%00" in raw_path else nul_in_query(query)


def nul_in_document(document: Any) -> str | None:
    """The dotted field (items.0.name) of the first string, key or value, holding a NUL; None when none does."""

    def find(value: Any, at: list[str]) -> list[str] | None:
        if isinstance(value, str):
            return at if "\x00" in value else None
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return [*at, key.replace("\x00", "")]
                if (found := find(item, [*at, key])) is not None:
                    return found
        if isinstance(value, list):
            for index, item in enumerate(value):
                if (found := find(item, [*at, str(index)])) is not None:
                    return found
        return None

    found = find(document, [])
    return None if found is None else ".".join(found) or "body"


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def _pydantic_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {
                "field": _field_of(err.get("loc", ())),
                "rule": err.get("type", "invalid"),
                "detail": chinese_message(err),
            }
        )
    return out


async def _on_problem(_: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc)


async def _on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    return problem_response(validation_problem(_pydantic_errors(exc)))


async def _on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found",) else None
    problem = Problem(exc.status_code, detail=detail, headers=dict(exc.headers or {}))
    return problem_response(problem)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, mask_identifiers_in_text(request.url.path))
    return problem_response(Problem(500, detail="服务器内部错误，已记录，请稍后重试"))


async def _on_integrity(request: Request, exc: IntegrityError) -> JSONResponse:
    # A concurrent change won a uniqueness race the service's own checks could not see: a conflict, not a crash.
    log.warning(
        "integrity conflict on %s %s: %s",
        request.method,
        mask_identifiers_in_text(request.url.path),
        mask_identifiers_in_text(str(exc.orig)),  # the row's values may be named
    )
    return problem_response(Problem(409, "conflict", "与同时提交的其他修改冲突，请刷新后重试"))


async def _on_database(request: Request, exc: DBAPIError) -> JSONResponse:
    if not exc.connection_invalidated:
        return await _on_unexpected(request, exc)
    # The connection was cut (a failover, PgBouncer restarting): the pool has dropped it and every connection
    # opened before it; the next request connects afresh (govdata_shared.db: no ping before each use).
    log.warning("database connection lost on %s %s", request.method, mask_identifiers_in_text(request.url.path))
    return problem_response(
        Problem(503, "database_unavailable", "数据库连接中断，请稍后重试", headers={"Retry-After": "1"})
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(DBAPIError, _on_database)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
