"""Faults an operator will meet: the database restarting under load, its pool exhausted, a
SIGTERM during requests, and a full disk."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event

from tests.conftest import ADMIN_URL, NewDatabase, make_settings
from tests.reliability.live import server_env, serving
from tests.reliability.pgcluster import Cluster
from tests.security.support import client_for, running
from todo import migrations

FAIL_FAST_SECONDS = 3.0
RECOVERY_SECONDS = 2.0


@dataclass
class Outcome:
    started: float
    finished: float
    status: int
    content_type: str
    task_id: int | None
    title: str

    @property
    def seconds(self) -> float:
        return self.finished - self.started


async def _signed_in(http: httpx.AsyncClient) -> None:
    signup = await http.post(
        "/api/auth/signup",
        json={"email": f"f-{uuid.uuid4().hex}@example.com", "password": "long enough"},
    )
    assert signup.status_code == 201, signup.text
    http.headers["Authorization"] = f"Bearer {signup.json()['access_token']}"


async def _create(http: httpx.AsyncClient, title: str) -> Outcome:
    started = time.monotonic()
    try:
        response = await http.post("/api/me/tasks", json={"title": title})
    except httpx.TransportError:
        return Outcome(started, time.monotonic(), 0, "", None, title)
    body = response.json()
    return Outcome(
        started,
        time.monotonic(),
        response.status_code,
        response.headers.get("content-type", ""),
        body.get("id") if response.status_code == 201 else None,
        title,
    )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    try:
        own.start()
        yield own
    finally:
        own.destroy()


@pytest.mark.faults
async def test_postgres_restart_under_load(cluster: Cluster, tmp_path: Path) -> None:
    await asyncio.to_thread(migrations.upgrade, make_settings(cluster.url, tmp_path))
    env = server_env(cluster.url, tmp_path, DB_POOL_TIMEOUT="2")
    outcomes: list[Outcome] = []
    stop = asyncio.Event()

    async def load(http: httpx.AsyncClient, worker: int) -> None:
        n = 0
        while not stop.is_set():
            outcomes.append(await _create(http, f"w{worker}-{n}"))
            n += 1
            await asyncio.sleep(0.01)

    with serving(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            await _signed_in(http)
            workers = [asyncio.create_task(load(http, n)) for n in range(6)]
            await _until(lambda: sum(o.status == 201 for o in outcomes) >= 30)
            down_at = time.monotonic()
            await asyncio.to_thread(cluster.stop, "immediate")
            await _until(lambda: sum(o.started > down_at + 0.5 for o in outcomes) >= 30)
            restart_at = time.monotonic()
            await asyncio.to_thread(cluster.start)
            up_at = time.monotonic()
            await _until(lambda: any(o.status == 201 and o.started > up_at for o in outcomes))
            await _until(lambda: sum(o.started > up_at for o in outcomes) >= 30)
            stop.set()
            await asyncio.gather(*workers)

    during = [o for o in outcomes if down_at + 0.5 < o.started and o.finished < restart_at]
    assert during, "no request ran while the database was down"
    assert {o.status for o in during} == {503}, sorted({o.status for o in during})
    assert all(o.content_type == "application/problem+json" for o in during)
    slowest = max(o.seconds for o in outcomes)
    assert slowest < FAIL_FAST_SECONDS, f"a request took {slowest:.1f} s"
    # pg_ctl reports the server ready a little after it is; a success before that counts too.
    first_ok = min(o.finished for o in outcomes if o.status == 201 and o.started > restart_at)
    recovery = max(0.0, first_ok - up_at)
    assert recovery < RECOVERY_SECONDS, f"recovered {recovery:.2f} s after the database"
    print(f"\nfail-fast: slowest {slowest * 1000:.0f} ms; recovery {recovery * 1000:.0f} ms")

    answered = {o.task_id for o in outcomes if o.status == 201}
    connection = await asyncpg.connect(cluster.url)
    try:
        stored = {row["id"] for row in await connection.fetch("SELECT id FROM tasks")}
    finally:
        await connection.close()
    assert answered <= stored, f"answered 201 but missing: {sorted(answered - stored)[:10]}"


async def _until(condition: Any, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


@pytest.fixture
def pg_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own on the shared server, for tests that lock its tables."""
    factory = NewDatabase("postgres", tmp_path, [])
    url = factory.url()
    migrations.upgrade(make_settings(url, tmp_path))
    try:
        yield url
    finally:
        asyncio.run(_drop(factory.created))


async def _drop(names: list[str]) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _lock_waiters(url: str) -> int:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        name = url.rsplit("/", 1)[1]
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                "AND wait_event_type = 'Lock'",
                name,
            )
        )
    finally:
        await connection.close()


