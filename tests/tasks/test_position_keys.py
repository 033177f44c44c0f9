"""Manual order survives any run of ordinary moves: moving to the end or to the top again
and again keeps keys short, and moving between the same two neighbours until no key fits
respaces the list in the same request instead of failing with a 500."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account
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
