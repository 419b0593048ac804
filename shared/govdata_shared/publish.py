"""The one way a service publishes a domain event: checked against its contract, masked (the actor too: a
citizen's account may be named by an identifier), and staged in the outbox of the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govdata_shared.auth import Caller
from govdata_shared.contracts import validated_data
from govdata_shared.events import new_event
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.outbox import add_event


async def publish(
    session: AsyncSession,
    event_type: str,
    subject: str,
    data: Any,
    *,
    caller: Caller | None,
    version: int,
    dept: str | None,
    source: str,
) -> None:
    """Stage `event_type` about aggregate `subject` at aggregate `version`; `caller` None means the system."""
    event = new_event(
        event_type,
        subject,
        validated_data(event_type, data),
        version=version,
        actor=mask_identifiers_in_text(caller.sub) if caller else "system",
        dept=dept,
        source=source,
    )
    await add_event(session, event)
