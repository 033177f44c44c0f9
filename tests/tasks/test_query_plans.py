"""With 100,000 tasks on PostgreSQL, the list, filter and search queries use indexes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import NewDatabase, make_settings
from todo import migrations
from todo.core import hot
from todo.core.config import Settings
from todo.core.db import create_engine
from todo.lists.access import Role, Scope, own
from todo.tasks import hot as hot_tasks
from todo.tasks.query import (
    RELEVANCE,
    SEARCH_CANDIDATES,
    TaskQuery,
    build,
    parameters,
    search_terms,
    shape,
    tag_names,
)

USERS = 20
TASKS_PER_USER = 5_000
TODAY = date(2026, 6, 15)
NOW = datetime.fromisoformat("2026-06-15T12:00:00+00:00")

SEED = [
    "INSERT INTO users (id, email, name, timezone, session_version, created_at, updated_at) "
    f"SELECT 'user-' || u, 'user' || u || '@example.com', '', 'UTC', 0, now(), now() "
    f"FROM generate_series(1, {USERS}) AS u",
    "INSERT INTO lists (user_id, name, position, is_inbox, created_at, updated_at) "
    "SELECT id, 'Inbox', 'i', true, now(), now() FROM users",
    "INSERT INTO lists (user_id, name, position, is_inbox, created_at, updated_at) "
    "SELECT id, 'Work', 'r', false, now(), now() FROM users",
    "INSERT INTO tags (user_id, name, key, created_at) SELECT id, 'home', 'home', now() FROM users",
    "INSERT INTO tasks (user_id, list_id, position, title, description, completed, completed_at, "
    "priority, due_date, created_at, updated_at, version, reminder_dismissed, recurrence_mode, "
    "occurrence) "
    "SELECT l.user_id, l.id, lpad(n::text, 12, '0') || 'i', "
    "(ARRAY['buy', 'call', 'write', 'fix', 'plan'])[1 + n % 5] || ' thing ' || n, "
    "CASE WHEN n % 7 = 0 THEN 'groceries and milk' ELSE '' END, "
    "n % 3 = 0, CASE WHEN n % 3 = 0 THEN now() - n * interval '1 minute' END, n % 5, "
    f"CASE WHEN n % 4 = 0 THEN NULL ELSE DATE '{TODAY}' + (n % 60 - 30) END, "
    "now() - n * interval '1 second', now() - n * interval '1 second', 1, false, 'due', 1 "
    f"FROM lists l, generate_series(1, {TASKS_PER_USER // 2}) AS n",
    "INSERT INTO task_tags (task_id, tag_id, user_id) "
    "SELECT t.id, g.id, t.user_id FROM tasks t JOIN tags g ON g.user_id = t.user_id "
    "WHERE t.id % 10 = 0",
    "ANALYZE",
]


@pytest.fixture(scope="module")
def seeded(
    new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    if new_database.backend != "postgres":
        pytest.skip("query plans are checked on PostgreSQL")
    settings = make_settings(new_database.url(), tmp_path_factory.mktemp("plans"))
    migrations.upgrade(settings)

    async def seed() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                for statement in SEED[:-1]:
                    await connection.execute(text(statement))
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(SEED[-1]))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    return settings


async def _plan(
    connection: AsyncConnection, query: TaskQuery, scope: Scope | None = None
) -> dict[str, Any]:
    statement = build(query, scope or own("user-7"), "postgresql")
    compiled = statement.compile(
        bind=connection.sync_connection, compile_kwargs={"render_postcompile": True}
    )
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}", params)
    plan = result.scalar_one()
    return dict((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


QUERIES = {
    "first page by created": TaskQuery(limit=50),
    "pending by created": TaskQuery(status="pending", limit=50),
    "deep keyset page": TaskQuery(limit=50, after=(NOW - timedelta(hours=1), 10**6)),
    "by title": TaskQuery(sort="title", limit=50),
    "by due date": TaskQuery(sort="due_date", limit=50),
    "by priority": TaskQuery(sort="priority", order="desc", limit=50),
    "manual order in a list": TaskQuery(sort="manual", list_id=40, limit=50),
    "today view": TaskQuery(status="pending", due_to=TODAY, sort="due_date", limit=50),
    "next 7 days": TaskQuery(due="week", today=TODAY, now=NOW, sort="due_date", limit=50),
    "completed newest first": TaskQuery(
        status="completed", sort="completed", order="desc", limit=50
    ),
    "tag": TaskQuery(tags=("home",), limit=50),
    "search": TaskQuery(sort=RELEVANCE, order="desc", search_terms=search_terms("milk"), limit=50),
}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("name", list(QUERIES))
async def test_query_uses_an_index(seeded: Settings, name: str) -> None:
    engine = create_engine(seeded)
    try:
        async with engine.connect() as connection:
            plan = await _plan(connection, QUERIES[name])
    finally:
        await engine.dispose()
    scans = [(n["Node Type"], n.get("Relation Name")) for n in _nodes(plan)]
    assert ("Seq Scan", "tasks") not in scans, json.dumps(plan, indent=1)[:3000]
    assert any("Index" in node or "Bitmap" in node for node, _ in scans), scans


async def _shared_scope(connection: AsyncConnection) -> Scope:
    """user-7 with user-8's Work list shared with them, as access.scope_of builds it."""
    work = (
        await connection.execute(
            text("SELECT id FROM lists WHERE user_id = 'user-8' AND NOT is_inbox")
        )
    ).scalar_one()
    return Scope(user_id="user-7", shared={work: Role.editor}, owners={work: "user-8"})


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("name", list(QUERIES))
async def test_query_with_a_shared_list_uses_indexes(seeded: Settings, name: str) -> None:
    """A member's views read their own tasks and the shared list's through the indexes
    with user_id first: (user_id, list_id) for the shared list, never a scan of tasks."""
    engine = create_engine(seeded)
    try:
        async with engine.connect() as connection:
            query = QUERIES[name]
            if query.list_id is not None:
                query = replace(query, list_id=None)
            plan = await _plan(connection, query, await _shared_scope(connection))
    finally:
        await engine.dispose()
    scans = [(n["Node Type"], n.get("Relation Name")) for n in _nodes(plan)]
    assert ("Seq Scan", "tasks") not in scans, json.dumps(plan, indent=1)[:3000]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_seed_size(seeded: Settings, tmp_path: Path) -> None:
    async def total() -> int:
        engine = create_engine(seeded)
        try:
            async with engine.connect() as connection:
                return int(
                    (await connection.execute(text("SELECT count(*) FROM tasks"))).scalar_one()
                )
        finally:
            await engine.dispose()

    assert asyncio.run(total()) >= 100_000


