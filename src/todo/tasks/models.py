from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow

_VERSION = Column("version", Integer, nullable=False, default=1)

# SQLite compares text byte-wise by default; NOCASE makes the title sort, its index and
# the keyset comparisons agree with what people expect ("apple" before "Banana").
_TITLE_TYPE = String(200).with_variant(String(200, collation="NOCASE"), "sqlite")


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_user_id_created_at", "user_id", "created_at", "id"),
        Index("ix_tasks_user_id_updated_at", "user_id", "updated_at", "id"),
        Index("ix_tasks_user_id_title", "user_id", "title", "id"),
        Index("ix_tasks_user_id_due_date", "user_id", "due_date", "id"),
        Index("ix_tasks_user_id_completed_created_at", "user_id", "completed", "created_at", "id"),
        # Never hand a deleted task's id to a new one: clients and undo may still hold it.
        {"sqlite_autoincrement": True},
    )
    # The ORM adds "AND version = :seen" to every UPDATE and DELETE, so two writers
    # that read the same version cannot both succeed.
    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": _VERSION}

    # SQLite needs exactly INTEGER for its rowid-backed, never-reused ids.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    title: str = Field(sa_column=Column(_TITLE_TYPE, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    completed: bool = Field(default=False)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_date: date | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_VERSION)
