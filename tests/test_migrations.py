from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import todo.app  # noqa: F401  (registers every table on the metadata)
from tests.conftest import NewDatabase, make_settings
from todo import migrations
from todo.core.config import Settings
from todo.core.db import create_engine

MODEL_TABLES = set(SQLModel.metadata.tables)


async def _tables(settings: Settings) -> set[str]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    # SQLite's full-text index lives in tables of its own (tasks_fts, tasks_fts_data, ...);
    # the job queue's on PostgreSQL are procrastinate's (checked below).
    return {
        name
        for name in names
        if name != "alembic_version" and "_fts" not in name and not name.startswith("procr")
    }


async def _sql(settings: Settings, *statements: str) -> list[tuple[object, ...]]:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = await connection.execute(text(statement))
                if result.returns_rows:
                    rows += [tuple(row) for row in result]
            return rows
    finally:
        await engine.dispose()


def test_upgrade_downgrade_upgrade_and_models_agree(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    settings = make_settings(new_database.url(), tmp_path)
    migrations.upgrade(settings)
    assert asyncio.run(_tables(settings)) == MODEL_TABLES
    migrations.check(settings)
    migrations.downgrade(settings, "base")
    assert asyncio.run(_tables(settings)) == set()
    migrations.upgrade(settings)
    assert asyncio.run(_tables(settings)) == MODEL_TABLES
    migrations.check(settings)
    assert "(head)" in migrations.current(settings)


def test_existing_tasks_move_into_a_new_inbox_and_become_searchable(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    settings = make_settings(new_database.url(), tmp_path)
    migrations.upgrade(settings, "0002_web_sessions")
    asyncio.run(
        _sql(
            settings,
            "INSERT INTO users (id, email, name, session_version, created_at, updated_at) "
            "VALUES ('u1', 'a@example.com', 'A', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at, "
            "version) VALUES ('u1', 'Old milk', 'semi', false, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, 1), ('u1', 'bread', '', false, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, 1)",
        )
    )
    migrations.upgrade(settings)
    rows = asyncio.run(
        _sql(
            settings,
            "SELECT tasks.title, lists.name, lists.is_inbox, tasks.position FROM tasks "
            "JOIN lists ON lists.id = tasks.list_id ORDER BY tasks.position",
        )
    )
    assert [row[:3] for row in rows] == [("Old milk", "Inbox", True), ("bread", "Inbox", True)]
    assert rows[0][3] < rows[1][3]
    search = (
        "SELECT title FROM tasks WHERE search_vector @@ to_tsquery('simple', 'mil:*')"
        if not settings.database.is_sqlite
        else "SELECT tasks.title FROM tasks JOIN tasks_fts ON tasks_fts.rowid = tasks.id "
        "WHERE tasks_fts MATCH '\"mil\"*'"
    )
    assert asyncio.run(_sql(settings, search)) == [("Old milk",)]
    migrations.downgrade(settings, "0002_web_sessions")
    assert asyncio.run(_sql(settings, "SELECT count(*) FROM tasks")) == [(2,)]


def test_head_constant_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    config = migrations.alembic_config(make_settings("sqlite://", Path()))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == migrations.HEAD


def test_sqlite_at_head_reads_the_revision(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/todo.db", tmp_path)
    assert not migrations.sqlite_at_head(settings)  # no file yet
    migrations.upgrade(settings, "0003_organize")
    assert not migrations.sqlite_at_head(settings)
    migrations.upgrade(settings)
    assert migrations.sqlite_at_head(settings)


def test_comments_left_under_a_former_owner_follow_their_task(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    # Before 0018, "Make owner" moved the tasks and left their comments behind.
    settings = make_settings(new_database.url(), tmp_path)
    migrations.upgrade(settings, "0017_caldav")
    now = "CURRENT_TIMESTAMP"
    asyncio.run(
        _sql(
            settings,
            "INSERT INTO users (id, email, name, session_version, created_at, updated_at) "
            f"VALUES ('old', 'o@example.com', 'O', 0, {now}, {now}), "
            f"('new', 'n@example.com', 'N', 0, {now}, {now})",
            "INSERT INTO lists (id, user_id, name, position, is_inbox, created_at, updated_at) "
            f"VALUES (1, 'new', 'Garden', 'i', false, {now}, {now}), "
            f"(2, 'old', 'Inbox', 'i', true, {now}, {now})",
            "INSERT INTO tasks (id, user_id, list_id, title, description, completed, position, "
            "created_at, updated_at, version) VALUES "
            f"(1, 'new', 1, 'Handed over', '', false, 'i', {now}, {now}, 2), "
            f"(2, 'old', 2, 'Kept', '', false, 'i', {now}, {now}, 1)",
            "INSERT INTO comments (id, user_id, task_id, author_id, body, created_at, "
            f"updated_at) VALUES (1, 'old', 1, 'old', 'left behind', {now}, {now}), "
            f"(2, 'new', 1, 'new', 'moved', {now}, {now}), "
            f"(3, 'old', 2, 'old', 'stays', {now}, {now})",
            "INSERT INTO events (id, user_id, list_id, actor_id, resource, resource_id, "
            "action, version, created_at) VALUES "
            f"(1, 'old', 1, 'old', 'task', 1, 'created', 1, {now}), "
            f"(2, 'old', 1, 'old', 'comment', 1, 'created', 1, {now}), "
            f"(3, 'old', 2, 'old', 'task', 2, 'created', 1, {now}), "
            f"(4, 'old', 1, 'old', 'list', 1, 'created', 1, {now}), "
            f"(5, 'old', 1, 'old', 'task', 99, 'deleted', 1, {now})",
        )
    )
    migrations.upgrade(settings)
    rows = asyncio.run(_sql(settings, "SELECT id, user_id FROM comments ORDER BY id"))
    assert rows == [(1, "new"), (2, "new"), (3, "old")]
    rows = asyncio.run(_sql(settings, "SELECT id, user_id FROM events ORDER BY id"))
    assert rows == [(1, "new"), (2, "new"), (3, "old"), (4, "old"), (5, "old")]
    migrations.downgrade(settings, "0017_caldav")
    assert asyncio.run(_sql(settings, "SELECT count(*) FROM comments")) == [(3,)]
