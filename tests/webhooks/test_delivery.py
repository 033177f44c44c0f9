"""Deliveries reach a real HTTP receiver on 127.0.0.1, signed as Standard Webhooks says,
made from committed events only; a failing receiver is retried with growing waits and the
webhook then disabled (both databases, a real job worker)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI
from sqlalchemy import text
from standardwebhooks import Webhook as Verifier

from tests.conftest import TABLES, NewDatabase, make_settings
from tests.notifications.services import free_port
from todo import migrations
from todo.app import create_app
from todo.core import events
from todo.core.config import Settings
from todo.core.jobs import JobQueue
from todo.webhooks.jobs import dispatch_webhooks
from todo.webhooks.schemas import ATTEMPTS_MAX
from todo.worker import queue

BASE_S = 0.002


@dataclass
class Arrival:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server that answers `status` and keeps what arrived."""

    port: int = field(default_factory=free_port)
    status: int = 204
    arrived: list[Arrival] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        async def handle(request: web.Request) -> web.Response:
            self.arrived.append(
                Arrival(time.monotonic(), dict(request.headers), await request.read())
            )
            if self.status in (301, 302, 307):
                return web.Response(status=self.status, headers={"Location": "http://10.0.0.1/"})
            return web.Response(status=self.status, text="x" * 5000)

        application = web.Application()
        application.router.add_post("/hook", handle)
        self.runner = web.AppRunner(application)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    await found.start()
    yield found
    await found.stop()


def hook_settings(url: str, data_dir: Path, **more: Any) -> Settings:
    return make_settings(
        url,
        data_dir,
        webhook_allow_private="127.0.0.1",
        webhook_retry_base=BASE_S,
        webhook_timeout=3,
        **more,
    )


