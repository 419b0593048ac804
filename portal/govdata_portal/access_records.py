"""访问记录: every data call through the gateway, served or refused, as audit-svc keeps it (第三十二条: users answer
for the data they pull, so who called which resource, when and with what result stays on record).

GET /access?grant_id=&client_id=&resource_id=&from=&to=&page=   the records, newest first

Auditors and the bureau read every record; a department's operators and heads read the calls to its resources
and the calls made under its grants. audit-svc decides what each person sees; the page only turns others away
before asking.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from govdata_shared.contracts.access import DENIAL_REASONS

from govdata_portal.auth import CurrentSession, PersonApiDep
from govdata_portal.forms import error_context
from govdata_portal.lists import department_names
from govdata_portal.oversight import dated_search
from govdata_portal.pages import forbidden, page_or_part, pager

router = APIRouter()

PAGE_SIZE = 50
RESULTS_ID = "access-results"
Text = Annotated[str | None, Query(max_length=100)]
ACCESS_FIELDS = {
    "grant_id": "授权编号",
    "client_id": "客户端",
    "resource_id": "资源编号",
    "from": "起始日期",
    "to": "截止日期",
    "page": "页码",
    "size": "每页条数",
}
FILTERS = ("grant_id", "client_id", "resource_id", "from", "to")
REFUSED = frozenset(DENIAL_REASONS)


def outcome_tone(outcome: str) -> str:
    """The tag's colour: green served, red refused by the gateway, orange failed on the provider's side."""
    if outcome == "ok":
        return "success"
    return "danger" if outcome in REFUSED else "warning"


def milliseconds(value: Any) -> str:
    """A call's duration as people read it: whole milliseconds, a tenth below ten."""
    try:
        ms = float(value)
    except (TypeError, ValueError):
        return ""
    return f"{ms:.1f}" if ms < 10 else f"{ms:.0f}"


def access_row(item: dict[str, Any]) -> dict[str, Any]:
    outcome = str(item.get("outcome") or "")
    return {
        "time": item["time"],
        "client_id": item.get("client_id") or "",
        "system": item.get("system") or "",
        "holder_dept": item.get("holder_dept") or "",
        "grant_id": item.get("grant_id") or "",
        "resource_id": item.get("resource_id") or "",
        "provider_dept": item.get("provider_dept") or "",
        "method": item.get("method") or "",
        "path": item.get("path") or "",  # masked by the gateway and again by audit-svc
        "status": item.get("status"),
        "outcome": outcome,
        "tone": outcome_tone(outcome),
        "records": item.get("records", 0),
        "duration": milliseconds(item.get("duration_ms")),
    }


@router.get("/access")
async def access_log(request: Request, session: CurrentSession, api: PersonApiDep, page: Text = None) -> Response:
    if not (session.has_role("bureau_admin", "auditor") or session.is_department_staff()):
        return forbidden(request, "访问记录供审计监督人员、县大数据局和相关部门的经办人、负责人查看（第三十二条）。")
    query = request.query_params
    filters = {name: (query.get(name) or "").strip()[:100] for name in FILTERS}
    found, errors, status = await dated_search(
        api, "/api/audit/access", filters, ("grant_id", "client_id", "resource_id"), ACCESS_FIELDS, page, PAGE_SIZE
    )
    names = await department_names(api, session) if found is not None else {}
    return page_or_part(
        request,
        "oversight/access.html",
        "oversight/_access_results.html",
        RESULTS_ID,
        status,
        title="访问记录",
        active="access",
        filters=filters,
        **error_context(errors),
        rows=[access_row(item) for item in (found or {}).get("items", [])],
        names=names,
        pager=pager("/access", filters, found["total"], found["page"], found["size"]) if found else None,
    )
