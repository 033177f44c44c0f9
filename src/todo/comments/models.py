from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class Comment(SQLModel, table=True):
    """A comment on a task. `user_id` is the task's owner (the shard key, first in the
    index), `author_id` whoever wrote it: a member of the task's list."""

    __tablename__ = "comments"
    __table_args__ = (
        # A task's comments, oldest first: the one way they are read.
        Index("ix_comments_user_id_task_id_id", "user_id", "task_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    user_id: str = Field(
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    task_id: int = Field(
        sa_column=Column(_ID, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    )
    # A deleted account's comments stay, without an author, so the thread keeps its sense.
    author_id: str | None = Field(
        default=None,
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
