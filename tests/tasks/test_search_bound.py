"""A search by relevance ranks a bounded set of candidates (tasks/query.py,
SEARCH_CANDIDATES), so a user with many matching tasks costs no more than the bound; the
results over all pages are still matches, once each, in rank order."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Account
from todo.tasks.models import Task
from todo.tasks.query import SEARCH_CANDIDATES

MATCHES = SEARCH_CANDIDATES + 100
_NEXT = re.compile(r'<([^>]+)>; rel="next"')


async def _copies(app: FastAPI, task_id: int, count: int) -> None:
    """`count` copies of one task, each with its own title and position, in one statement."""
    columns = [c.name for c in Task.__table__.columns if c.name not in ("id",)]  # type: ignore[attr-defined]
    made = {
        "title": "title || ' ' || CAST(n.i AS TEXT)",
        "position": "position || CAST(n.i AS TEXT)",
    }
    select = ", ".join(made.get(name, name) for name in columns)
    statement = (
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
        f"INSERT INTO tasks ({', '.join(columns)}) SELECT {select} FROM tasks, n "
        "WHERE tasks.id = :id"
    )
    async with app.state.db.engine.begin() as connection:
        await connection.execute(text(statement), {"id": task_id})


async def _all_pages(client: httpx.AsyncClient, account: Account, url: str) -> list[dict]:  # type: ignore[type-arg]
    found: list[dict] = []  # type: ignore[type-arg]
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=account.headers)
        assert response.status_code == 200, response.text
        found += response.json()
        link = _NEXT.search(response.headers.get("link", ""))
        next_url = link.group(1) if link else None
    return found


async def test_a_search_ranks_at_most_the_candidate_bound(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, backend: str
) -> None:
    first = await client.post("/api/me/tasks", headers=alice.headers, json={"title": "Pay invoice"})
    assert first.status_code == 201, first.text
    await _copies(app, first.json()["id"], MATCHES - 1)
    other = await client.post("/api/me/tasks", headers=alice.headers, json={"title": "Garden"})
    assert other.status_code == 201

    found = await _all_pages(client, alice, "/api/me/tasks?q=invoice&limit=200")

    assert len(found) == SEARCH_CANDIDATES
    ids = [task["id"] for task in found]
    assert len(set(ids)) == len(ids)
    assert all("invoice" in task["title"].lower() for task in found)
    if backend == "sqlite":
        # FTS5 hands the candidates over newest first: the newest matches are the ones ranked.
        async with app.state.db.engine.connect() as connection:
            newest = (
                await connection.execute(
                    text(
                        "SELECT id FROM tasks WHERE user_id = :u AND title LIKE '%invoice%' "
                        "ORDER BY id DESC LIMIT :n"
                    ),
                    {"u": alice.id, "n": SEARCH_CANDIDATES},
                )
            ).scalars()
            assert set(ids) == set(newest)


async def test_a_search_under_the_bound_finds_every_match(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    first = await client.post("/api/me/tasks", headers=alice.headers, json={"title": "Budget"})
    await _copies(app, first.json()["id"], 40)
    found = await _all_pages(client, alice, "/api/me/tasks?q=budget&limit=7")
    assert len(found) == 41
    assert len({task["id"] for task in found}) == 41
