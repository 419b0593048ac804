"""数据目录: the catalog's Chinese search with filters above and a pager below, and each resource's page.

The filters go to `GET /api/catalog/resources` as they are; the catalog service checks them and a refusal comes
back as the error summary naming the field. With htmx the search swaps only the results (`HX-Request`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from govdata_portal import labels
from govdata_portal.auth import CurrentSession, PersonApi, PersonApiDep
from govdata_portal.forms import field_errors, refusal
from govdata_portal.gateway import ApiProblem
from govdata_portal.pages import error_page, page_or_part, pager, render

router = APIRouter()

PAGE_SIZE = 20
RESULTS_ID = "catalog-results"

Text = Annotated[str | None, Query(max_length=100)]


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
    found, status = await search(api, "/catalog", filters, page)
    return page_or_part(
        request,
        "catalog/list.html",
        "catalog/_results.html",
        RESULTS_ID,
        status,
        title="数据目录",
        active="catalog",
        filters=filters,
        **found,
    )


async def search(api: PersonApi, path: str, filters: dict[str, str], page: str | None) -> tuple[dict[str, Any], int]:
    """The catalog searched with `filters` as the list at `path` shows it: its `results`, `pager` and `errors` (a
    refusal of a filter named in the error summary), and the page's status."""
    try:
        found = await api.get("/api/catalog/resources", **filters, page=page, size=PAGE_SIZE)
    except ApiProblem as problem:
        refused = refusal(problem, (400, 422))
        return {"results": [], "pager": None, "errors": field_errors(refused, labels.CATALOG_FIELDS)}, refused.status
    pages = pager(path, filters, found["total"], found["page"], found["size"])
    return {"results": found["items"], "pager": pages, "errors": []}, 200


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
