"""deleted accounts

Revision ID: 0007_deleted_accounts
Revises: 0006_unique_list_names
Create Date: 2026-12-02 16:30:00

The ids of deleted accounts, so that a Better Auth token of a deleted user is refused
instead of creating the account again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0007_deleted_accounts"
down_revision: str | None = "0006_unique_list_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deleted_accounts",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_deleted_accounts")),
    )


def downgrade() -> None:
    op.drop_table("deleted_accounts")
