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
        response = await client.get(f"/api/me/tasks/{created.json()['id']}", headers=alice.headers)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert response.json()["tags"] == ["home"]
    assert any("task_tags" in sql for sql, _ in seen)
    async with engine.connect() as connection:
        for sql, params in seen:
            plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()
            steps = [str(row[-1]) for row in plan]
            assert not any(step.startswith("SCAN task_tags") for step in steps), (sql, steps)
            assert not any(step.startswith("MATERIALIZE") for step in steps), (sql, steps)
