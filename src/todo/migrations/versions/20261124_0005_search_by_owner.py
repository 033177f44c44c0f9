"""SQLite full-text search narrowed by owner inside the index

Revision ID: 0005_search_owner
Revises: 0004_idempotency
Create Date: 2026-11-24 00:10:00

The FTS5 index held title and description only, so a search matched every user's tasks
before the owner was applied: about 100 ms a search on a file of a million tasks. It now
also indexes the owner's id, and a search intersects the owner's postings with the words'.
PostgreSQL is unchanged (its query starts from the owner's rows).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_search_owner"
down_revision: str | None = "0004_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = ("tasks_fts_insert", "tasks_fts_delete", "tasks_fts_update")

# Written out in full, as a migration must stay what it was when it ran.
_WITH_OWNER = (
    "CREATE VIRTUAL TABLE tasks_fts USING fts5(title, description, user_id, content='tasks', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN "
    "INSERT INTO tasks_fts (rowid, title, description, user_id) "
    "VALUES (new.id, new.title, new.description, new.user_id); END",
    "CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN "
    "INSERT INTO tasks_fts (tasks_fts, rowid, title, description, user_id) "
    "VALUES ('delete', old.id, old.title, old.description, old.user_id); END",
    "CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description, user_id ON tasks BEGIN "
    "INSERT INTO tasks_fts (tasks_fts, rowid, title, description, user_id) "
    "VALUES ('delete', old.id, old.title, old.description, old.user_id); "
    "INSERT INTO tasks_fts (rowid, title, description, user_id) "
    "VALUES (new.id, new.title, new.description, new.user_id); END",
)
# As migration 0003 made it.
_WITHOUT_OWNER = (
    "CREATE VIRTUAL TABLE tasks_fts USING fts5(title, description, content='tasks', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN "
    "INSERT INTO tasks_fts (rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN "
    "INSERT INTO tasks_fts (tasks_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks BEGIN "
    "INSERT INTO tasks_fts (tasks_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO tasks_fts (rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
)


def _rebuild(statements: tuple[str, ...]) -> None:
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS tasks_fts")
    for statement in statements:
        op.execute(statement)
    op.execute("INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(_WITH_OWNER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(_WITHOUT_OWNER)
