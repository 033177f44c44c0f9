"""Concurrent clients against a live server (two worker processes on one database): no
update is silently lost, no write fails, no write goes missing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import NewDatabase, make_settings
from tests.reliability.live import LiveServer, server_env, serving
from todo import migrations

WRITERS = 10
WRITES_EACH = 10


@pytest.fixture(scope="module")
def server(
    new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("concurrency")
    url = new_database.url()
    migrations.upgrade(make_settings(url, Path(data)))
    with serving(server_env(url, data), data, workers=2) as live:
        yield live


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as client:
        signup = await client.post(
            "/api/auth/signup",
            json={"email": f"c-{uuid.uuid4().hex}@example.com", "password": "long enough"},
        )
        assert signup.status_code == 201
        client.headers["Authorization"] = f"Bearer {signup.json()['access_token']}"
        yield client


async def test_two_editors_with_if_match_never_both_win(http: httpx.AsyncClient) -> None:
    task = (await http.post("/api/me/tasks", json={"title": "original"})).json()
    url = f"/api/me/tasks/{task['id']}"
    for round_ in range(15):
        seen = await http.get(url)
        etag = seen.headers["etag"]
        titles = [f"round {round_} by A", f"round {round_} by B"]
        answers = await asyncio.gather(
            *(http.put(url, json={"title": t}, headers={"If-Match": etag}) for t in titles)
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses in ([200, 409], [200, 412]), [a.text for a in answers]
        for answer in answers:
            if answer.status_code != 200:
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.json()["code"] in ("edit_conflict", "version_mismatch")
        winner = next(t for t, a in zip(titles, answers, strict=True) if a.status_code == 200)
        now = await http.get(url)
        assert now.json()["title"] == winner
        assert int(now.headers["etag"].strip('"')) == int(etag.strip('"')) + 1


async def test_concurrent_toggles_lose_no_update(http: httpx.AsyncClient) -> None:
    """A toggle reads and writes: if two read the same state and both wrote, one toggle
    would vanish. Every toggle that was answered 200 must show in the final state."""
    task = (await http.post("/api/me/tasks", json={"title": "flip"})).json()
    url = f"/api/me/tasks/{task['id']}/complete"
    answers = await asyncio.gather(*(http.patch(url) for _ in range(24)))
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 409}, [a.text for a in answers if a.status_code not in (200, 409)]
    applied = statuses.count(200)
    final = await http.get(f"/api/me/tasks/{task['id']}")
    assert final.json()["completed"] is (applied % 2 == 1)
    assert final.headers["etag"] == f'"{1 + applied}"'


async def test_many_writers_lose_nothing(http: httpx.AsyncClient) -> None:
    async def writer(n: int) -> list[int]:
        statuses = []
        for i in range(WRITES_EACH):
            created = await http.post(
                "/api/me/tasks", json={"title": f"w{n}-{i}", "tags": [f"writer{n}"]}
            )
            statuses.append(created.status_code)
            renamed = await http.put(
                f"/api/me/tasks/{created.json()['id']}", json={"title": f"w{n}-{i} done"}
            )
            statuses.append(renamed.status_code)
        return statuses

    results = await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    assert {status for statuses in results for status in statuses} == {200, 201}
    listed = await http.get("/api/me/tasks", params={"limit": 500})
    titles = sorted(task["title"] for task in listed.json())
    assert titles == sorted(f"w{n}-{i} done" for n in range(WRITERS) for i in range(WRITES_EACH))
    tags = await http.get("/api/me/tags")
    assert sorted((tag["name"], tag["tasks"]) for tag in tags.json()) == sorted(
        (f"writer{n}", WRITES_EACH) for n in range(WRITERS)
    )
