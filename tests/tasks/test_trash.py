"""The trash: a deleted task keeps its id, list, place and tags for 30 days, restorable, and is
invisible everywhere a live task shows. One test per place that reads tasks, so a regression
names the place; on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select

from tests.conftest import Account
from todo.lists import access
from todo.tasks import service as tasks
from todo.tasks.models import Task
from todo.tasks.query import TaskQuery
from todo.tasks.schemas import TRASH_DAYS


async def _create(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/me/tasks", headers=who.headers, json={"title": "t", **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _trash(client: httpx.AsyncClient, who: Account, task_id: int) -> None:
    response = await client.delete(f"/api/me/tasks/{task_id}", headers=who.headers)
    assert response.status_code == 204, response.text


async def _restore(client: httpx.AsyncClient, who: Account, task_id: int) -> httpx.Response:
    return await client.post(f"/api/me/tasks/{task_id}/restore", headers=who.headers)


async def _ids(client: httpx.AsyncClient, who: Account, query: str = "") -> list[int]:
    response = await client.get(f"/api/me/tasks?limit=500&{query}", headers=who.headers)
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()]


async def _trash_ids(client: httpx.AsyncClient, who: Account) -> list[int]:
    response = await client.get("/api/me/trash", headers=who.headers)
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()]


async def _age(app: FastAPI, task_id: int, days: float) -> None:
    """Make a trashed task look deleted `days` ago."""
    async with app.state.db.session(write=True) as session:
        await session.exec(
            update(Task)
            .where(col(Task.id) == task_id)
            .values(deleted_at=datetime.now(UTC) - timedelta(days=days))
        )
        await session.commit()


# Deleting, restoring


async def test_delete_moves_the_task_to_the_trash_with_deleted_at_and_purge_at(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await _create(client, alice, title="Old")
    before = datetime.now(UTC)
    await _trash(client, alice, task["id"])
    (trashed,) = (await client.get("/api/me/trash", headers=alice.headers)).json()
    assert trashed["id"] == task["id"]
    assert trashed["title"] == "Old"
    deleted_at = datetime.fromisoformat(trashed["deleted_at"])
    assert before - timedelta(seconds=5) <= deleted_at <= datetime.now(UTC)
    assert datetime.fromisoformat(trashed["purge_at"]) == deleted_at + timedelta(days=TRASH_DAYS)


async def test_restore_keeps_the_id_list_tags_and_place(
    client: httpx.AsyncClient, alice: Account
) -> None:
    work = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "W"})).json()
    first, middle, last = [
        await _create(client, alice, title=name, list_id=work["id"], tags=["x", "Y"])
        for name in ("first", "middle", "last")
    ]
    # "My order": middle goes between the other two by a move, so its key is its own.
    moved = await client.post(
        f"/api/me/tasks/{middle['id']}/move", headers=alice.headers, json={"after_id": first["id"]}
    )
    assert moved.status_code == 200
    order = f"list_id={work['id']}&sort=manual"
    assert await _ids(client, alice, order) == [first["id"], middle["id"], last["id"]]
    await _trash(client, alice, middle["id"])
    assert await _ids(client, alice, order) == [first["id"], last["id"]]
    restored = await _restore(client, alice, middle["id"])
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert (body["id"], body["list_id"], body["tags"]) == (middle["id"], work["id"], ["x", "Y"])
    assert body["position"] == moved.json()["position"]
    assert restored.headers["etag"] == f'"{int(moved.headers["etag"].strip(chr(34))) + 2}"'
    assert await _ids(client, alice, order) == [first["id"], middle["id"], last["id"]]
    assert await _trash_ids(client, alice) == []


async def test_restoring_what_is_not_in_the_trash_is_404(
    client: httpx.AsyncClient, alice: Account
) -> None:
    live = await _create(client, alice)
    for task_id in (live["id"], 2**53 - 1):
        response = await _restore(client, alice, task_id)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "task_not_found"
    await _trash(client, alice, live["id"])
    assert (await _restore(client, alice, live["id"])).status_code == 200
    again = await _restore(client, alice, live["id"])
    assert again.status_code == 404


async def test_twenty_parallel_restores_bring_back_one_task(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await _create(client, alice, title="once", tags=["kept"])
    await _trash(client, alice, task["id"])
    answers = await asyncio.gather(*(_restore(client, alice, task["id"]) for _ in range(20)))
    assert sorted(a.status_code for a in answers) == [200] + [404] * 19
    assert [t for t in await _ids(client, alice) if t == task["id"]] == [task["id"]]
    listed = (await client.get("/api/me/tasks", headers=alice.headers)).json()
    assert [(t["title"], t["tags"]) for t in listed] == [("once", ["kept"])]


async def test_if_match_on_delete(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice)
    url = f"/api/me/tasks/{task['id']}"
    edited = await client.put(url, headers=alice.headers, json={"title": "edited"})
    stale = await client.delete(url, headers={**alice.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    assert await _trash_ids(client, alice) == []
    fresh = await client.delete(url, headers={**alice.headers, "If-Match": edited.headers["etag"]})
    assert fresh.status_code == 204
    assert await _trash_ids(client, alice) == [task["id"]]


async def test_a_trashed_task_can_be_deleted_only_once(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await _create(client, alice)
    await _trash(client, alice, task["id"])
    again = await client.delete(f"/api/me/tasks/{task['id']}", headers=alice.headers)
    assert again.status_code == 404
    assert again.json()["code"] == "task_not_found"


# Deleting for good


async def test_delete_forever_and_empty_the_trash(
    client: httpx.AsyncClient, alice: Account
) -> None:
    one, two, three, live = [await _create(client, alice, title=f"t{i}") for i in range(4)]
    for task in (one, two, three):
        await _trash(client, alice, task["id"])
    gone = await client.delete(f"/api/me/trash/{one['id']}", headers=alice.headers)
    assert gone.status_code == 204
    assert (await _restore(client, alice, one["id"])).status_code == 404
    for task_id in (one["id"], live["id"]):
        missing = await client.delete(f"/api/me/trash/{task_id}", headers=alice.headers)
        assert missing.status_code == 404
        assert missing.json()["code"] == "task_not_found"
    assert sorted(await _trash_ids(client, alice)) == [two["id"], three["id"]]
    emptied = await client.delete("/api/me/trash", headers=alice.headers)
    assert emptied.status_code == 204
    assert await _trash_ids(client, alice) == []
    assert await _ids(client, alice) == [live["id"]]


async def test_the_trash_pages_newest_deletion_first(
    client: httpx.AsyncClient, alice: Account
) -> None:
    made = [await _create(client, alice, title=f"t{i}") for i in range(5)]
    for task in made:
        await _trash(client, alice, task["id"])
    seen: list[int] = []
    url: str | None = "/api/me/trash?limit=2"
    while url is not None:
        page = await client.get(url, headers=alice.headers)
        assert page.status_code == 200, page.text
        assert len(page.json()) <= 2
        seen += [task["id"] for task in page.json()]
        link = page.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert seen == [task["id"] for task in reversed(made)]
    forged = await client.get("/api/me/trash?cursor=nonsense", headers=alice.headers)
    assert forged.status_code == 400
    assert forged.json()["code"] == "invalid_cursor"


async def test_the_trash_routes_refuse_strangers_and_bad_input(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    task = await _create(client, alice)
    await _trash(client, alice, task["id"])
    for method, url in (
        ("GET", "/api/me/trash"),
        ("DELETE", "/api/me/trash"),
        ("DELETE", f"/api/me/trash/{task['id']}"),
        ("POST", f"/api/me/tasks/{task['id']}/restore"),
    ):
        anonymous = await client.request(method, url)
        assert anonymous.status_code == 401, (method, url)
        if str(task["id"]) in url:
            other = await client.request(method, url, headers=bob.headers)
            assert other.status_code == 404, (method, url, other.text)
    for method, url in (
        ("GET", "/api/me/trash?limit=0"),
        ("GET", "/api/me/trash?limit=501"),
        ("DELETE", "/api/me/trash/0"),
        ("POST", "/api/me/tasks/0/restore"),
        ("POST", f"/api/me/tasks/{2**63}/restore"),
    ):
        invalid = await client.request(method, url, headers=alice.headers)
        assert invalid.status_code == 422, (method, url, invalid.text)
    # Bob emptying his trash leaves Alice's alone.
    assert (await client.delete("/api/me/trash", headers=bob.headers)).status_code == 204
    assert await _trash_ids(client, alice) == [task["id"]]


# 30 days, then the purge


async def test_after_thirty_days_a_task_is_gone_from_the_trash_and_purged(
    client: httpx.AsyncClient, alice: Account, app: FastAPI
) -> None:
    old, recent = await _create(client, alice, title="old"), await _create(client, alice)
    for task in (old, recent):
        await _trash(client, alice, task["id"])
    await _age(app, old["id"], TRASH_DAYS + 0.01)
    await _age(app, recent["id"], TRASH_DAYS - 1)
    # Out of sight at once, whenever the purge runs: the 30 days do not depend on it.
    assert await _trash_ids(client, alice) == [recent["id"]]
    assert (await _restore(client, alice, old["id"])).status_code == 404
    now = datetime.now(UTC)
    async with app.state.db.session(write=True) as session:
        assert await tasks.purge_trash(session, now) == 1
    async with app.state.db.session(write=True) as session:
        assert await tasks.purge_trash(session, now) == 0
        # Two days on, the recent one's 30 days are over too.
        assert await tasks.purge_trash(session, now + timedelta(days=2)) == 1
    async with app.state.db.session(write=False) as session:
        left = (await session.exec(select(Task.id).where(col(Task.user_id) == alice.id))).all()
    assert left == []


async def test_the_purge_deletes_in_batches(
    client: httpx.AsyncClient, alice: Account, app: FastAPI
) -> None:
    made = [await _create(client, alice, title=f"t{i}", tags=["x"]) for i in range(5)]
    for task in made:
        await _trash(client, alice, task["id"])
        await _age(app, task["id"], TRASH_DAYS + 1)
    now = datetime.now(UTC)
    counts = []
    for _ in range(4):
        async with app.state.db.session(write=True) as session:
            counts.append(await tasks.purge_trash(session, now, batch=2))
    assert counts == [2, 2, 1, 0]
    tags = (await client.get("/api/me/tags", headers=alice.headers)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("x", 0)]


# Invisible everywhere a live task shows: one test per place


async def test_get_one(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice)
    await _trash(client, alice, task["id"])
    response = await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "task_not_found"


async def test_writes_to_a_trashed_task_are_404(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice, remind_at="2020-01-01T00:00:00Z")
    await _trash(client, alice, task["id"])
    url = f"/api/me/tasks/{task['id']}"
    for method, path, body in (
        ("PUT", url, {"title": "x"}),
        ("PATCH", f"{url}/complete", {"completed": True}),
        ("POST", f"{url}/move", {"after_id": None}),
        ("POST", f"/api/me/reminders/{task['id']}/dismiss", None),
    ):
        response = await client.request(method, path, headers=alice.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "task_not_found"
    (trashed,) = (await client.get("/api/me/trash", headers=alice.headers)).json()
    assert (trashed["title"], trashed["completed"]) == ("t", False)


async def test_list_and_filters(client: httpx.AsyncClient, alice: Account) -> None:
    work = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "W"})).json()
    fields = {"list_id": work["id"], "tags": ["t"], "priority": "high", "due_date": "2030-01-01"}
    kept, gone = await _create(client, alice, **fields), await _create(client, alice, **fields)
    await _trash(client, alice, gone["id"])
    for query in (
        "",
        "status=pending",
        f"list_id={work['id']}",
        "tag=t",
        "priority=high",
        "due=any",
        "sort=due_date",
        "sort=manual",
        "sort=title&order=desc",
    ):
        assert await _ids(client, alice, query) == [kept["id"]], query


async def test_search(client: httpx.AsyncClient, alice: Account) -> None:
    kept = await _create(client, alice, title="walrus food")
    gone = await _create(client, alice, title="walrus toys")
    await _trash(client, alice, gone["id"])
    assert await _ids(client, alice, "q=walrus") == [kept["id"]]


async def test_today_and_upcoming(client: httpx.AsyncClient, alice: Account) -> None:
    today = datetime.now(UTC).date()
    for day in (today, today + timedelta(days=3)):
        kept = await _create(client, alice, due_date=day.isoformat())
        gone = await _create(client, alice, due_date=day.isoformat())
        await _trash(client, alice, gone["id"])
        query = f"due_from={day}&due_to={day}"
        assert await _ids(client, alice, query) == [kept["id"]]
    assert len(await _ids(client, alice, "due=week")) == 2
    assert len(await _ids(client, alice, f"due_to={today}")) == 1


async def test_counts_of_a_view(client: httpx.AsyncClient, alice: Account, app: FastAPI) -> None:
    await _create(client, alice, tags=["t"])
    gone = await _create(client, alice, tags=["t"], completed=True)
    await _trash(client, alice, gone["id"])
    async with app.state.db.session(write=False) as session:
        counted = await tasks.count_matching(session, access.own(alice.id), TaskQuery(tags=("t",)))
    assert (counted.open, counted.completed) == (1, 0)


async def test_counts_of_the_account(
    client: httpx.AsyncClient, alice: Account, app: FastAPI
) -> None:
    await _create(client, alice)
    for completed in (False, True):
        gone = await _create(client, alice, completed=completed)
        await _trash(client, alice, gone["id"])
    async with app.state.db.session(write=False) as session:
        counted = await tasks.count_tasks(session, access.own(alice.id))
    assert (counted.open, counted.completed) == (1, 0)


async def test_due_reminders(client: httpx.AsyncClient, alice: Account) -> None:
    kept = await _create(client, alice, remind_at="2020-01-01T09:00:00Z")
    gone = await _create(client, alice, remind_at="2020-01-01T09:00:00Z")
    await _trash(client, alice, gone["id"])
    due = (await client.get("/api/me/reminders/due", headers=alice.headers)).json()
    assert [t["id"] for t in due] == [kept["id"]]


async def test_list_counts(client: httpx.AsyncClient, alice: Account) -> None:
    work = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "W"})).json()
    await _create(client, alice, list_id=work["id"])
    gone = await _create(client, alice, list_id=work["id"])
    await _trash(client, alice, gone["id"])
    listed = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert [(x["name"], x["open_tasks"]) for x in listed] == [("Inbox", 0), ("W", 1)]


async def test_tag_counts(client: httpx.AsyncClient, alice: Account) -> None:
    await _create(client, alice, tags=["both"])
    gone = await _create(client, alice, tags=["both", "only-trashed"])
    await _trash(client, alice, gone["id"])
    tags = (await client.get("/api/me/tags", headers=alice.headers)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("both", 1), ("only-trashed", 0)]
    assert (await _restore(client, alice, gone["id"])).status_code == 200
    tags = (await client.get("/api/me/tags", headers=alice.headers)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("both", 2), ("only-trashed", 1)]


async def test_move_neighbours(client: httpx.AsyncClient, alice: Account) -> None:
    first, gone, mover = [await _create(client, alice, title=n) for n in ("a", "b", "c")]
    await _trash(client, alice, gone["id"])
    after_trashed = await client.post(
        f"/api/me/tasks/{mover['id']}/move", headers=alice.headers, json={"after_id": gone["id"]}
    )
    assert after_trashed.status_code == 404
    assert after_trashed.json()["code"] == "task_not_found"
    placed = await client.post(
        f"/api/me/tasks/{mover['id']}/move", headers=alice.headers, json={"after_id": first["id"]}
    )
    assert placed.status_code == 200
    assert await _ids(client, alice, "sort=manual") == [first["id"], mover["id"]]


async def test_respace_keeps_a_trashed_task_between_its_neighbours(
    client: httpx.AsyncClient, alice: Account, app: FastAPI
) -> None:
    made = [await _create(client, alice, title=f"t{i}") for i in range(4)]
    await _trash(client, alice, made[1]["id"])
    inbox = made[0]["list_id"]
    async with app.state.db.session(write=True) as session:
        # What a move does when two neighbours' keys leave no room between them.
        await tasks._respace(session, alice.id, inbox, moving=None)
        await session.commit()
    assert (await _restore(client, alice, made[1]["id"])).status_code == 200
    assert await _ids(client, alice, "sort=manual") == [t["id"] for t in made]


async def test_recurrence_makes_a_new_occurrence_when_the_next_is_in_the_trash(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first = await _create(client, alice, due_date="2030-01-01", rrule="FREQ=DAILY")
    url = f"/api/me/tasks/{first['id']}/complete"
    await client.patch(url, headers=alice.headers, json={"completed": True})
    (second,) = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    await _trash(client, alice, second["id"])
    await client.patch(url, headers=alice.headers, json={"completed": False})
    await client.patch(url, headers=alice.headers, json={"completed": True})
    pending = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    assert [(t["due_date"], t["id"] != second["id"]) for t in pending] == [("2030-01-02", True)]


async def test_recurrence_previous_due_skips_the_trash(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Through New York's spring gap a daily 02:30 is 03:30 once, then 02:30 again: the way
    back reads the previous occurrence's time, which must be a live one."""
    await client.patch("/api/auth/me", headers=alice.headers, json={"timezone": "America/New_York"})
    task = await _create(client, alice, due_at="2026-03-07T02:30:00-05:00", rrule="FREQ=DAILY")
    done = await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=alice.headers)
    assert done.status_code == 200
    (gap,) = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    assert gap["due_at"] == "2026-03-08T07:30:00Z"
    # The occurrence before the gap goes to the trash: the series is then read from the
    # gap's own time, and the next one stays in the same wall-clock hour (03:30 EDT).
    await _trash(client, alice, task["id"])
    await client.patch(f"/api/me/tasks/{gap['id']}/complete", headers=alice.headers)
    (after,) = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    assert after["due_at"] == "2026-03-09T07:30:00Z"


