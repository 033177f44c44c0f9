from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


def _list_column() -> Column:  # type: ignore[type-arg]
    return Column(_ID, ForeignKey("lists.id", ondelete="CASCADE"), nullable=False)


def _by_column() -> Column:  # type: ignore[type-arg]
    return Column(String(64), ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class Invitation(SQLModel, table=True):
    """A share with an address that has no account yet: it becomes a membership when that
    address signs up."""

    __tablename__ = "list_invitations"
    __table_args__ = (
        UniqueConstraint("list_id", "email"),
        # Looked up by address at every sign-up.
        Index("ix_list_invitations_email", "email"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    list_id: int = Field(sa_column=_list_column())
    email: str = Field(sa_column=Column(String(320), nullable=False))
    role: str = Field(max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    invited_by: str | None = Field(default=None, sa_column=_by_column())


class ShareLink(SQLModel, table=True):
    """A link anyone signed in may open to join a list with its role. Only the SHA-256 of
    its secret is kept: a copy of this table opens nothing."""

    __tablename__ = "list_links"
    __table_args__ = (
        UniqueConstraint("secret_hash"),
        Index("ix_list_links_list_id", "list_id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    list_id: int = Field(sa_column=_list_column())
    role: str = Field(max_length=10)
    secret_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, sa_column=_by_column())
