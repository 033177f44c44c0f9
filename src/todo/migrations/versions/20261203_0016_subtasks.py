"""subtasks: a task may have a parent task of the same list

Revision ID: 0016_subtasks
Revises: 0015_collab
Create Date: 2026-12-03 14:20:00

A nullable column without a foreign key: SQLite adds it in place (no table rebuild, the
search triggers stay), and the service keeps it consistent (same list, depth, no cycles;
a parent's subtree goes to the trash, is restored and is deleted for good with it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_subtasks"
down_revision: str | None = "0015_collab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_tasks_user_id_parent_id"


def upgrade() -> None:
    op.add_column(
        "tasks",
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    )
    # The children of a page of tasks are counted by (owner, parent); only tasks that have
    # a parent are in it, so a task without one writes nothing to it.
    has_parent = sa.text("parent_id IS NOT NULL")
    op.create_index(
        _INDEX,
        "tasks",
        ["user_id", "parent_id"],
        unique=False,
        postgresql_where=has_parent,
        sqlite_where=has_parent,
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="tasks")
    op.drop_column("tasks", "parent_id")
