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
from govdata_portal.auth import CurrentSession, PersonApiDep
from govdata_portal.forms import field_errors
from govdata_portal.gateway import ApiProblem
from govdata_portal.pages import error_page, pager, render

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
    errors: list[dict[str, Any]] = []
    found: dict[str, Any] | None = None
    status = 200
    try:
        answer = await api.get("/api/catalog/resources", **filters, page=page, size=PAGE_SIZE)
        found = answer if isinstance(answer, dict) else None
    except ApiProblem as problem:
        if problem.status not in (400, 422):
            raise
        errors, status = field_errors(problem, labels.CATALOG_FIELDS), problem.status
    context: dict[str, Any] = {
        "filters": filters,
        "errors": errors,
        "results": found["items"] if found else [],
        "pager": pager("/catalog", filters, found["total"], found["page"], found["size"]) if found else None,
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
