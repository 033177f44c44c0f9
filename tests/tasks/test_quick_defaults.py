"""Quick add's defaults: what a task gets from where it was typed when the line is silent."""

from __future__ import annotations

import httpx

from tests.conftest import Account


async def _quick(client: httpx.AsyncClient, who: Account, **body: object) -> httpx.Response:
    return await client.post(f"/api/{who.id}/tasks/quick", json=body, headers=who.headers)


async def _new_list(client: httpx.AsyncClient, who: Account, name: str) -> int:
    made = await client.post(f"/api/{who.id}/lists", json={"name": name}, headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def test_the_defaults_fill_what_the_line_leaves_out(
    client: httpx.AsyncClient, alice: Account
) -> None:
    errands = await _new_list(client, alice, "Errands")
    made = await _quick(
        client, alice, text="Buy stamps", list_id=errands, tags=["post"], due_date="2031-05-06"
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert (task["list_id"], task["tags"], task["due_date"]) == (errands, ["post"], "2031-05-06")


async def test_what_the_line_says_wins_over_the_defaults(
    client: httpx.AsyncClient, alice: Account
) -> None:
    errands = await _new_list(client, alice, "Errands")
    made = await _quick(
        client,
        alice,
        text="Buy stamps on 2031-07-08 #office +Work",
        list_id=errands,
        tags=["post"],
        due_date="2031-05-06",
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert task["list_id"] != errands
    assert task["tags"] == ["office"]
    assert task["due_date"] == "2031-07-08"


async def test_the_defaults_are_checked_like_task_create(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    bobs = await _new_list(client, bob, "Private")
    assert (await _quick(client, alice, text="Peek", list_id=bobs)).status_code == 404
    for bad in ({"list_id": 0}, {"tags": ["x" * 51]}, {"due_date": "someday"}, {"colour": "red"}):
        refused = await _quick(client, alice, text="Bad", **bad)
        assert refused.status_code == 422, bad
        # A tag too long is named by its place in the list ("tags.0").
        assert refused.json()["errors"][0]["field"].split(".")[0] == next(iter(bad))
    listed = await client.get(f"/api/{alice.id}/tasks", headers=alice.headers)
    assert listed.json() == []
