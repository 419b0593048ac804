"""What the bureau does to the identity registry through `/api/identity` (API.md "People, sign-in and the
portal"): create departments, application systems (应用系统), machine clients and people, rotate a client's
secret, disable a client or a person, reset a password — and read it all back.

Each operation is one unit of work: check the input by the rules of the clients file (clients.py: ids, roles,
department and system membership, citizens' subject_id, redirect URIs), write, and stage the change's one
identity.* event in the same transaction (registry/events.py), so it reaches every gateway replica and the audit
trail exactly when the change is committed. Secrets and temporary passwords are generated here, returned once,
and stored only as argon2id hashes; no answer ever carries a hash, and a subject_id is answered masked.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import KNOWN_ROLES, Caller, Role
from govdata_shared.db import Database
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.identifiers import InvalidIdentifier, mask_identifier, validate_credit_code, validate_resident_id
from govdata_shared.repository import get_or_404
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_gateway import passwords
from govdata_gateway.clients import ID_RE, is_redirect_uri, password_policy_violation
from govdata_gateway.registry.events import publish_change
from govdata_gateway.registry.models import AppSystem, ClientRecord, Department, Person
from govdata_gateway.signin.models import SigninSession

# Roles the bureau may give through the API. `gateway` is the gateway's own identity (it reads the services'
# internal snapshots) and is never handed out; `city_platform` is a machine role, not a person's.
CLIENT_ROLES = frozenset(KNOWN_ROLES - {Role.GATEWAY})
PERSON_ROLES = frozenset(CLIENT_ROLES - {Role.CITY_PLATFORM})
MAX_CODE = 32  # department.code
MAX_NAME = 200
TEMPORARY_PASSWORD_LENGTH = 16
_SYMBOLS = "!#$%&*+-=?@^_"
_PASSWORD_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)


# --------------------------------------------------------------------------------------------- answers


def department_out(row: Department) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, **_state(row)}


def system_out(row: AppSystem) -> dict[str, Any]:
    return {"id": row.id, "dept": row.dept, "name": row.name, **_state(row)}


def client_out(row: ClientRecord) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "name": row.name,
        "dept": row.dept,
        "system": row.system,
        "roles": sorted(row.roles),
        "subject_id": _masked(row.subject_id),
        "redirect_uris": row.redirect_uris,
        "previous_secret_valid_until": row.previous_secret_until,
        **_state(row),
    }


def user_out(row: Person) -> dict[str, Any]:
    return {
        "username": row.username,
        "name": row.name,
        "dept": row.dept,
        "roles": sorted(row.roles),
        "subject_id": _masked(row.subject_id),
        "must_change_password": row.must_change_password,
        "password_changed_at": row.password_changed_at,
        "totp_enrolled": row.totp_secret is not None,
        **_state(row),
    }


def _state(row: Department | AppSystem | ClientRecord | Person) -> dict[str, Any]:
    return {
        "disabled": row.disabled,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _masked(subject_id: str | None) -> str | None:
    # Personal data (DESIGN §3.3): the bureau is not the subject, so it sees the identifier masked.
    return mask_identifier(subject_id) if subject_id else None


def _listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "total": len(items)}


# --------------------------------------------------------------------------------------------- reading


async def list_departments(db: Database) -> dict[str, Any]:
    return _listing([department_out(r) for r in await _all(db, Department, Department.code)])


async def list_systems(db: Database) -> dict[str, Any]:
    return _listing([system_out(r) for r in await _all(db, AppSystem, AppSystem.id)])


async def list_clients(db: Database) -> dict[str, Any]:
    return _listing([client_out(r) for r in await _all(db, ClientRecord, ClientRecord.client_id)])


async def list_users(db: Database) -> dict[str, Any]:
    return _listing([user_out(r) for r in await _all(db, Person, Person.username)])


async def _all(db: Database, model: type, order: Any) -> list[Any]:
    async with db.reading() as session:
        return list((await session.execute(sa.select(model).order_by(order))).scalars())


async def whoami(db: Database, *, caller: Caller) -> dict[str, Any]:
    """`{sub, name, dept, roles, system?}`; the name is the registry's when the caller is registered."""
    async with db.reading() as session:
        row: ClientRecord | Person | None = None
        if caller.client_id == caller.sub:
            row = await session.get(ClientRecord, caller.sub)
        if row is None:
            row = await session.get(Person, caller.sub)
    name = row.name if row is not None else caller.claims.get("name")
    out: dict[str, Any] = {"sub": caller.sub, "name": name, "dept": caller.dept, "roles": sorted(caller.roles)}
    if isinstance(caller.claims.get("system"), str):
        out["system"] = caller.claims["system"]
    return out


