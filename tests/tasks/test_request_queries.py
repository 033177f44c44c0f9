"""Reading one task stays an index lookup on SQLite, whatever loads its tags.

SQLite has no statistics here (the app never runs ANALYZE), and it materializes a nested
join such as `LEFT JOIN (task_tags JOIN tags)` by scanning every task_tags row: a 190 ms
read on a million tasks. `make bench` found that; this keeps it from coming back.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import Account
from todo.tasks import hot as hot_tasks


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_one_task_is_read_without_scanning_task_tags(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    created = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "Pay rent", "tags": ["home"]}
    )
    engine = app.state.db.engine
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        task_id = created.json()["id"]
        response = await client.get(f"/api/me/tasks/{task_id}", headers=alice.headers)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert response.json()["tags"] == ["home"]
    # The task itself is read by a hot statement (tasks/hot.py), on the driver's connection,
    # which SQLAlchemy's events do not see: its plan is checked the same way.
    one = hot_tasks.ONE_TASK.compiled(engine.dialect, False)
    seen.append((one.sql, tuple(one.arguments({"scope_user": alice.id, "task_id": task_id}))))
    assert any("task_tags" in sql for sql, _ in seen)
    async with engine.connect() as connection:
        for sql, params in seen:
            plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()
            steps = [str(row[-1]) for row in plan]
            assert not any(step.startswith("SCAN task_tags") for step in steps), (sql, steps)
            assert not any(step.startswith("MATERIALIZE") for step in steps), (sql, steps)


def _statements(app: FastAPI) -> tuple[list[str], Any]:
    seen: list[str] = []

    def record(_c: Any, _cur: Any, sql: str, _params: Any, _ctx: Any, _many: bool) -> None:
        seen.append(" ".join(sql.split()))

    return seen, record


async def test_tags_of_a_new_or_edited_task_are_written_not_read_back(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """The tags just resolved are the task's tags: reading them back was a round trip more
    for every create and edit with tags, and a new task has no tag links to delete."""
    engine = app.state.db.engine
    seen, record = _statements(app)
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        created = await client.post(
            "/api/me/tasks",
            headers=alice.headers,
            json={"title": "Pay rent", "tags": ["home", "Money"]},
        )
        after_create = len(seen)
        edited = await client.put(
            f"/api/me/tasks/{created.json()['id']}",
            headers=alice.headers,
            json={"tags": ["money", "bills"]},
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert created.status_code == 201, created.text
    assert created.json()["tags"] == ["home", "Money"]
    assert edited.json()["tags"] == ["bills", "Money"]
    creating, editing = seen[:after_create], seen[after_create:]
    links = [sql for sql in creating if "task_tags" in sql]
    assert [sql.split()[0] for sql in links] == ["INSERT"], creating
    # After linking the tags, nothing reads them back.
    for statements in (creating, editing):
        last_link = max(i for i, sql in enumerate(statements) if "INTO task_tags" in sql)
        # (The answer's subtask counts are read, in the write's own transaction.)
        read = [s for s in statements[last_link:] if s.startswith("SELECT")]
        assert not [s for s in read if "tasks.parent_id IN" not in s], statements
    stored = await client.get(f"/api/me/tasks/{created.json()['id']}", headers=alice.headers)
    assert stored.json()["tags"] == ["bills", "Money"]
