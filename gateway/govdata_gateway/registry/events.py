"""What the registry publishes: one identity.* event per change, carrying the whole entry after it (no secret,
no password hash), staged in the gateway's outbox in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from govdata_shared.auth import Caller
from govdata_shared.contracts import identity
from govdata_shared.publish import publish
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_gateway.registry.models import AppSystem, ClientRecord, Department, Person

SOURCE = "gateway"

Entry = Department | AppSystem | ClientRecord | Person


def subject_of(row: Entry) -> str:
    """The event subject and Kafka key: kind and id, so entries of different kinds never share a key."""
    if isinstance(row, Department):
        return f"department:{row.code}"
    if isinstance(row, AppSystem):
        return f"system:{row.id}"
    if isinstance(row, ClientRecord):
        return f"client:{row.client_id}"
    return f"user:{row.username}"


def payload(row: Entry) -> dict[str, Any]:
    if isinstance(row, Department):
        return {"code": row.code, "name": row.name, "disabled": row.disabled}
    if isinstance(row, AppSystem):
        return {"system_id": row.id, "dept": row.dept, "name": row.name, "disabled": row.disabled}
    if isinstance(row, ClientRecord):
        return {
            "client_id": row.client_id,
            "name": row.name,
            "dept": row.dept,
            "system": row.system,
            "roles": list(row.roles),
            "subject_id": row.subject_id,
            "disabled": row.disabled,
        }
    return {
        "username": row.username,
        "name": row.name,
        "dept": row.dept,
        "roles": list(row.roles),
        "subject_id": row.subject_id,
        "disabled": row.disabled,
        "must_change_password": row.must_change_password,
    }


KIND_EVENTS: dict[type, dict[str, str]] = {
    Department: {
        "created": identity.DEPARTMENT_CREATED,
        "updated": identity.DEPARTMENT_UPDATED,
        "disabled": identity.DEPARTMENT_DISABLED,
    },
    AppSystem: {
        "created": identity.SYSTEM_CREATED,
        "updated": identity.SYSTEM_UPDATED,
        "disabled": identity.SYSTEM_DISABLED,
    },
    ClientRecord: {
        "created": identity.CLIENT_CREATED,
        "updated": identity.CLIENT_UPDATED,
        "disabled": identity.CLIENT_DISABLED,
        "secret_rotated": identity.CLIENT_SECRET_ROTATED,
    },
    Person: {
        "created": identity.USER_CREATED,
        "updated": identity.USER_UPDATED,
        "disabled": identity.USER_DISABLED,
        "password_reset": identity.USER_PASSWORD_RESET,
    },
}


async def publish_change(session: AsyncSession, change: str, row: Entry, caller: Caller | None) -> None:
    """Move `row` to its next version and stage its `change` event (created, updated, disabled, …)."""
    row.version += 1
    await publish(
        session,
        KIND_EVENTS[type(row)][change],
        subject_of(row),
        payload(row),
        caller=caller,
        version=row.version,
        dept=getattr(row, "dept", None) or (row.code if isinstance(row, Department) else None),
        source=SOURCE,
    )
