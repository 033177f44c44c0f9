"""Search stays within the owner's tasks, and on SQLite the full-text index narrows by owner
itself (migration 0005), as a prefilter that the owner condition of the query backs up."""

from __future__ import annotations

import time

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import TEST_SECRET


def _better_auth(user_id: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": user_id, "email": f"{user_id}@example.com", "iat": now, "exp": now + 600}
    return {"Authorization": f"Bearer {jwt.encode(claims, TEST_SECRET, algorithm='HS256')}"}


async def _titles(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> list[str]:
    response = await client.get("/api/me/tasks", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


async def test_ids_that_tokenize_alike_do_not_share_a_search(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # FTS5 reads both ids as the words "team alpha": only the query's owner condition
    # tells them apart.
    dash, underscore = _better_auth("team-alpha"), _better_auth("team_alpha")
    for headers, title in ((dash, "secret plans of the dash"), (underscore, "secret underscore")):
        created = await client.post("/api/me/tasks", json={"title": title}, headers=headers)
        assert created.status_code == 201, created.text

    assert await _titles(client, dash, "secret") == ["secret plans of the dash"]
    assert await _titles(client, underscore, "secret") == ["secret underscore"]
    assert await _titles(client, dash, "underscore") == []

    if app.state.db.is_sqlite:
        # The index itself holds the owner, kept in step by the triggers.
        async with app.state.db.session(write=False) as session:
            connection = await session.connection()
            rows = await connection.execute(
                text("SELECT count(*) FROM tasks_fts WHERE tasks_fts MATCH :q"),
                {"q": 'user_id : "team alpha" AND "secret"*'},
            )
            assert rows.scalar_one() == 2
            rows = await connection.execute(
                text("SELECT count(*) FROM tasks_fts WHERE tasks_fts MATCH :q"),
                {"q": 'user_id : "team beta" AND "secret"*'},
            )
            assert rows.scalar_one() == 0
