"""events: one row per change to a task, list or tag, for activity and live streams

Revision ID: 0012_events
Revises: 0010_notifications
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0012_events"
down_revision: str | None = "0010_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("list_id", _ID, nullable=True),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("resource_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_events_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_user_id_id", "events", ["user_id", "id"])
    op.create_index("ix_events_user_id_list_id_id", "events", ["user_id", "list_id", "id"])
    op.create_index(
        "ix_events_user_id_resource_resource_id_id",
        "events",
        ["user_id", "resource", "resource_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_events_user_id_resource_resource_id_id", table_name="events")
    op.drop_index("ix_events_user_id_list_id_id", table_name="events")
    op.drop_index("ix_events_user_id_id", table_name="events")
    op.drop_table("events")
