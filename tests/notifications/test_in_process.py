"""`todo serve` runs the jobs itself when no worker is configured (JOBS_IN_PROCESS=auto):
on SQLite always, on PostgreSQL unless a worker is already alive."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import NewDatabase
from tests.notifications.services import SmtpServer
from tests.notifications.test_delivery import notify_settings, sign_up
from todo import migrations
from todo.app import create_app
from todo.core.config import Settings


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def settings(new_database: NewDatabase, tmp_path: Path, smtp: SmtpServer) -> Settings:
    made = notify_settings(new_database.url(), tmp_path, smtp.port, jobs_in_process="auto")
    migrations.upgrade(made)
    return made


async def _worker_decided(app: FastAPI) -> bool:
    """Whether the app's background start has settled; True when it runs a worker."""
    background = app.state.jobs
    starting = background._waiting
    assert starting is not None
    await asyncio.wait_for(asyncio.shield(starting), 30)
    return background._worker is not None


async def test_the_app_delivers_reminders_by_itself(settings: Settings, smtp: SmtpServer) -> None:
    quiet = create_app(settings.model_copy(update={"jobs_in_process": "never"}))
    async with quiet.router.lifespan_context(quiet):
        transport = httpx.ASGITransport(app=quiet)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            auth = await sign_up(api, "jo@example.com")
            await api.patch(
                "/api/me/notification-settings", json={"email_reminders": True}, headers=auth
            )
            fired = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
            answer = await api.post(
                "/api/me/tasks", json={"title": "Feed the cat", "remind_at": fired}, headers=auth
            )
            assert answer.status_code == 201
    assert smtp.messages == []

    # A server starting now scans at once (the tick that just passed), then every 30 s.
    serving = create_app(settings)
    async with serving.router.lifespan_context(serving):
        assert await _worker_decided(serving)
        for _ in range(300):
            if smtp.messages:
                break
            await asyncio.sleep(0.1)
    assert [mail["Subject"] for mail in smtp.messages] == ["Reminder: Feed the cat"]


async def test_on_postgresql_a_second_app_leaves_the_jobs_to_a_live_worker(
    settings: Settings, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("on SQLite one process runs the jobs, chosen by a lock file")
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        assert await _worker_decided(first)
        # Registered with a heartbeat before it takes jobs.
        for _ in range(100):
            if await first.state.jobs.queue.live_workers():
                break
            await asyncio.sleep(0.1)
        second = create_app(settings)
        async with second.router.lifespan_context(second):
            assert not await _worker_decided(second)


async def test_on_sqlite_a_second_app_process_waits_for_the_lock(
    settings: Settings, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the lock file is SQLite's")
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        assert await _worker_decided(first)
        second = create_app(settings)
        async with second.router.lifespan_context(second):
            await asyncio.sleep(0.5)
            assert second.state.jobs._worker is None
            assert not second.state.jobs._waiting.done()
