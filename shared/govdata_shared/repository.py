"""Loading one row or a 404: the one loader every service uses.

    grant = await get_or_404(session, Grant, grant_id, where=access.readable_grant(caller), for_update=True)

A row the caller may not see is answered exactly like a row that does not exist (404), so ids cannot be probed.
Each model names its problem once: `__not_found__ = ("grant_not_found", "授权 {0} 不存在")`, formatted with the
primary key values.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_shared.errors import Problem

M = TypeVar("M")


def new_id(prefix: str) -> str:
    """A new aggregate id: a short type prefix and 64 random bits, URL-safe (`grt-1f0c…`)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def not_found(model: type, *keys: Any) -> Problem:
    code, template = getattr(model, "__not_found__", (f"{model.__tablename__}_not_found", "{0} 不存在"))
    return Problem(404, code, template.format(*keys))


async def get_or_404(
    session: AsyncSession,
    model: type[M],
    ident: Any,
    *,
    where: sa.ColumnElement[bool] | None = None,
    for_update: bool = False,
) -> M:
    """The row of `model` whose primary key is `ident` (a tuple for a composite key) and that satisfies `where`;
    `for_update` locks it for the rest of the transaction (a no-op on SQLite, whose writers hold the whole
    database) and reloads it, so the rules see what is locked."""
    keys = ident if isinstance(ident, tuple) else (ident,)
    columns = sa.inspect(model).primary_key
    query = sa.select(model).where(*(column == key for column, key in zip(columns, keys, strict=True)))
    if where is not None:
        query = query.where(where)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise not_found(model, *keys)
    return row
