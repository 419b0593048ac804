"""Sign-in over the registry's database: the login page's pending requests, one-time codes, sessions with their
rotating refresh tokens, TOTP steps, and the changes a person makes to their own entry (new password, second
factor). Every function takes `now` from the caller (the app's clock), so time can be moved in tests.

A refusal is raised as `Refused` only after the transaction that recorded its consequences (a revoked family)
has committed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from govdata_shared.auth import Caller, Role
from govdata_shared.db import Database
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_gateway.clients import ID_RE, Client
from govdata_gateway.registry.events import publish_change
from govdata_gateway.registry.models import Department, Person, RegistryMeta
from govdata_gateway.signin.federation import FederatedIdentity, refusal_for
from govdata_gateway.signin.models import (
    AuthorizationCode,
    FederatedSignin,
    PendingSignin,
    RefreshToken,
    SigninSession,
    TotpUse,
)
from govdata_gateway.signin.rules import new_secret_token, pkce_matches, token_hash, totp_step

PASSWORD, TOTP, TOTP_ENROL, NEW_PASSWORD = "password", "totp", "totp_enrol", "new_password"
# The password hash of a citizen the provider signed up: no password matches it (passwords.verify_secret), so they
# sign in through the provider until the bureau gives them a password (reset-password).
NO_PASSWORD = "!federated"
_FEDERATED_USERNAME_KEY = "federated_username_key"


class Refused(Exception):
    """A code or refresh token that buys nothing, or a federated sign-in that signs no one in; `reason` is a short
    stable code, `detail` Chinese."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(reason)


@dataclass(frozen=True)
class Issued:
    """What a successful code or refresh-token exchange yields: the session and the person's current entry."""

    session_id: str
    refresh_token: str
    person: Client
    amr: list[str]
    client_id: str


def person_principal(row: Person) -> Client:
    return Client(
        client_id=row.username,
        dept=row.dept,
        roles=frozenset(row.roles),
        subject_id=row.subject_id,
        name=row.name,
    )


def person_caller(row: Person) -> Caller:
    """The person as the actor of the changes they make to their own entry."""
    return Caller(
        sub=row.username,
        dept=row.dept,
        roles=frozenset(row.roles),
        subject_id=row.subject_id,
        client_id=row.username,
        scope="",
        token_id=None,
        claims={},
    )


_ACTIVE_PERSON = (
    sa.select(Person)
    .join(Department, Department.code == Person.dept, isouter=True)
    .where(Person.disabled.is_(False), sa.or_(Person.dept.is_(None), Department.disabled.is_(False)))
)


async def _active_person(session: AsyncSession, username: str, *, for_update: bool = False) -> Person | None:
    if not isinstance(username, str) or not ID_RE.match(username):
        return None
    query = _ACTIVE_PERSON.where(Person.username == username)
    if for_update:
        query = query.with_for_update(of=Person)
    return (await session.execute(query)).scalar()


def _insert(db: Database):
    return (postgresql if db.is_postgres else sqlite).insert


