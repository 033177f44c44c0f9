"""List order survives any run of ordinary requests: creating lists up to LISTS_MAX, and
moving lists to the end, to the top or between the same two neighbours again and again,
are all 2xx with the order right (issue: the 300th list in a row was a 500)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account
from todo.core.ordering import MAX_KEY_LENGTH
from todo.lists.service import LISTS_MAX


async def _create(client: httpx.AsyncClient, who: Account, name: str) -> int:
    response = await client.post("/api/me/lists", headers=who.headers, json={"name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _lists(client: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    response = await client.get("/api/me/lists", headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def _move(client: httpx.AsyncClient, who: Account, list_id: int, **body: Any) -> str:
    response = await client.patch(f"/api/me/lists/{list_id}", headers=who.headers, json=body)
    assert response.status_code == 200, response.text
    position = str(response.json()["position"])
    assert len(position) <= MAX_KEY_LENGTH
    return position


async def test_creating_lists_up_to_the_limit(client: httpx.AsyncClient, alice: Account) -> None:
    created = [await _create(client, alice, f"List {n}") for n in range(LISTS_MAX - 1)]
    lists = await _lists(client, alice)
    assert [x["id"] for x in lists[1:]] == created
    assert max(len(x["position"]) for x in lists) <= 8
    over = await client.post("/api/me/lists", headers=alice.headers, json={"name": "One more"})
    assert over.status_code == 409
    assert over.json()["code"] == "too_many_lists"


async def _three(client: httpx.AsyncClient, who: Account) -> list[int]:
    return [await _create(client, who, name) for name in ("A", "B", "C")]


async def _order(client: httpx.AsyncClient, who: Account) -> list[int]:
    # The Inbox is listed first whatever its position.
    return [x["id"] for x in (await _lists(client, who))[1:]]


async def test_a_thousand_moves_to_the_end(client: httpx.AsyncClient, alice: Account) -> None:
    order = await _three(client, alice)
    for _ in range(1000):
        await _move(client, alice, order[0], after_id=order[-1])
        order = order[1:] + order[:1]
    assert await _order(client, alice) == order


async def test_a_thousand_moves_to_the_top(client: httpx.AsyncClient, alice: Account) -> None:
    order = await _three(client, alice)
    for _ in range(1000):
        await _move(client, alice, order[-1], first=True)
        order = order[-1:] + order[:-1]
    lists = await _lists(client, alice)
    assert [x["id"] for x in lists[1:]] == order
    assert max(len(x["position"]) for x in lists) <= 16


async def test_moves_between_the_same_two_neighbours_respace_the_lists(
    client: httpx.AsyncClient, alice: Account
) -> None:
    a, x, y = await _three(client, alice)
    b = await _create(client, alice, "D")
    longest = 0
    for turn in range(400):
        moving, other = (x, y) if turn % 2 == 0 else (y, x)
        longest = max(longest, len(await _move(client, alice, moving, after_id=a)))
        assert await _order(client, alice) == [a, moving, other, b]
    assert longest > MAX_KEY_LENGTH - 6  # the room did run out at least once
