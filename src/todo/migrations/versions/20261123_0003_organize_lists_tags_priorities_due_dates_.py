"""lists tags priorities due dates reminders recurrence search

Revision ID: 0003_organize
Revises: 0002_web_sessions
Create Date: 2026-11-23 19:54:42.844488
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import todo.core.db

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_POSITION = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")

revision: str = "0003_organize"
down_revision: str | None = "0002_web_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column(
            "position",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_inbox", sa.Boolean(), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lists_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lists_user_id_position", ["user_id", "position", "id"], unique=False
        )
        batch_op.create_index(
            "uq_lists_user_id_inbox",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("is_inbox"),
            postgresql_where=sa.text("is_inbox"),
        )

    op.create_table(
        "tags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tags_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_tags_user_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "task_tags",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_task_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_tags_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_task_tags_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "tag_id", name=op.f("pk_task_tags")),
    )
    with op.batch_alter_table("task_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_tags_user_id_tag_id", ["user_id", "tag_id", "task_id"], unique=False
        )

    # The server defaults fill existing rows; they stay, harmless, as the models set values.
    op.add_column(
        "users", sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
    )

    for column in _added_task_columns():
        op.add_column("tasks", column)

    # Every existing user gets the Inbox that new users get at sign-up, and every existing
    # task goes into it, in the order it was created.
    op.execute(
        "INSERT INTO lists (user_id, name, position, is_inbox, created_at, updated_at) "
        "SELECT id, 'Inbox', 'i', true, created_at, created_at FROM users"
    )
    padded_id = (
        "lpad(CAST(id AS TEXT), 12, '0')"
        if op.get_bind().dialect.name == "postgresql"
        else "substr('000000000000' || id, -12, 12)"
    )
    backfill = (
        "UPDATE tasks SET list_id = (SELECT lists.id FROM lists "  # noqa: S608 (constant SQL)
        "WHERE lists.user_id = tasks.user_id AND lists.is_inbox), "
        f"position = {padded_id} || 'i'"
    )
    op.execute(backfill)

    # On SQLite this rebuilds the table: copy_from keeps what reflection would lose
    # (the NOCASE title collation, AUTOINCREMENT).
    with op.batch_alter_table(
        "tasks", copy_from=_tasks_table(), table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("list_id", existing_type=_ID, nullable=False)
        batch_op.alter_column("position", existing_type=_POSITION, nullable=False)
        batch_op.create_index(
            "ix_tasks_user_id_completed_at", ["user_id", "completed_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_tasks_user_id_list_id_position",
            ["user_id", "list_id", "position", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_tasks_user_id_priority", ["user_id", "priority", "id"], unique=False
        )
        batch_op.create_index("ix_tasks_user_id_remind_at", ["user_id", "remind_at"], unique=False)
        batch_op.create_index(
            "ix_tasks_user_id_series_id", ["user_id", "series_id", "occurrence"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tasks_list_id_lists"), "lists", ["list_id"], ["id"], ondelete="CASCADE"
        )

    _create_search()


def _added_task_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("list_id", _ID, nullable=True),
        sa.Column("position", _POSITION, nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("due_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remind_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_dismissed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("rrule", sa.String(length=500), nullable=True),
        sa.Column("recurrence_mode", sa.String(length=10), nullable=False, server_default="due"),
        sa.Column("series_id", sa.String(length=36), nullable=True),
        sa.Column("occurrence", sa.Integer(), nullable=False, server_default="1"),
    ]


def _tasks_table(*, upgraded: bool = False) -> sa.Table:
    """The tasks table between the two steps of this migration, or after it (upgraded)."""
    title = sa.String(200).with_variant(sa.String(200, collation="NOCASE"), "sqlite")
    return sa.Table(
        "tasks",
        sa.MetaData(),
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("users.id", name="fk_tasks_user_id_users", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", title, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("completed_at", todo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_added_task_columns(),
        sa.Index(
            "ix_tasks_user_id_completed_created_at", "user_id", "completed", "created_at", "id"
        ),
        sa.Index("ix_tasks_user_id_created_at", "user_id", "created_at", "id"),
        sa.Index("ix_tasks_user_id_due_date", "user_id", "due_date", "id"),
        sa.Index("ix_tasks_user_id_title", "user_id", "title", "id"),
        sa.Index("ix_tasks_user_id_updated_at", "user_id", "updated_at", "id"),
        *(_upgraded_task_extras() if upgraded else ()),
        sqlite_autoincrement=True,
    )


def _upgraded_task_extras() -> list[Any]:
    return [
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name="fk_tasks_list_id_lists", ondelete="CASCADE"
        ),
        sa.Index("ix_tasks_user_id_completed_at", "user_id", "completed_at", "id"),
        sa.Index("ix_tasks_user_id_list_id_position", "user_id", "list_id", "position", "id"),
        sa.Index("ix_tasks_user_id_priority", "user_id", "priority", "id"),
        sa.Index("ix_tasks_user_id_remind_at", "user_id", "remind_at"),
        sa.Index("ix_tasks_user_id_series_id", "user_id", "series_id", "occurrence"),
    ]


def _create_search() -> None:
    """Full-text search over title and description, kept in step by the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE tasks ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple', title || ' ' || description)) STORED"
        )
        op.execute("CREATE INDEX ix_tasks_search_vector ON tasks USING gin (search_vector)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE tasks_fts USING fts5(title, description, content='tasks', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN "
        "INSERT INTO tasks_fts (rowid, title, description) "
        "VALUES (new.id, new.title, new.description); END"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN "
        "INSERT INTO tasks_fts (tasks_fts, rowid, title, description) "
        "VALUES ('delete', old.id, old.title, old.description); END"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks BEGIN "
        "INSERT INTO tasks_fts (tasks_fts, rowid, title, description) "
        "VALUES ('delete', old.id, old.title, old.description); "
        "INSERT INTO tasks_fts (rowid, title, description) "
        "VALUES (new.id, new.title, new.description); END"
    )
    op.execute("INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild')")


def _drop_search() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_tasks_search_vector")
        op.execute("ALTER TABLE tasks DROP COLUMN search_vector")
        return
    for trigger in ("tasks_fts_insert", "tasks_fts_delete", "tasks_fts_update"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE tasks_fts")


def downgrade() -> None:
    _drop_search()
    op.drop_column("users", "timezone")

    with op.batch_alter_table(
        "tasks",
        copy_from=_tasks_table(upgraded=True),
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tasks_list_id_lists"), type_="foreignkey")
        batch_op.drop_index("ix_tasks_user_id_series_id")
        batch_op.drop_index("ix_tasks_user_id_remind_at")
        batch_op.drop_index("ix_tasks_user_id_priority")
        batch_op.drop_index("ix_tasks_user_id_list_id_position")
        batch_op.drop_index("ix_tasks_user_id_completed_at")
        batch_op.drop_column("occurrence")
        batch_op.drop_column("series_id")
        batch_op.drop_column("recurrence_mode")
        batch_op.drop_column("rrule")
        batch_op.drop_column("reminder_dismissed")
        batch_op.drop_column("remind_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("priority")
        batch_op.drop_column("position")
        batch_op.drop_column("list_id")

    with op.batch_alter_table("task_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_task_tags_user_id_tag_id")

    op.drop_table("task_tags")
    op.drop_table("tags")
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_lists_user_id_inbox",
            sqlite_where=sa.text("is_inbox"),
            postgresql_where=sa.text("is_inbox"),
        )
        batch_op.drop_index("ix_lists_user_id_position")

    op.drop_table("lists")
