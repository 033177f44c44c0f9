"""Two real `todo serve` processes on one PostgreSQL database: a change made through one
reaches an event stream open on the other within a second, through LISTEN/NOTIFY, and
through Redis pub/sub when REDIS_URL is set."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from tests.activity.conftest import DELIVERY_SECONDS, stream
from tests.conftest import ADMIN_URL, NewDatabase, make_settings
from tests.reliability.live import LiveServer, server_env, serving
from todo import migrations

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    factory = NewDatabase("postgres", tmp_path_factory.mktemp("fanout"), [])
    try:
        url = factory.url()
    except OSError as error:
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {error}")
    migrations.upgrade(make_settings(url, tmp_path_factory.mktemp("fanout-data")))
    yield url
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(ADMIN_URL)
        try:
            for name in factory.created:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


def _two_servers(database: str, tmp_path: Path, **extra: str) -> tuple[ExitStack, list[LiveServer]]:
    stack = ExitStack()
    env = server_env(database, tmp_path, **extra)
    servers = [stack.enter_context(serving(env, tmp_path)) for _ in range(2)]
    return stack, servers


async def _across(servers: list[LiveServer]) -> None:
    writer, reader = servers
    async with httpx.AsyncClient(base_url=writer.base_url) as http:
        email = f"fan-{uuid.uuid4().hex[:8]}@example.com"
        signed = await http.post(
            "/api/auth/signup", json={"email": email, "password": "long enough 1"}
        )
        assert signed.status_code == 201, signed.text
        token = signed.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with stream(reader.base_url, token) as events:
            for i in range(3):
                sent = time.monotonic()
                made = await http.post("/api/me/tasks", headers=headers, json={"title": f"t{i}"})
                assert made.status_code == 201
                arrived = (await events.until(i + 1))[i]
                assert arrived.data["resource_id"] == made.json()["id"]
                assert arrived.at - sent < DELIVERY_SECONDS, arrived.at - sent


async def test_a_change_through_one_process_reaches_a_stream_on_another(
    database: str, tmp_path: Path
) -> None:
    stack, servers = _two_servers(database, tmp_path)
    with stack:
        await _across(servers)


@pytest.mark.skipif(not _redis_reachable(), reason=f"no Redis at {REDIS_URL}")
async def test_with_redis_the_change_travels_through_redis(database: str, tmp_path: Path) -> None:
    prefix = f"todo-test-{uuid.uuid4().hex[:8]}:"
    stack, servers = _two_servers(database, tmp_path, REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=prefix)
    watcher = redis.Redis.from_url(REDIS_URL).pubsub()
    watcher.subscribe(f"{prefix}events")
    with stack:
        await _across(servers)
    # The notices went through Redis (and not through PostgreSQL, which nobody listened on).
    seen = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        message = watcher.get_message(timeout=0.1)
        if message and message["type"] == "message":
            seen.append(message["data"].decode())
    watcher.close()
    assert len(seen) >= 4, seen  # the new account's Inbox and its three tasks
