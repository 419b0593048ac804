"""校核 (第十九条) and the bureau's 逾期 overview.

- 校核 `/corrections` (provider departments): the correction requests of the department's data, each with its
  deadline; the operator 办结 (resolves) one, the head 延长校核期限 once (第十九条第二款).
- 数据校核 `/my/corrections` (citizens and companies): their own requests, a new one about a published
  resource with the evidence (证明材料), and each one's progress.
- 逾期 `/overdue` (bureau): everything past its legal deadline — corrections (第十九条), sharing stages (第二十九条),
  catalog reviews and updates (第十四条) — grouped by the department that has to act. A list that cannot be
  read is named on the page, the others still shown.

The verification service decides; the pages show what it says. A department sees the subject's identifier in
full on a request's page (it has to find the record), but every list shows it masked.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from govdata_shared.identifiers import InvalidIdentifier, mask_identifier, validate_resident_id
from jose import jwt
from jose.exceptions import JOSEError
from starlette.datastructures import FormData

from govdata_portal import labels
from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApi, PersonApiDep
from govdata_portal.catalog import search
from govdata_portal.deadlines import DeadlineBadge, due_badge
from govdata_portal.downloads import relay_download
from govdata_portal.forms import anchor_of, done, error_context, field_errors, notice_of, text, texts, upload
from govdata_portal.gateway import ApiProblem, GatewayUnavailable
from govdata_portal.lists import catalog_resource, catalog_resources, department_names, item_names, read_each
from govdata_portal.pages import error_page, page_or_part, pager, render, today_of
from govdata_portal.session import Session

router = APIRouter()

API = "/api/verification/corrections"
PAGE_SIZE = 20
LIST_SIZE = 100  # the most the API gives in one page
RESULTS_ID = "corrections-results"
MY_RESULTS_ID = "my-corrections-results"
RESOURCES_ID = "resources-results"

# 第十九条第二款: the head may extend the period once, by at most 10 working days (the API enforces it; the input
# only says so to the browser).
MAX_EXTENSION_DAYS = 10
# Evidence as the verification service takes it (证明材料: PDF, JPEG or PNG by content, at most 8 MiB). A file is
# sent once the request exists; checking it first keeps the citizen's form when the file would be refused.
EVIDENCE_MAX_BYTES = 8 * 1024 * 1024
EVIDENCE_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EVIDENCE_ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"

UNRESOLVED = ["open", "extended"]

FIELD_LABELS = {
    "resource_id": "数据资源",
    "subject_type": "主体类型",
    "subject_id": "证件号码",
    "items": "有疑义的信息项",
    "claimed_values": "正确的值",
    "description": "情况说明",
    "file": "证明材料",
    "outcome": "办结结果",
    "note": "处理说明",
    "corrected_values": "更正后的值",
    "days": "延长天数",
    "reason": "延期理由",
}

NOTICES = {
    "filed": "校核申请已提交。数据提供部门应在 10 个工作日内完成校核，您可以在本页查看进度。",
    "filed_without_evidence": "校核申请已提交，但证明材料未被接受，请在下方“补充证明材料”中重新上传。",
    "evidence_added": "证明材料已上传。",
    "resolved": "校核申请已办结，申请人可以看到办结结果。",
    "extended": "校核期限已延长。",
}

# The 校核 list's status filter: its choices and the statuses each asks the API for.
STATUS_FILTERS: dict[str, tuple[str, list[str]]] = {
    "unresolved": ("未办结", UNRESOLVED),
    "open": ("待校核", ["open"]),
    "extended": ("已延期", ["extended"]),
    "resolved": ("已办结", ["resolved"]),
    "all": ("全部", []),
}
DEFAULT_STATUS = "unresolved"

CorrectionId = Annotated[str, Path(max_length=64)]
EvidenceId = Annotated[str, Path(max_length=64)]
Filter = Annotated[str | None, Query(max_length=100)]


# --------------------------------------------------------------------------------------------- helpers


def _path(correction_id: str) -> str:
    return f"{API}/{quote(correction_id, safe='')}"


def own_subject_id(session: Session) -> str:
    """The citizen's or company's own identifier, to prefill the form: the `subject_id` claim of the access token
    the sealed session holds (verified when it was issued). `/api/identity/me` does not give it."""
    try:
        claims = jwt.get_unverified_claims(session.access_token)
    except JOSEError:
        return ""
    value = claims.get("subject_id")
    return value if isinstance(value, str) else ""


def subject_type_of(subject_id: str) -> str:
    """`person` when the identifier is a valid 公民身份号码, else `org` (统一社会信用代码)."""
    try:
        validate_resident_id(subject_id)
    except InvalidIdentifier:
        return "org" if subject_id else "person"
    return "person"


def evidence_refusal(content: bytes) -> dict[str, Any] | None:
    """Why the verification service would refuse this file, as an error of field `file`; None when it takes it."""
    if len(content) > EVIDENCE_MAX_BYTES:
        detail, rule = f"单个材料不得超过 {EVIDENCE_MAX_BYTES // (1024 * 1024)} MiB", "max_size"
    elif not any(content.startswith(signature) for signature, _ in EVIDENCE_SIGNATURES):
        detail, rule = "材料只能是 PDF、JPEG 或 PNG 文件", "pdf_jpeg_png_only"
    else:
        return None
    return {"field": "file", "label": FIELD_LABELS["file"], "anchor": "file", "detail": detail, "rule": rule}


def evidence_type(content: bytes) -> str:
    return next((t for signature, t in EVIDENCE_SIGNATURES if content.startswith(signature)), "application/pdf")


async def _send_evidence(api: PersonApi, correction_id: str, filename: str, content: bytes) -> None:
    """One evidence file of the request, its type by its content (checked by `evidence_refusal` first)."""
    await api.send(
        "POST", f"{_path(correction_id)}/evidence", files={"file": (filename, content, evidence_type(content))}
    )


def values_of(form: FormData, prefix: str, codes: list[str]) -> dict[str, str]:
    """The non-blank inputs `<prefix>.<code>` of the form, by item code."""
    return {code: value for code in codes if (value := text(form, f"{prefix}.{code}"))}


_ITEM_FIELD = re.compile(r"^items(\[\d+\]|\.\d+)?$")
_VALUE_FIELD = re.compile(r"^(claimed_values|corrected_values)\.(.+)$")


def form_errors(problem: ApiProblem, item_names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The API's refusal as errors of this area's forms: `items[0]` points at the item checkboxes, a value of an
    item is named by the item, and a refusal of no field keeps the rule it broke (e.g. `extend_once`)."""
    names = item_names or {}
    out: list[dict[str, Any]] = []
    for e in field_errors(problem, FIELD_LABELS):
        name = str(e.get("field") or "")
        if not name:
            e = {**e, "rule": problem.body.get("rule") or problem.code}
        elif _ITEM_FIELD.match(name):
            e = {**e, "label": FIELD_LABELS["items"], "anchor": "items"}
        elif match := _VALUE_FIELD.match(name):
            head, code = match.groups()
            what = "的正确值" if head == "claimed_values" else "更正后的值"
            e = {**e, "label": f"{names.get(code, code)}{what}"}
        out.append(e)
    return out


