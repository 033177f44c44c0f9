"""access tokens: personal access tokens with scopes

Revision ID: 0009_access_tokens
Revises: 0008_list_sort
Create Date: 2026-12-03 08:45:00

Only the SHA-256 digest of each token is stored; a token goes with its account.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0009_access_tokens"
down_revision: str | None = "0008_list_sort"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_access_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_tokens_user_id_created_at", ["user_id", "created_at"], unique=False
        )
        batch_op.create_index("uq_access_tokens_digest", ["digest"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_access_tokens_digest")
        batch_op.drop_index("ix_access_tokens_user_id_created_at")

    op.drop_table("access_tokens")
