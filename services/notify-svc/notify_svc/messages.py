"""站内信: the reminders and 逾期通报 addressed to the caller's department (all of them for the bureau), newest
first, each with whether this person has read it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.repository import get_or_404
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.access import addressed_to
from notify_svc.domain import MessageKind
from notify_svc.models import Message, MessageRead
from notify_svc.schemas import MessageOut, MessagePage

KIND_LABELS = {MessageKind.REMINDER: "到期提醒", MessageKind.OVERDUE: "逾期通报"}


def _read_by(caller: Caller) -> sa.ColumnElement[bool]:
    return sa.exists().where(MessageRead.message_id == Message.id, MessageRead.reader == caller.sub)


async def list_messages(
    session: AsyncSession, *, caller: Caller, unread: bool | None, page: int, size: int
) -> MessagePage:
    visible = addressed_to(caller)
    read = _read_by(caller)
    query = sa.select(Message, read.label("read")).where(visible)
    if unread is not None:
        query = query.where(~read if unread else read)
    total = (await session.execute(sa.select(sa.func.count()).select_from(query.subquery()))).scalar_one()
    unread_count = (
        await session.execute(sa.select(sa.func.count()).select_from(Message).where(visible, ~read))
    ).scalar_one()
    rows = await session.execute(
        query.order_by(Message.created_at.desc(), Message.id).offset((page - 1) * size).limit(size)
    )
    return MessagePage(
        items=[_out(message, bool(is_read)) for message, is_read in rows.all()],
        total=total,
        unread=unread_count,
        page=page,
        size=size,
    )


async def mark_read(session: AsyncSession, *, caller: Caller, message_id: str, now: datetime) -> MessageOut:
    """Mark a message read for this person (again: nothing changes); 404 for one not addressed to the caller."""
    message = await get_or_404(session, Message, message_id, where=addressed_to(caller))
    if await session.get(MessageRead, (message.id, caller.sub)) is None:
        session.add(MessageRead(message_id=message.id, reader=caller.sub, read_at=now))
    return _out(message, True)


def _out(message: Message, read: bool) -> MessageOut:
    return MessageOut(
        id=message.id,
        kind=message.kind,
        kind_label=KIND_LABELS[MessageKind(message.kind)],
        step_id=message.step_id,
        step_kind=message.step_kind,
        dept=message.dept,
        copied_to=list(message.copied_to),
        subject=message.subject,
        body=message.body,
        article=message.article,
        deadline=message.deadline,
        link=message.link,
        created_at=message.created_at,
        read=read,
    )