@pytest.fixture(scope="module")
def hsettings(new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hook_settings(new_database.url(), tmp_path_factory.mktemp("hooks"))
    migrations.upgrade(settings)
    return settings


@pytest.fixture(scope="module")
async def happ(hsettings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(hsettings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(happ: FastAPI, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=happ)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    async with happ.state.db.engine.begin() as connection:
        for table in TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))
        if not happ.state.db.is_sqlite:
            await connection.execute(text("DELETE FROM procrastinate_jobs"))
    receiver.arrived.clear()
    receiver.status = 204


@pytest.fixture
async def jobs(happ: FastAPI) -> AsyncIterator[JobQueue]:
    found = queue(happ.state.settings, happ.state.db)
    await found.open()
    yield found
    await found.close()


async def pump(jobs: JobQueue, done: Callable[[], bool], *, within: float = 20.0) -> None:
    """Dispatcher passes and a real worker, until `done()` (or fail after `within` s)."""
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "the webhook jobs did not get there in time"
        await dispatch_webhooks(jobs, timestamp=0)
        await jobs.run_worker(concurrency=2, name="test", install_signal_handlers=False, wait=False)
        await asyncio.sleep(0.01)


async def sign_up(api: httpx.AsyncClient, email: str) -> tuple[str, dict[str, str]]:
    answer = await api.post(
        "/api/auth/signup", json={"email": email, "password": "correct horse 1", "name": "N"}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["user"]["id"], {"Authorization": f"Bearer {body['access_token']}"}


async def hook(
    api: httpx.AsyncClient, auth: dict[str, str], url: str, events: list[str]
) -> dict[str, Any]:
    made = await api.post("/api/me/webhooks", headers=auth, json={"url": url, "events": events})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def independent_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


async def test_a_task_change_arrives_signed(
    api: httpx.AsyncClient, jobs: JobQueue, receiver: Receiver
) -> None:
    user_id, auth = await sign_up(api, "hooked@example.com")
    made = await hook(api, auth, receiver.url, ["task.created", "task.completed"])
    task = (await api.post("/api/me/tasks", headers=auth, json={"title": "Pay rent"})).json()
    done = await api.patch(
        f"/api/me/tasks/{task['id']}/complete", headers=auth, json={"completed": True}
    )
    assert done.status_code == 200, done.text
    await pump(jobs, lambda: len(receiver.arrived) >= 2)
    first, second = receiver.arrived[:2]
    headers = {k.lower(): v for k, v in first.headers.items()}
    # The library's own verification, and an implementation of the spec of our own.
    payload = Verifier(made["secret"]).verify(first.body, headers)
    assert headers["webhook-signature"] == independent_signature(
        made["secret"], headers, first.body
    )
    assert payload["type"] == "task.created"
    assert payload["data"]["id"] == task["id"]
    assert payload["data"]["owner_id"] == user_id
    second_payload = json.loads(second.body)
    assert second_payload["type"] == "task.completed"
    assert second_payload["data"]["changes"]["completed"] == [False, True]
    assert {k.lower(): v for k, v in second.headers.items()}["webhook-id"] != headers["webhook-id"]
    log = (await api.get(f"/api/me/webhooks/{made['id']}/deliveries", headers=auth)).json()
    assert [(d["type"], d["status"], d["attempts"], d["status_code"]) for d in log] == [
        ("task.completed", "succeeded", 1, 204),
        ("task.created", "succeeded", 1, 204),
    ]
    assert log[0]["duration_ms"] is not None
    assert log[0]["response_excerpt"] == ""
    # A second dispatcher pass sends nothing twice.
    await pump(jobs, lambda: True)
    await dispatch_webhooks(jobs, timestamp=0)
    await jobs.run_worker(concurrency=2, name="test", install_signal_handlers=False, wait=False)
    assert len(receiver.arrived) == 2


async def test_unsubscribed_events_and_rolled_back_writes_send_nothing(
    api: httpx.AsyncClient, happ: FastAPI, jobs: JobQueue, receiver: Receiver
) -> None:
    user_id, auth = await sign_up(api, "rollback@example.com")
    await hook(api, auth, receiver.url, ["task.created"])
    # A write that records its event and then rolls back.
    async with happ.state.db.session(write=True) as session:
        await events.record(
            session,
            user_id=user_id,
            actor_id=user_id,
            resource="task",
            resource_id=999,
            action="created",
        )
        await session.rollback()
    made = await api.post("/api/me/lists", headers=auth, json={"name": "Not subscribed"})
    assert made.status_code == 201
    task = (await api.post("/api/me/tasks", headers=auth, json={"title": "Real"})).json()
    await pump(jobs, lambda: len(receiver.arrived) >= 1)
    await dispatch_webhooks(jobs, timestamp=0)
    await jobs.run_worker(concurrency=2, name="test", install_signal_handlers=False, wait=False)
    assert [json.loads(a.body)["data"]["id"] for a in receiver.arrived] == [task["id"]]


async def test_a_failing_receiver_is_retried_with_backoff_then_disabled(
    api: httpx.AsyncClient, jobs: JobQueue, receiver: Receiver
) -> None:
    receiver.status = 500
    _, auth = await sign_up(api, "failing@example.com")
    made = await hook(api, auth, receiver.url, ["*"])
    await api.post("/api/me/tasks", headers=auth, json={"title": "Doomed"})
    path = f"/api/me/webhooks/{made['id']}"

    def disabled() -> bool:
        return len(receiver.arrived) >= ATTEMPTS_MAX

    await pump(jobs, disabled)
    await pump(jobs, lambda: True)
    assert len(receiver.arrived) == ATTEMPTS_MAX
    ids = {{k.lower(): v for k, v in a.headers.items()}["webhook-id"] for a in receiver.arrived}
    assert len(ids) == 1, "every attempt carries the same webhook-id"
    gaps = [b.at - a.at for a, b in zip(receiver.arrived, receiver.arrived[1:], strict=False)]
    for n, gap in enumerate(gaps):
        assert gap >= BASE_S * 4**n, gaps
    assert gaps[-1] > 2 * max(gaps[:3]), gaps
    # The last attempt's result is written after the receiver answered it.
    for _ in range(200):
        webhook = (await api.get(path, headers=auth)).json()
        if not webhook["enabled"]:
            break
        await asyncio.sleep(0.02)
    assert webhook["enabled"] is False
    assert "500" in webhook["disabled_reason"]
    log = (await api.get(f"{path}/deliveries", headers=auth)).json()
    assert len(log) == 1
    assert log[0]["status"] == "failed"
    assert log[0]["attempts"] == ATTEMPTS_MAX
    assert log[0]["status_code"] == 500
    assert "500" in log[0]["error"]
    assert len(log[0]["response_excerpt"]) == 300
    # Disabled: nothing is sent, a retry is refused until it is turned back on.
    await api.post("/api/me/tasks", headers=auth, json={"title": "While off"})
    retried = await api.post(f"{path}/deliveries/{log[0]['id']}/retry", headers=auth)
    assert retried.status_code == 409
    assert retried.json()["code"] == "webhook_disabled"
    for _ in range(3):
        await dispatch_webhooks(jobs, timestamp=0)
        await jobs.run_worker(concurrency=2, name="test", install_signal_handlers=False, wait=False)
    assert len(receiver.arrived) == ATTEMPTS_MAX
    # Back on: what happened meanwhile arrives, and a retry resends the failed one.
    receiver.status = 200
    on = await api.patch(path, headers=auth, json={"enabled": True})
    assert on.status_code == 200
    assert on.json()["enabled"] is True
    retried = await api.post(f"{path}/deliveries/{log[0]['id']}/retry", headers=auth)
    assert retried.status_code == 200, retried.text
    await pump(jobs, lambda: len(receiver.arrived) >= ATTEMPTS_MAX + 2)
    types = sorted(
        json.loads(a.body)["data"]["changes"].get("title", [None, ""])[1] or ""
        for a in receiver.arrived[ATTEMPTS_MAX:]
    )
    assert len(types) == 2
    log = (await api.get(f"{path}/deliveries", headers=auth)).json()
    assert {d["status"] for d in log} == {"succeeded"}


async def test_ping_and_redirects(api: httpx.AsyncClient, receiver: Receiver) -> None:
    _, auth = await sign_up(api, "ping@example.com")
    made = await hook(api, auth, receiver.url, ["*"])
    pinged = await api.post(f"/api/me/webhooks/{made['id']}/test", headers=auth)
    assert pinged.status_code == 200, pinged.text
    assert pinged.json()["status"] == "succeeded"
    assert pinged.json()["type"] == "ping"
    arrived = receiver.arrived[-1]
    Verifier(made["secret"]).verify(
        arrived.body, {k.lower(): v for k, v in arrived.headers.items()}
    )
    receiver.status = 302
    redirected = (await api.post(f"/api/me/webhooks/{made['id']}/test", headers=auth)).json()
    assert redirected["status"] == "failed"
    assert redirected["status_code"] == 302
    assert "redirects are not followed" in redirected["error"]
    assert len(receiver.arrived) == 2, "the redirect's target was not followed"


async def test_a_target_refused_at_send_time_is_not_called(
    api: httpx.AsyncClient, happ: FastAPI, receiver: Receiver, tmp_path: Path
) -> None:
    """Allowed when saved, not any more when sent (as a name that resolves elsewhere
    since would be): the check at send time refuses it without connecting."""
    _, auth = await sign_up(api, "rebind@example.com")
    made = await hook(api, auth, receiver.url, ["*"])
    await api.post("/api/me/tasks", headers=auth, json={"title": "Secret"})
    strict = make_settings(happ.state.settings.database_url, tmp_path, webhook_retry_base=BASE_S)
    strict_jobs = queue(strict, happ.state.db)
    await strict_jobs.open()
    try:
        await dispatch_webhooks(strict_jobs, timestamp=0)
        await strict_jobs.run_worker(
            concurrency=1, name="test", install_signal_handlers=False, wait=False
        )
    finally:
        await strict_jobs.close()
    assert receiver.arrived == []
    log = (await api.get(f"/api/me/webhooks/{made['id']}/deliveries", headers=auth)).json()
    assert log[0]["attempts"] >= 1
    assert log[0]["status_code"] is None
    assert "non-public address" in log[0]["error"]


async def test_a_member_gets_the_events_of_a_list_shared_with_them(
    api: httpx.AsyncClient, jobs: JobQueue, receiver: Receiver
) -> None:
    _, owner = await sign_up(api, "owner@example.com")
    _, member = await sign_up(api, "member@example.com")
    await hook(api, member, receiver.url, ["task.created"])
    shared = (await api.post("/api/me/lists", headers=owner, json={"name": "Shared"})).json()
    private = (await api.post("/api/me/lists", headers=owner, json={"name": "Mine"})).json()
    invited = await api.post(
        f"/api/me/lists/{shared['id']}/members",
        headers=owner,
        json={"email": "member@example.com", "role": "viewer"},
    )
    assert invited.status_code in (200, 201), invited.text
    seen = await api.post(
        "/api/me/tasks", headers=owner, json={"title": "Seen", "list_id": shared["id"]}
    )
    await api.post(
        "/api/me/tasks", headers=owner, json={"title": "Unseen", "list_id": private["id"]}
    )
    await pump(jobs, lambda: len(receiver.arrived) >= 1)
    await dispatch_webhooks(jobs, timestamp=0)
    await jobs.run_worker(concurrency=2, name="test", install_signal_handlers=False, wait=False)
    assert [json.loads(a.body)["data"]["id"] for a in receiver.arrived] == [seen.json()["id"]]


async def test_member_and_comment_events_are_delivered(
    api: httpx.AsyncClient, jobs: JobQueue, receiver: Receiver
) -> None:
    """member.* and comment.* reach a webhook as task events do: sharing and comments record
    them in the same outbox (the events table)."""
    _, owner = await sign_up(api, "hands@example.com")
    await sign_up(api, "joiner@example.com")
    await hook(api, owner, receiver.url, ["member.*", "comment.created"])
    shared = (await api.post("/api/me/lists", headers=owner, json={"name": "Shared"})).json()
    added = await api.post(
        f"/api/me/lists/{shared['id']}/members",
        headers=owner,
        json={"email": "joiner@example.com", "role": "editor"},
    )
    assert added.status_code == 201, added.text
    task = await api.post(
        "/api/me/tasks", headers=owner, json={"title": "Talk", "list_id": shared["id"]}
    )
    said = await api.post(
        f"/api/me/tasks/{task.json()['id']}/comments", headers=owner, json={"body": "Hello"}
    )
    assert said.status_code == 201, said.text
    await pump(jobs, lambda: len(receiver.arrived) >= 2)
    types = sorted(json.loads(a.body)["type"] for a in receiver.arrived)
    assert types == ["comment.created", "member.added"]
    comment = next(
        json.loads(a.body)["data"]
        for a in receiver.arrived
        if json.loads(a.body)["type"] == "comment.created"
    )
    assert comment["id"] == said.json()["id"]
