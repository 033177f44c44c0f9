"""Writes racing each other still record exactly one event per write that took: the event
is part of the write's transaction, so a write that loses (409, 404) leaves none, and the
ids of one owner's events follow the order their writes committed in."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlmodel import col, select

from tests.conftest import Account
from todo.core.events import Event

PARALLEL = 20


async def _task_events(app: FastAPI, task_id: int) -> list[Event]:
    async with app.state.db.session(write=False) as session:
        found = await session.exec(
            select(Event)
            .where(col(Event.resource) == "task", col(Event.resource_id) == task_id)
            .order_by(col(Event.id))
        )
        return list(found.all())


async def test_parallel_updates_record_one_event_each_in_version_order(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    task = (await client.post("/api/me/tasks", headers=h, json={"title": "t"})).json()
    url = f"/api/me/tasks/{task['id']}"
    answers = await asyncio.gather(
        *(client.put(url, headers=h, json={"title": f"t{i}"}) for i in range(PARALLEL))
    )
    took = [a for a in answers if a.status_code == 200]
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    updates = [e for e in await _task_events(app, task["id"]) if e.action == "updated"]
    assert len(updates) == len(took)
    # In id order, each event's version is the next: ids follow the commits.
    assert [e.version for e in updates] == list(range(2, 2 + len(took)))
    assert sorted(e.changes["title"][1] for e in updates if e.changes) == sorted(
        a.json()["title"] for a in took
    )


async def test_parallel_completes_and_deletes_record_one_event(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    task = (await client.post("/api/me/tasks", headers=h, json={"title": "t"})).json()
    url = f"/api/me/tasks/{task['id']}"
    done = await asyncio.gather(
        *(
            client.patch(f"{url}/complete", headers=h, json={"completed": True})
            for _ in range(PARALLEL)
        )
    )
    assert {a.status_code for a in done} == {200}
    gone = await asyncio.gather(*(client.delete(url, headers=h) for _ in range(PARALLEL)))
    assert sum(a.status_code == 204 for a in gone) == 1, [a.status_code for a in gone]
    assert {a.status_code for a in gone} <= {204, 404, 409}
    actions = [e.action for e in await _task_events(app, task["id"])]
    assert actions == ["created", "completed", "deleted"]


async def test_parallel_creates_record_one_event_each(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    answers = await asyncio.gather(
        *(client.post("/api/me/tasks", headers=h, json={"title": f"c{i}"}) for i in range(PARALLEL))
    )
    assert {a.status_code for a in answers} == {201}
    for answer in answers:
        assert [e.action for e in await _task_events(app, answer.json()["id"])] == ["created"]
