"""What every form page shares: reading the posted form, turning the API's refusal into errors next to the fields
(named in Chinese, linked from the error summary), and the redirect after a change with its notice.

A form posts to the portal, the portal calls the API as the person, and:
- on success it redirects (303, so a reload does not post again) to a page with `?notice=<key>`; the page looks
  the key up in its own table of notices, so no text from the address bar is ever shown;
- on a refusal it renders the same form again with what was typed and the API's errors: the summary on top
  (GOV.UK's pattern) and each message beside its field (`errors_by_field`).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData, UploadFile

from govdata_portal.gateway import ApiProblem

_INDEX = re.compile(r"\.(\d+)(?=\.|$)")
# The API's answers a person puts right on the form they sent: invalid (400, 422) or in conflict (409).
FORM_REFUSALS = (400, 409, 422)


def anchor_of(field: str) -> str:
    """The id of the input of an API field: `items.0.code` → `items-0-code` (a valid, CSS-safe id)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", field)


def label_of(field: str, field_labels: dict[str, str]) -> str:
    """The field's name in Chinese: `items.1.code` → 「信息项第 2 行 信息项代码」 when the table knows both parts."""
    if field in field_labels:
        return field_labels[field]
    match = _INDEX.search(field)
    if match:
        head, tail = field[: match.start()], field[match.end() + 1 :]
        row = f"{field_labels.get(head, head)}第 {int(match.group(1)) + 1} 行"
        return f"{row} {label_of(tail, field_labels)}" if tail else row
    return field_labels.get(field.rsplit(".", 1)[-1], field)


def field_errors(problem: ApiProblem, field_labels: dict[str, str]) -> list[dict[str, Any]]:
    """The problem's errors, each with the field's Chinese name (`label`) and the id of its input (`anchor`)."""
    found = [
        {**e, "label": label_of(str(e["field"]), field_labels), "anchor": anchor_of(str(e["field"]))}
        for e in problem.errors
        if e.get("field")
    ]
    return found or [{"field": None, "label": "", "anchor": None, "detail": problem.detail, "rule": problem.code}]


def errors_by_field(errors: list[dict[str, Any]]) -> dict[str, str]:
    """The message to show beside each input, keyed by its anchor."""
    shown: dict[str, str] = {}
    for e in errors:
        if e.get("anchor"):
            shown.setdefault(e["anchor"], str(e.get("detail", "")))
    return shown


def error_context(errors: list[dict[str, Any]] | None) -> dict[str, Any]:
    """What a page's template needs of a refusal: `errors` for the summary on top, `field_error` beside each input."""
    errors = errors or []
    return {"errors": errors, "field_error": errors_by_field(errors)}


def refusal(problem: ApiProblem, statuses: tuple[int, ...] = FORM_REFUSALS) -> ApiProblem:
    """`problem` when its form shows it beside the fields (one of `statuses`); re-raised otherwise, for main.py to
    explain on an error page."""
    if problem.status not in statuses:
        raise problem
    return problem


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def done(location: str, notice: str) -> RedirectResponse:
    """After a change: back to `location` with the key of the notice that page shows."""
    glue = "&" if "?" in location else "?"
    return RedirectResponse(f"{location}{glue}notice={notice}", status_code=303)


def notice_of(request: Request, notices: dict[str, str]) -> str | None:
    """The notice a redirect asked this page to show, from the page's own table (never text from the URL)."""
    return notices.get(request.query_params.get("notice", ""))
