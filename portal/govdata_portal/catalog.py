"""数据目录: the catalog's Chinese search with filters above and a pager below, and each resource's page.

The filters go to `GET /api/catalog/resources` as they are; the catalog service checks them and a refusal comes
back as the error summary naming the field. With htmx the search swaps only the results (`HX-Request`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from govdata_portal import labels
from govdata_portal.auth import CurrentSession, PersonApiDep
from govdata_portal.gateway import ApiProblem
from govdata_portal.pages import error_page, render

router = APIRouter()

PAGE_SIZE = 20
RESULTS_ID = "catalog-results"

Text = Annotated[str | None, Query(max_length=100)]


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


def pager(filters: dict[str, str], total: int, page: int, size: int, window: int = 2) -> Pager:
    """Links to the pages around `page` (and the first and last), each keeping the filters."""

    def url(number: int) -> str:
        query = {k: v for k, v in filters.items() if v}
        if number > 1:
            query["page"] = str(number)
        return "/catalog" + (f"?{urlencode(query)}" if query else "")

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


def _field_errors(problem: ApiProblem) -> list[dict[str, Any]]:
    """The problem's errors with each field's name as the page shows it."""
    return [
        {
            **e,
            "label": labels.CATALOG_FIELDS.get(str(e.get("field")), str(e.get("field") or "")),
            "anchor": e.get("field"),
        }
        for e in problem.errors
    ] or [{"field": None, "label": "", "anchor": None, "detail": problem.detail}]


@router.get("/catalog")
async def catalog(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    q: Text = None,
    provider_dept: Text = None,
    category: Text = None,
    sharing_type: Text = None,
    page: Text = None,
) -> Response:
    filters = {
        "q": (q or "").strip(),
        "provider_dept": (provider_dept or "").strip(),
        "category": category or "",
        "sharing_type": sharing_type or "",
    }
    errors: list[dict[str, Any]] = []
    found: dict[str, Any] | None = None
    status = 200
    try:
        answer = await api.get("/api/catalog/resources", **filters, page=page, size=PAGE_SIZE)
        found = answer if isinstance(answer, dict) else None
    except ApiProblem as problem:
        if problem.status not in (400, 422):
            raise
        errors, status = _field_errors(problem), problem.status
    context: dict[str, Any] = {
        "filters": filters,
        "errors": errors,
        "results": found["items"] if found else [],
        "pager": pager(filters, found["total"], found["page"], found["size"]) if found else None,
        "results_id": RESULTS_ID,
    }
    partial = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == RESULTS_ID
    response = render(
        request,
        "catalog/_results.html" if partial else "catalog/list.html",
        status,
        title="数据目录",
        active="catalog",
        **context,
    )
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get("/catalog/{resource_id}")
async def resource_page(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    resource_id: Annotated[str, Path(max_length=64)],
) -> Response:
    try:
        resource = await api.get(f"/api/catalog/resources/{quote(resource_id, safe='')}")
    except ApiProblem as problem:
        if problem.status == 404:
            return error_page(request, 404, "未找到该数据资源", "该资源不存在，或尚未发布、您无权查看。")
        raise
    return render(request, "catalog/resource.html", title=resource["name"], active="catalog", resource=resource)
