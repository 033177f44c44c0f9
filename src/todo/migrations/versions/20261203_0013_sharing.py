"""sharing: list members with roles, invitations by email, share links

Revision ID: 0013_sharing
Revises: 0012_events
Create Date: 2026-12-03 09:00:00

A list's owner stays its user_id; members, pending invitations and links are rows of their
own, so a list nobody shares costs nothing and no existing row changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0013_sharing"
down_revision: str | None = "0012_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "list_members",
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("added_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.id"],
            name=op.f("fk_list_members_added_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_list_members_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_list_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "user_id", name=op.f("pk_list_members")),
    )
    op.create_index(
        "ix_list_members_user_id_list_id", "list_members", ["user_id", "list_id", "role"]
    )
    op.create_table(
        "list_invitations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("invited_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_list_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_list_invitations_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_invitations")),
        sa.UniqueConstraint("list_id", "email", name=op.f("uq_list_invitations_list_id_email")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_list_invitations_email", "list_invitations", ["email"])
    op.create_table(
        "list_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_list_links_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_list_links_list_id_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_links")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_list_links_secret_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_list_links_list_id", "list_links", ["list_id"])


def downgrade() -> None:
    op.drop_index("ix_list_links_list_id", table_name="list_links")
    op.drop_table("list_links")
    op.drop_index("ix_list_invitations_email", table_name="list_invitations")
    op.drop_table("list_invitations")
    op.drop_index("ix_list_members_user_id_list_id", table_name="list_members")
    op.drop_table("list_members")
