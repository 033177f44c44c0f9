"""notifications: reminder channels, push subscriptions, delivery markers, the job queue

Also the VAPID key's table, and on PostgreSQL the job queue's own schema (procrastinate).

Revision ID: 0010_notifications
Revises: 0011_trash
Create Date: 2026-12-03 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.util import await_only

from todo.core.db import UTCDateTime

revision: str = "0010_notifications"
down_revision: str | None = "0011_trash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _run_script(sql: str) -> None:
    """A script of many statements (functions with $$ bodies among them): asyncpg runs
    those only through its simple-query path, outside SQLAlchemy's prepared statements."""
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    await_only(driver.execute(sql))


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("email_reminders", sa.Boolean(), nullable=False),
        sa.Column("push_reminders", sa.Boolean(), nullable=False),
        sa.Column("digest_hour", sa.SmallInteger(), nullable=True),
        sa.Column("digest_sent_for", sa.Date(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_push_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_push_subscriptions_user_id_endpoint",
        "push_subscriptions",
        ["user_id", "endpoint"],
        unique=True,
    )
    op.create_table(
        "reminder_deliveries",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("remind_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_reminder_deliveries_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reminder_deliveries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "task_id", "remind_at", "channel", name=op.f("pk_reminder_deliveries")
        ),
    )
    op.create_index("ix_reminder_deliveries_sent_at", "reminder_deliveries", ["sent_at"])
    op.create_table(
        "vapid_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vapid_keys")),
    )
    # The reminder scan reads fired reminders of every user by time.
    op.create_index("ix_tasks_remind_at", "tasks", ["remind_at"])
    if op.get_bind().dialect.name == "postgresql":
        # The job queue's tables and functions, as the pinned procrastinate version ships
        # them; a later procrastinate upgrade brings its migration scripts in a migration
        # of ours.
        from procrastinate.schema import SchemaManager

        _run_script(SchemaManager.get_schema())


_DROP_PROCRASTINATE = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
DO $$
DECLARE routine regprocedure; kind regtype;
BEGIN
    FOR routine IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.proname LIKE 'procrastinate%' AND p.pronamespace = current_schema()::regnamespace
    LOOP
        EXECUTE 'DROP ROUTINE IF EXISTS ' || routine || ' CASCADE';
    END LOOP;
    FOR kind IN
        SELECT t.oid::regtype FROM pg_type t
        WHERE t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c')
            AND t.typnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE 'DROP TYPE IF EXISTS ' || kind || ' CASCADE';
    END LOOP;
END $$;
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run_script(_DROP_PROCRASTINATE)
    op.drop_index("ix_tasks_remind_at", table_name="tasks")
    op.drop_table("vapid_keys")
    op.drop_index("ix_reminder_deliveries_sent_at", table_name="reminder_deliveries")
    op.drop_table("reminder_deliveries")
    op.drop_index("ix_push_subscriptions_user_id_endpoint", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_table("notification_settings")