async def test_a_time_zone_change_retimes_trashed_tasks_too(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await _create(client, alice, due_at="2030-05-01T23:30:00Z")
    assert task["due_date"] == "2030-05-01"
    await _trash(client, alice, task["id"])
    await client.patch("/api/auth/me", headers=alice.headers, json={"timezone": "Asia/Tokyo"})
    restored = await _restore(client, alice, task["id"])
    assert restored.json()["due_date"] == "2030-05-02"


async def test_deleting_a_list_moves_its_trashed_tasks_to_the_inbox(
    client: httpx.AsyncClient, alice: Account
) -> None:
    work = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "W"})).json()
    task = await _create(client, alice, list_id=work["id"], tags=["t"])
    await _trash(client, alice, task["id"])
    deleted = await client.delete(f"/api/me/lists/{work['id']}?tasks=move", headers=alice.headers)
    assert deleted.status_code == 204
    restored = await _restore(client, alice, task["id"])
    assert restored.status_code == 200
    inbox = (await client.get("/api/me/lists", headers=alice.headers)).json()[0]
    assert (restored.json()["list_id"], restored.json()["tags"]) == (inbox["id"], ["t"])


async def test_deleting_a_list_with_its_tasks_deletes_its_trashed_ones_for_good(
    client: httpx.AsyncClient, alice: Account
) -> None:
    work = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "W"})).json()
    task = await _create(client, alice, list_id=work["id"])
    await _trash(client, alice, task["id"])
    deleted = await client.delete(f"/api/me/lists/{work['id']}?tasks=delete", headers=alice.headers)
    assert deleted.status_code == 204
    assert await _trash_ids(client, alice) == []
    assert (await _restore(client, alice, task["id"])).status_code == 404
