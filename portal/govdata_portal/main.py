"""App factory of the portal: `uvicorn govdata_portal.main:app` (or `python -m govdata_portal`).

At start-up: logging, the session key (generated in the data dir when missing and allowed), the HTTP client
towards the gateway and the verifier of the gateway's tokens (its JWKS).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from govdata_shared.auth import JWKSKeySet, TokenVerifier
from govdata_shared.errors import PROBLEM_JSON, Problem
from govdata_shared.http import RequestContextMiddleware
from govdata_shared.logs import configure_logging
from govdata_shared.service import utc_now
from govdata_shared.validation_messages import chinese_message
from starlette.exceptions import HTTPException as StarletteHTTPException

from govdata_portal import (
    access_records,
    catalog,
    demands,
    evaluation,
    home,
    messages,
    oversight,
    resources,
    responsibilities,
    sharing,
    signin,
    subscriptions,
    triggers,
    verification,
    work_reports,
)
from govdata_portal.auth import CsrfRefused, SigninRequired, delete_cookie, signin_location
from govdata_portal.gateway import ApiProblem, Gateway, GatewayUnavailable
from govdata_portal.pages import error_page
from govdata_portal.security import SecurityHeaders
from govdata_portal.session import SESSION_COOKIE, load_codec
from govdata_portal.settings import PortalSettings, get_portal_settings

log = logging.getLogger("govdata.portal")

STATIC = Path(__file__).parent / "static"
# The modules of pages, each with its `router`.
PAGES = (
    home,
    catalog,
    resources,
    demands,
    responsibilities,
    triggers,
    sharing,
    verification,
    oversight,
    evaluation,
    access_records,
    work_reports,
    messages,
    subscriptions,
    signin,
)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def _problem(status: int, code: str, detail: str, **extra) -> JSONResponse:
    return JSONResponse(Problem(status, code, detail, **extra).body(), status_code=status, media_type=PROBLEM_JSON)


async def _on_signin_required(request: Request, exc: SigninRequired) -> Response:
    if request.url.path == "/signout":  # 退出 with no session left: there is nothing more to end
        location = "/signed-out"
    else:
        location = signin_location(exc.next_path if request.method == "GET" else "/")
    if exc.clear_cookie:
        delete_cookie(request, SESSION_COOKIE)
    if request.headers.get("HX-Request") == "true":  # htmx would swap the login page into the results
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def _on_csrf(request: Request, _: CsrfRefused) -> Response:
    if _wants_json(request):
        return _problem(403, "csrf_token_invalid", "表单校验码缺失或不符", field="csrf", rule="csrf_token")
    return error_page(
        request,
        403,
        "表单已失效",
        "表单校验码缺失或不符（csrf），操作未执行。可能是页面已过期或请求并非来自本站，请返回重新操作。",
        errors=[{"field": "csrf", "rule": "csrf_token", "detail": "表单校验码缺失或不符"}],
    )


async def _on_api_problem(request: Request, problem: ApiProblem) -> Response:
    status = problem.status if 400 <= problem.status < 500 else 502
    if _wants_json(request):
        return JSONResponse(problem.body, status_code=status, media_type=PROBLEM_JSON)
    heading = {403: "无权访问", 404: "未找到"}.get(status, "请求未被接受")
    return error_page(request, status, heading, problem.detail, errors=problem.errors)


async def _on_unavailable(request: Request, _: GatewayUnavailable) -> Response:
    if _wants_json(request):
        return _problem(502, "bad_gateway", "平台服务暂不可用，请稍后重试")
    return error_page(request, 502, "服务暂不可用", "平台服务暂时没有响应，请稍后刷新重试。")


async def _on_http(request: Request, exc: StarletteHTTPException) -> Response:
    if _wants_json(request):
        return _problem(exc.status_code, "not_found" if exc.status_code == 404 else "error", str(exc.detail))
    if exc.status_code == 404:
        return error_page(request, 404, "页面不存在", "您访问的页面不存在，请从左侧导航进入。")
    return error_page(request, exc.status_code, "请求未被接受", str(exc.detail))


async def _on_validation(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        {"field": str(err["loc"][-1]), "rule": err.get("type", "invalid"), "detail": chinese_message(err)}
        for err in exc.errors()
    ]
    if _wants_json(request):
        first = errors[0]
        detail = "；".join(f"{e['field']}：{e['detail']}" for e in errors)
        return _problem(400, "validation_failed", detail, field=first["field"], rule=first["rule"], errors=errors)
    return error_page(request, 400, "请求参数有误", "请检查下列参数后重试。", errors=errors)


def create_app(
    settings: PortalSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The portal's app. `transport` (tests) replaces the network towards the gateway; `clock` moves time."""
    settings = settings or get_portal_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("portal", settings.log_level, settings.log_json)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per API call; the request log says enough
        app.state.codec = load_codec(settings.session_key_path(), generate=settings.portal_generate_session_key)
        base = settings.gateway_url.rstrip("/")
        async with httpx.AsyncClient(
            base_url=base, transport=transport, timeout=settings.portal_gateway_timeout_seconds
        ) as http:
            keys = JWKSKeySet(f"{base}/.well-known/jwks.json", settings.govdata_jwks_cache_seconds, http_client=http)
            verifier = TokenVerifier(keys, issuer=settings.govdata_jwt_issuer, audience=settings.govdata_jwt_audience)
            app.state.gateway = Gateway(settings, http, verifier)
            log.info("portal started (gateway %s, public %s)", base, settings.portal_public_url)
            yield

    app = FastAPI(title="共享平台门户", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.clock = clock
    app.add_exception_handler(SigninRequired, _on_signin_required)
    app.add_exception_handler(CsrfRefused, _on_csrf)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(GatewayUnavailable, _on_unavailable)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_middleware(SecurityHeaders, cookie_secure=settings.portal_cookie_secure)
    app.add_middleware(RequestContextMiddleware, service="portal", refuse_nul=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        ok = await request.app.state.gateway.ready()
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in PAGES:
        app.include_router(module.router)
    return app


app = create_app()
