"""Reminders and digests reach a real SMTP server and a push service that decrypts them,
once per occurrence and channel, never for done or dismissed tasks (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import TABLES, NewDatabase, make_settings
from tests.notifications.services import PushService, SmtpServer
from todo import migrations
from todo.app import create_app
from todo.core.config import Settings
from todo.core.jobs import JobQueue
from todo.notifications.jobs import scan_digests, scan_reminders
from todo.worker import queue

SUBJECT = "mailto:ops@example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushService]:
    service = PushService(subject=SUBJECT)
    await service.start()
    yield service
    await service.stop()


def notify_settings(url: str, data_dir: Path, smtp_port: int, **more: Any) -> Settings:
    return make_settings(
        url,
        data_dir,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_tls="none",
        smtp_from="todo@example.com",
        vapid_subject=SUBJECT,
        push_allow_private_endpoints=True,
        push_service_hosts="127.0.0.1",
        **more,
    )


@pytest.fixture(scope="module")
def nsettings(
    new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Settings:
    settings = notify_settings(new_database.url(), tmp_path_factory.mktemp("notify"), smtp.port)
    migrations.upgrade(settings)
    return settings


@pytest.fixture(scope="module")
async def napp(nsettings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(nsettings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(
    napp: FastAPI, smtp: SmtpServer, push_service: PushService
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=napp)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    async with napp.state.db.engine.begin() as connection:
        for table in TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))
        if not napp.state.db.is_sqlite:
            await connection.execute(text("DELETE FROM procrastinate_jobs"))
    smtp.clear()
    push_service.delivered.clear()
    push_service.gone.clear()


@pytest.fixture
async def jobs(napp: FastAPI) -> AsyncIterator[JobQueue]:
    found = queue(napp.state.settings, napp.state.db)
    await found.open()
    yield found
    await found.close()


async def run_scan(jobs: JobQueue) -> None:
    """One scan, then every delivery it enqueued, run to the end by a real worker."""
    await scan_reminders(jobs, timestamp=0)
    await jobs.run_worker(concurrency=2, name="test", install_signal_handlers=False, wait=False)


async def sign_up(api: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await api.post(
        "/api/auth/signup", json={"email": email, "password": "correct horse 1", "name": "N"}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def _task(api: httpx.AsyncClient, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/me/tasks", json=fields, headers=auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _both_channels(
    api: httpx.AsyncClient, push_service: PushService, auth: dict[str, str], name: str
) -> None:
    turned = await api.patch(
        "/api/me/notification-settings", json={"email_reminders": True}, headers=auth
    )
    assert turned.status_code == 200, turned.text
    subscribed = await api.post(
        "/api/me/push-subscriptions",
        json=push_service.browser(name).subscription,
        headers=auth,
    )
    assert subscribed.status_code == 201, subscribed.text


async def test_a_fired_reminder_arrives_once_by_email_and_by_push(
    api: httpx.AsyncClient, jobs: JobQueue, smtp: SmtpServer, push_service: PushService
) -> None:
    auth = await sign_up(api, "ada@example.com")
    await _both_channels(api, push_service, auth, "ada-laptop")
    task = await _task(
        api,
        auth,
        title="Call the plumber",
        description="About the <kitchen> tap",
        due_at=_at(timedelta(hours=1)),
        remind_at=_at(timedelta(seconds=-20)),
    )
    await _task(api, auth, title="Later", remind_at=_at(timedelta(minutes=5)))

    await run_scan(jobs)

    [mail] = smtp.messages
    assert mail["To"] == "ada@example.com"
    assert mail["Subject"] == "Reminder: Call the plumber"
    assert mail["Message-ID"].startswith(f"<reminder-{task['id']}-")
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert plain is not None
    assert "About the <kitchen> tap" in plain.get_content()
    assert rich is not None
    assert "About the &lt;kitchen&gt; tap" in rich.get_content()
    [pushed] = push_service.delivered
    assert pushed.browser == "ada-laptop"
    assert pushed.payload["title"] == "Call the plumber"
    assert pushed.payload["url"] == f"/tasks/{task['id']}"
    assert pushed.claims["sub"] == SUBJECT
    assert pushed.ttl > 0

    await run_scan(jobs)
    assert len(smtp.messages) == 1
    assert len(push_service.delivered) == 1


async def test_done_dismissed_and_future_reminders_send_nothing(
    api: httpx.AsyncClient, jobs: JobQueue, smtp: SmtpServer, push_service: PushService
) -> None:
    auth = await sign_up(api, "bea@example.com")
    await _both_channels(api, push_service, auth, "bea-phone")
    fired = _at(timedelta(seconds=-30))
    done = await _task(api, auth, title="Done already", remind_at=fired)
    completed = await api.patch(
        f"/api/me/tasks/{done['id']}/complete", json={"completed": True}, headers=auth
    )
    assert completed.status_code == 200
    dismissed = await _task(api, auth, title="Dismissed", remind_at=fired)
    answer = await api.post(f"/api/me/reminders/{dismissed['id']}/dismiss", headers=auth)
    assert answer.status_code == 200
    await _task(api, auth, title="Tomorrow", remind_at=_at(timedelta(days=1)))
    await _task(api, auth, title="Long ago", remind_at=_at(timedelta(days=-3)))

    await run_scan(jobs)

    assert smtp.messages == []
    assert push_service.delivered == []


async def test_each_occurrence_of_a_repeating_task_reminds_again(
    api: httpx.AsyncClient, jobs: JobQueue, smtp: SmtpServer, push_service: PushService
) -> None:
    auth = await sign_up(api, "cy@example.com")
    await _both_channels(api, push_service, auth, "cy-desktop")
    first = await _task(
        api,
        auth,
        title="Stretch",
        rrule="FREQ=HOURLY",
        due_at=_at(timedelta(minutes=-100)),
        remind_at=_at(timedelta(minutes=-110)),
    )
    await run_scan(jobs)
    assert [m["Subject"] for m in smtp.messages] == ["Reminder: Stretch"]

    # Done: the next occurrence is due an hour later, its reminder 50 minutes ago.
    await api.patch(f"/api/me/tasks/{first['id']}/complete", json={"completed": True}, headers=auth)
    await run_scan(jobs)
    assert len(smtp.messages) == 2
    assert len(push_service.delivered) == 2
    ids = {m["Message-ID"].split("-")[1] for m in smtp.messages}
    assert len(ids) == 2
    assert str(first["id"]) in ids

    # The third occurrence's reminder is 10 minutes ahead: nothing yet.
    listed = await api.get("/api/me/tasks", headers=auth)
    [second] = [task for task in listed.json() if not task["completed"]]
    await api.patch(
        f"/api/me/tasks/{second['id']}/complete", json={"completed": True}, headers=auth
    )
    await run_scan(jobs)
    assert len(smtp.messages) == 2


async def test_a_reminder_moved_to_a_new_time_reminds_again(
    api: httpx.AsyncClient, jobs: JobQueue, smtp: SmtpServer, push_service: PushService
) -> None:
    auth = await sign_up(api, "dee@example.com")
    await _both_channels(api, push_service, auth, "dee-laptop")
    task = await _task(api, auth, title="Snooze me", remind_at=_at(timedelta(minutes=-5)))
    await run_scan(jobs)
    moved = await api.put(
        f"/api/me/tasks/{task['id']}", json={"remind_at": _at(timedelta(seconds=-1))}, headers=auth
    )
    assert moved.status_code == 200
    await run_scan(jobs)
    assert len(smtp.messages) == 2
    assert len(push_service.delivered) == 2


async def test_channels_follow_the_users_choice(
    api: httpx.AsyncClient, jobs: JobQueue, smtp: SmtpServer, push_service: PushService
) -> None:
    auth = await sign_up(api, "eve@example.com")
    await _both_channels(api, push_service, auth, "eve-phone")
    off = await api.patch(
        "/api/me/notification-settings", json={"push_reminders": False}, headers=auth
    )
    assert off.json()["push_reminders"] is False
    assert off.json()["email_reminders"] is True
    await _task(api, auth, title="Email only", remind_at=_at(timedelta(seconds=-5)))
    await run_scan(jobs)
    assert len(smtp.messages) == 1
    assert push_service.delivered == []


async def test_a_browser_its_push_service_calls_gone_is_forgotten(
    api: httpx.AsyncClient, jobs: JobQueue, push_service: PushService
) -> None:
    auth = await sign_up(api, "fay@example.com")
    await _both_channels(api, push_service, auth, "fay-old")
    push_service.gone.add("fay-old")
    await _task(api, auth, title="Anyone there?", remind_at=_at(timedelta(seconds=-5)))
    await run_scan(jobs)
    listed = await api.get("/api/me/push-subscriptions", headers=auth)
    assert listed.json() == []


async def test_the_test_button_pushes_to_every_browser(
    api: httpx.AsyncClient, push_service: PushService
) -> None:
    auth = await sign_up(api, "gus@example.com")
    await _both_channels(api, push_service, auth, "gus-one")
    await api.post(
        "/api/me/push-subscriptions",
        json=push_service.browser("gus-two").subscription,
        headers=auth,
    )
    answer = await api.post("/api/me/push-subscriptions/test", headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sent": 2, "removed": 0}
    assert sorted(d.browser for d in push_service.delivered) == ["gus-one", "gus-two"]
    assert {d.payload["title"] for d in push_service.delivered} == {"Test notification"}


async def test_the_daily_digest_lists_today_and_overdue_once_per_local_day(
    api: httpx.AsyncClient, jobs: JobQueue, smtp: SmtpServer
) -> None:
    auth = await sign_up(api, "hal@example.com")
    # The account's zone is UTC: its local hour is the hour now.
    hour = datetime.now(UTC).hour
    chosen = await api.patch(
        "/api/me/notification-settings", json={"digest_hour": hour}, headers=auth
    )
    assert chosen.json()["digest_hour"] == hour
    today = datetime.now(UTC).date()
    await _task(api, auth, title="Pay rent", due_date=(today - timedelta(days=2)).isoformat())
    await _task(api, auth, title="Buy milk", due_date=today.isoformat())
    await _task(api, auth, title="Next week", due_date=(today + timedelta(days=7)).isoformat())
    done = await _task(api, auth, title="Already done", due_date=today.isoformat())
    await api.patch(f"/api/me/tasks/{done['id']}/complete", json={"completed": True}, headers=auth)

    for _ in range(2):
        await scan_digests(jobs, timestamp=0)
        await jobs.run_worker(concurrency=2, name="test", install_signal_handlers=False, wait=False)

    [mail] = smtp.messages
    assert mail["Subject"] == "Today: 1 due, 1 overdue"
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    content = plain.get_content()
    assert "Pay rent" in content
    assert "Buy milk" in content
    assert "Next week" not in content
    assert "Already done" not in content
