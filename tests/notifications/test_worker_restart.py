"""A `todo worker` process killed in the middle of its reminders and started again sends
each reminder exactly once: none lost, none twice (PostgreSQL, where the queue is
durable; a real subprocess, SIGKILL, a real SMTP server)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import TEST_SECRET, NewDatabase
from tests.notifications.services import SmtpServer
from tests.notifications.test_delivery import notify_settings, sign_up
from todo import migrations
from todo.app import create_app
from todo.core.config import Settings

REMINDERS = 10
KILL_AT = 4  # the worker dies while the SMTP server receives this message's data


async def _until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _worker(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "todo", "worker", "--concurrency", "1"],
        env=env,
        cwd=cwd,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(delay_s=0.2) as server:
        yield server


@pytest.fixture
def settings(backend: str, new_database: NewDatabase, tmp_path: Path, smtp: SmtpServer) -> Settings:
    if backend != "postgres":
        pytest.skip("on SQLite the queue is in memory and runs inside `todo serve`")
    made = notify_settings(new_database.url(), tmp_path, smtp.port)
    migrations.upgrade(made)
    return made


async def test_a_worker_killed_mid_delivery_loses_no_reminder_and_sends_none_twice(
    settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    victim: list[subprocess.Popen[bytes]] = []

    def kill_on_arrival(number: int) -> None:
        if number == KILL_AT and victim:
            os.kill(victim[0].pid, signal.SIGKILL)

    smtp.on_data(kill_on_arrival)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            auth = await sign_up(api, "ivy@example.com")
            await api.patch(
                "/api/me/notification-settings", json={"email_reminders": True}, headers=auth
            )
            fired = (datetime.now(UTC) - timedelta(seconds=10)).isoformat()
            for number in range(REMINDERS):
                created = await api.post(
                    "/api/me/tasks",
                    json={"title": f"Reminder number {number}", "remind_at": fired},
                    headers=auth,
                )
                assert created.status_code == 201

        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "DATA_DIR": str(tmp_path),
            "AUTH_SECRET": TEST_SECRET,
            "APP_ENV": "test",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_TLS": "none",
            "SMTP_FROM": "todo@example.com",
        }
        log = tmp_path / "worker.log"
        first = _worker(env, tmp_path, log)
        victim.append(first)
        await _until(lambda: first.poll() is not None, 60, "the worker to be killed")
        assert first.returncode == -signal.SIGKILL, log.read_text()
        # The message cut off mid-data was never accepted, as in SMTP.
        assert len(smtp.messages) == KILL_AT - 1
        victim.clear()

        second = _worker(env, tmp_path, log)
        try:
            # The next scan (every 30 seconds) finds what is left.
            await _until(lambda: len(smtp.messages) >= REMINDERS, 90, "every reminder")
            done_at = int(time.time())

            async def scans_after() -> int:
                async with app.state.db.engine.connect() as connection:
                    found = await connection.execute(
                        text(
                            "SELECT count(*) FROM procrastinate_periodic_defers d "
                            "LEFT JOIN procrastinate_jobs j ON j.id = d.job_id "
                            "WHERE d.task_name LIKE '%scan_reminders' "
                            "AND d.defer_timestamp > :after "
                            "AND (j.id IS NULL OR j.status NOT IN ('todo', 'doing'))"
                        ),
                        {"after": done_at},
                    )
                    return int(found.scalar_one())

            # One more whole scan after the last message: it must find nothing to send.
            deadline = time.monotonic() + 60
            while await scans_after() == 0:
                assert time.monotonic() < deadline, "no scan ran after the last reminder"
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)

        subjects = [mail["Subject"] for mail in smtp.messages]
        assert sorted(subjects) == sorted(
            f"Reminder: Reminder number {n}" for n in range(REMINDERS)
        )
        async with app.state.db.engine.connect() as connection:
            markers = await connection.execute(text("SELECT count(*) FROM reminder_deliveries"))
            assert markers.scalar_one() == REMINDERS