async def identity_snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every entry's id, membership, `disabled` and version: what the gateway's identity projection starts from
    (projection.py), read from the registry the gateway owns."""
    async with db.reading() as session:

        async def rows(*columns: Any) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in await session.execute(sa.select(*columns))]

        return {
            "departments": await rows(Department.code, Department.disabled, Department.version),
            "systems": await rows(AppSystem.id, AppSystem.dept, AppSystem.disabled, AppSystem.version),
            "clients": await rows(
                ClientRecord.client_id,
                ClientRecord.dept,
                ClientRecord.system,
                ClientRecord.disabled,
                ClientRecord.version,
            ),
            "users": await rows(Person.username, Person.dept, Person.disabled, Person.version),
        }


# --------------------------------------------------------------------------------------------- creating


async def create_department(db: Database, *, body: Mapping[str, Any], caller: Caller, now: datetime) -> dict:
    check = _Check(body, {"code", "name"})
    code = check.identifier("code", max_length=MAX_CODE)
    name = check.name("name", required=True)
    check.done()
    async with db.session() as session:
        await _refuse_existing(session, Department, code, "department_exists", f"部门 {code} 已存在", "code")
        row = Department(code=code, name=name, created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        await publish_change(session, "created", row, caller)
        return department_out(row)


async def create_system(db: Database, *, body: Mapping[str, Any], caller: Caller, now: datetime) -> dict:
    check = _Check(body, {"id", "dept", "name"})
    ident = check.identifier("id")
    name = check.name("name", required=True)
    dept = check.text("dept", required=True)
    async with db.session() as session:
        await check.department(session, dept)
        check.done()
        await _refuse_existing(session, AppSystem, ident, "system_exists", f"应用系统 {ident} 已存在", "id")
        row = AppSystem(id=ident, dept=dept, name=name, created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        await publish_change(session, "created", row, caller)
        return system_out(row)


async def create_client(db: Database, *, body: Mapping[str, Any], caller: Caller, now: datetime) -> dict:
    """A machine client; its secret (`client_secret`, 256 random bits) is in this answer and nowhere else."""
    check = _Check(body, {"client_id", "name", "dept", "roles", "system", "subject_id", "redirect_uris"})
    client_id = check.identifier("client_id")
    name = check.name("name")
    uris = check.redirect_uris()
    roles = check.roles(CLIENT_ROLES, allow_empty=uris is not None)
    dept, subject_id = check.membership(roles)
    system = check.text("system")
    secret = secrets.token_urlsafe(32)
    secret_hash = await asyncio.to_thread(passwords.hash_secret, secret)  # outside the transaction: ~20 ms
    async with db.session() as session:
        await check.department(session, dept)
        await check.system(session, system, dept)
        check.done()
        await _refuse_existing(
            session, ClientRecord, client_id, "client_exists", f"客户端 {client_id} 已存在", "client_id"
        )
        await _refuse_existing(
            session,
            Person,
            client_id,
            "name_in_use",
            f"{client_id} 已是一位用户的用户名，客户端编号须另取",
            "client_id",
        )
        row = ClientRecord(
            client_id=client_id,
            name=name,
            dept=dept,
            system=system,
            roles=roles,
            subject_id=subject_id,
            redirect_uris=uris,
            secret_hash=secret_hash,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await publish_change(session, "created", row, caller)
        return {**client_out(row), "client_secret": secret}


async def create_user(db: Database, *, body: Mapping[str, Any], caller: Caller, now: datetime) -> dict:
    """A person; the temporary password is in this answer only and must be changed at the first sign-in."""
    check = _Check(body, {"username", "name", "dept", "roles", "subject_id"})
    username = check.identifier("username")
    name = check.name("name")
    roles = check.roles(PERSON_ROLES)
    dept, subject_id = check.membership(roles)
    password = temporary_password(username)
    password_hash = await asyncio.to_thread(passwords.hash_secret, password)
    async with db.session() as session:
        await check.department(session, dept)
        check.done()
        await _refuse_existing(session, Person, username, "user_exists", f"用户 {username} 已存在", "username")
        # Token subjects must name one principal: a person may not take a client's id (nor the other way round).
        await _refuse_existing(
            session, ClientRecord, username, "name_in_use", f"{username} 已是一个客户端的编号，用户名须另取", "username"
        )
        row = Person(
            username=username,
            name=name,
            dept=dept,
            roles=roles,
            subject_id=subject_id,
            password_hash=password_hash,
            must_change_password=True,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await publish_change(session, "created", row, caller)
        return {**user_out(row), "temporary_password": password}


# --------------------------------------------------------------------------------------------- changing


async def rotate_client_secret(
    db: Database, *, client_id: str, caller: Caller, now: datetime, grace: timedelta
) -> dict[str, Any]:
    """A new secret, answered once. The one it replaces stays valid for `grace` (store.Registry.authenticate),
    so the department can roll the new secret out to every instance of its system without an outage; a
    rotation within the grace period of the last one ends that previous secret at once."""
    secret = secrets.token_urlsafe(32)
    secret_hash = await asyncio.to_thread(passwords.hash_secret, secret)
    async with db.session() as session:
        row = await get_or_404(session, ClientRecord, client_id, for_update=True)
        if row.disabled:
            raise Problem(409, "client_disabled", f"客户端 {client_id} 已停用，不能更换密钥")
        row.previous_secret_hash = row.secret_hash if grace > timedelta(0) else None
        row.previous_secret_until = now + grace if grace > timedelta(0) else None
        row.secret_hash = secret_hash
        row.updated_at = now
        await publish_change(session, "secret_rotated", row, caller)
        return {
            "client_id": row.client_id,
            "client_secret": secret,
            "previous_secret_valid_until": row.previous_secret_until,
            "version": row.version,
        }


async def disable_client(db: Database, *, client_id: str, caller: Caller, now: datetime) -> dict[str, Any]:
    """Disabled at once for token issuance (the shared database) and, through its event, for every replica's
    data plane and API routing within a second. Disabling a disabled client changes nothing."""
    async with db.session() as session:
        row = await get_or_404(session, ClientRecord, client_id, for_update=True)
        await _disable(session, row, caller, now)
        return client_out(row)


async def disable_user(db: Database, *, username: str, caller: Caller, now: datetime) -> dict[str, Any]:
    async with db.session() as session:
        row = await get_or_404(session, Person, username, for_update=True)
        await _disable(session, row, caller, now)
        await end_sign_ins(session, username, now, "user_disabled")
        return user_out(row)


async def _disable(session: AsyncSession, row: ClientRecord | Person, caller: Caller, now: datetime) -> None:
    if not row.disabled:
        row.disabled = True
        row.updated_at = now
        await publish_change(session, "disabled", row, caller)


async def reset_password(db: Database, *, username: str, caller: Caller, now: datetime) -> dict[str, Any]:
    """A new temporary password, answered once; the person must change it at the next sign-in (等保 2.0)."""
    password = temporary_password(username)
    password_hash = await asyncio.to_thread(passwords.hash_secret, password)
    async with db.session() as session:
        row = await get_or_404(session, Person, username, for_update=True)
        if row.disabled:
            raise Problem(409, "user_disabled", f"用户 {username} 已停用，不能重置密码")
        row.password_hash = password_hash
        row.must_change_password = True
        row.password_changed_at = now
        row.updated_at = now
        # A reset is what the bureau does when an account may be in someone else's hands: that someone's
        # sign-ins end with it (their access tokens lapse within SIGNIN_ACCESS_TOKEN_TTL_SECONDS).
        await end_sign_ins(session, username, now, "password_reset")
        await publish_change(session, "password_reset", row, caller)
        return {
            "username": row.username,
            "temporary_password": password,
            "must_change_password": True,
            "version": row.version,
        }


async def end_sign_ins(session: AsyncSession, username: str, now: datetime, reason: str) -> None:
    """Revoke every open sign-in (refresh-token family) of a person."""
    await session.execute(
        sa.update(SigninSession)
        .where(SigninSession.username == username, SigninSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def temporary_password(username: str) -> str:
    """16 random characters with one of each class at least, so it meets the password policy it will replace."""
    pool = "".join(_PASSWORD_CLASSES)
    shuffle = secrets.SystemRandom().shuffle
    while True:
        chars = [secrets.choice(c) for c in _PASSWORD_CLASSES]
        chars += [secrets.choice(pool) for _ in range(TEMPORARY_PASSWORD_LENGTH - len(chars))]
        shuffle(chars)
        password = "".join(chars)
        if password_policy_violation(password, username) is None:
            return password


async def _refuse_existing(session: AsyncSession, model: type, ident: str, code: str, detail: str, field: str):
    if await session.get(model, ident) is not None:
        raise Problem(409, code, detail, field=field)


# --------------------------------------------------------------------------------------------- input rules


class _Check:
    """Collects every broken rule of one request body; `done()` raises one 422 naming each field and rule."""

    def __init__(self, body: Mapping[str, Any], fields: set[str]) -> None:
        self.body = body
        self.errors: list[dict[str, str]] = []
        for extra in sorted(set(body) - fields):
            self.fail(extra, "unknown_field", f"不支持的字段（可用字段：{'、'.join(sorted(fields))}）")

    def fail(self, field: str, rule: str, detail: str) -> None:
        if not any(e["field"] == field for e in self.errors):  # the first broken rule of a field says enough
            self.errors.append({"field": field, "rule": rule, "detail": detail})

    def done(self) -> None:
        if self.errors:
            raise validation_problem(self.errors)

    def has_error(self, field: str) -> bool:
        return any(e["field"] == field for e in self.errors)

    # ---- fields

    def identifier(self, field: str, *, max_length: int = 64) -> str:
        value = self.body.get(field)
        if value is None:
            self.fail(field, "required", "必填")
        elif not isinstance(value, str) or not ID_RE.match(value) or len(value) > max_length:
            self.fail(field, "id_format", f"须为 1–{max_length} 位字母、数字或 . _ -，以字母或数字开头")
        return value if isinstance(value, str) else ""

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self.body.get(field)
        if value is None:
            if required:
                self.fail(field, "required", "必填")
            return None
        if not isinstance(value, str) or not value:
            self.fail(field, "type", "须为非空字符串")
            return None
        return value

    def name(self, field: str, *, required: bool = False) -> str | None:
        value = self.body.get(field)
        if value is None:
            if required:
                self.fail(field, "required", "必填")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(field, "non_empty_string", "须为非空字符串")
            return None
        if len(value.strip()) > MAX_NAME:
            self.fail(field, "max_length", f"不能超过 {MAX_NAME} 个字符")
        return value.strip()

    def roles(self, allowed: Iterable[str], *, allow_empty: bool = False) -> list[str]:
        allowed = frozenset(allowed)
        value = self.body.get("roles")
        if value is None and allow_empty:
            return []
        if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
            self.fail("roles", "type", f"须为角色列表，可选：{', '.join(sorted(allowed))}")
            return []
        if not value and not allow_empty:
            self.fail("roles", "required", f"至少需要一个角色，可选：{', '.join(sorted(allowed))}")
        unknown = [r for r in value if r not in KNOWN_ROLES]
        if unknown:
            self.fail("roles", "known_role", f"未知角色 {', '.join(unknown)}；可选：{', '.join(sorted(allowed))}")
        refused = [r for r in value if r in KNOWN_ROLES and r not in allowed]
        if refused:
            self.fail("roles", "assignable_role", f"不能通过接口授予角色 {', '.join(refused)}")
        return sorted(set(value))

    def membership(self, roles: list[str]) -> tuple[str | None, str | None]:
        """(dept, subject_id): citizens have a valid subject_id and no department; everyone else a department
        (when they hold a role) and no subject_id."""
        dept, subject_id = self.text("dept"), self.body.get("subject_id")
        if Role.CITIZEN in roles:
            if len(roles) > 1:
                self.fail("roles", "citizen_only_role", "公民或企业账号不能同时具有部门角色")
            if dept is not None:
                self.fail("dept", "citizen_has_no_department", "公民或企业账号不属于任何部门")
            return None, self.subject_id(subject_id)
        if subject_id is not None:
            self.fail("subject_id", "only_for_citizens", "只有公民或企业账号才有证件号码（subject_id）")
        if dept is None and roles and not self.has_error("dept"):
            self.fail("dept", "required", "部门人员和部门客户端必须指定所属部门")
        return dept, None

    def subject_id(self, value: Any) -> str | None:
        """A 公民身份号码 or, for a company, a 统一社会信用代码 (chosen by shape: 17 leading digits → ID card)."""
        if value is None:
            self.fail("subject_id", "required", "公民或企业账号须提供证件号码（身份证号或统一社会信用代码）")
            return None
        try:
            stripped = value.strip() if isinstance(value, str) else value
            if isinstance(stripped, str) and stripped[:17].isascii() and stripped[:17].isdigit():
                return validate_resident_id(stripped).value
            return validate_credit_code(stripped).value
        except InvalidIdentifier as exc:
            self.fail("subject_id", exc.rule, exc.message)
            return None

    def redirect_uris(self) -> list[str] | None:
        value = self.body.get("redirect_uris")
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(map(is_redirect_uri, value)):
            self.fail("redirect_uris", "redirect_uri", "须为非空列表，每项是不含片段（#）的绝对 http(s) 地址")
            return None
        return list(value)

    # ---- rules that read the registry

    async def department(self, session: AsyncSession, code: str | None) -> None:
        if code is None or self.has_error("dept"):
            return
        row = await session.get(Department, code)
        if row is None:
            self.fail("dept", "known_department", f"部门 {code} 不存在")
        elif row.disabled:
            self.fail("dept", "active_department", f"部门 {code} 已停用")

    async def system(self, session: AsyncSession, system: str | None, dept: str | None) -> None:
        if system is None or self.has_error("system"):
            return
        row = await session.get(AppSystem, system)
        if row is None:
            self.fail("system", "known_system", f"应用系统 {system} 不存在")
        elif row.dept != dept:
            self.fail("system", "system_of_department", f"应用系统 {system} 属于 {row.dept}，不属于该客户端的部门")
        elif row.disabled:
            self.fail("system", "active_system", f"应用系统 {system} 已停用")
