"""Tables of people's sign-in and of authentication throttling, in the registry's database (so every gateway
replica sees the same locks, codes and sessions). Codes, refresh tokens and the login page's browser binding are
stored only as SHA-256 hashes: they are long random values, so a plain hash suffices and a database dump grants
nothing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from govdata_shared.db import UTCDateTime
from sqlmodel import JSON, Column, Field, SQLModel


class AuthFailure(SQLModel, table=True):
    """Failed authentications of one account (a person or a client) from one source address; the lock they
    earned. Keyed by the address too, so a stranger elsewhere cannot lock the account's owner out."""

    __tablename__ = "auth_failure"

    kind: str = Field(primary_key=True, max_length=8)  # "user" | "client"
    account: str = Field(primary_key=True, max_length=64)
    source: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PendingSignin(SQLModel, table=True):
    """An authorization request whose login page is being filled in, step by step (password, second factor,
    new password); bound to the browser that opened it by a cookie whose hash is kept here (CSRF)."""

    __tablename__ = "signin_pending"

    id: str = Field(primary_key=True, max_length=64)
    browser_hash: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(sa_type=sa.Text)
    code_challenge: str = Field(max_length=64)
    state: str | None = Field(default=None, sa_type=sa.Text)
    step: str = Field(max_length=16)
    username: str | None = Field(default=None, max_length=64)
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    totp_enrolment_secret: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class AuthorizationCode(SQLModel, table=True):
    """A one-time authorization code (RFC 6749 §4.1.2) with its PKCE challenge (RFC 7636)."""

    __tablename__ = "signin_code"

    code_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(sa_type=sa.Text)
    code_challenge: str = Field(max_length=64)
    username: str = Field(max_length=64)
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    session_id: str | None = Field(default=None, max_length=36)


class SigninSession(SQLModel, table=True):
    """One sign-in of a person through one client: the family of its rotating refresh tokens. It ends on logout,
    when a refresh token is used twice, when unused for the idle timeout, or at its maximum age."""

    __tablename__ = "signin_session"

    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(max_length=64, index=True)
    client_id: str = Field(max_length=64)
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime = Field(sa_type=UTCDateTime, index=True)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=32)


class RefreshToken(SQLModel, table=True):
    """A refresh token of a session; `used_at` is set when it was exchanged (rotated) for the next one."""

    __tablename__ = "signin_refresh_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="signin_session.id", max_length=36, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TotpUse(SQLModel, table=True):
    """The last TOTP time step a person signed in with: a code is accepted once (RFC 6238 §5.2)."""

    __tablename__ = "signin_totp_use"

    username: str = Field(primary_key=True, max_length=64)
    last_step: int = Field(sa_type=sa.BigInteger)


class FederatedSignin(SQLModel, table=True):
    """A sign-in sent on to the external OpenID provider (统一身份认证) from a pending login page: what its callback
    must match (the `state`, stored hashed; the browser that left, by a cookie's hash) and the `nonce` and PKCE
    verifier of the request. Used once: the callback deletes it."""

    __tablename__ = "signin_federated"

    state_hash: str = Field(primary_key=True, max_length=64)
    pending_id: str = Field(max_length=64)
    browser_hash: str = Field(max_length=64)
    nonce: str = Field(max_length=64)
    code_verifier: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
