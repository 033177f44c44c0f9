from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlalchemy import BigInteger, Index, Integer, Text
from sqlmodel import Column, Field, SQLModel, String

from todo.core.db import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=lambda: str(uuid4()), primary_key=True, max_length=64)
    # Stored lower-cased, so the unique index makes addresses unique case-insensitively.
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    name: str = Field(default="", max_length=200)
    # IANA zone; day boundaries (today, overdue) and timed due dates are read in it.
    timezone: str = Field(default="UTC", max_length=64)
    password_hash: str | None = Field(default=None, max_length=512)
    # Bumped by "log out everywhere": tokens carrying an older value stop working.
    session_version: int = Field(default=0)
    # For tokens issued elsewhere (Better Auth), which carry no session version.
    tokens_valid_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A browser's log-in. The cookie carries a random token; only its SHA-256 is kept here,
    so a copy of this table cannot be replayed as cookies."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id_expires_at", "user_id", "expires_at"),)

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Slides forward while the session is used, but never past a cap counted from created_at.
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # A one-shot message for the page after a redirect (post/redirect/get), as JSON.
    flash: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DeletedAccount(SQLModel, table=True):
    """The id of a deleted account. A Better Auth token still names its user after the
    account is deleted here; without this, the first such token would create it again."""

    __tablename__ = "deleted_accounts"

    user_id: str = Field(primary_key=True, max_length=64)
    deleted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AccessToken(SQLModel, table=True):
    """A personal access token. Like a web session, only the SHA-256 of its secret is kept,
    so a copy of this table opens nothing."""

    __tablename__ = "access_tokens"
    __table_args__ = (
        Index("ix_access_tokens_user_id_created_at", "user_id", "created_at"),
        # The one index without user_id first: a bearer token is all its request carries, so
        # the look-up is by its digest alone (as web_sessions' primary key is).
        Index("uq_access_tokens_digest", "digest", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    name: str = Field(max_length=100)
    digest: str = Field(max_length=64)
    # Space-separated, in the order of accounts.schemas.SCOPES (as OAuth writes scopes).
    scopes: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Written at most once a minute per token: checking a token must not be a write.
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AppPassword(SQLModel, table=True):
    """A password for one device's CalDAV client (HTTP Basic with the account's email).
    A random secret, so a fast digest is as safe as a slow hash and costs nothing per
    request; only the SHA-256 is kept, as for personal access tokens."""

    __tablename__ = "app_passwords"
    __table_args__ = (
        Index("ix_app_passwords_user_id_created_at", "user_id", "created_at"),
        Index("uq_app_passwords_user_id_digest", "user_id", "digest", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    name: str = Field(max_length=100)
    digest: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Written at most once a minute, as for access tokens.
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
