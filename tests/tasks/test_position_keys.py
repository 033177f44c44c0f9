"""Manual order survives any run of ordinary moves: moving to the end or to the top again
and again keeps keys short, and moving between the same two neighbours until no key fits
respaces the list in the same request instead of failing with a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DBAPIError

from tests.conftest import Account
from tests.test_migrations import _sql
from todo.core.config import Settings
from todo.core.ordering import MAX_KEY_LENGTH


async def _create(client: httpx.AsyncClient, who: Account, title: str) -> dict[str, Any]:
    response = await client.post("/api/me/tasks", headers=who.headers, json={"title": title})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _manual(client: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    response = await client.get("/api/me/tasks?sort=manual", headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def _move(
    client: httpx.AsyncClient, who: Account, task_id: int, after_id: int | None
) -> dict[str, Any]:
    response = await client.post(
        f"/api/me/tasks/{task_id}/move", headers=who.headers, json={"after_id": after_id}
    )
    assert response.status_code == 200, response.text
    moved = dict(response.json())
    assert len(moved["position"]) <= MAX_KEY_LENGTH
    return moved


async def test_a_thousand_moves_to_the_end(client: httpx.AsyncClient, alice: Account) -> None:
    order = [(await _create(client, alice, t))["id"] for t in "abc"]
    for _ in range(1000):
        await _move(client, alice, order[0], order[-1])
        order = order[1:] + order[:1]
    tasks = await _manual(client, alice)
    assert [t["id"] for t in tasks] == order
    assert max(len(t["position"]) for t in tasks) <= 8


async def test_a_thousand_moves_to_the_top(client: httpx.AsyncClient, alice: Account) -> None:
    order = [(await _create(client, alice, t))["id"] for t in "abc"]
    for _ in range(1000):
        await _move(client, alice, order[-1], None)
        order = order[-1:] + order[:-1]
    tasks = await _manual(client, alice)
    assert [t["id"] for t in tasks] == order
    assert max(len(t["position"]) for t in tasks) <= 16


async def test_moves_between_the_same_two_neighbours_respace_the_list(
    client: httpx.AsyncClient, alice: Account
) -> None:
    a, x, y, b = [(await _create(client, alice, t))["id"] for t in "axyb"]
    longest = 0
    # Enough moves that a key between the two would pass MAX_KEY_LENGTH: the list is
    # respaced once on the way, in the request that found no room.
    for turn in range(400):
        moving, other = (x, y) if turn % 2 == 0 else (y, x)
        longest = max(longest, len((await _move(client, alice, moving, a))["position"]))
        assert [t["id"] for t in await _manual(client, alice)] == [a, moving, other, b]
    assert longest > MAX_KEY_LENGTH - 6  # the room did run out at least once


async def test_a_key_stored_too_long_by_the_old_scheme_is_respaced(
    client: httpx.AsyncClient, alice: Account, settings: Settings, backend: str
) -> None:
    """The midpoint scheme wrote 65-character keys where nothing checks the length
    (SQLite); the next move or list after such a key respaces instead of a 500."""
    too_long = "z" * MAX_KEY_LENGTH + "i"
    if backend == "postgres":
        # varchar(64): such a key could never be stored here.
        with pytest.raises(DBAPIError):
            await _sql(settings, f"UPDATE lists SET position = '{too_long}'")
        return
    a, b = [(await _create(client, alice, t))["id"] for t in "ab"]
    await _sql(
        settings,
        f"UPDATE tasks SET position = '{too_long}' WHERE id = {b}",
        f"UPDATE lists SET position = '{too_long}' WHERE user_id = '{alice.id}'",
    )
    await _move(client, alice, a, b)
    assert [t["id"] for t in await _manual(client, alice)] == [b, a]
    made = await client.post("/api/me/lists", headers=alice.headers, json={"name": "Next"})
    assert made.status_code == 201, made.text
    lists = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert [x["name"] for x in lists] == ["Inbox", "Next"]
    assert all(len(x["position"]) <= MAX_KEY_LENGTH for x in lists)
