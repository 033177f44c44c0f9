"""collab: a task's assignee, and comments on tasks

Revision ID: 0015_collab
Revises: 0014_webhooks
Create Date: 2026-12-03 14:30:00

The assignee is a nullable column, so SQLite adds it in place (no rebuild of tasks, the
search triggers stay). Comments are a table of their own.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

import todo.core.db

revision: str = "0015_collab"
down_revision: str | None = "0014_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ASSIGNEE_FK = "fk_tasks_assignee_id_users"
_COLUMN_SQL = "assignee_id VARCHAR(64)"
_FK_SQL = (
    f"CONSTRAINT {_ASSIGNEE_FK} FOREIGN KEY(assignee_id) REFERENCES users (id) ON DELETE SET NULL"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE tasks ADD COLUMN {_COLUMN_SQL}")
        # SQLite adds no constraint to a table in place, and one written inline with the
        # column reflects without its ON DELETE: the table is rebuilt with it.
        _rebuild_tasks_sqlite(lambda sql: sql[: sql.rindex(")")] + f", {_FK_SQL})")
    else:
        op.add_column("tasks", sa.Column("assignee_id", sa.String(length=64), nullable=True))
        op.create_foreign_key(
            _ASSIGNEE_FK, "tasks", "users", ["assignee_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "comments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", todo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_comments_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_comments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_comments_user_id_task_id_id", "comments", ["user_id", "task_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_comments_user_id_task_id_id", table_name="comments")
    op.drop_table("comments")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_tasks_sqlite(
            lambda sql: sql.replace(f", {_FK_SQL}", "").replace(f", {_COLUMN_SQL}", ""),
        )
    else:
        op.drop_constraint(_ASSIGNEE_FK, "tasks", type_="foreignkey")
        op.drop_column("tasks", "assignee_id")


def _rebuild_tasks_sqlite(changed: Callable[[str], str]) -> None:
    """SQLite's way to change a table's constraints: a copy made from the table's own SQL,
    changed, and put in its place; its indexes and search triggers are made again from
    theirs, and its AUTOINCREMENT counter carried over (an id is never handed out twice).
    The migrations run with foreign keys off, so the DROP cascades nowhere."""
    bind = op.get_bind()
    schema = bind.execute(
        sa.text(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'tasks' "
            "AND type IN ('table', 'index', 'trigger') AND sql IS NOT NULL"
        )
    ).all()
    table_sql = next(sql for kind, sql in schema if kind == "table")
    rest = table_sql.split("(", 1)[1]
    new_sql = changed(f"CREATE TABLE _tasks_new ({rest}")
    columns = [row[1] for row in bind.execute(sa.text("PRAGMA table_info(tasks)")).all()]
    bind.execute(sa.text(new_sql))
    kept = [row[1] for row in bind.execute(sa.text("PRAGMA table_info(_tasks_new)")).all()]
    listed = ", ".join(f'"{name}"' for name in columns if name in kept)
    # The names are the table's own columns (PRAGMA table_info), never outside input.
    copy = f"INSERT INTO _tasks_new ({listed}) SELECT {listed} FROM tasks"  # noqa: S608
    bind.execute(sa.text(copy))
    sequence = bind.execute(
        sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'tasks'")
    ).scalar()
    bind.execute(sa.text("DROP TABLE tasks"))
    bind.execute(sa.text("ALTER TABLE _tasks_new RENAME TO tasks"))
    if sequence is not None:
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'tasks'"))
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('tasks', :seq)"),
            {"seq": sequence},
        )
    for kind, sql in schema:
        if kind != "table":
            bind.execute(sa.text(sql))
