"""Races: writes fired in parallel, each on its own database connection and transaction,
answer no 5xx and leave no lost or duplicated rows behind.

The requests run through the ASGI app concurrently (asyncio.gather), so every one holds a
transaction of its own while the others run: on PostgreSQL they really interleave; on
SQLite writers take turns (BEGIN IMMEDIATE), which the same assertions must survive.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.conftest import Account

PARALLEL = 20
NOT_FOUND_CODES = {"list_not_found"}


def _no_5xx(answers: list[httpx.Response]) -> None:
    failed = [f"{a.request.method} {a.request.url}: {a.status_code} {a.text}" for a in answers]
    assert not [f for a, f in zip(answers, failed, strict=True) if a.status_code >= 500], failed


def _clean_refusal(answer: httpx.Response, statuses: set[int], codes: set[str]) -> None:
    assert answer.status_code in statuses, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] in codes, answer.text


async def _post(client: httpx.AsyncClient, who: Account, url: str, body: Any) -> Any:
    answer = await client.post(url, headers=who.headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_deleting_a_list_loses_no_task_moved_or_created_into_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    for _ in range(4):
        doomed = await _post(client, alice, "/api/me/lists", {"name": "Doomed"})
        lid = doomed["id"]
        movers = [await _post(client, alice, "/api/me/tasks", {"title": f"m{i}"}) for i in range(6)]
        putters = [
            await _post(client, alice, "/api/me/tasks", {"title": f"p{i}"}) for i in range(6)
        ]
        calls = [
            *(
                client.post(f"/api/me/tasks/{t['id']}/move", headers=h, json={"list_id": lid})
                for t in movers
            ),
            *(
                client.put(f"/api/me/tasks/{t['id']}", headers=h, json={"list_id": lid})
                for t in putters
            ),
            *(
                client.post("/api/me/tasks", headers=h, json={"title": f"c{i}", "list_id": lid})
                for i in range(6)
            ),
        ]
        calls.insert(len(calls) // 2, client.delete(f"/api/me/lists/{lid}?tasks=move", headers=h))
        answers = list(await asyncio.gather(*calls))
        _no_5xx(answers)
        deleted = next(a for a in answers if a.request.method == "DELETE")
        assert deleted.status_code == 204, deleted.text
        acknowledged = []
        for answer in answers:
            if answer.request.method == "DELETE":
                continue
            if answer.status_code in (200, 201):
                acknowledged.append(answer.json()["id"])
            else:
                _clean_refusal(answer, {404}, NOT_FOUND_CODES)
        for task_id in acknowledged:
            found = await client.get(f"/api/me/tasks/{task_id}", headers=h)
            assert found.status_code == 200, f"task {task_id} was acknowledged, then lost"
        # Refused moves and updates left their task where it was, so nothing is gone at all.
        for task in movers + putters:
            assert (await client.get(f"/api/me/tasks/{task['id']}", headers=h)).status_code == 200


async def test_parallel_completes_of_a_recurring_task_make_one_next_occurrence(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    for round_ in range(3):
        task = await _post(
            client,
            alice,
            "/api/me/tasks",
            {"title": f"water plants {round_}", "due_date": "2030-01-01", "rrule": "FREQ=DAILY"},
        )
        url = f"/api/me/tasks/{task['id']}/complete"
        answers = list(
            await asyncio.gather(
                *(client.patch(url, headers=h, json={"completed": True}) for _ in range(PARALLEL))
            )
        )
        _no_5xx(answers)
        for answer in answers:
            if answer.status_code != 200:
                _clean_refusal(answer, {409}, {"edit_conflict"})
            else:
                assert answer.json()["completed"] is True
        series = [
            t
            for t in (await client.get("/api/me/tasks?limit=200", headers=h)).json()
            if t["title"] == f"water plants {round_}"
        ]
        assert sorted((t["due_date"], t["completed"]) for t in series) == [
            ("2030-01-01", True),
            ("2030-01-02", False),
        ]


async def test_parallel_creates_with_one_new_tag_share_one_tag(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    answers = list(
        await asyncio.gather(
            *(
                client.post("/api/me/tasks", headers=h, json={"title": f"t{i}", "tags": ["Fresh"]})
                for i in range(PARALLEL)
            )
        )
    )
    _no_5xx(answers)
    assert {a.status_code for a in answers} == {201}
    tags = (await client.get("/api/me/tags", headers=h)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("Fresh", PARALLEL)]


async def test_parallel_renames_of_tags_onto_one_name_merge_them(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    for i in range(PARALLEL):
        await _post(client, alice, "/api/me/tasks", {"title": f"t{i}", "tags": [f"tag{i}"]})
    ids = [t["id"] for t in (await client.get("/api/me/tags", headers=h)).json()]
    answers = list(
        await asyncio.gather(
            *(client.patch(f"/api/me/tags/{i}", headers=h, json={"name": "Same"}) for i in ids)
        )
    )
    _no_5xx(answers)
    for answer in answers:
        if answer.status_code != 200:
            _clean_refusal(answer, {404}, {"tag_not_found"})
    tags = (await client.get("/api/me/tags", headers=h)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("Same", PARALLEL)]


async def test_parallel_renames_of_lists_onto_one_name_leave_one(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    ids = [
        (await _post(client, alice, "/api/me/lists", {"name": f"list {i}"}))["id"]
        for i in range(PARALLEL)
    ]
    answers = list(
        await asyncio.gather(
            *(client.patch(f"/api/me/lists/{i}", headers=h, json={"name": "Same"}) for i in ids)
        )
    )
    _no_5xx(answers)
    assert [a.status_code for a in answers].count(200) == 1
    for answer in answers:
        if answer.status_code != 200:
            _clean_refusal(answer, {409}, {"list_name_taken"})
    names = Counter(
        x["name"].lower() for x in (await client.get("/api/me/lists", headers=h)).json()
    )
    assert names["same"] == 1


async def test_parallel_quick_adds_into_a_new_list_make_one_list(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    answers = list(
        await asyncio.gather(
            *(
                client.post("/api/me/tasks/quick", headers=h, json={"text": f"job {i} +NewList"})
                for i in range(PARALLEL)
            )
        )
    )
    _no_5xx(answers)
    assert {a.status_code for a in answers} == {201}
    found = [x for x in (await client.get("/api/me/lists", headers=h)).json() if not x["is_inbox"]]
    assert [(x["name"], x["open_tasks"]) for x in found] == [("NewList", PARALLEL)]
    assert {a.json()["list_id"] for a in answers} == {found[0]["id"]}