def is_form_refusal(problem: ApiProblem) -> bool:
    """A refusal the person can put right on the form (shown beside the fields) rather than an error page."""
    return problem.status in (400, 409, 413, 415, 422) or (problem.status in (403, 404) and bool(problem.errors))


def applicant_text(c: dict[str, Any]) -> str:
    if c.get("applicant_kind") == "citizen":
        return "公民或企业"
    return c.get("applicant_dept") or "政务部门"


def correction_row(c: dict[str, Any], today: date) -> dict[str, Any]:
    """One line of a list: the subject masked (lists never show an identifier in full), the deadline's badge while
    it runs, how it ended once resolved."""
    badge = due_badge(c.get("deadline"), today, c.get("deadline_estimated")) if c["status"] != "resolved" else None
    return {
        "id": c["id"],
        "resource": c.get("resource_name") or c["resource_id"],
        "subject": mask_identifier(c.get("subject_id") or ""),
        "items": c.get("items") or [],
        "applicant": applicant_text(c),
        "provider_dept": c.get("provider_dept", ""),
        "status": c["status"],
        "status_label": labels.label(labels.CORRECTION_STATUS, c["status"]),
        "extended": c.get("extension_days") is not None,
        "badge": badge,
        "overdue": bool(c.get("overdue")),
        "received_on": c.get("received_on", ""),
        "resolved_on": c.get("resolved_on"),
        "on_time": c.get("on_time"),
        "outcome": labels.label(labels.CORRECTION_OUTCOME, c.get("outcome")),
    }


