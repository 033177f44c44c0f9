"""Live streams of lists shared with their user, over a real HTTP server: a member hears the
owner's changes within a second, resumes without loss while two owners' writes race (ids
are in commit order per owner only), and hears nothing more once removed."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.activity.conftest import DELIVERY_SECONDS, Received, stream
from tests.conftest import Account, SignUp

PARALLEL = 20


async def _list(client: httpx.AsyncClient, owner: Account, name: str) -> int:
    created = await client.post("/api/me/lists", headers=owner.headers, json={"name": name})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def _share(
    client: httpx.AsyncClient, owner: Account, list_id: int, who: Account, role: str = "editor"
) -> None:
    shared = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=owner.headers,
        json={"email": who.email, "role": role},
    )
    assert shared.status_code == 201, shared.text


async def _task(client: httpx.AsyncClient, who: Account, title: str, **extra: object) -> int:
    made = await client.post("/api/me/tasks", headers=who.headers, json={"title": title, **extra})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def test_a_member_hears_the_owners_change_within_a_second(
    live_url: str, client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    groceries = await _list(client, alice, "Groceries")
    async with stream(live_url, bob.token) as bobs:
        await _share(client, alice, groceries, bob)
        [added] = await bobs.until(1)
        assert (added.event, added.data["resource_id"]) == ("member.added", groceries)
        await _task(client, alice, "Alice's own")  # her Inbox: not Bob's to see
        sent = time.monotonic()
        milk = await _task(client, alice, "Milk", list_id=groceries)
        [_, created] = await bobs.until(2)
        assert created.at - sent < DELIVERY_SECONDS
        assert created.event == "task.created"
        assert created.data["resource_id"] == milk
        assert created.data["actor_id"] == alice.id
        # Bob's own change is next: nothing of Alice's Inbox came in between.
        mine = await _task(client, bob, "Bob's own")
        third = (await bobs.until(3))[2]
        assert third.data["resource_id"] == mine
        assert third.position != third.id  # two owners: a position, not a bare id


async def test_the_owner_hears_the_members_change(
    live_url: str, client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    groceries = await _list(client, alice, "Groceries")
    await _share(client, alice, groceries, bob)
    async with stream(live_url, alice.token) as alices:
        eggs = await _task(client, bob, "Eggs", list_id=groceries)
        [created] = await alices.until(1)
        assert (created.data["resource_id"], created.data["actor_id"]) == (eggs, bob.id)
        assert created.position == str(created.id)  # only her own events: a plain id


async def test_a_removed_member_hears_the_removal_and_nothing_after(
    live_url: str, client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    groceries = await _list(client, alice, "Groceries")
    await _share(client, alice, groceries, bob)
    async with stream(live_url, bob.token) as bobs:
        await _task(client, alice, "Before", list_id=groceries)
        await bobs.until(1)
        removed = await client.delete(
            f"/api/me/lists/{groceries}/members/{bob.id}", headers=alice.headers
        )
        assert removed.status_code == 204, removed.text
        second = (await bobs.until(2))[1]
        assert (second.event, second.data["resource_id"]) == ("member.removed", groceries)
        await _task(client, alice, "After", list_id=groceries)
        mine = await _task(client, bob, "Bob's own")
        third = (await bobs.until(3))[2]
        assert third.data["resource_id"] == mine, bobs.received
    # Resuming from before the removal brings nothing of the list either.
    async with stream(live_url, bob.token, **{"Last-Event-ID": bobs.received[0].position}) as late:
        mine_again = await _task(client, bob, "Bob's second")
        got = await late.until(3)
        assert [e.event for e in got] == ["member.removed", "task.created", "task.created"]
        assert got[2].data["resource_id"] == mine_again


async def test_a_resumed_stream_of_two_owners_loses_nothing_while_their_writes_race(
    live_url: str, client: httpx.AsyncClient, alice: Account, bob: Account, sign_up: SignUp
) -> None:
    """Carol sees a list of Alice's and one of Bob's. Their writes race (20 in parallel, in
    rounds) while Carol's stream reads, drops in the middle and resumes from its last id:
    every update arrives exactly once."""
    carol = await sign_up("carol@example.com")
    owned: dict[str, list[int]] = {}
    for owner in (alice, bob):
        shared = await _list(client, owner, f"{owner.email}'s")
        await _share(client, owner, shared, carol)
        owned[owner.id] = [
            await _task(client, owner, f"t{i}", list_id=shared) for i in range(PARALLEL // 2)
        ]
    people = {alice.id: alice, bob.id: bob}
    rounds = 6
    expected = {
        (task, version)
        for tasks in owned.values()
        for task in tasks
        for version in range(2, rounds + 2)
    }

    async def race() -> None:
        for round_ in range(rounds):
            answers = await asyncio.gather(
                *(
                    client.put(
                        f"/api/me/tasks/{task}",
                        headers=people[owner].headers,
                        json={"title": f"{round_}-{task}"},
                    )
                    for owner, tasks in owned.items()
                    for task in tasks
                )
            )
            assert {a.status_code for a in answers} == {200}, [a.text for a in answers]

    got: list[Received] = []
    async with stream(live_url, carol.token) as first:
        racing = asyncio.create_task(race())
        await first.until(PARALLEL // 2, within=20)
    got += first.received
    # Written in part while nobody listened, in part while the stream resumes.
    async with stream(live_url, carol.token, **{"Last-Event-ID": got[-1].position}) as second:
        await racing
        await second.until(len(expected) - len(got), within=20)
        await asyncio.sleep(0.3)  # a duplicate would arrive by now
        got += second.received
    updates = [(e.data["resource_id"], e.data["version"]) for e in got]
    assert len(updates) == len(set(updates)), "an event came twice"
    assert set(updates) == expected
