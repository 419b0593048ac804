"""Reading what the API gives in pieces or by code: a paged list gathered whole, the catalog's resources named by id
in other lists, and the names of department codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from govdata_portal.auth import PersonApi
from govdata_portal.gateway import ApiProblem, GatewayUnavailable
from govdata_portal.session import Session

API_PAGE_SIZE = 100  # the most the API gives per page
API_PAGES_READ = 20  # a list gathered whole stops after this many pages of the API (2000 entries)


async def gather_all(api: PersonApi, path: str, **params: Any) -> tuple[list[dict[str, Any]], bool]:
    """Every entry of a paged list of the API (up to API_PAGES_READ pages) and whether some were left."""
    first = await api.get(path, **params, page=1, size=API_PAGE_SIZE)
    items = list(first["items"])
    pages = min(-(-first["total"] // API_PAGE_SIZE), API_PAGES_READ)
    for number in range(2, pages + 1):
        items.extend((await api.get(path, **params, page=number, size=API_PAGE_SIZE))["items"])
    return items, first["total"] > len(items)


async def read_each(api: PersonApi, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Several GETs (path, params) at once: each one's answer, or None where the service refused or did not answer
    (the page names what it could not read and still shows the rest). The way to sign-in, or a fault, propagates."""
    answers = await asyncio.gather(*(api.get(path, **params) for path, params in calls), return_exceptions=True)
    bodies = []
    for answer in answers:
        if isinstance(answer, BaseException) and not isinstance(answer, ApiProblem | GatewayUnavailable):
            raise answer
        bodies.append(None if isinstance(answer, BaseException) else answer)
    return bodies


def resource_path(resource_id: str) -> str:
    return f"/api/catalog/resources/{quote(resource_id, safe='')}"


async def catalog_resource(api: PersonApi, resource_id: str, *, missing: tuple[int, ...]) -> dict[str, Any] | None:
    """The catalog's resource, or None when the API answers one of `missing` (not there, or not for this person);
    other refusals propagate."""
    if not resource_id:
        return None
    try:
        return await api.get(resource_path(resource_id))
    except ApiProblem as problem:
        if problem.status in missing:
            return None
        raise


async def catalog_resources(api: PersonApi, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The catalog's view of each resource a list names by id (for its name and its items' names); one that cannot be
    read is left out and the page shows its id instead."""
    unique = list(dict.fromkeys(i for i in ids if i))
    answers = await read_each(api, [(resource_path(i), {}) for i in unique])
    return {i: answer for i, answer in zip(unique, answers, strict=True) if isinstance(answer, dict)}


def item_names(resource: dict[str, Any] | None) -> dict[str, str]:
    """A resource's 信息项 codes to their names."""
    return {i["code"]: i.get("name") or i["code"] for i in (resource or {}).get("items", [])}


STAFF_ROLES = ("bureau_admin", "auditor", "dept_operator", "dept_head")


async def department_names(api: PersonApi, session: Session) -> dict[str, str]:
    """Department codes to names, from the registry (staff may read it); none for others, or when the registry does
    not answer — the codes alone still name every department."""
    if not session.has_role(*STAFF_ROLES):
        return {}
    try:
        answer = await api.get("/api/identity/departments")
    except (ApiProblem, GatewayUnavailable):
        return {}
    return {d["code"]: d.get("name") or d["code"] for d in answer.get("items", []) if d.get("code")}
