"""Events of the gateway's identity registry (topic govdata.identity.v1): departments, application systems
(应用系统), machine clients and people. Every event carries the whole entry after the change (never a secret or
a password hash), so the topic may be compacted and a consumer that reads it from the start knows every entry.
Subjects: `department:<code>`, `system:<id>`, `client:<client_id>`, `user:<username>`."""

from __future__ import annotations

from govdata_shared.contracts import EventData, event_contract

DEPARTMENT_CREATED = "identity.department.created"
DEPARTMENT_UPDATED = "identity.department.updated"
DEPARTMENT_DISABLED = "identity.department.disabled"
SYSTEM_CREATED = "identity.system.created"
SYSTEM_UPDATED = "identity.system.updated"
SYSTEM_DISABLED = "identity.system.disabled"
CLIENT_CREATED = "identity.client.created"
CLIENT_UPDATED = "identity.client.updated"
CLIENT_DISABLED = "identity.client.disabled"
CLIENT_SECRET_ROTATED = "identity.client.secret_rotated"
USER_CREATED = "identity.user.created"
USER_UPDATED = "identity.user.updated"
USER_DISABLED = "identity.user.disabled"
USER_PASSWORD_RESET = "identity.user.password_reset"

DEPARTMENT_EVENTS = (DEPARTMENT_CREATED, DEPARTMENT_UPDATED, DEPARTMENT_DISABLED)
SYSTEM_EVENTS = (SYSTEM_CREATED, SYSTEM_UPDATED, SYSTEM_DISABLED)
CLIENT_EVENTS = (CLIENT_CREATED, CLIENT_UPDATED, CLIENT_DISABLED, CLIENT_SECRET_ROTATED)
USER_EVENTS = (USER_CREATED, USER_UPDATED, USER_DISABLED, USER_PASSWORD_RESET)


@event_contract(*DEPARTMENT_EVENTS)
class DepartmentData(EventData):
    code: str
    name: str
    disabled: bool


@event_contract(*SYSTEM_EVENTS)
class SystemData(EventData):
    system_id: str
    dept: str
    name: str
    disabled: bool


@event_contract(*CLIENT_EVENTS)
class ClientData(EventData):
    client_id: str
    name: str | None = None
    dept: str | None = None
    system: str | None = None
    roles: list[str]
    subject_id: str | None = None  # masked on the wire
    disabled: bool


@event_contract(*USER_EVENTS)
class UserData(EventData):
    username: str
    name: str | None = None
    dept: str | None = None
    roles: list[str]
    subject_id: str | None = None  # masked on the wire
    disabled: bool
    must_change_password: bool = False
