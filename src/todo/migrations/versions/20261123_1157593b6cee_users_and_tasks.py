"""users and tasks

Revision ID: 1157593b6cee
Revises:
Create Date: 2026-11-23 19:41:55.819773
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "1157593b6cee"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("tokens_valid_after", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column(
            "title",
            sa.String(length=200).with_variant(sa.String(length=200, collation="NOCASE"), "sqlite"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("completed_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tasks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_user_id_completed_created_at",
            ["user_id", "completed", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_tasks_user_id_created_at", ["user_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_tasks_user_id_due_date", ["user_id", "due_date", "id"], unique=False
        )
        batch_op.create_index("ix_tasks_user_id_title", ["user_id", "title", "id"], unique=False)
        batch_op.create_index(
            "ix_tasks_user_id_updated_at", ["user_id", "updated_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_user_id_updated_at")
        batch_op.drop_index("ix_tasks_user_id_title")
        batch_op.drop_index("ix_tasks_user_id_due_date")
        batch_op.drop_index("ix_tasks_user_id_created_at")
        batch_op.drop_index("ix_tasks_user_id_completed_created_at")

    op.drop_table("tasks")
    op.drop_table("users")