def history_of(c: dict[str, Any]) -> list[dict[str, Any]]:
    """What happened to the request, in order: received, extended (once), resolved."""
    steps: list[dict[str, Any]] = [
        {
            "when": c.get("received_at"),
            "what": "收到校核申请",
            "detail": f"{applicant_text(c)}提出，校核期限至 {c.get('original_deadline')}",
        }
    ]
    if c.get("extension_days") is not None:
        steps.append(
            {
                "when": None,  # the API does not say when, nor who approved it
                "what": "延长校核期限",
                "detail": f"经部门负责人同意延长 {c['extension_days']} 个工作日，截止日期由 "
                f"{c.get('original_deadline')} 延至 {c.get('deadline')}；理由：{c.get('extension_reason') or ''}",
            }
        )
    if c.get("resolved_at"):
        timing = "按期办结" if c.get("on_time") else "逾期办结"
        taken = c.get("working_days_taken")
        steps.append(
            {
                "when": c["resolved_at"],
                "what": f"办结：{labels.label(labels.CORRECTION_OUTCOME, c.get('outcome'))}",
                "detail": f"{timing}" + (f"，用时 {taken} 个工作日" if taken is not None else ""),
            }
        )
    return steps


# --------------------------------------------------------------------------------------------- reading the API


async def _resource(api: PersonApi, resource_id: str) -> dict[str, Any] | None:
    """The catalog's resource, or None when it is not there (or not to be seen)."""
    return await catalog_resource(api, resource_id, missing=(403, 404))


async def _names(api: PersonApi, resource_id: str) -> dict[str, str]:
    """The item names of the resource, when the catalog gives them."""
    return item_names((await catalog_resources(api, [resource_id])).get(resource_id))


async def _optional(call: Any) -> Any:
    """A call whose answer only adds to the page (names): None when it cannot be had."""
    try:
        return await call
    except (ApiProblem, GatewayUnavailable):
        return None


@dataclass(frozen=True)
class Area:
    """Where a request's page lives: 校核 for departments (and the bureau), 数据校核 for citizens."""

    base: str
    nav: str
    list_title: str


STAFF = Area("/corrections", "corrections", "校核")
CITIZEN = Area("/my/corrections", "my_corrections", "数据校核")


async def _detail(
    request: Request,
    session: Session,
    api: PersonApi,
    correction_id: str,
    area: Area,
    *,
    status_code: int = 200,
    errors: list[dict[str, Any]] | None = None,
    resolve_form: dict[str, Any] | None = None,
    extend_form: dict[str, Any] | None = None,
) -> Response:
    try:
        c = await api.get(_path(correction_id))
    except ApiProblem as problem:
        if problem.status == 404:
            return error_page(request, 404, "未找到该校核申请", "该校核申请不存在，或您无权查看。")
        raise
    names, evidence = await asyncio.gather(
        _names(api, c["resource_id"]), _optional(api.get(f"{_path(c['id'])}/evidence"))
    )
    today = today_of(request)
    provider = session.dept == c["provider_dept"]
    unresolved = c["status"] in UNRESOLVED
    return render(
        request,
        "verification/detail.html",
        status_code,
        title=f"校核申请 {c.get('resource_name') or c['resource_id']}",
        active=area.nav,
        area=area,
        notice=notice_of(request, NOTICES),
        c=c,
        item_names=names,
        evidence=evidence or [],
        evidence_unavailable=evidence is None,
        row=correction_row(c, today),
        history=history_of(c),
        # what the person may do here, as the API would allow it (第十九条: the operator resolves, the head
        # extends an open request once, while its period runs)
        can_resolve=provider and unresolved and session.has_role("dept_operator"),
        can_extend=provider and c["status"] == "open" and not c.get("overdue") and session.has_role("dept_head"),
        extend_too_late=provider and c["status"] == "open" and bool(c.get("overdue")) and session.has_role("dept_head"),
        can_add_evidence=area is CITIZEN and unresolved,
        max_extension_days=MAX_EXTENSION_DAYS,
        evidence_accept=EVIDENCE_ACCEPT,
        resolve_form=resolve_form or {"outcome": "", "note": "", "corrected_values": {}},
        extend_form=extend_form or {"days": "", "reason": ""},
        **error_context(errors),
    )


