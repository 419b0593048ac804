"""HTTP routes of notify-svc, mounted under /api/notify (API.md "Notifications"). Any authenticated caller, person
or client, may call them; what each sees is its own (access.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from govdata_shared.auth import AuthorizeFirst, CurrentCaller
from govdata_shared.service import Now, ReadSessionDep, SessionDep

from notify_svc import messages, todo
from notify_svc.schemas import MessageOut, MessagePage, TodoOut

router = APIRouter(route_class=AuthorizeFirst)


@router.get("/todo", response_model=TodoOut)
async def my_todo(caller: CurrentCaller, session: ReadSessionDep, now: Now) -> TodoOut:
    """待办: every step waiting for the caller — for the bureau its reviews, stages and decisions; for department
    staff their department's, in the roles they hold — with its deadline and working days left (holidays and 调休
    counted), oldest deadline first. Empty for anyone nothing waits for (citizens, auditors)."""
    return await todo.todo(session, caller=caller, now=now)


@router.get("/messages", response_model=MessagePage)
async def list_messages(
    caller: CurrentCaller,
    session: ReadSessionDep,
    unread: Annotated[
        bool | None, Query(description="true: only those the caller has not read; false: only read")
    ] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MessagePage:
    """站内信: reminders and 逾期通报 addressed to the caller's department (the bureau reads all: each is copied to
    it), newest first."""
    return await messages.list_messages(session, caller=caller, unread=unread, page=page, size=size)


@router.post("/messages/{message_id}/read", response_model=MessageOut)
async def read_message(message_id: str, caller: CurrentCaller, session: SessionDep, now: Now) -> MessageOut:
    """Mark a message read for this person (each person of a department reads for themselves)."""
    return await messages.mark_read(session, caller=caller, message_id=message_id, now=now)