SKEW = [
    "INSERT INTO users (id, email, name, timezone, session_version, created_at, updated_at) "
    "SELECT 'light-' || u, 'light' || u || '@example.com', '', 'UTC', 0, now(), now() "
    "FROM generate_series(1, 2000) AS u",
    "INSERT INTO lists (user_id, name, position, is_inbox, created_at, updated_at) "
    "SELECT id, 'Inbox', 'i', true, now(), now() FROM users WHERE id LIKE 'light-%'",
    "INSERT INTO tags (user_id, name, key, created_at) "
    "SELECT id, 'x', 'x', now() FROM users WHERE id LIKE 'light-%'",
    "INSERT INTO tasks (user_id, list_id, position, title, description, completed, priority, "
    "created_at, updated_at, version, reminder_dismissed, recurrence_mode, occurrence) "
    "SELECT user_id, id, 'i', 't', '', false, 0, now(), now(), 1, false, 'due', 1 "
    "FROM lists WHERE user_id LIKE 'light-%'",
    "INSERT INTO task_tags (task_id, tag_id, user_id) "
    "SELECT t.id, g.id, t.user_id FROM tasks t JOIN tags g ON g.user_id = t.user_id "
    "WHERE t.user_id LIKE 'light-%'",
    "ANALYZE users, tags, tasks, task_tags",
]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_tag_names_of_a_page_find_each_task_by_its_key(seeded: Settings) -> None:
    """The tags of a page are looked up task by task, whoever owns many tags. asyncpg
    prepares statements, and after five runs PostgreSQL may switch to a generic plan that
    cannot see how many rows one user has: scoping by task_tags.user_id made it scan all of
    a user's tagged tasks and filter (150 ms a page for the benchmark's 100,000-task user).
    The generic plan is forced here, as the server would come to use it."""
    statement = tag_names(own("user-7"), list(range(10, 510, 10)))
    engine = create_engine(seeded)
    try:
        async with engine.connect() as connection:
            # Many light users besides user-7 (rolled back at the end): the generic plan
            # then expects a handful of rows per user, as on a real multi-user server.
            for extra in SKEW:
                await connection.execute(text(extra))
            compiled = statement.compile(
                bind=connection.sync_connection, compile_kwargs={"render_postcompile": True}
            )
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            await connection.exec_driver_sql(f"PREPARE tag_names AS {compiled.string}")
            arguments = ", ".join(f"'{value}'" for value in params)
            result = await connection.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) EXECUTE tag_names({arguments})"
            )
            plan = result.scalar_one()
    finally:
        await engine.dispose()
    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    on_task_tags = [n for n in _nodes(root) if n.get("Relation Name") == "task_tags"]
    assert on_task_tags, json.dumps(root, indent=1)[:3000]
    for node in on_task_tags:
        assert node.get("Index Name") == "pk_task_tags", json.dumps(root, indent=1)[:3000]
        assert "task_id" in node.get("Index Cond", ""), json.dumps(node, indent=1)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_search_ranks_no_more_than_its_candidates(seeded: Settings) -> None:
    """A word that matches more of the user's tasks than SEARCH_CANDIDATES ("milk": one in
    seven of 5,000): the ranking reads, scores and sorts only the candidates."""
    query = QUERIES["search"]
    statement = build(query, own("user-7"), "postgresql")
    engine = create_engine(seeded)
    try:
        async with engine.connect() as connection:
            matches = (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM tasks WHERE user_id = 'user-7' "
                        "AND search_vector @@ to_tsquery('simple', 'milk:*')"
                    )
                )
            ).scalar_one()
            compiled = statement.compile(
                bind=connection.sync_connection, compile_kwargs={"render_postcompile": True}
            )
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            result = await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled.string}", params
            )
            raw = result.scalar_one()
    finally:
        await engine.dispose()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    assert matches > SEARCH_CANDIDATES
    sorts = [node for node in _nodes(plan) if node["Node Type"] == "Sort"]
    assert sorts, json.dumps(plan, indent=1)[:3000]
    ranked = [child["Actual Rows"] for sort in sorts for child in sort.get("Plans", [])]
    assert ranked, json.dumps(plan, indent=1)[:3000]
    assert max(ranked) <= SEARCH_CANDIDATES, json.dumps(plan, indent=1)[:3000]