# --------------------------------------------------------------------------------------------- 校核 (departments)


@router.get("/corrections")
async def corrections(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    status: Filter = None,
    overdue: Filter = None,
    page: Filter = None,
) -> Response:
    chosen = status if status in STATUS_FILTERS else DEFAULT_STATUS
    filters = {"status": chosen, "overdue": "true" if overdue == "true" else ""}
    found = await api.get(
        API,
        status=STATUS_FILTERS[chosen][1],
        overdue=filters["overdue"],
        page=page if (page or "").isdigit() else None,
        size=PAGE_SIZE,
    )
    today = today_of(request)
    return page_or_part(
        request,
        "verification/list.html",
        "verification/_results.html",
        RESULTS_ID,
        title="校核",
        active="corrections",
        filters=filters,
        status_filters=STATUS_FILTERS,
        rows=[correction_row(c, today) for c in found["items"]],
        pager=pager("/corrections", filters, found["total"], found["page"], found["size"]),
        errors=[],
    )


@router.get("/corrections/{correction_id}")
async def correction_page(
    request: Request, session: CurrentSession, api: PersonApiDep, correction_id: CorrectionId
) -> Response:
    return await _detail(request, session, api, correction_id, STAFF)


@router.post("/corrections/{correction_id}/resolve", dependencies=[CsrfChecked])
async def resolve(
    request: Request, session: CurrentSession, api: PersonApiDep, correction_id: CorrectionId
) -> Response:
    """办结: 已更正 with the corrected values, or 数据无误 with the explanation (第十九条)."""
    form = await request.form()
    c = await api.get(_path(correction_id))
    typed = {
        "outcome": text(form, "outcome"),
        "note": text(form, "note"),
        "corrected_values": values_of(form, "corrected_values", c["items"]),
    }
    return await _decide(request, session, api, c["id"], "resolve", typed, resource_id=c["resource_id"])


@router.post("/corrections/{correction_id}/extend", dependencies=[CsrfChecked])
async def extend(request: Request, session: CurrentSession, api: PersonApiDep, correction_id: CorrectionId) -> Response:
    """延长校核期限: once, by the provider's head, at most 10 working days, with a reason (第十九条)."""
    form = await request.form()
    typed = {"days": text(form, "days"), "reason": text(form, "reason")}
    return await _decide(request, session, api, correction_id, "extend", typed)


# The department's two decisions on a request, and the notice each returns with.
DECISION_NOTICES = {"resolve": "resolved", "extend": "extended"}


async def _decide(
    request: Request,
    session: Session,
    api: PersonApi,
    correction_id: str,
    action: str,
    typed: dict[str, Any],
    *,
    resource_id: str | None = None,
) -> Response:
    """POST the decision `action` with what was typed (blank fields left out, for the API to name); refused, the
    request's page again with the form as typed and the errors beside it (an item's value named by the item's name,
    read from resource `resource_id`)."""
    body = {key: value for key, value in typed.items() if value}
    try:
        await api.post(f"{_path(correction_id)}/{action}", body)
    except ApiProblem as problem:
        if not is_form_refusal(problem):
            raise
        errors = form_errors(problem, await _names(api, resource_id) if resource_id else None)
        return await _detail(
            request,
            session,
            api,
            correction_id,
            STAFF,
            status_code=problem.status,
            errors=errors,
            **{f"{action}_form": typed},
        )
    return done(f"/corrections/{quote(correction_id, safe='')}", DECISION_NOTICES[action])