async def _until_async(check: Any, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_pool_exhaustion_answers_503_after_a_bounded_wait(
    backend: str, pg_database: str, tmp_path: Path
) -> None:
    env = server_env(
        pg_database, tmp_path, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="1"
    )
    with serving(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            await _signed_in(http)
            blocker = await asyncpg.connect(pg_database)
            try:
                await blocker.execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                holding = [asyncio.create_task(http.get("/api/me/tasks")) for _ in range(2)]

                async def both_wait() -> bool:
                    return await _lock_waiters(pg_database) >= 2

                await _until_async(both_wait)
                started = time.monotonic()
                queued = await asyncio.gather(*(http.get("/api/me/tasks") for _ in range(4)))
                waited = time.monotonic() - started
            finally:
                await blocker.execute("ROLLBACK")
                await blocker.close()
            held = await asyncio.gather(*holding)
            after = await http.get("/api/me/tasks")
    for response in queued:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == "database_unavailable"
    assert 1.0 <= waited < 4.0, f"queued requests waited {waited:.1f} s"
    assert [response.status_code for response in held] == [200, 200]
    assert after.status_code == 200


def _established(port: int) -> int:
    """Connections to `port` the kernel has established (accepted or in the backlog)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":
                count += 1
    return count


async def _refused(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=1) as fresh:
            await fresh.get("/health")
    except httpx.TransportError:
        return True
    return False


async def test_sigterm_lets_in_flight_requests_finish(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    url = await asyncio.to_thread(new_database.url)
    await asyncio.to_thread(migrations.upgrade, make_settings(url, tmp_path))
    sqlite = url.startswith("sqlite")
    with serving(server_env(url, tmp_path), tmp_path) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
            await _signed_in(http)
            if sqlite:
                blocker: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
                blocker.execute("BEGIN IMMEDIATE")
            else:
                blocker = await asyncpg.connect(url)
                await blocker.execute("BEGIN; LOCK TABLE tasks IN EXCLUSIVE MODE")
            try:
                texts = [f"Task {n} +Project{n}" for n in range(5)]
                in_flight = [
                    asyncio.create_task(http.post("/api/me/tasks/quick", json={"text": text}))
                    for text in texts
                ]

                async def all_arrived() -> bool:
                    if sqlite:
                        return _established(port) >= 5
                    return await _lock_waiters(url) >= 5

                await _until_async(all_arrived)
                # Answered after the five connections were made: the server has them all.
                async with httpx.AsyncClient(base_url=server.base_url) as probe:
                    assert (await probe.get("/health")).status_code == 200
                os.killpg(server.process.pid, signal.SIGTERM)

                async def draining() -> bool:
                    return await _refused(server.base_url)

                await _until_async(draining)
                assert server.process.poll() is None, "the server quit with requests in flight"
            finally:
                if sqlite:
                    blocker.execute("ROLLBACK")
                    blocker.close()
                else:
                    await blocker.execute("ROLLBACK")
                    await blocker.close()
            answers = await asyncio.gather(*in_flight)
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert await asyncio.to_thread(server.wait, 30) in (0, -signal.SIGTERM), server.output()
    assert [answer.status_code for answer in answers] == [201] * 5, [a.text for a in answers]

    rows = await _rows(
        url,
        "SELECT lists.name, count(tasks.id) FROM lists "
        "LEFT JOIN tasks ON tasks.list_id = lists.id "
        "WHERE NOT lists.is_inbox GROUP BY lists.name ORDER BY lists.name",
    )
    assert rows == [(f"Project{n}", 1) for n in range(5)]


async def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1])
        try:
            return [tuple(row) for row in connection.execute(sql)]
        finally:
            connection.close()
    pg = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await pg.fetch(sql)]
    finally:
        await pg.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_full_sqlite_database_fails_clearly_and_stays_intact(
    backend: str, tmp_path: Path
) -> None:
    path = tmp_path / "full.db"
    settings = make_settings(f"sqlite+aiosqlite:///{path}", tmp_path)
    await asyncio.to_thread(migrations.upgrade, settings)
    with sqlite3.connect(path) as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
    limit = pages + 40
    saved: list[int] = []
    async with running(settings) as app:
        engine = app.state.db.engine
        await engine.dispose()

        @event.listens_for(engine.sync_engine, "connect")
        def _cap(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count = {limit}")
            cursor.close()

        async with client_for(app) as http:
            await _signed_in(http)
            refused = None
            for n in range(200):
                response = await http.post(
                    "/api/me/tasks", json={"title": f"t{n}", "description": "x" * 9000}
                )
                if response.status_code != 201:
                    refused = response
                    break
                saved.append(response.json()["id"])
            assert refused is not None, "the database never filled up"
            assert refused.status_code == 507, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "storage_full"
            assert "full" in refused.json()["detail"]
            listed = await http.get("/api/me/tasks", params={"limit": 500})
            assert listed.status_code == 200
            assert sorted(task["id"] for task in listed.json()) == saved
            assert (await http.get("/health/ready")).status_code == 200
            token = http.headers["Authorization"]
    assert saved, "not a single task fit"
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT count(*) FROM tasks").fetchone() == (len(saved),)
    # Once there is room again, writing works without a restart of anything but the limit.
    async with running(settings) as app, client_for(app) as http:
        http.headers["Authorization"] = token
        again = await http.post("/api/me/tasks", json={"title": "room again"})
        assert again.status_code == 201
