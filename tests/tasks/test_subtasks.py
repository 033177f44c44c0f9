"""Subtasks: parent_id in create, update and move (same list, at most four levels, no
cycles), child counts in every answer, the parent filter, completing a parent with open
subtasks, the trash and recurrence taking the subtree along; on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import Account


async def _create(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/me/tasks", headers=who.headers, json={"title": "t", **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _get(client: httpx.AsyncClient, who: Account, task_id: int) -> httpx.Response:
    return await client.get(f"/api/me/tasks/{task_id}", headers=who.headers)


async def _list(client: httpx.AsyncClient, who: Account, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/me/tasks?limit=500&{query}", headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def _chain(client: httpx.AsyncClient, who: Account, levels: int, **fields: Any) -> list[int]:
    ids: list[int] = []
    for level in range(levels):
        extra = {"parent_id": ids[-1]} if ids else {}
        ids.append(
            (await _create(client, who, title=f"level {level + 1}", **fields, **extra))["id"]
        )
    return ids


async def _list_id(client: httpx.AsyncClient, who: Account, name: str) -> int:
    response = await client.post("/api/me/lists", headers=who.headers, json={"name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _reason(response: httpx.Response) -> str:
    body = response.json()
    (error,) = body["errors"]
    assert error["field"] == "parent_id", body
    return str(error["reason"])


async def test_a_subtask_and_its_counts(client: httpx.AsyncClient, alice: Account) -> None:
    parent = await _create(client, alice, title="Trip")
    assert (parent["parent_id"], parent["children_open"], parent["children_total"]) == (None, 0, 0)
    kids = [
        await _create(client, alice, title=f"pack {i}", parent_id=parent["id"]) for i in range(3)
    ]
    assert all(kid["parent_id"] == parent["id"] for kid in kids)
    done = await client.patch(
        f"/api/me/tasks/{kids[0]['id']}/complete", headers=alice.headers, json={"completed": True}
    )
    assert done.status_code == 200, done.text
    got = (await _get(client, alice, parent["id"])).json()
    assert (got["children_open"], got["children_total"]) == (2, 3)
    listed = {task["id"]: task for task in await _list(client, alice)}
    assert (listed[parent["id"]]["children_open"], listed[parent["id"]]["children_total"]) == (2, 3)
    assert listed[kids[1]["id"]]["parent_id"] == parent["id"]
    # A trashed child is not counted.
    assert (
        await client.delete(f"/api/me/tasks/{kids[1]['id']}", headers=alice.headers)
    ).status_code == 204
    got = (await _get(client, alice, parent["id"])).json()
    assert (got["children_open"], got["children_total"]) == (1, 2)


async def test_the_parent_filter(client: httpx.AsyncClient, alice: Account) -> None:
    top = await _create(client, alice)
    kid = await _create(client, alice, parent_id=top["id"])
    other = await _create(client, alice)
    assert [t["id"] for t in await _list(client, alice, f"parent={top['id']}")] == [kid["id"]]
    tops = {t["id"] for t in await _list(client, alice, "parent=none")}
    assert {top["id"], other["id"]} <= tops
    assert kid["id"] not in tops
    for bad in ("x", "-1", "0", "1.5", "99999999999999999999", "²"):
        response = await client.get(f"/api/me/tasks?parent={bad}", headers=alice.headers)
        assert response.status_code == 422, (bad, response.text)


async def test_bad_parents_are_422_with_a_reason(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    missing = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "t", "parent_id": 2**53 - 1}
    )
    assert missing.status_code == 422
    assert _reason(missing) == "not found"
    strangers = await _create(client, bob)
    stranger = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "t", "parent_id": strangers["id"]}
    )
    assert stranger.status_code == 422
    assert _reason(stranger) == "not found"
    elsewhere = await _create(client, alice, list_id=await _list_id(client, alice, "Work"))
    different = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "t", "parent_id": elsewhere["id"]}
    )
    assert different.status_code == 422
    assert _reason(different) == "different list"
    chain = await _chain(client, alice, 4)
    deep = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "t", "parent_id": chain[-1]}
    )
    assert deep.status_code == 422
    assert _reason(deep).startswith("too deep")
    for value in (0, -1, "abc", True, 2**63, 1.5):
        response = await client.post(
            "/api/me/tasks", headers=alice.headers, json={"title": "t", "parent_id": value}
        )
        assert response.status_code == 422, (value, response.text)
        assert response.json()["errors"][0]["field"].endswith("parent_id")


async def test_reparenting_refuses_cycles_and_depth(
    client: httpx.AsyncClient, alice: Account
) -> None:
    a, b, c = await _chain(client, alice, 3)
    for task_id, parent_id in ((a, c), (a, a), (b, c)):
        response = await client.put(
            f"/api/me/tasks/{task_id}", headers=alice.headers, json={"parent_id": parent_id}
        )
        assert response.status_code == 422, response.text
        assert _reason(response) == "would make a cycle"
    # A two-level subtree under a two-level chain is four levels: allowed; under three, not.
    x, y = await _chain(client, alice, 2)
    ok = await client.put(f"/api/me/tasks/{x}", headers=alice.headers, json={"parent_id": b})
    assert ok.status_code == 200, ok.text
    assert ok.json()["parent_id"] == b
    too = await client.put(f"/api/me/tasks/{x}", headers=alice.headers, json={"parent_id": c})
    assert too.status_code == 422
    assert _reason(too).startswith("too deep")
    # null makes it a top-level task again.
    top = await client.put(f"/api/me/tasks/{x}", headers=alice.headers, json={"parent_id": None})
    assert top.status_code == 200
    assert top.json()["parent_id"] is None
    assert (await _get(client, alice, y)).json()["parent_id"] == x


async def test_a_parent_in_the_trash_is_refused(client: httpx.AsyncClient, alice: Account) -> None:
    gone = await _create(client, alice)
    assert (
        await client.delete(f"/api/me/tasks/{gone['id']}", headers=alice.headers)
    ).status_code == 204
    response = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "t", "parent_id": gone["id"]}
    )
    assert response.status_code == 422
    assert _reason(response) == "is in the trash"


async def test_moving_a_parent_takes_its_subtree(client: httpx.AsyncClient, alice: Account) -> None:
    work = await _list_id(client, alice, "Work")
    a, b, c = await _chain(client, alice, 3)
    moved = await client.post(
        f"/api/me/tasks/{a}/move", headers=alice.headers, json={"list_id": work}
    )
    assert moved.status_code == 200, moved.text
    for task_id in (a, b, c):
        assert (await _get(client, alice, task_id)).json()["list_id"] == work
    assert (await _get(client, alice, c)).json()["parent_id"] == b
    # A subtask moved alone is detached, and takes its own subtree along.
    home = await _list_id(client, alice, "Home")
    alone = await client.post(
        f"/api/me/tasks/{b}/move", headers=alice.headers, json={"list_id": home}
    )
    assert alone.status_code == 200
    assert alone.json()["parent_id"] is None
    assert (await _get(client, alice, c)).json()["list_id"] == home
    assert (await _get(client, alice, a)).json()["children_total"] == 0
    # The same through PUT.
    put = await client.put(f"/api/me/tasks/{c}", headers=alice.headers, json={"list_id": work})
    assert put.status_code == 200
    assert put.json()["parent_id"] is None
    # A new parent in the list it moves to, in one request.
    both = await client.put(
        f"/api/me/tasks/{b}", headers=alice.headers, json={"list_id": work, "parent_id": a}
    )
    assert both.status_code == 200, both.text
    assert (both.json()["list_id"], both.json()["parent_id"]) == (work, a)


async def test_completing_a_parent_with_open_children(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent, kid, grandkid = await _chain(client, alice, 3)
    url = f"/api/me/tasks/{parent}/complete"
    asked = await client.patch(url, headers=alice.headers, json={"completed": True})
    assert asked.status_code == 409
    body = asked.json()
    assert body["code"] == "open_children"
    assert body["errors"][0]["open_children"] == 1
    assert (await _get(client, alice, parent)).json()["completed"] is False
    put = await client.put(
        f"/api/me/tasks/{parent}", headers=alice.headers, json={"completed": True}
    )
    assert put.status_code == 409
    bad = await client.patch(f"{url}?children=all", headers=alice.headers, json={"completed": True})
    assert bad.status_code == 422
    kept = await client.patch(
        f"{url}?children=keep", headers=alice.headers, json={"completed": True}
    )
    assert kept.status_code == 200
    assert kept.json()["completed"] is True
    assert (await _get(client, alice, kid)).json()["completed"] is False
    reopened = await client.patch(url, headers=alice.headers, json={"completed": False})
    assert reopened.status_code == 200
    every = await client.patch(f"{url}?children=complete", headers=alice.headers)
    assert every.status_code == 200, every.text
    assert (every.json()["completed"], every.json()["children_open"]) == (True, 0)
    for task_id in (kid, grandkid):
        assert (await _get(client, alice, task_id)).json()["completed"] is True
    # Nothing open below: no question asked.
    leaf = await _create(client, alice)
    plain = await client.patch(f"/api/me/tasks/{leaf['id']}/complete", headers=alice.headers)
    assert plain.status_code == 200


async def test_the_trash_takes_the_subtree_and_gives_it_back(
    client: httpx.AsyncClient, alice: Account
) -> None:
    a, b, c = await _chain(client, alice, 3)
    alone = await _create(client, alice, parent_id=a)
    # Deleted before on its own: it stays in the trash when the parent comes back.
    assert (
        await client.delete(f"/api/me/tasks/{alone['id']}", headers=alice.headers)
    ).status_code == 204
    assert (await client.delete(f"/api/me/tasks/{a}", headers=alice.headers)).status_code == 204
    live = {t["id"] for t in await _list(client, alice)}
    assert not {a, b, c} & live
    trash = {t["id"] for t in (await client.get("/api/me/trash", headers=alice.headers)).json()}
    assert {a, b, c, alone["id"]} <= trash
    restored = await client.post(f"/api/me/tasks/{a}/restore", headers=alice.headers)
    assert restored.status_code == 200
    assert restored.json()["children_total"] == 1
    live = {t["id"] for t in await _list(client, alice)}
    assert {a, b, c} <= live
    assert alone["id"] not in live
    # A child restored while its parent is in the trash comes back on top.
    assert (await client.delete(f"/api/me/tasks/{a}", headers=alice.headers)).status_code == 204
    back = await client.post(f"/api/me/tasks/{b}/restore", headers=alice.headers)
    assert back.status_code == 200
    assert back.json()["parent_id"] is None
    assert (await _get(client, alice, c)).json()["parent_id"] == b
    # Deleting a parent for good takes what went to the trash with it.
    gone = await client.delete(f"/api/me/trash/{a}", headers=alice.headers)
    assert gone.status_code == 204


async def test_a_recurring_parent_brings_its_subtasks_back(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await _create(
        client, alice, title="Weekly review", due_date="2026-12-07", rrule="FREQ=WEEKLY"
    )
    kid = await _create(client, alice, title="Inbox zero", parent_id=parent["id"], tags=["focus"])
    await _create(client, alice, title="Plan", parent_id=kid["id"])
    done = await client.patch(
        f"/api/me/tasks/{parent['id']}/complete?children=complete", headers=alice.headers
    )
    assert done.status_code == 200, done.text
    series = [t for t in await _list(client, alice) if t["series_id"] == parent["series_id"]]
    nxt = next(t for t in series if t["id"] != parent["id"])
    assert (nxt["completed"], nxt["children_open"], nxt["children_total"]) == (False, 1, 1)
    (copy,) = await _list(client, alice, f"parent={nxt['id']}")
    assert (copy["title"], copy["completed"], copy["tags"]) == ("Inbox zero", False, ["focus"])
    (grand,) = await _list(client, alice, f"parent={copy['id']}")
    assert grand["title"] == "Plan"


async def test_parallel_reparentings_never_make_a_cycle(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Each of the pairs alone is fine; together they would close loops."""
    ids = [(await _create(client, alice, title=f"n{i}"))["id"] for i in range(6)]
    pairs = [(ids[i], ids[(i + 1) % len(ids)]) for i in range(len(ids))]
    pairs += [(b, a) for a, b in pairs]
    pairs = (pairs * 2)[:20]

    async def reparent(task_id: int, parent_id: int) -> int:
        response = await client.put(
            f"/api/me/tasks/{task_id}", headers=alice.headers, json={"parent_id": parent_id}
        )
        assert response.status_code < 500, response.text
        return response.status_code

    await asyncio.gather(*(reparent(a, b) for a, b in pairs))
    parents = {t["id"]: t["parent_id"] for t in await _list(client, alice)}
    for start in ids:
        seen = set()
        at: int | None = start
        while at is not None:
            assert at not in seen, f"cycle through {at}"
            seen.add(at)
            at = parents.get(at)
        assert len(seen) <= 4