@router.get("/corrections/{correction_id}/evidence/{evidence_id}")
async def evidence_file(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    correction_id: CorrectionId,
    evidence_id: EvidenceId,
) -> Response:
    """A file of the request, passed through as the API serves it (to the subject, applicant and provider)."""
    return await relay_download(api, f"{_path(correction_id)}/evidence/{quote(evidence_id, safe='')}")


# --------------------------------------------------------------------------------------------- 数据校核 (citizens)


@router.get("/my/corrections")
async def my_corrections(request: Request, session: CurrentSession, api: PersonApiDep, page: Filter = None) -> Response:
    found = await api.get(API, page=page if (page or "").isdigit() else None, size=PAGE_SIZE)
    today = today_of(request)
    return page_or_part(
        request,
        "verification/my_list.html",
        "verification/_my_results.html",
        MY_RESULTS_ID,
        title="数据校核",
        active="my_corrections",
        notice=notice_of(request, NOTICES),
        rows=[correction_row(c, today) for c in found["items"]],
        pager=pager("/my/corrections", {}, found["total"], found["page"], found["size"]),
    )


def _new_form(
    request: Request,
    session: Session,
    resource: dict[str, Any],
    *,
    typed: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    had_file: bool = False,
    status_code: int = 200,
) -> Response:
    if typed is None:
        subject_id = own_subject_id(session)
        typed = {
            "subject_type": subject_type_of(subject_id),
            "subject_id": subject_id,
            "items": [],
            "claimed_values": {},
            "description": "",
        }
    return render(
        request,
        "verification/new.html",
        status_code,
        title="提出校核",
        active="my_corrections",
        resource=resource,
        typed=typed,
        had_file=had_file,
        evidence_accept=EVIDENCE_ACCEPT,
        **error_context(errors),
    )


@router.get("/my/corrections/new")
async def new_correction(
    request: Request,
    session: CurrentSession,
    api: PersonApiDep,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    q: Filter = None,
    page: Filter = None,
) -> Response:
    """Step 1: choose the published resource that holds the data in question; step 2 (`resource_id`): the form."""
    if resource_id:
        resource = await _resource(api, resource_id)
        if resource is None or resource.get("status") != "published":
            return error_page(request, 404, "未找到该数据资源", "该资源不存在或尚未发布，请重新选择。")
        return _new_form(request, session, resource)
    filters = {"q": (q or "").strip()}
    found, status_code = await search(api, "/my/corrections/new", filters, page if (page or "").isdigit() else None)
    return page_or_part(
        request,
        "verification/choose.html",
        "verification/_resources.html",
        RESOURCES_ID,
        status_code,
        title="提出校核",
        active="my_corrections",
        filters=filters,
        **found,
    )


