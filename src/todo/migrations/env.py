"""Alembic environment: async engine, URL from the application's settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import todo.accounts.models
import todo.caldav.models
import todo.comments.models
import todo.core.events
import todo.core.idempotency
import todo.lists.models
import todo.notifications.models
import todo.sharing.models
import todo.tags.models
import todo.tasks.models
import todo.webhooks.models  # noqa: F401  (registers the tables on the metadata)
from todo.core.config import Settings, load_settings
from todo.core.db import create_engine

target_metadata = SQLModel.metadata


def _settings() -> Settings:
    given = context.config.attributes.get("settings")
    if isinstance(given, Settings):
        return given
    return load_settings()


# Search machinery that lives only in SQL, per engine (see the organize migration):
# PostgreSQL's generated tsvector column and SQLite's FTS5 table with its shadow tables.
SEARCH_ONLY_IN_SQL = ("search_vector", "ix_tasks_search_vector", "tasks_fts")
# The job queue's schema on PostgreSQL is procrastinate's own, installed by migration 0010.
QUEUE_ONLY_IN_SQL = ("procrastinate_",)


def _include(obj: object, name: str | None, kind: str, reflected: bool, _compare: object) -> bool:
    return not (
        reflected and name is not None and name.startswith(SEARCH_ONLY_IN_SQL + QUEUE_ONLY_IN_SQL)
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_settings(), for_migrations=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    raise SystemExit("Offline SQL generation is not supported; run against a database.")
run_migrations_online()
