"""GET /api/{user_id}/events over a real HTTP server: delivery within a second, resume
without loss, nothing of anyone else's, and no database connection held while idle."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from tests.activity.conftest import DELIVERY_SECONDS, stream
from tests.conftest import Account
from tests.security.test_hostile_input import LONG, LONG_LINE, TEXT_VALUES
from tests.web.test_pages import page_token
from todo.core import live
from todo.core.db import utcnow
from todo.core.events import prune_events


async def test_a_change_arrives_within_a_second(
    live_url: str, client: httpx.AsyncClient, alice: Account
) -> None:
    async with stream(live_url, alice.token) as events:
        sent = time.monotonic()
        task = (
            await client.post("/api/me/tasks", headers=alice.headers, json={"title": "now"})
        ).json()
        [created] = await events.until(1)
        assert created.at - sent < DELIVERY_SECONDS
        assert created.event == "task.created"
        assert created.data == {
            "resource": "task",
            "resource_id": task["id"],
            "list_id": task["list_id"],
            "version": 1,
            "action": "created",
            "actor_id": alice.id,
        }
        sent = time.monotonic()
        await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=alice.headers)
        completed = (await events.until(2))[1]
        assert completed.at - sent < DELIVERY_SECONDS
        assert (completed.event, completed.data["version"]) == ("task.completed", 2)
        assert completed.id > created.id


async def test_a_resumed_stream_loses_nothing(
    live_url: str, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    async with stream(live_url, alice.token) as events:
        await client.post("/api/me/tasks", headers=h, json={"title": "seen"})
        [seen] = await events.until(1)
    # Written while nobody listened.
    missed = [
        (await client.post("/api/me/tasks", headers=h, json={"title": f"missed {i}"})).json()["id"]
        for i in range(3)
    ]
    async with stream(live_url, alice.token, **{"Last-Event-ID": str(seen.id)}) as resumed:
        again = await resumed.until(3)
        assert [e.data["resource_id"] for e in again] == missed
        await client.post("/api/me/tasks", headers=h, json={"title": "after"})
        assert (await resumed.until(4))[3].data["action"] == "created"
    # EventSource cannot set headers on its first connection: the query parameter does.
    query = f"?last_event_id={seen.id}"
    async with httpx.AsyncClient() as http:
        first = await _first_event(http, f"{live_url}/api/me/events{query}", alice.token)
        assert first == str(again[0].id)


async def _first_event(http: httpx.AsyncClient, url: str, token: str) -> str:
    async with http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as answer:
        assert answer.status_code == 200
        async for line in answer.aiter_lines():
            if line.startswith("id: "):
                return line.removeprefix("id: ")
    raise AssertionError("the stream ended without an event")


async def test_a_stream_sees_nothing_of_another_user(
    live_url: str, client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    async with stream(live_url, bob.token) as bobs:
        for i in range(3):
            await client.post("/api/me/tasks", headers=alice.headers, json={"title": f"a{i}"})
        await client.post("/api/me/lists", headers=alice.headers, json={"name": "Alice's"})
        mine = (
            await client.post("/api/me/tasks", headers=bob.headers, json={"title": "bob's"})
        ).json()
        [only] = await bobs.until(1)
        assert only.data["resource_id"] == mine["id"]
        assert only.data["actor_id"] == bob.id
        await asyncio.sleep(0)  # anything still on its way would arrive before the next
        await client.post("/api/me/tasks", headers=bob.headers, json={"title": "bob's 2"})
        assert [e.data["actor_id"] for e in await bobs.until(2)] == [bob.id, bob.id]


async def test_resume_points_that_cannot_be_honoured_ask_for_a_reload(
    app: FastAPI, live_url: str, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    old = (await client.post("/api/me/tasks", headers=h, json={"title": "old"})).json()
    async with stream(live_url, alice.token, **{"Last-Event-ID": str(10**15)}) as future:
        [reload] = await future.until(1)
        assert reload.event == "reload"
        assert reload.data == {"reason": "unknown_resume_point"}
    async with stream(live_url, alice.token) as events:
        await client.delete(f"/api/me/tasks/{old['id']}", headers=h)
        [deleted] = await events.until(1)
    await client.post("/api/me/tasks", headers=h, json={"title": "kept"})
    async with app.state.db.session(write=True) as session:
        pruned = await prune_events(session, utcnow() + timedelta(seconds=1))
    assert pruned >= 3
    await client.post("/api/me/tasks", headers=h, json={"title": "after the prune"})
    async with stream(live_url, alice.token, **{"Last-Event-ID": str(deleted.id - 1)}) as late:
        [reload] = await late.until(1)
        assert reload.event == "reload"
        assert reload.data == {"reason": "resume_point_expired"}


async def test_an_idle_stream_holds_no_connection_and_a_closed_one_lets_go(
    app: FastAPI, live_url: str, alice: Account, backend: str
) -> None:
    hub = app.state.hub
    before = hub.streams
    listeners = [stream(live_url, alice.token) for _ in range(3)]
    for each in listeners:
        await each.__aenter__()
    assert hub.streams == before + 3
    if backend == "postgres":
        # Each stream reads once more right after it says "live"; then it waits, idle.
        deadline = time.monotonic() + 5
        while app.state.db.engine.pool.checkedout() != 0:
            assert time.monotonic() < deadline, "idle streams hold pooled connections"
            await asyncio.sleep(0.02)
    for each in listeners:
        await each.close()
    deadline = time.monotonic() + 5
    while hub.streams != before:
        assert time.monotonic() < deadline, "closed streams are still subscribed"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nonsense"}])
async def test_a_stream_needs_a_valid_token(live_url: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{live_url}/api/me/events", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


async def test_another_users_path_and_a_bad_resume_point_are_refused(
    live_url: str, alice: Account, bob: Account
) -> None:
    h = {"Authorization": f"Bearer {alice.token}"}
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{live_url}/api/{bob.id}/events", headers=h)).status_code == 403
        for bad in ("abc", "-1", "0", "1e3"):
            answer = await http.get(
                f"{live_url}/api/me/events", headers={**h, "Last-Event-ID": bad}
            )
            assert answer.status_code == 422, bad


async def test_no_hostile_value_gets_a_5xx_from_a_stream(
    live_url: str, client: httpx.AsyncClient, alice: Account
) -> None:
    """The hostile-input sweep's values (tests/security/test_hostile_input.py), for the
    stream's parameters: answered at once, never with a 5xx; a value that passes opens a
    stream, which is closed again."""
    values = [LONG_LINE if v == LONG else v for v in TEXT_VALUES]
    auth = {"Authorization": f"Bearer {alice.token}"}
    cookies = await _web_session(client, alice)
    failures = []
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        for value in values:
            calls = [
                ("/api/me/events", {"last_event_id": value}, auth),
                ("/api/me/events", {}, {**auth, "Last-Event-ID": value.replace("\x00", "")}),
                (f"/api/{quote(value, safe='')}/events", {}, auth),
                ("/events", {"last_event_id": value}, {}),
            ]
            for path, params, headers in calls:
                try:
                    sent = {k: v.encode("utf-8") for k, v in headers.items()}
                    async with http.stream(
                        "GET", path, params=params, headers=sent, cookies=cookies
                    ) as answer:
                        if answer.status_code >= 500:
                            failures.append(f"{path} {params} {value[:20]!r}: {answer.status_code}")
                except httpx.LocalProtocolError:
                    continue  # a header line httpx itself will not send
    assert failures == []


async def _web_session(client: httpx.AsyncClient, who: Account) -> dict[str, str]:
    token = await page_token(client, "/login")
    login_page = await client.post(
        "/login", data={"email": who.email, "password": who.password, "csrf_token": token}
    )
    assert login_page.status_code == 303, login_page.text
    return dict(client.cookies)


async def test_a_stream_misses_no_event_of_writes_racing_each_other(
    live_url: str, client: httpx.AsyncClient, alice: Account
) -> None:
    """Writes to different tasks of one owner commit in any order; a stream that reads
    `id > last` after each wake-up must still see every one (ids follow the commits)."""
    h = alice.headers
    tasks = [
        (await client.post("/api/me/tasks", headers=h, json={"title": f"r{i}"})).json()["id"]
        for i in range(20)
    ]
    async with stream(live_url, alice.token) as events:
        for round_ in range(3):
            answers = await asyncio.gather(
                *(
                    client.put(f"/api/me/tasks/{t}", headers=h, json={"title": f"{round_}-{t}"})
                    for t in tasks
                )
            )
            assert {a.status_code for a in answers} == {200}
        got = await events.until(60, within=10)
        assert sorted(e.data["resource_id"] for e in got) == sorted(tasks * 3)
        assert [e.id for e in got] == sorted({e.id for e in got})


async def test_logging_out_everywhere_ends_open_streams(
    live_url: str, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "RECHECK_SECONDS", 0.2)
    async with stream(live_url, alice.token) as events:
        await client.post("/api/me/tasks", headers=alice.headers, json={"title": "before"})
        await events.until(1)
        ended = await client.post("/api/auth/logout-all", headers=alice.headers)
        assert ended.status_code in (200, 204), ended.text
        await events.ended()
    again = stream(live_url, alice.token)
    await again.__aenter__()
    assert again.status == 401
    await again.close()


async def test_a_stream_on_a_personal_access_token_lives_past_its_recheck_until_revoked(
    live_url: str, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recheck asks again what the request passed: a token script's stream must not end
    at the first recheck because a personal access token is no JWT."""
    monkeypatch.setattr(live, "RECHECK_SECONDS", 0.2)
    made = await client.post(
        "/api/auth/tokens",
        headers=alice.headers,
        json={"name": "listener", "scopes": ["tasks:read", "lists:read", "tags:read"]},
    )
    assert made.status_code == 201, made.text
    async with stream(live_url, made.json()["token"]) as events:
        await client.post("/api/me/tasks", headers=alice.headers, json={"title": "one"})
        await events.until(1)
        await asyncio.sleep(0.6)  # past several rechecks: the stream must still deliver
        await client.post("/api/me/tasks", headers=alice.headers, json={"title": "two"})
        await events.until(2)
        gone = await client.delete(f"/api/auth/tokens/{made.json()['id']}", headers=alice.headers)
        assert gone.status_code == 204
        await events.ended()