@router.post("/my/corrections/new", dependencies=[CsrfChecked])
async def file_correction(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    """申请校核 (第十九条第二款): the request, then its evidence file."""
    form = await request.form()
    resource = await _resource(api, text(form, "resource_id"))
    if resource is None:
        return error_page(request, 404, "未找到该数据资源", "该资源不存在或尚未发布，请重新选择。")
    codes = [i["code"] for i in resource.get("items", [])]
    typed = {
        "subject_type": text(form, "subject_type"),
        "subject_id": text(form, "subject_id"),
        "items": texts(form, "items"),
        "claimed_values": values_of(form, "claimed_values", codes),
        "description": text(form, "description"),
    }
    file = upload(form, "file")
    content = await file.read(EVIDENCE_MAX_BYTES + 1) if file else b""
    if file and (refused := evidence_refusal(content)):
        return _new_form(request, session, resource, typed=typed, errors=[refused], had_file=True, status_code=422)
    body = {"resource_id": resource["id"], **{key: value for key, value in typed.items() if value}}
    body.setdefault("items", [])
    try:
        filed = await api.post(API, body)
    except ApiProblem as problem:
        if not is_form_refusal(problem):
            raise
        errors = form_errors(problem, item_names(resource))
        return _new_form(
            request,
            session,
            resource,
            typed=typed,
            errors=errors,
            had_file=file is not None,
            status_code=problem.status,
        )
    location = f"/my/corrections/{quote(filed['id'], safe='')}"
    if file:
        try:
            await _send_evidence(api, filed["id"], file.filename, content)
        except (ApiProblem, GatewayUnavailable):
            return done(location, "filed_without_evidence")
    return done(location, "filed")


@router.get("/my/corrections/{correction_id}")
async def my_correction_page(
    request: Request, session: CurrentSession, api: PersonApiDep, correction_id: CorrectionId
) -> Response:
    return await _detail(request, session, api, correction_id, CITIZEN)


@router.post("/my/corrections/{correction_id}/evidence", dependencies=[CsrfChecked])
async def add_evidence(
    request: Request, session: CurrentSession, api: PersonApiDep, correction_id: CorrectionId
) -> Response:
    """补充证明材料 while the request is unresolved (第十九条第三款: it lets the office go on with the business)."""
    form = await request.form()
    file = upload(form, "file")
    if file is None:
        missing = {"field": "file", "label": FIELD_LABELS["file"], "anchor": "file", "detail": "请选择要上传的文件"}
        return await _detail(request, session, api, correction_id, CITIZEN, status_code=422, errors=[missing])
    content = await file.read(EVIDENCE_MAX_BYTES + 1)
    if refused := evidence_refusal(content):
        return await _detail(request, session, api, correction_id, CITIZEN, status_code=422, errors=[refused])
    try:
        await _send_evidence(api, correction_id, file.filename, content)
    except ApiProblem as problem:
        if not is_form_refusal(problem):
            raise
        errors = form_errors(problem)
        return await _detail(request, session, api, correction_id, CITIZEN, status_code=problem.status, errors=errors)
    return done(f"/my/corrections/{quote(correction_id, safe='')}", "evidence_added")


# --------------------------------------------------------------------------------------------- 逾期 (the bureau)

CORRECTIONS_AREA = "数据校核"
SHARING_AREA = "共享申请"
CATALOG_AREA = "目录"
AREAS = (CORRECTIONS_AREA, SHARING_AREA, CATALOG_AREA)

CATALOG_KINDS = {
    "resource_review": "目录审核",  # 第十四条第二款: the bureau reviews in 5 working days
    "update_review": "目录更新审核",
    "update_submission": "目录更新申请",  # 第十四条第一款: the department applies within 10 working days
}
# Catalog items the bureau itself has to act on.
BUREAU_CATALOG_KINDS = frozenset({"resource_review", "update_review"})
BUREAU_DEPT = "YC-ZSJ"  # 县政务服务和大数据管理局, when the bureau's account names no department

# The lists the page reads, by the name it gives a list it cannot read.
OVERDUE_SOURCES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (CORRECTIONS_AREA, API, {"overdue": "true", "size": LIST_SIZE}),
    (SHARING_AREA, "/api/sharing/overdue", {}),
    ("目录审核与更新", "/api/catalog/overdue", {}),
)
MAX_NAME_LOOKUPS = 50


@dataclass(frozen=True)
class OverdueEntry:
    area: str  # 数据校核, 共享申请 or 目录
    kind: str  # what is late, in the regulation's words
    dept: str  # the department that has to act
    title: str
    link: str | None
    party: str  # who else is concerned
    badge: DeadlineBadge


@dataclass
class DepartmentOverdue:
    dept: str
    name: str
    entries: list[OverdueEntry] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "dept-" + anchor_of(self.dept)

    def count(self, area: str) -> int:
        return sum(1 for e in self.entries if e.area == area)


@dataclass
class OverdueReport:
    departments: list[DepartmentOverdue] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def total(self) -> int:
        return sum(len(d.entries) for d in self.departments)


def correction_entries(body: Any, today: date) -> list[OverdueEntry]:
    entries = []
    for c in body.get("items", []):
        if not (badge := due_badge(c.get("deadline"), today, c.get("deadline_estimated"))):
            continue
        extended = c.get("extension_days") is not None
        entries.append(
            OverdueEntry(
                area=CORRECTIONS_AREA,
                kind="数据校核（已延期）" if extended else "数据校核",
                dept=c["provider_dept"],
                title=c.get("resource_name") or c["resource_id"],
                link=f"/corrections/{quote(c['id'], safe='')}",
                party=f"{applicant_text(c)}申请",
                badge=badge,
            )
        )
    return entries


