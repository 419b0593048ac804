"""站内信, over notify-svc's messages (`/api/notify/messages`): the reminders before a deadline and the 逾期通报
after it, addressed to the person's department (the bureau reads every one: each is copied to it).

- `/messages`: newest first, as the API gives them, 全部 or only 未读 (by this person: each person of a
  department reads for themselves), paged by the API; each with its date, its text, the article it serves and a
  link to the matter;
- `POST /messages/{id}/read`: 标为已读, back to the same list with a notice.

The unread count is on this page only, not in the side navigation: the layout builds the navigation for every
page, and a count there would cost a call to notify-svc on each of them.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from govdata_portal.auth import CsrfChecked, CurrentSession, PersonApiDep
from govdata_portal.forms import done, notice_of, text
from govdata_portal.navigation import STAFF
from govdata_portal.pages import forbidden, page_or_part, pager
from govdata_portal.session import Session

router = APIRouter()

API = "/api/notify/messages"
PAGE_SIZE = 20
RESULTS_ID = "message-results"
TABS = {"all": "全部", "unread": "未读"}
NOTICES = {"read": "已标为已读。"}

Param = Annotated[str | None, Query(max_length=64)]
MessageId = Annotated[str, Path(max_length=64)]


def _may_read(session: Session) -> bool:
    """Staff: department staff read their department's, the bureau all; an auditor has none addressed to it (it
    reads the trail in 审计日志) and sees the empty list the API gives."""
    return session.has_role(*STAFF)


def _page_number(page: str | None) -> int:
    try:
        return min(max(1, int(page or 1)), 10_000)
    except ValueError:
        return 1


def list_location(tab: str, page: int) -> str:
    """The list as it was: its tab and page, built from known values only."""
    query = {k: v for k, v in {"tab": "" if tab == "all" else tab, "page": str(page) if page > 1 else ""}.items() if v}
    return "/messages" + (f"?{urlencode(query)}" if query else "")


@router.get("/messages")
async def messages(
    request: Request, session: CurrentSession, api: PersonApiDep, tab: Param = None, page: Param = None
) -> Response:
    """The person's 站内信, newest first; 未读 narrows them to those the person has not read."""
    if not _may_read(session):
        return forbidden(request, "站内信供各部门工作人员和县政务服务和大数据管理局接收到期提醒和逾期通报。")
    current = tab if tab in TABS else "all"
    number = _page_number(page)
    found = await api.get(API, unread="true" if current == "unread" else None, page=number, size=PAGE_SIZE)
    filters = {"tab": "" if current == "all" else current}
    return page_or_part(
        request,
        "messages/list.html",
        "messages/_list.html",
        RESULTS_ID,
        title="站内信",
        active="messages",
        notice=notice_of(request, NOTICES),
        tab=current,
        tabs=TABS,
        items=found["items"],
        unread=found["unread"],
        page=number,
        pager=pager("/messages", filters, found["total"], number, PAGE_SIZE),
    )


@router.post("/messages/{message_id}/read", dependencies=[CsrfChecked])
async def mark_read(request: Request, session: CurrentSession, api: PersonApiDep, message_id: MessageId) -> Response:
    """标为已读 for this person; back to the list and page the button was on."""
    if not _may_read(session):
        return forbidden(request, "站内信供各部门工作人员和县政务服务和大数据管理局接收到期提醒和逾期通报。")
    await api.post(f"{API}/{quote(message_id, safe='')}/read")
    form = await request.form()
    tab = text(form, "tab")
    return done(list_location(tab if tab in TABS else "all", _page_number(text(form, "page"))), "read")
