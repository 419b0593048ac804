"""Tables of the identity registry (the gateway's own database).

Every entry has an aggregate `version` (carried by its identity.* events), a `disabled` flag, and the digest of
the clients-file entry it was last seeded from (`seed_digest`, see seed.py). Secrets and passwords are stored
only as hashes (passwords.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from govdata_shared.db import UTCDateTime
from sqlmodel import JSON, Column, Field, SQLModel


class RegistryMeta(SQLModel, table=True):
    __tablename__ = "registry_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=sa.Text)


class _Entry(SQLModel):
    disabled: bool = False
    version: int = 0
    seed_digest: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Department(_Entry, table=True):
    """部门"""

    __tablename__ = "department"
    __not_found__: ClassVar = ("department_not_found", "部门 {0} 不存在")

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)


class AppSystem(_Entry, table=True):
    """应用系统: a business system of one department; shared data is granted to it (第二十九条)."""

    __tablename__ = "app_system"
    __not_found__: ClassVar = ("system_not_found", "应用系统 {0} 不存在")

    id: str = Field(primary_key=True, max_length=64)
    dept: str = Field(foreign_key="department.code", max_length=32, index=True)
    name: str = Field(max_length=200)


class ClientRecord(_Entry, table=True):
    """A machine client (OAuth2 client_credentials), optionally bound to one system of its department."""

    __tablename__ = "client"
    __not_found__: ClassVar = ("client_not_found", "客户端 {0} 不存在")

    client_id: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    dept: str | None = Field(default=None, foreign_key="department.code", max_length=32, index=True)
    system: str | None = Field(default=None, foreign_key="app_system.id", max_length=64, index=True)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject_id: str | None = Field(default=None, max_length=40)
    redirect_uris: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    secret_hash: str = Field(max_length=200)
    previous_secret_hash: str | None = Field(default=None, max_length=200)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Person(_Entry, table=True):
    """A person who signs in: department staff (department + roles) or a citizen (subject_id)."""

    __tablename__ = "person"
    __not_found__: ClassVar = ("user_not_found", "用户 {0} 不存在")

    username: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    dept: str | None = Field(default=None, foreign_key="department.code", max_length=32, index=True)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject_id: str | None = Field(default=None, max_length=40)
    password_hash: str = Field(max_length=200)
    must_change_password: bool = False
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totp_secret: str | None = Field(default=None, max_length=64)


def as_dict(row: SQLModel) -> dict[str, Any]:
    return row.model_dump()
