"""list sort: the order the owner last chose to see a list in

Revision ID: 0008_list_sort
Revises: 0007_deleted_accounts
Create Date: 2026-12-02 16:47:28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_list_sort"
down_revision: str | None = "0007_deleted_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: SQLite adds it in place, no table rebuild (and no trigger rebuild).
    op.add_column("lists", sa.Column("sort", sa.String(length=20), nullable=True))


_NAME_INDEX = "uq_lists_user_id_lower_name"


def downgrade() -> None:
    # SQLite drops the column by rebuilding the table from what Alembic can reflect, which
    # leaves out 0006's expression index: take it off first and put it back after.
    op.drop_index(_NAME_INDEX, table_name="lists")
    with op.batch_alter_table("lists") as batch_op:
        batch_op.drop_column("sort")
    op.create_index(
        _NAME_INDEX, "lists", ["user_id", sa.literal_column("lower(name)")], unique=True
    )
