"""The benchmark's own machinery, on a tiny data set: what `make bench` relies on.

The bulk seed must write rows the API reads back exactly as the service would have made
them, leave the schema as the migrations built it, and hand out a deep-page cursor the API
accepts; the floor must capture an endpoint's SQL and replay it through the driver alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.config import PASSWORD, SECRET
from bench.floor import (
    FloorPlan,
    PostgresClient,
    Probe,
    SqliteClient,
    Trace,
    capture,
    replay,
    templated,
)
from bench.seed import hash_password, load_postgres, load_sqlite
from bench.store import Store
from fastapi import FastAPI

from bench import dataset
from tests.conftest import NewDatabase, make_settings
from todo import migrations
from todo.app import create_app
from todo.core.config import Settings
from todo.tasks.schemas import PRIORITIES

# Each test acts as users of its own, so that they can share one seeded database.
USERS, TASKS = 5, 60


@dataclass
class Seeded:
    settings: Settings
    store: Store
    data: dataset.DataSet
    schema_before: list[Any]
    app: FastAPI
    client: httpx.AsyncClient

    def headers(self, user: dataset.SeedUser) -> dict[str, str]:
        token, _ = self.app.state.tokens.issue(user.id, session_version=0)
        return {"Authorization": f"Bearer {token}"}


async def _schema(store: Store) -> list[Any]:
    if store.pg:
        return await store.fetch(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' UNION ALL "
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2, 3"
        )
    return await store.fetch("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")


@pytest.fixture(scope="module")
async def seeded(
    backend: str, new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Seeded]:
    url = await asyncio.to_thread(new_database.url)
    settings = make_settings(url, tmp_path_factory.mktemp("bench"), auth_secret=SECRET)
    await asyncio.to_thread(migrations.upgrade, settings)
    if backend == "postgres":
        store = Store("postgres", url)
    else:
        store = Store("sqlite", str(settings.database.sqlite_path))
    before = await _schema(store)
    data = dataset.DataSet(users=USERS, tasks_per_user=TASKS, heavy_tasks=TASKS * 2)
    password_hash = await hash_password(settings)
    if store.pg:
        await load_postgres(url, data, password_hash, quiet=True)
    else:
        await asyncio.to_thread(load_sqlite, Path(store.database), data, password_hash, quiet=True)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Seeded(settings, store, data, before, app, client)


def _expected(data: dataset.DataSet) -> dict[int, tuple[Any, ...]]:
    return {row[0]: row for row, _ in data.task_rows()}


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


async def test_seeded_rows_read_back_through_the_api(seeded: Seeded) -> None:
    assert await _schema(seeded.store) == seeded.schema_before
    expected = _expected(seeded.data)
    tags = {
        tag_id: name
        for user in seeded.data.users
        for tag_id, name in zip(user.tag_ids, dataset.TAG_NAMES, strict=True)
    }
    links: dict[int, list[str]] = {}
    for row, task_links in seeded.data.task_rows():
        links[row[0]] = sorted((tags[tag_id] for _, tag_id, _ in task_links), key=str.lower)
    columns = dataset.TASK_COLUMNS
    for user in (*seeded.data.users[:2], seeded.data.heavy):
        assert user is not None
        response = await seeded.client.get("/api/me/tasks?limit=500", headers=seeded.headers(user))
        assert response.status_code == 200, response.text
        got = response.json()
        assert len(got) == user.tasks
        for task in got:
            row = dict(zip(columns, expected[task["id"]], strict=True))
            assert task["user_id"] == user.id == row["user_id"]
            assert task["title"] == row["title"]
            assert task["description"] == row["description"]
            assert task["completed"] == row["completed"]
            assert task["list_id"] == row["list_id"]
            assert task["position"] == row["position"]
            assert task["priority"] == PRIORITIES[row["priority"]]
            assert task["tags"] == links[task["id"]]
            assert task["rrule"] == row["rrule"]
            assert task["series_id"] == row["series_id"]
            for name in ("completed_at", "due_at", "remind_at", "created_at", "updated_at"):
                assert _same_instant(task[name], row[name]), name
            assert task["due_date"] == _iso(row["due_date"])


def _same_instant(text: str | None, value: datetime | None) -> bool:
    if text is None or value is None:
        return text is None and value is None
    return datetime.fromisoformat(text.replace("Z", "+00:00")) == value


async def test_seeded_tasks_are_searchable_editable_and_can_log_in(seeded: Seeded) -> None:
    user = seeded.data.users[2]
    headers = seeded.headers(user)
    found = await seeded.client.get("/api/me/tasks?q=invoice&limit=500", headers=headers)
    assert found.status_code == 200
    titles = [t["title"] + " " + t["description"] for t in found.json()]
    assert titles
    assert all("invoice" in t.lower() for t in titles)

    task = found.json()[0]
    one = await seeded.client.get(f"/api/me/tasks/{task['id']}", headers=headers)
    version = int(one.headers["ETag"].strip('"'))
    edited = await seeded.client.put(
        f"/api/me/tasks/{task['id']}",
        headers={**headers, "If-Match": one.headers["ETag"]},
        json={"title": "Edited"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] == f'"{version + 1}"'

    login = await seeded.client.post(
        "/api/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text


async def test_seeded_rows_are_stored_like_the_apps_own(seeded: Seeded) -> None:
    """Column by column, a seeded task is stored in the same form as one the API created."""
    user = seeded.data.users[3]
    created = await seeded.client.post(
        "/api/me/tasks",
        headers=seeded.headers(user),
        json={
            "title": "Made by the API",
            "completed": True,
            "due_at": "2026-12-01T09:30:00+01:00",
            "remind_at": "2026-12-01T08:00:00Z",
        },
    )
    assert created.status_code == 201, created.text
    columns = ", ".join(dataset.TASK_COLUMNS)
    if seeded.store.pg:
        sql = f"SELECT {columns} FROM tasks WHERE id = ?"
    else:
        shapes = ", ".join(f"typeof({c}), {c}" for c in dataset.TASK_COLUMNS)
        sql = f"SELECT {shapes} FROM tasks WHERE id = ?"
    [api_row] = await seeded.store.fetch(sql, created.json()["id"])
    seeded_id = next(
        row[0]
        for row, _ in seeded.data.task_rows()
        if row[4] and row[9] is not None and row[10] is not None and row[11] is not None
    )
    [seed_row] = await seeded.store.fetch(sql, seeded_id)
    assert [_shape(v) for v in api_row] == [_shape(v) for v in seed_row]


def _shape(value: Any) -> str:
    """Type and, for text, the pattern of digits: '2026-12-01 08:30:00.000000' -> 'dddd-...'."""
    if isinstance(value, str) and re.fullmatch(r"[\d:. -]+", value):
        return re.sub(r"\d", "d", value)
    return type(value).__name__


async def test_deep_cursor_is_the_one_the_api_hands_out(seeded: Seeded) -> None:
    heavy = seeded.data.heavy
    assert heavy is not None
    headers = seeded.headers(heavy)
    page_size, pages = 10, 5
    account = await seeded.store.account(heavy.email)
    assert account is not None
    computed = await seeded.store.deep_cursor(account, pages * page_size, page_size)
    path = f"/api/me/tasks?limit={page_size}"
    for _ in range(pages):
        response = await seeded.client.get(path, headers=headers)
        link = re.match(r"<http://test([^>]*)>", response.headers["Link"])
        assert link is not None
        path = link.group(1)
    assert path.endswith(f"cursor={computed}")
    deep = await seeded.client.get(path, headers=headers)
    assert deep.status_code == 200
    assert len(deep.json()) == page_size


async def _client(seeded: Seeded, write: bool) -> PostgresClient | SqliteClient:
    if seeded.store.pg:
        return await PostgresClient.open(seeded.store.database, write)
    return await SqliteClient.open(seeded.store.database, write)


async def test_floor_replays_the_captured_sql(seeded: Seeded) -> None:
    user = seeded.data.users[1]
    headers = seeded.headers(user)
    [(trace, response)] = await capture(
        seeded.app, [Probe("GET", "/api/me/tasks?limit=50", headers)]
    )
    assert response.status_code == 200
    sequence = [s for s in trace.statements if not s.sql.startswith("BEGIN")]
    assert any("FROM tasks" in s.sql for s in sequence)
    assert trace.checkouts == 1

    reads = FloorPlan("list", write=False, sequences=[sequence])
    done = await replay(
        reads, lambda write: _client(seeded, write), concurrency=2, duration=0.2, part=0, parts=1
    )
    assert done["operations"] > 0
    assert done["errors"] == {}
    # The client's own CPU over the replay, for the report's CPU ratio.
    assert 0 < done["cpu_s"] <= done["elapsed_s"] * 2


async def test_floor_template_toggles_a_fresh_task(seeded: Seeded) -> None:
    user = seeded.data.users[4]
    account = await seeded.store.account(user.email)
    assert account is not None
    [(_, captured), (_, replayed)] = await seeded.store.add_scratch([account], 2)
    probe = Probe(
        "PATCH",
        f"/api/me/tasks/{captured}/complete",
        seeded.headers(user),
        slots={"U": user.id, "L": account.inbox_id, "T": captured},
    )
    [(trace, response)] = await capture(seeded.app, [probe])
    assert response.json()["completed"] is True
    statements = [s for s in trace.statements if not s.sql.startswith("BEGIN")]
    template = templated(Trace(statements), probe.slots or {})
    assert any(p == {"slot": "T"} for s in template for p in s.params)

    plan = FloorPlan(
        "toggle",
        write=True,
        template=template,
        slots=[{"U": user.id, "L": account.inbox_id, "T": replayed}],
    )
    done = await replay(
        plan, lambda write: _client(seeded, write), concurrency=1, duration=5, part=0, parts=1
    )
    assert done["operations"] == 1
    assert done["errors"] == {}
    after = await seeded.client.get(f"/api/me/tasks/{replayed}", headers=seeded.headers(user))
    assert after.json()["completed"] is True
    assert after.headers["ETag"] == '"2"'


def test_scratch_rows_match_the_seed_columns() -> None:
    rows = dataset.scratch_rows([("u", 1)], 3, 10, datetime(2026, 1, 1, tzinfo=UTC))
    assert [len(r) for r in rows] == [len(dataset.TASK_COLUMNS)] * 3
    assert [r[0] for r in rows] == [10, 11, 12]
    assert rows[0][7] < rows[1][7] < rows[2][7]


def test_position_is_time_key_at_that_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    from todo.core import ordering

    instant = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    nanoseconds = (instant - dataset.UNIX_EPOCH).total_seconds() // 1 * 10**9 + 123456789
    monkeypatch.setattr(ordering.time, "time_ns", lambda: int(nanoseconds))
    assert dataset.position_at(instant) == ordering.time_key()
