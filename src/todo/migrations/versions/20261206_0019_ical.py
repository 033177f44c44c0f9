"""ical: the parent UID a CalDAV object set, and secret calendar feeds

Revision ID: 0019_ical
Revises: 0018_comments_follow_tasks
Create Date: 2026-12-06 21:00:00

Two nullable columns on caldav_objects (existing objects set no parent through CalDAV yet)
and one new table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0019_ical"
down_revision: str | None = "0018_comments_follow_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("caldav_objects") as batch:
        batch.add_column(sa.Column("parent_uid", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("awaiting_parent", sa.String(length=255), nullable=True))
    op.create_index(
        "ix_caldav_objects_user_id_awaiting_parent",
        "caldav_objects",
        ["user_id", "awaiting_parent"],
    )
    op.create_table(
        "ical_feeds",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("list_id", _ID, nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ical_feeds_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_ical_feeds_list_id_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ical_feeds")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ical_feeds_user_id_created_at", "ical_feeds", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ical_feeds_user_id_created_at", table_name="ical_feeds")
    op.drop_table("ical_feeds")
    op.drop_index("ix_caldav_objects_user_id_awaiting_parent", table_name="caldav_objects")
    with op.batch_alter_table("caldav_objects") as batch:
        batch.drop_column("awaiting_parent")
        batch.drop_column("parent_uid")
