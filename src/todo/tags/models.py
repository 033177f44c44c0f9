from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class Tag(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (
        # Tags are unique per user regardless of case; `key` is the lower-cased name.
        UniqueConstraint("user_id", "key"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    name: str = Field(max_length=50)
    key: str = Field(sa_column=Column(String(50), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TaskTag(SQLModel, table=True):
    __tablename__ = "task_tags"
    __table_args__ = (Index("ix_task_tags_user_id_tag_id", "user_id", "tag_id", "task_id"),)

    task_id: int = Field(
        sa_column=Column(_ID, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=Column(_ID, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
