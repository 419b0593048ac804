"""problem+json responses for the gateway's aiohttp handlers (same shape as the services')."""

from __future__ import annotations

import orjson
from aiohttp import web
from govdata_shared.errors import PROBLEM_JSON, Problem


def problem_response(
    status: int,
    code: str | None = None,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra,
) -> web.Response:
    return render_problem(Problem(status, code, detail, headers=headers, **extra))


def render_problem(problem: Problem) -> web.Response:
    """The response for a `Problem` raised in a handler, with everything it carries."""
    return web.Response(
        body=orjson.dumps(problem.body()), status=problem.status, content_type=PROBLEM_JSON, headers=problem.headers
    )