def sharing_entries(body: Any, names: dict[str, str], today: date) -> list[OverdueEntry]:
    entries = []
    for r in body:
        if not (badge := due_badge(r.get("deadline"), today, r.get("estimated"))):
            continue
        stage = r.get("stage", "")
        entries.append(
            OverdueEntry(
                area=SHARING_AREA,
                kind=f"共享申请（{labels.label(labels.REQUEST_STATUS, stage)}）",
                dept=r["responsible_dept"],
                title=names.get(r["resource_id"], r["resource_id"]),
                link=f"/requests/{quote(r['request_id'], safe='')}",
                party=f"{r.get('requester_dept', '')} 申请，{r.get('provider_dept', '')} 提供",
                badge=badge,
            )
        )
    return entries


def catalog_entries(body: Any, names: dict[str, str], bureau_dept: str, today: date) -> list[OverdueEntry]:
    entries = []
    for item in body:
        if not (badge := due_badge(item.get("deadline"), today, item.get("estimated"))):
            continue
        kind = item.get("kind", "")
        resource_id = item.get("resource_id")
        by_bureau = kind in BUREAU_CATALOG_KINDS
        link = None
        if resource_id:
            where = "/review/catalog" if by_bureau else "/catalog"  # the bureau's review page, or the resource
            link = f"{where}/{quote(resource_id, safe='')}"
        entries.append(
            OverdueEntry(
                area=CATALOG_AREA,
                kind=CATALOG_KINDS.get(kind, kind),
                dept=bureau_dept if by_bureau else item["dept"],
                title=names.get(resource_id, resource_id) if resource_id else "新增资源",
                link=link,
                party=f"提供部门 {item['dept']}",
                badge=badge,
            )
        )
    return entries


def group_by_department(entries: list[OverdueEntry], dept_names: dict[str, str]) -> list[DepartmentOverdue]:
    """A group per department that has to act, the one with most late items first; in each, the longest late
    first."""
    groups: dict[str, DepartmentOverdue] = {}
    for entry in entries:
        group = groups.setdefault(entry.dept, DepartmentOverdue(entry.dept, dept_names.get(entry.dept, entry.dept)))
        group.entries.append(entry)
    for group in groups.values():
        group.entries.sort(key=lambda e: (e.badge.due, e.area, e.title))
    return sorted(groups.values(), key=lambda g: (-len(g.entries), g.dept))


async def collect_overdue(api: PersonApi, session: Session, today: date) -> OverdueReport:
    report = OverdueReport()
    bodies, dept_names = await asyncio.gather(
        read_each(api, [(path, params) for _, path, params in OVERDUE_SOURCES]), department_names(api, session)
    )
    report.unavailable = [name for (name, _, _), body in zip(OVERDUE_SOURCES, bodies, strict=True) if body is None]
    corrections_body, sharing_body, catalog_body = bodies
    # Sharing and catalog lists name resources by id only: their names from the catalog, where it answers.
    wanted = sorted(
        {r["resource_id"] for r in sharing_body or []}
        | {i["resource_id"] for i in catalog_body or [] if i.get("resource_id")}
    )[:MAX_NAME_LOOKUPS]
    found = await catalog_resources(api, wanted)
    names = {rid: r["name"] for rid, r in found.items() if r.get("name")}

    entries: list[OverdueEntry] = []
    if corrections_body is not None:
        entries += correction_entries(corrections_body, today)
        report.truncated = corrections_body.get("total", 0) > len(corrections_body.get("items", []))
    if sharing_body is not None:
        entries += sharing_entries(sharing_body, names, today)
    if catalog_body is not None:
        entries += catalog_entries(catalog_body, names, session.dept or BUREAU_DEPT, today)
    report.departments = group_by_department(entries, dept_names)
    return report


@router.get("/overdue")
async def overdue(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    today = today_of(request)
    report = await collect_overdue(api, session, today)
    return render(request, "overdue.html", title="逾期", active="overdue", report=report, areas=AREAS, today=today)
