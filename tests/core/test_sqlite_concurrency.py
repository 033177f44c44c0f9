"""Many writers at once on the embedded database must queue, never fail with 'locked'."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, text
from sqlmodel import select

from tests.conftest import Account, make_settings
from todo import migrations
from todo.accounts.models import User
from todo.core.db import Database

WRITERS = 12
WRITES_EACH = 8


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
async def test_concurrent_writers_lose_nothing(client: httpx.AsyncClient, alice: Account) -> None:
    async def writer(n: int) -> list[int]:
        statuses = []
        for i in range(WRITES_EACH):
            created = await client.post(
                "/api/me/tasks", headers=alice.headers, json={"title": f"w{n}-{i}"}
            )
            statuses.append(created.status_code)
            toggled = await client.patch(
                f"/api/me/tasks/{created.json()['id']}/complete", headers=alice.headers
            )
            statuses.append(toggled.status_code)
        return statuses

    results = await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    assert {status for statuses in results for status in statuses} == {200, 201}
    listed = await client.get("/api/me/tasks?limit=500&status=completed", headers=alice.headers)
    assert len(listed.json()) == WRITERS * WRITES_EACH


async def test_writers_of_one_process_take_turns_without_sqlite_busy_waits(
    tmp_path: Path,
) -> None:
    """Within a process, write transactions queue on an asyncio lock (first come, first
    served, woken at once) rather than on SQLite's busy handler, which polls with sleeps of
    up to 100 ms and made write latency's tail seconds long under load. With the busy
    timeout set to zero, any two of them meeting in SQLite would fail at once."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/w.db", tmp_path)
    await asyncio.to_thread(migrations.upgrade, settings)
    db = Database(settings)

    @event.listens_for(db.engine.sync_engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=0")

    async def writer(n: int) -> None:
        async with db.session(write=True) as session:
            await session.exec(
                text(
                    "INSERT INTO users (id, email, name, timezone, session_version, "
                    "created_at, updated_at) VALUES (:id, :email, '', 'UTC', 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ).bindparams(id=f"user-{n}", email=f"user{n}@example.com")
            )
            await asyncio.sleep(0.001)  # hold the transaction across a wait, as requests do
            await session.commit()

    try:
        await asyncio.gather(*(writer(n) for n in range(40)))
        async with db.session(write=False) as session:
            counted = await session.exec(select(func.count()).select_from(User))
            assert counted.one() == 40
    finally:
        await db.dispose()
