"""Rendering: the Jinja2 environment (templates by page, partials for what repeats), the filters that turn the
API's values into what people read, and the error pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from govdata_shared.workdays import SHANGHAI, today_in_shanghai
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from govdata_portal import labels
from govdata_portal.forms import anchor_of
from govdata_portal.navigation import navigation_for, navigation_sections

TEMPLATES = Path(__file__).parent / "templates"
HTMX_VERSION = "2.0.11"


def _parse_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def shanghai_datetime(value: Any) -> str:
    """A timestamp of the API (UTC) as the local time in Yichuan: `2026-11-26 10:00`."""
    moment = _parse_datetime(value)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def shanghai_date(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10:
        return value
    moment = _parse_datetime(value)
    return moment.astimezone(SHANGHAI).date().isoformat() if moment else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        datetime=shanghai_datetime,
        date=shanghai_date,
        label=lambda value, table: labels.label(table, value),
        tone=labels.tone,
        anchor=anchor_of,
    )
    env.globals.update(labels=labels, htmx_version=HTMX_VERSION)
    return env


ENV = _environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` with the layout's context: who is signed in, their navigation and CSRF token."""
    session = getattr(request.state, "session", None)
    roles = session.roles if session else ()
    html = ENV.get_template(template).render(
        request=request,
        session=session,
        csrf=session.csrf if session else "",
        navigation=navigation_sections(navigation_for(roles)) if session else [],
        role_names=[labels.label(labels.ROLES, r) for r in roles],
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def page_or_part(
    request: Request, template: str, part: str, part_id: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The page `template`, or only its part `part` (the element `part_id`, e.g. a list) when htmx asks for that
    element: the pager's links and the filters swap the list alone. The template knows the element as `results_id`."""
    partial = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == part_id
    response = render(request, part if partial else template, status_code, results_id=part_id, **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def today_of(request: Request) -> date:
    """Today in Yichuan (Asia/Shanghai) by the app's clock, which tests move."""
    return today_in_shanghai(request.app.state.clock())


def error_page(
    request: Request,
    status_code: int,
    heading: str,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    signin_link: bool = False,
) -> HTMLResponse:
    """An error explained in Chinese; `errors` (field, rule, detail) become the error summary."""
    return render(
        request,
        "error.html",
        status_code,
        heading=heading,
        message=message,
        errors=errors or [],
        signin_link=signin_link,
        title=heading,
    )


def forbidden(request: Request, message: str) -> HTMLResponse:
    """403, and in Chinese what the page is for and who may use it."""
    return error_page(request, 403, "无权访问", message)


# --------------------------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool


@dataclass(frozen=True)
class Pager:
    total: int
    page: int
    pages: int
    previous: str | None
    next: str | None
    links: list[PageLink]


def pager(path: str, filters: dict[str, str], total: int, page: int, size: int, window: int = 2) -> Pager:
    """Links to the pages of the list at `path` around `page` (and the first and last), each keeping the filters."""

    def url(number: int) -> str:
        query = {k: v for k, v in filters.items() if v}
        if number > 1:
            query["page"] = str(number)
        return path + (f"?{urlencode(query)}" if query else "")

    pages = max(1, -(-total // size))
    shown = sorted({1, pages, *range(max(1, page - window), min(pages, page + window) + 1)})
    return Pager(
        total=total,
        page=page,
        pages=pages,
        previous=url(page - 1) if page > 1 else None,
        next=url(page + 1) if page < pages else None,
        links=[PageLink(n, url(n), n == page) for n in shown],
    )


def page_of(items: list[Any], page: int | str | None, size: int) -> tuple[list[Any], int]:
    """One page of a list the API gives whole (or the portal gathered): the page's items and the page number."""
    try:
        number = max(1, int(page or 1))
    except ValueError:
        number = 1
    number = min(number, max(1, -(-len(items) // size)))
    return items[(number - 1) * size : number * size], number


def paged(
    items: list[Any], page: int | str | None, path: str, filters: dict[str, str], size: int
) -> tuple[list[Any], Pager]:
    """One page of a whole list and the pager below it (its links keep `filters`)."""
    shown, number = page_of(items, page, size)
    return shown, pager(path, filters, len(items), number, size)
