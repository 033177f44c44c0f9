"""List names unique per user, whatever the case

Revision ID: 0006_unique_list_names
Revises: 0005_search_owner
Create Date: 2026-12-02 16:00:00

Parallel quick adds with one new `+List` each made a list of that name. A unique index on
(user_id, lower(name)) now makes the database keep one. Lists that already share a name are
renamed first, not merged: the oldest (the Inbox before any other) keeps the name, later ones
become "Name (2)", "Name (3)"... Merging would move tasks between lists and retire list ids
that clients, bookmarks and undo still hold; a rename loses nothing and the owner can still
merge by hand. The downgrade drops the index and leaves the names as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_unique_list_names"
down_revision: str | None = "0005_search_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "uq_lists_user_id_lower_name"
_NAME_MAX = 100


def _free_name(name: str, folded: str, taken: set[str]) -> tuple[str, str]:
    number = 2
    while True:
        suffix = f" ({number})"
        # lower() maps character for character, so the folded prefix is the prefix folded.
        keep = _NAME_MAX - len(suffix)
        candidate, candidate_folded = name[:keep] + suffix, folded[:keep] + suffix
        if candidate_folded not in taken:
            return candidate, candidate_folded
        number += 1


def upgrade() -> None:
    bind = op.get_bind()
    # The database's own lower(), the one the index will use, decides what is a duplicate.
    rows = bind.execute(
        sa.text(
            "SELECT id, user_id, name, lower(name) FROM lists "
            "ORDER BY user_id, is_inbox DESC, created_at, id"
        )
    ).all()
    taken: dict[str, set[str]] = {}
    for _, user_id, _, folded in rows:
        taken.setdefault(user_id, set()).add(folded)
    seen: set[tuple[str, str]] = set()
    for list_id, user_id, name, folded in rows:
        if (user_id, folded) not in seen:
            seen.add((user_id, folded))
            continue
        new_name, new_folded = _free_name(name, folded, taken[user_id])
        taken[user_id].add(new_folded)
        seen.add((user_id, new_folded))
        bind.execute(
            sa.text("UPDATE lists SET name = :name WHERE id = :id"),
            {"name": new_name, "id": list_id},
        )
    op.create_index(_INDEX, "lists", ["user_id", sa.literal_column("lower(name)")], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="lists")
