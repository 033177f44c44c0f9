"""comments follow their task's owner

Revision ID: 0018_comments_follow_tasks
Revises: 0017_caldav
Create Date: 2026-12-06 21:30:00

A comment is stored under its task's owner (`user_id`), and a task's comments are looked
up by it. "Make owner" moved a list's tasks to the new owner but left their comments
under the old one, where the task page no longer found them (and a backup filed them
under an account without the task); the same for the tasks' and comments' events, which
the task's activity reads under its owner. The hand-over now moves them; this moves those
left behind. No schema change. Downgrade leaves the rows where they are: the old placement was
the bug, nothing to restore.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_comments_follow_tasks"
down_revision: str | None = "0017_caldav"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# (table, its rows' owner by row, which rows): each row goes under that owner.
_FOLLOW = (
    ("comments", "SELECT tasks.user_id FROM tasks WHERE tasks.id = comments.task_id", ""),
    (
        "events",
        "SELECT tasks.user_id FROM tasks WHERE tasks.id = events.resource_id",
        "resource = 'task' AND ",
    ),
    (
        "events",
        "SELECT comments.user_id FROM comments WHERE comments.id = events.resource_id",
        "resource = 'comment' AND ",
    ),
)


def upgrade() -> None:
    # Rows whose owner is gone (a task purged since) compare with NULL and stay.
    for table, owner, which in _FOLLOW:
        op.execute(
            f"UPDATE {table} SET user_id = ({owner}) "  # noqa: S608
            f"WHERE {which}user_id <> ({owner})"
        )


def downgrade() -> None:
    pass
