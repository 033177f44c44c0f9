from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, func, text
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow

# Position keys compare byte-wise on every backend (see core/ordering.py).
POSITION_TYPE = String(64).with_variant(String(64, collation="C"), "postgresql")
NAME_INDEX = "uq_lists_user_id_lower_name"


class TaskList(SQLModel, table=True):
    __tablename__ = "lists"
    __table_args__ = (
        Index("ix_lists_user_id_position", "user_id", "position", "id"),
        # At most one Inbox per user, even when two first requests race to create it.
        Index(
            "uq_lists_user_id_inbox",
            "user_id",
            unique=True,
            sqlite_where=text("is_inbox"),
            postgresql_where=text("is_inbox"),
        ),
        # One list per name and user, whatever the case: also under parallel creates.
        Index(NAME_INDEX, "user_id", func.lower(text("name")), unique=True),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    name: str = Field(max_length=100)
    color: str | None = Field(default=None, max_length=7)
    position: str = Field(sa_column=Column(POSITION_TYPE, nullable=False))
    is_inbox: bool = Field(default=False)
    # The order the owner last chose to see the list in on the web ("newest", "manual", ...):
    # a preference kept with the list so that it holds on every device.
    sort: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ListMember(SQLModel, table=True):
    """Someone a list is shared with, and their role. The owner is the list's user_id and
    never has a row here, so that a list nobody shares costs nothing."""

    __tablename__ = "list_members"
    __table_args__ = (
        # "Lists shared with me": the one query every request makes (lists/access.py).
        Index("ix_list_members_user_id_list_id", "user_id", "list_id", "role"),
    )

    list_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("lists.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    user_id: str = Field(
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    role: str = Field(max_length=10)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    added_by: str | None = Field(
        default=None,
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
