"""待办 on the 首页: what waits for the person, their department or their role, oldest deadline first, overdue
marked. Composed from the public API with the person's own token (no notification service yet):

- bureau_admin: resources submitted for review (目录审核, 第十四条) and requests at 平台审核 or 平台交付 (第二十九条);
- dept_operator: requests waiting for the department as provider (提供方审批) and unresolved corrections of data
  the department provides (校核, 第十九条);
- dept_head: the department's corrections not yet extended (the head may extend one once);
- citizen: their own unresolved corrections, to follow.

Each role's lists are asked for together; a list whose service does not answer is named on the page, the
others still shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from govdata_portal import labels
from govdata_portal.auth import PersonApi
from govdata_portal.deadlines import DeadlineBadge, deadline_badge, parse_date
from govdata_portal.lists import read_each
from govdata_portal.session import Session

# The most of one list the 首页 shows; the API pages at 100.
LIST_SIZE = 100

CATALOG_REVIEW = "目录审核"
PLATFORM_REVIEW = "平台审核"
DELIVERY = "平台交付"
PROVIDER_REVIEW = "提供方审批"
CORRECTION = "数据校核"
EXTENSION = "校核延期"
MY_CORRECTION = "我的校核申请"


@dataclass(frozen=True)
class TodoItem:
    kind: str  # what is to be done, in the regulation's words
    ref: str  # the id of the resource, request or correction
    title: str
    party: str  # who is on the other side (department code), or what state the matter is in
    status: str  # the API's status (wire value), shown as a tag
    status_label: str
    deadline: date | None
    link: str | None = None
    estimated: bool = False
    badge: DeadlineBadge | None = None


@dataclass
class TodoList:
    items: list[TodoItem] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # lists that could not be read, by their name
    truncated: bool = False  # a list held more than LIST_SIZE


@dataclass(frozen=True)
class Source:
    """One list of the public API and how its entries become 待办."""

    name: str  # how the page names the list when it cannot be read
    path: str
    params: dict[str, Any]
    to_items: Callable[[Any, Session], Iterable[TodoItem]]


def _submitted_resources(body: Any, _: Session) -> Iterable[TodoItem]:
    for r in body.get("items", []):
        yield TodoItem(
            kind=CATALOG_REVIEW,
            ref=r["id"],
            title=r.get("name") or r["id"],
            party=r.get("provider_dept", ""),
            status=r.get("status", "submitted"),
            status_label=labels.label(labels.RESOURCE_STATUS, r.get("status", "submitted")),
            deadline=parse_date(r.get("review_deadline")),
            link=f"/review/catalog/{r['id']}",
            estimated=bool(r.get("review_deadline_estimated")),
        )


def _requests(kind: str) -> Callable[[Any, Session], Iterable[TodoItem]]:
    def to_items(body: Any, _: Session) -> Iterable[TodoItem]:
        for req in body:
            yield TodoItem(
                kind=kind,
                ref=req["id"],
                title=req.get("resource_name") or req["resource_id"],
                party=f"{req.get('requester_dept', '')} 申请",
                status=req["status"],
                status_label=labels.label(labels.REQUEST_STATUS, req["status"]),
                deadline=parse_date(req.get("deadline")),
                link=f"/requests/{req['id']}",
                estimated=bool(req.get("deadline_estimated")),
            )

    return to_items


def _correction_party(c: dict[str, Any], kind: str) -> str:
    if kind == MY_CORRECTION:
        return f"{c.get('provider_dept', '')} 办理"
    if c.get("applicant_kind") == "citizen":
        return "公民或企业申请"
    return f"{c.get('applicant_dept') or ''} 申请"


def _corrections(kind: str, *, own_department: bool, extendable_only: bool = False):
    def to_items(body: Any, session: Session) -> Iterable[TodoItem]:
        for c in body.get("items", []):
            if own_department and c.get("provider_dept") != session.dept:
                continue  # one the department filed about another's data: that department answers it
            if extendable_only and c.get("extension_days") is not None:
                continue
            yield TodoItem(
                kind=kind,
                ref=c["id"],
                title=c.get("resource_name") or c["resource_id"],
                party=_correction_party(c, kind),
                status=c["status"],
                status_label=labels.label(labels.CORRECTION_STATUS, c["status"]),
                deadline=parse_date(c.get("deadline")),
                link=f"/my/corrections/{c['id']}" if kind == MY_CORRECTION else f"/corrections/{c['id']}",
                estimated=bool(c.get("deadline_estimated")),
            )

    return to_items


UNRESOLVED = ["open", "extended"]


def sources_for(session: Session) -> list[Source]:
    """The lists whose entries wait for this person, by their roles."""
    sources: list[Source] = []
    if session.has_role("bureau_admin"):
        sources += [
            Source(
                "目录审核",
                "/api/catalog/resources",
                {"status": "submitted", "size": LIST_SIZE},
                _submitted_resources,
            ),
            Source(
                "共享申请（平台审核）",
                "/api/sharing/requests",
                {"role": "platform", "status": "platform_review"},
                _requests(PLATFORM_REVIEW),
            ),
            Source(
                "共享申请（平台交付）",
                "/api/sharing/requests",
                {"role": "platform", "status": "delivery"},
                _requests(DELIVERY),
            ),
        ]
    if session.has_role("dept_operator") and session.dept:
        sources += [
            Source(
                "共享申请（提供方审批）",
                "/api/sharing/requests",
                {"role": "provider", "status": "provider_review"},
                _requests(PROVIDER_REVIEW),
            ),
            Source(
                "数据校核",
                "/api/verification/corrections",
                {"status": UNRESOLVED, "size": LIST_SIZE},
                _corrections(CORRECTION, own_department=True),
            ),
        ]
    if session.has_role("dept_head") and session.dept:
        sources.append(
            Source(
                "数据校核（延期）",
                "/api/verification/corrections",
                {"status": ["open"], "size": LIST_SIZE},
                _corrections(EXTENSION, own_department=True, extendable_only=True),
            )
        )
    if session.has_role("citizen"):
        sources.append(
            Source(
                "我的校核申请",
                "/api/verification/corrections",
                {"status": UNRESOLVED, "size": LIST_SIZE},
                _corrections(MY_CORRECTION, own_department=False),
            )
        )
    return sources


def ordered(items: Iterable[TodoItem], today: date) -> list[TodoItem]:
    """Oldest deadline first (the most overdue on top), those without a deadline last; each with its badge."""
    seen: set[tuple[str, str]] = set()
    out: list[TodoItem] = []
    for item in items:
        if (item.kind, item.ref) in seen:
            continue
        seen.add((item.kind, item.ref))
        badge = deadline_badge(item.deadline, today, estimated=item.estimated) if item.deadline else None
        out.append(TodoItem(**{**item.__dict__, "badge": badge}))
    return sorted(out, key=lambda i: (i.deadline is None, i.deadline or date.max, i.kind, i.title))


def _truncated(body: Any) -> bool:
    return isinstance(body, dict) and body.get("total", 0) > len(body.get("items", []))


async def collect(api: PersonApi, session: Session, today: date) -> TodoList:
    sources = sources_for(session)
    answers = await read_each(api, [(source.path, source.params) for source in sources])
    todo = TodoList()
    items: list[TodoItem] = []
    for source, answer in zip(sources, answers, strict=True):
        if answer is None:
            todo.unavailable.append(source.name)
            continue
        items.extend(source.to_items(answer, session))
        todo.truncated = todo.truncated or _truncated(answer)
    todo.items = ordered(items, today)
    return todo
