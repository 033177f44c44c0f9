from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlmodel import Column, Field, Relationship, SQLModel

from todo.accounts.models import User
from todo.core.db import UTCDateTime, utcnow
from todo.lists.models import POSITION_TYPE
from todo.tags.models import Tag, TaskTag

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
        Index("ix_tasks_user_id_completed_at", "user_id", "completed_at", "id"),
        Index("ix_tasks_user_id_priority", "user_id", "priority", "id"),
        Index("ix_tasks_user_id_list_id_position", "user_id", "list_id", "position", "id"),
        Index("ix_tasks_user_id_remind_at", "user_id", "remind_at"),
        # The reminder scan reads fired reminders of every user by time.
        Index("ix_tasks_remind_at", "remind_at"),
        Index("ix_tasks_user_id_series_id", "user_id", "series_id", "occurrence"),
        # The trash, newest deletion first, and the purge of what is older than 30 days.
        # Partial: it holds trashed tasks only, so creating a task writes nothing to it and
        # the purge, across users, reads the trash alone.
        Index(
            "ix_tasks_user_id_deleted_at",
            "user_id",
            "deleted_at",
            "id",
            postgresql_where=text("deleted_at IS NOT NULL"),
            sqlite_where=text("deleted_at IS NOT NULL"),
        ),
        # The children of a page of tasks, counted by (owner, parent) for tasks with one.
        Index(
            "ix_tasks_user_id_parent_id",
            "user_id",
            "parent_id",
            postgresql_where=text("parent_id IS NOT NULL"),
            sqlite_where=text("parent_id IS NOT NULL"),
        ),
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
    list_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("lists.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    position: str = Field(sa_column=Column(POSITION_TYPE, nullable=False))
    # 0 none, 1 low, 2 medium, 3 high, 4 urgent: sorts by importance as a number.
    priority: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False, default=0))
    # Always the calendar day the task is due (for a timed one, that day in the owner's
    # time zone), so day views and sorting use one indexed column.
    due_date: date | None = Field(default=None)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remind_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminder_dismissed: bool = Field(default=False)
    rrule: str | None = Field(default=None, max_length=500)
    recurrence_mode: str = Field(default="due", max_length=10)
    series_id: str | None = Field(default=None, max_length=36)
    occurrence: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_VERSION)
    # Set when the task goes to the trash: it keeps its id, list, position and tags, is
    # left out of everything a live task shows in, and can be restored for TRASH_DAYS.
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who is to do it: the list's owner or one of its members (tasks/service.py keeps it so).
    assignee_id: str | None = Field(
        default=None,
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    # The task this one is a subtask of: in the same list, at most SUBTASK_DEPTH levels deep,
    # never its own ancestor. No foreign key: the service keeps it (tasks/service.py).
    parent_id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)
    )
    # Loaded with every task in one batched query per statement; written through TaskTag
    # rows, which carry the owner for per-user indexing.
    tags: list[Tag] = Relationship(
        link_model=TaskTag, sa_relationship_kwargs={"lazy": "selectin", "viewonly": True}
    )
    # For the answers' {id, name}; written through assignee_id only.
    assignee: User | None = Relationship(
        sa_relationship_kwargs={
            "lazy": "selectin",
            "viewonly": True,
            "foreign_keys": "[Task.assignee_id]",
        }
    )