def _literal(value: Any) -> str:
    """A parameter of a hot statement as SQL text, for EXECUTE."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "'{" + ",".join(str(item) for item in value) + "}'"
    return "'" + str(value).replace("'", "''") + "'"


async def _generic_plan(
    connection: AsyncConnection, statement: hot.Statement, shape: Any, params: dict[str, Any]
) -> dict[str, Any]:
    """The plan PostgreSQL comes to use for a hot statement that asyncpg keeps prepared:
    after five runs it may switch to a generic one, which cannot see the values."""
    compiled = statement.compiled(connection.dialect, shape)
    arguments = ", ".join(_literal(value) for value in compiled.arguments(params))
    await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    await connection.exec_driver_sql(f"PREPARE hot AS {compiled.sql}")
    try:
        result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE hot({arguments})")
        plan = result.scalar_one()
    finally:
        await connection.exec_driver_sql("DEALLOCATE hot")
    return dict((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("shared", [False, True], ids=["own", "shared"])
@pytest.mark.parametrize("name", list(QUERIES))
async def test_hot_list_uses_indexes_in_its_generic_plan(
    seeded: Settings, name: str, shared: bool
) -> None:
    """The hot list (tasks/hot.py) is compiled once per shape and stays prepared: its
    generic plan, too, reads tasks through the indexes with user_id first."""
    engine = create_engine(seeded)
    try:
        async with engine.connect() as connection:
            scope = await _shared_scope(connection) if shared else own("user-7")
            query = QUERIES[name]
            if shared and query.list_id is not None:
                query = replace(query, list_id=None)
            key = hot_tasks.ListShape(shape(query, scope), query, scope)
            plan = await _generic_plan(
                connection, hot_tasks.LIST, key, parameters(query, scope, "postgresql")
            )
    finally:
        await engine.dispose()
    scans = [(n["Node Type"], n.get("Relation Name")) for n in _nodes(plan)]
    assert ("Seq Scan", "tasks") not in scans, json.dumps(plan, indent=1)[:3000]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_hot_reads_of_a_page_and_a_task_use_keys_in_their_generic_plans(
    seeded: Settings,
) -> None:
    """A page's tag names and children counts, and the one task with its tags and children,
    as hot statements: looked up by key, among many light users as on a real server."""
    ids = list(range(10, 510, 10))
    engine = create_engine(seeded)
    plans: dict[str, dict[str, Any]] = {}
    try:
        async with engine.connect() as connection:
            for extra in SKEW:
                await connection.execute(text(extra))
            plans["tag names"] = await _generic_plan(
                connection, hot_tasks.TAG_NAMES, False, {"task_ids": ids, "scope_user": "user-7"}
            )
            plans["children"] = await _generic_plan(
                connection,
                hot_tasks.CHILD_COUNTS,
                (),
                {"owners": ["user-7"], "parent_ids": ids},
            )
            plans["one task"] = await _generic_plan(
                connection, hot_tasks.ONE_TASK, False, {"scope_user": "user-7", "task_id": 10}
            )
    finally:
        await engine.dispose()
    for name, plan in plans.items():
        nodes = list(_nodes(plan))
        scans = [(n["Node Type"], n.get("Relation Name")) for n in nodes]
        shown = f"{name}: {json.dumps(plan, indent=1)[:3000]}"
        assert ("Seq Scan", "tasks") not in scans, shown
        assert ("Seq Scan", "task_tags") not in scans, shown
        for node in nodes:
            if node.get("Relation Name") == "task_tags":
                assert node.get("Index Name") == "pk_task_tags", shown
