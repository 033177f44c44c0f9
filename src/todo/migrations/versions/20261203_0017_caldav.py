"""caldav: app passwords, and the objects CalDAV clients wrote for tasks

Revision ID: 0017_caldav
Revises: 0016_subtasks
Create Date: 2026-12-03 14:30:00

Two tables of their own; no existing row changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0017_caldav"
down_revision: str | None = "0016_subtasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "app_passwords",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_app_passwords_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_passwords")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_app_passwords_user_id_created_at", "app_passwords", ["user_id", "created_at"]
    )
    op.create_index(
        "uq_app_passwords_user_id_digest", "app_passwords", ["user_id", "digest"], unique=True
    )
    op.create_table(
        "caldav_objects",
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("href", sa.String(length=255), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("ical", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_caldav_objects_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_caldav_objects_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_caldav_objects")),
    )
    op.create_index(
        "uq_caldav_objects_user_id_href", "caldav_objects", ["user_id", "href"], unique=True
    )
    op.create_index("ix_caldav_objects_user_id_uid", "caldav_objects", ["user_id", "uid"])
    op.create_table(
        "caldav_collections",
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_caldav_collections_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_caldav_collections_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_caldav_collections")),
    )
    op.create_index(
        "uq_caldav_collections_user_id_name", "caldav_collections", ["user_id", "name"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_caldav_collections_user_id_name", table_name="caldav_collections")
    op.drop_table("caldav_collections")
    op.drop_index("ix_caldav_objects_user_id_uid", table_name="caldav_objects")
    op.drop_index("uq_caldav_objects_user_id_href", table_name="caldav_objects")
    op.drop_table("caldav_objects")
    op.drop_index("uq_app_passwords_user_id_digest", table_name="app_passwords")
    op.drop_index("ix_app_passwords_user_id_created_at", table_name="app_passwords")
    op.drop_table("app_passwords")
