"""Every write of tasks, lists and tags records one event, with what changed, in the same
transaction: read back through the activity pages and straight from the table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from tests.conftest import Account
from todo.core.events import Event
from todo.lists import access
from todo.tasks import service as tasks
from todo.tasks.schemas import TaskCreate


async def _events(app: FastAPI, user_id: str) -> list[Event]:
    async with app.state.db.session(write=False) as session:
        found = await session.exec(
            select(Event).where(col(Event.user_id) == user_id).order_by(col(Event.id))
        )
        return list(found.all())


def _summary(rows: list[Event]) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [(row.resource, row.action, row.changes) for row in rows]


async def test_task_writes_record_what_changed(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    start = len(await _events(app, alice.id))  # the Inbox of the new account
    task = (await client.post("/api/me/tasks", headers=h, json={"title": "Buy milk"})).json()
    url = f"/api/me/tasks/{task['id']}"
    body = {"title": "Buy oat milk", "priority": "high", "tags": ["shop"], "due_date": "2030-05-01"}
    assert (await client.put(url, headers=h, json=body)).status_code == 200
    # Unchanged values are no change: nothing is recorded for them.
    assert (await client.put(url, headers=h, json={"title": "Buy oat milk"})).status_code == 200
    assert (await client.patch(f"{url}/complete", headers=h)).status_code == 200
    assert (await client.patch(f"{url}/complete", headers=h)).status_code == 200
    work = (await client.post("/api/me/lists", headers=h, json={"name": "Work"})).json()
    moved = await client.post(
        f"{url}/move", headers=h, json={"after_id": None, "list_id": work["id"]}
    )
    assert moved.status_code == 200
    assert (await client.delete(url, headers=h)).status_code == 204

    rows = (await _events(app, alice.id))[start:]
    summary = _summary(rows)
    assert summary[:5] == [
        ("task", "created", None),
        (
            "task",
            "updated",
            {
                "tags": [[], ["shop"]],
                "title": ["Buy milk", "Buy oat milk"],
                "priority": ["none", "high"],
                "due_date": [None, "2030-05-01"],
            },
        ),
        ("task", "completed", {"completed": [False, True]}),
        ("task", "uncompleted", {"completed": [True, False]}),
        ("list", "created", {"name": [None, "Work"]}),
    ]
    assert summary[5][:2] == ("task", "moved")
    assert summary[5][2] is not None
    assert summary[5][2]["list_id"] == [task["list_id"], work["id"]]
    assert summary[6] == ("task", "deleted", {"title": ["Buy oat milk", None]})
    assert len(rows) == 7
    # Each event names the version the write gave the task, the owner, the actor and the list.
    assert [row.version for row in rows if row.resource == "task"] == [1, 2, 3, 4, 5, None]
    assert {row.user_id for row in rows} == {alice.id}
    assert {row.actor_id for row in rows} == {alice.id}
    assert rows[5].list_id == work["id"]
    assert rows[0].list_id == task["list_id"]


async def test_list_and_tag_writes_record_their_events(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    start = len(await _events(app, alice.id))
    errands = (await client.post("/api/me/lists", headers=h, json={"name": "Errands"})).json()
    lurl = f"/api/me/lists/{errands['id']}"
    assert (await client.patch(lurl, headers=h, json={"name": "Chores"})).status_code == 200
    assert (await client.patch(lurl, headers=h, json={"first": True})).status_code == 200
    for title, tags in (("a", ["home"]), ("b", ["house"])):
        await client.post("/api/me/tasks", headers=h, json={"title": title, "tags": tags})
    found = {t["name"]: t["id"] for t in (await client.get("/api/me/tags", headers=h)).json()}
    home, house = found["home"], found["house"]
    assert (
        await client.patch(f"/api/me/tags/{home}", headers=h, json={"name": "Home"})
    ).status_code == 200
    merged = await client.patch(f"/api/me/tags/{house}", headers=h, json={"name": "home"})
    assert merged.json()["id"] == home
    assert (await client.delete(f"/api/me/tags/{home}", headers=h)).status_code == 204
    assert (await client.delete(f"{lurl}?tasks=move", headers=h)).status_code == 204

    rows = [r for r in (await _events(app, alice.id))[start:] if r.resource != "task"]
    assert [(r.resource, r.resource_id, r.action) for r in rows] == [
        ("list", errands["id"], "created"),
        ("list", errands["id"], "updated"),
        ("list", errands["id"], "moved"),
        ("tag", home, "updated"),
        ("tag", house, "merged"),
        ("tag", home, "deleted"),
        ("list", errands["id"], "deleted"),
    ]
    assert [r.changes for r in rows if r.action != "moved"] == [
        {"name": [None, "Errands"]},
        {"name": ["Errands", "Chores"]},
        {"name": ["home", "Home"]},
        {"name": ["house", "home"], "id": [house, home]},
        {"name": ["home", None]},
        {"name": ["Chores", None], "tasks": [None, "move"]},
    ]
    assert rows[2].changes is not None
    assert list(rows[2].changes) == ["position"]
    assert all(r.list_id == errands["id"] for r in rows if r.resource == "list")
    assert all(r.list_id is None for r in rows if r.resource == "tag")


async def test_quick_add_into_a_new_list_records_the_list_and_the_task(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    start = len(await _events(app, alice.id))
    made = await client.post(
        "/api/me/tasks/quick", headers=alice.headers, json={"text": "Call Sam +Calls"}
    )
    assert made.status_code == 201
    rows = (await _events(app, alice.id))[start:]
    assert [(r.resource, r.action) for r in rows] == [("list", "created"), ("task", "created")]
    assert rows[1].list_id == rows[0].resource_id == made.json()["list_id"]


async def test_completing_a_recurring_task_records_the_next_occurrence(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    body = {"title": "water", "due_date": "2030-01-01", "rrule": "FREQ=DAILY"}
    task = (await client.post("/api/me/tasks", headers=h, json=body)).json()
    start = len(await _events(app, alice.id))
    done = await client.patch(
        f"/api/me/tasks/{task['id']}/complete", headers=h, json={"completed": True}
    )
    assert done.status_code == 200
    rows = (await _events(app, alice.id))[start:]
    assert [(r.resource, r.action) for r in rows] == [("task", "created"), ("task", "completed")]
    assert rows[0].resource_id != task["id"]
    assert rows[1].resource_id == task["id"]


async def test_a_refused_write_records_nothing(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    task = (await client.post("/api/me/tasks", headers=h, json={"title": "x"})).json()
    await client.post("/api/me/lists", headers=h, json={"name": "Taken"})
    other = (await client.post("/api/me/lists", headers=h, json={"name": "Other"})).json()
    start = len(await _events(app, alice.id))
    stale = await client.put(
        f"/api/me/tasks/{task['id']}", headers={**h, "If-Match": '"7"'}, json={"title": "y"}
    )
    assert stale.status_code == 412
    taken = await client.patch(f"/api/me/lists/{other['id']}", headers=h, json={"name": "taken"})
    assert taken.status_code == 409
    assert len(await _events(app, alice.id)) == start


async def test_a_rollback_after_the_event_was_written_leaves_no_event(
    app: FastAPI, alice: Account
) -> None:
    """The event is in the writer's transaction: when the write fails after recording it
    (here in the hook an idempotency key runs just before the commit), both go."""
    start = len(await _events(app, alice.id))

    async def fail(_task: object) -> None:
        raise RuntimeError("the commit never happens")

    clock = tasks.Clock.of("UTC")
    async with app.state.db.session(write=True) as session:
        with pytest.raises(RuntimeError):
            await tasks.create_task(
                session,
                access.own(alice.id),
                TaskCreate(title="never"),
                clock_=clock,
                before_commit=fail,
            )
        await session.rollback()
    assert len(await _events(app, alice.id)) == start
