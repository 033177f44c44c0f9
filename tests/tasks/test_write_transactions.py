"""A task write is one connection checkout and one transaction, its answer included.

Reloading the tags after the commit used to take a second checkout (with its pre-ping on
PostgreSQL) and a second transaction on every write; `make bench` counts round trips.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import Account


@contextmanager
def counting(app: FastAPI) -> Iterator[dict[str, int]]:
    engine = app.state.db.engine.sync_engine
    counts = {"checkouts": 0, "transactions": 0}

    def checkout(*_: Any) -> None:
        counts["checkouts"] += 1

    def begin(*_: Any) -> None:
        counts["transactions"] += 1

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine, "begin", begin)
    try:
        yield counts
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine, "begin", begin)


async def test_each_write_is_one_checkout_and_one_transaction(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    headers = alice.headers
    with counting(app) as created:
        response = await client.post(
            "/api/me/tasks", headers=headers, json={"title": "Pay rent", "tags": ["home"]}
        )
    assert response.status_code == 201
    assert response.json()["tags"] == ["home"]
    task = f"/api/me/tasks/{response.json()['id']}"
    with counting(app) as updated:
        response = await client.put(task, headers=headers, json={"tags": ["home", "bills"]})
    assert response.json()["tags"] == ["bills", "home"]
    with counting(app) as toggled:
        response = await client.patch(f"{task}/complete", headers=headers)
    assert response.json()["completed"] is True
    assert response.json()["tags"] == ["bills", "home"]
    with counting(app) as deleted:
        response = await client.delete(task, headers=headers)
    assert response.status_code == 204
    for counts in (created, updated, toggled, deleted):
        assert counts == {"checkouts": 1, "transactions": 1}


async def test_a_completed_recurring_task_with_tags_starts_its_next_occurrence(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post(
        "/api/me/tasks",
        headers=alice.headers,
        json={
            "title": "Water the plants",
            "completed": True,
            "due_date": "2026-12-01",
            "rrule": "FREQ=WEEKLY",
            "tags": ["home"],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["tags"] == ["home"]
    listed = await client.get("/api/me/tasks", headers=alice.headers)
    pending = [t for t in listed.json() if not t["completed"]]
    assert [(t["due_date"], t["tags"]) for t in pending] == [("2026-12-08", ["home"])]
