"""trash: a deleted task keeps its row, marked with the moment it was deleted

Revision ID: 0011_trash
Revises: 0009_access_tokens
Create Date: 2026-12-03 09:00:00

A nullable column, so SQLite adds it in place (no table rebuild, the search triggers stay);
every task there is today is live.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0011_trash"
down_revision: str | None = "0009_access_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_tasks_user_id_deleted_at"


def upgrade() -> None:
    op.add_column(
        "tasks", sa.Column("deleted_at", todo.core.db.UTCDateTime(timezone=True), nullable=True)
    )
    # Partial (trashed tasks only): creating a task writes nothing to it, and the purge
    # across every user reads just the trash.
    trashed = sa.text("deleted_at IS NOT NULL")
    op.create_index(
        _INDEX,
        "tasks",
        ["user_id", "deleted_at", "id"],
        unique=False,
        postgresql_where=trashed,
        sqlite_where=trashed,
    )


def downgrade() -> None:
    # What is in the trash was deleted: going back to a schema without a trash deletes it
    # for good, rather than bringing it back to life.
    op.execute("DELETE FROM tasks WHERE deleted_at IS NOT NULL")
    op.drop_index(_INDEX, table_name="tasks")
    # SQLite 3.35+ drops a column without an index or constraint in place, so the search
    # index's triggers on tasks stay as they are.
    op.drop_column("tasks", "deleted_at")