class SigninService:
    def __init__(
        self,
        db: Database,
        *,
        form_ttl: timedelta,
        code_ttl: timedelta,
        idle_timeout: timedelta,
        session_max: timedelta,
    ) -> None:
        self.db = db
        self.form_ttl = form_ttl
        self.code_ttl = code_ttl
        self.idle_timeout = idle_timeout
        self.session_max = session_max

    # ---- people

    async def active_person(self, username: str) -> Person | None:
        """The person when they may sign in: not disabled, nor of a disabled department."""
        async with self.db.reading() as session:
            return await _active_person(session, username)

    async def change_password(self, username: str, new_hash: str, now: datetime) -> bool:
        """Store the person's own new password (hashed by the caller) and lift must_change_password."""
        async with self.db.session() as session:
            person = await _active_person(session, username, for_update=True)
            if person is None:
                return False
            person.password_hash = new_hash
            person.must_change_password = False
            person.password_changed_at = person.updated_at = now
            await publish_change(session, "updated", person, person_caller(person))
        return True

    async def accept_totp(self, username: str, secret: str, code: str, now: datetime, *, enrol: bool) -> bool:
        """Check a TOTP code (each time step good once, across replicas); with `enrol`, bind `secret` to the person
        in the same transaction, unless another sign-in bound one meanwhile."""
        async with self.db.session() as session:
            await session.execute(
                _insert(self.db)(TotpUse).values(username=username, last_step=-1).on_conflict_do_nothing()
            )
            used = await session.get(TotpUse, username, with_for_update=True, populate_existing=True)
            step = totp_step(secret, code, now, used.last_step)
            if step is None:
                return False
            if enrol:
                person = await _active_person(session, username, for_update=True)
                if person is None or person.totp_secret is not None:
                    return False
                person.totp_secret = secret
                person.updated_at = now
                await publish_change(session, "updated", person, person_caller(person))
            used.last_step = step
        return True

    # ---- the login page's pending requests

    async def start(
        self,
        *,
        browser: str,
        client_id: str,
        redirect_uri: str,
        code_challenge: str,
        state: str | None,
        now: datetime,
    ) -> PendingSignin:
        pending = PendingSignin(
            id=new_secret_token(),
            browser_hash=token_hash(browser),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            state=state,
            step=PASSWORD,
            amr=[],
            created_at=now,
            expires_at=now + self.form_ttl,
        )
        async with self.db.session() as session:
            session.add(pending)
        return pending

    async def pending(self, pending_id: str, browser: str | None, now: datetime) -> PendingSignin | None:
        """The pending request when it is still open and was opened by this browser (the CSRF check)."""
        if not pending_id or not browser or len(pending_id) > 64:
            return None
        async with self.db.reading() as session:
            row = await session.get(PendingSignin, pending_id)
        if row is None or row.expires_at <= now or row.browser_hash != token_hash(browser):
            return None
        return row

    async def advance(self, pending_id: str, **changes: Any) -> None:
        async with self.db.session() as session:
            row = await session.get(PendingSignin, pending_id, with_for_update=True)
            if row is not None:
                for name, value in changes.items():
                    setattr(row, name, value)

    async def issue_code(
        self, pending_id: str, username: str, amr: list[str], source: str, now: datetime
    ) -> str | None:
        """Close the pending request and issue its one-time code for `username`, who proved `amr` (RFC 8176
        methods); None when the request was closed meanwhile (another window finished it)."""
        code = new_secret_token()
        async with self.db.session() as session:
            row = await session.get(PendingSignin, pending_id, with_for_update=True)
            if row is None:
                return None
            await session.delete(row)
            session.add(
                AuthorizationCode(
                    code_hash=token_hash(code),
                    client_id=row.client_id,
                    redirect_uri=row.redirect_uri,
                    code_challenge=row.code_challenge,
                    username=username,
                    amr=list(amr),
                    source=source,
                    created_at=now,
                    expires_at=now + self.code_ttl,
                )
            )
        return code

    # ---- codes and refresh tokens

    async def redeem_code(
        self, code: str, *, client_id: str, redirect_uri: str, code_verifier: str, source: str, now: datetime
    ) -> Issued:
        """RFC 6749 §4.1.3 with RFC 7636 §4.6. A code used twice is refused, and the session its first use began
        is revoked (RFC 6749 §4.1.2: tokens issued from a replayed code are revoked)."""
        refused: Refused | None = None
        issued: Issued | None = None
        async with self.db.session() as session:
            row = await session.get(AuthorizationCode, token_hash(code), with_for_update=True)
            if row is not None and row.used_at is not None:
                if row.session_id is not None:
                    await self._revoke(session, row.session_id, now, "code_reused")
                refused = Refused("code_reused", "授权码已被使用过，由它签发的会话已被撤销，请重新登录")
            elif row is None or row.expires_at <= now:
                refused = Refused("invalid_code", "授权码无效或已过期，请重新登录")
            elif row.client_id != client_id or row.redirect_uri != redirect_uri:
                refused = Refused("code_mismatch", "授权码不是签发给该应用或该回调地址（redirect_uri）的")
            elif not pkce_matches(code_verifier, row.code_challenge):
                refused = Refused("pkce_mismatch", "code_verifier 与授权请求中的 code_challenge 不符（PKCE）")
            else:
                row.used_at = now
                person = await _active_person(session, row.username)
                if person is None:
                    refused = Refused("user_disabled", "该用户已停用，不能登录")
                else:
                    row.session_id = str(uuid.uuid4())
                    session.add(
                        SigninSession(
                            id=row.session_id,
                            username=row.username,
                            client_id=client_id,
                            amr=list(row.amr),
                            source=source,
                            created_at=now,
                            last_used_at=now,
                        )
                    )
                    await session.flush()
                    refresh = await self._new_refresh(session, row.session_id, now)
                    issued = Issued(row.session_id, refresh, person_principal(person), list(row.amr), client_id)
        if refused is not None:
            raise refused
        assert issued is not None
        return issued

    async def refresh(self, refresh_token: str, *, client_id: str, now: datetime) -> Issued:
        """Rotate a refresh token (RFC 9700 §4.14.2): the presented one is spent and a new one issued. A spent
        token presented again revokes the whole family, the newest token with it."""
        refused: Refused | None = None
        issued: Issued | None = None
        async with self.db.session() as session:
            token = await session.get(RefreshToken, token_hash(refresh_token), with_for_update=True)
            family = None
            if token is not None:
                family = await session.get(SigninSession, token.session_id, with_for_update=True)
            if token is None or family is None or family.client_id != client_id:
                refused = Refused("invalid_refresh_token", "刷新令牌无效，请重新登录")
            elif family.revoked_at is not None:
                refused = Refused("session_ended", "会话已结束，请重新登录")
            elif token.used_at is not None:
                await self._revoke(session, family.id, now, "refresh_reused")
                refused = Refused("refresh_token_reused", "刷新令牌被重复使用，会话已被撤销，请重新登录")
            elif now - family.last_used_at >= self.idle_timeout:
                await self._revoke(session, family.id, now, "idle_timeout")
                refused = Refused("idle_timeout", "长时间未操作，会话已超时，请重新登录")
            elif now - family.created_at >= self.session_max:
                await self._revoke(session, family.id, now, "max_age")
                refused = Refused("session_max_age", "会话已达到最长时限，请重新登录")
            else:
                person = await _active_person(session, family.username)
                if person is None:
                    await self._revoke(session, family.id, now, "user_disabled")
                    refused = Refused("user_disabled", "该用户已停用，会话已结束")
                else:
                    token.used_at = now
                    family.last_used_at = now
                    refresh = await self._new_refresh(session, family.id, now)
                    issued = Issued(family.id, refresh, person_principal(person), list(family.amr), client_id)
        if refused is not None:
            raise refused
        assert issued is not None
        return issued

    async def logout(
        self, *, session_id: str | None = None, refresh_token: str | None = None, now: datetime
    ) -> str | None:
        """End a session, named by its id (from an access token) or by any refresh token of its family; the
        username when there was one to end."""
        async with self.db.session() as session:
            if refresh_token is not None:
                token = await session.get(RefreshToken, token_hash(refresh_token))
                session_id = token.session_id if token is not None else None
            if session_id is None:
                return None
            family = await self._revoke(session, session_id, now, "logout")
            return family.username if family is not None else None

    async def session_owner(self, session_id: str) -> str | None:
        async with self.db.reading() as session:
            family = await session.get(SigninSession, session_id)
        return family.username if family is not None else None

    async def _new_refresh(self, session: AsyncSession, session_id: str, now: datetime) -> str:
        value = new_secret_token()
        session.add(RefreshToken(token_hash=token_hash(value), session_id=session_id, created_at=now))
        return value

    async def _revoke(self, session: AsyncSession, session_id: str, now: datetime, reason: str) -> SigninSession | None:
        family = await session.get(SigninSession, session_id, with_for_update=True)
        if family is not None and family.revoked_at is None:
            family.revoked_at = now
            family.revoked_reason = reason
        return family

    # ---- federated sign-in (federation.py)

    async def start_federated(
        self,
        *,
        state: str,
        pending_id: str,
        browser: str,
        nonce: str,
        code_verifier: str,
        expires_at: datetime,
        now: datetime,
    ) -> None:
        """Record a request sent on to the provider from the pending login page `pending_id`."""
        async with self.db.session() as session:
            session.add(
                FederatedSignin(
                    state_hash=token_hash(state),
                    pending_id=pending_id,
                    browser_hash=token_hash(browser),
                    nonce=nonce,
                    code_verifier=code_verifier,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    async def take_federated(
        self, state: str, browser: str | None, now: datetime
    ) -> tuple[FederatedSignin, PendingSignin]:
        """The request the provider answered, with its pending login page, when `state` names one this browser
        sent and it is still open. It is used up here, whatever the provider said — except when another browser
        presents it, which must not spoil the person's own callback."""
        refused: Refused | None = None
        unknown = Refused("state_unknown", "登录请求无效或已使用过")
        if not state or len(state) > 128:
            raise unknown
        async with self.db.session() as session:
            row = await session.get(FederatedSignin, token_hash(state), with_for_update=True)
            pending = None
            if row is None:
                refused = unknown
            elif not hmac.compare_digest(row.browser_hash, token_hash(browser or "")):
                refused = Refused("browser_mismatch", "登录请求不是由本浏览器发起的")
            else:
                await session.delete(row)
                if row.expires_at <= now:
                    refused = Refused("state_expired", "登录请求已过期")
                else:
                    pending = await session.get(PendingSignin, row.pending_id)
                    if pending is None or pending.expires_at <= now or pending.step != PASSWORD:
                        refused = Refused("signin_closed", "登录页面已失效")
        if refused is not None:
            raise refused
        assert row is not None and pending is not None
        return row, pending

    async def federated_person(self, identity: FederatedIdentity, *, dept_claimed: bool, now: datetime) -> Person:
        """The registry's person the provider vouched for (refusals as `Refused` with the rule's reason):

        - the person whose username the ID token names, when `refusal_for` allows it;
        - else, for a valid 身份证号 claim, the registry's citizen with that subject_id — or, when there is none, a
          citizen entry created now (identity.user.created), under a username derived from the number with a key
          of the registry's own, so two first sign-ins at once cannot create two entries;
        - anyone else is not registered."""
        try:
            return await self._federated_person(identity, dept_claimed=dept_claimed, now=now)
        except IntegrityError:
            # The same citizen's first sign-in in another window created the entry meanwhile: it is found now.
            return await self._federated_person(identity, dept_claimed=dept_claimed, now=now)

    async def _federated_person(self, identity: FederatedIdentity, *, dept_claimed: bool, now: datetime) -> Person:
        async with self.db.session() as session:
            named = None
            if identity.username is not None and ID_RE.match(identity.username):
                named = await session.get(Person, identity.username)
            if named is not None:
                reason = refusal_for(named, identity, dept_claimed=dept_claimed)
                person = await _active_person(session, named.username) if reason is None else None
                if person is None:
                    raise Refused(reason or "user_disabled", "该用户不能通过统一身份认证登录")
                return person
            if identity.subject_id is None:
                reason = "subject_id_invalid" if identity.subject_id_invalid else "not_registered"
                raise Refused(reason, "该用户未在平台登记")
            rows = (await session.execute(sa.select(Person).where(Person.subject_id == identity.subject_id))).scalars()
            citizens = [row for row in rows if Role.CITIZEN in row.roles]
            if len(citizens) > 1:
                raise Refused("subject_id_ambiguous", "多个用户登记了同一身份证号")
            if citizens:
                if citizens[0].disabled:
                    raise Refused("user_disabled", "该用户已停用")
                return citizens[0]
            person = Person(
                username=await self._federated_username(session, identity.subject_id),
                name=identity.name,
                roles=[Role.CITIZEN.value],
                subject_id=identity.subject_id,
                password_hash=NO_PASSWORD,
                created_at=now,
                updated_at=now,
            )
            session.add(person)
            await session.flush()
            await publish_change(session, "created", person, person_caller(person))
            return person

    async def _federated_username(self, session: AsyncSession, subject_id: str) -> str:
        """`fed-` and a keyed digest of the 身份证号: stable for one person, and telling nothing of the number to
        whoever reads the username (a plain hash of so few possible numbers could be reversed)."""
        await session.execute(
            _insert(self.db)(RegistryMeta)
            .values(key=_FEDERATED_USERNAME_KEY, value=secrets.token_hex(32))
            .on_conflict_do_nothing()
        )
        key = await session.get(RegistryMeta, _FEDERATED_USERNAME_KEY)
        digest = hmac.new(bytes.fromhex(key.value), subject_id.encode("ascii"), hashlib.sha256).hexdigest()
        return "fed-" + digest[:24]

    # ---- housekeeping

    async def purge(self, now: datetime) -> None:
        """Drop what can no longer be used: closed login pages, old codes, sessions ended a day ago."""
        day = timedelta(days=1)
        ended = sa.or_(
            SigninSession.revoked_at < now - day,
            SigninSession.last_used_at < now - self.idle_timeout - day,
            SigninSession.created_at < now - self.session_max - day,
        )
        async with self.db.session() as session:
            await session.execute(sa.delete(PendingSignin).where(PendingSignin.expires_at <= now))
            await session.execute(sa.delete(FederatedSignin).where(FederatedSignin.expires_at <= now))
            await session.execute(sa.delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - day))
            old = sa.select(SigninSession.id).where(ended)
            await session.execute(sa.delete(RefreshToken).where(RefreshToken.session_id.in_(old)))
            await session.execute(sa.delete(SigninSession).where(ended))
