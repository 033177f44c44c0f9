"""Idempotency-Key on the create routes: a retry returns the first answer and creates nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update

from tests.conftest import Account
from todo.core.db import utcnow
from todo.core.idempotency import KEY_TTL, IdempotencyKey

CREATE_ROUTES = [
    ("/api/me/tasks", {"title": "Pay rent", "tags": ["home"], "priority": "high"}),
    ("/api/me/tasks/quick", {"text": "Pay rent tomorrow #home !high +Bills"}),
]


async def _count(client: httpx.AsyncClient, account: Account) -> int:
    listed = await client.get("/api/me/tasks?limit=500", headers=account.headers)
    assert listed.status_code == 200
    return len(listed.json())


def _key() -> str:
    return str(uuid.uuid4())


@pytest.mark.parametrize(("path", "body"), CREATE_ROUTES)
async def test_retry_with_the_same_key_returns_the_first_answer(
    client: httpx.AsyncClient, alice: Account, path: str, body: dict[str, object]
) -> None:
    headers = {**alice.headers, "Idempotency-Key": _key()}
    first = await client.post(path, headers=headers, json=body)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # The task changes in between: the retry still answers what the first request did.
    task_id = first.json()["id"]
    changed = await client.put(
        f"/api/me/tasks/{task_id}", headers=alice.headers, json={"title": "Renamed"}
    )
    assert changed.status_code == 200
    for _ in range(3):
        again = await client.post(path, headers=headers, json=body)
        assert again.status_code == first.status_code
        assert again.content == first.content
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["idempotent-replayed"] == "true"
    assert await _count(client, alice) == 1


@pytest.mark.parametrize(("path", "body"), CREATE_ROUTES)
async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, alice: Account, path: str, body: dict[str, object]
) -> None:
    headers = {**alice.headers, "Idempotency-Key": _key()}
    assert (await client.post(path, headers=headers, json=body)).status_code == 201
    other = {
        key: f"{value} (changed)" if key in ("title", "text") else value
        for key, value in body.items()
    }
    refused = await client.post(path, headers=headers, json=other)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "idempotency_key_reused"
    assert await _count(client, alice) == 1


async def test_a_key_used_on_one_route_cannot_be_replayed_on_the_other(
    client: httpx.AsyncClient, alice: Account
) -> None:
    headers = {**alice.headers, "Idempotency-Key": _key()}
    created = await client.post("/api/me/tasks", headers=headers, json={"title": "x"})
    assert created.status_code == 201
    quick = await client.post("/api/me/tasks/quick", headers=headers, json={"text": "x"})
    assert quick.status_code == 422
    assert await _count(client, alice) == 1


async def test_keys_belong_to_one_user(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    key = _key()
    mine = await client.post(
        "/api/me/tasks", headers={**alice.headers, "Idempotency-Key": key}, json={"title": "a"}
    )
    theirs = await client.post(
        "/api/me/tasks", headers={**bob.headers, "Idempotency-Key": key}, json={"title": "a"}
    )
    assert mine.status_code == theirs.status_code == 201
    assert theirs.json()["user_id"] == bob.id
    assert theirs.json()["id"] != mine.json()["id"]


async def test_a_failed_create_does_not_use_up_the_key(
    client: httpx.AsyncClient, alice: Account
) -> None:
    headers = {**alice.headers, "Idempotency-Key": _key()}
    missing_list = {"title": "t", "list_id": 999_999}
    for _ in range(2):
        assert (
            await client.post("/api/me/tasks", headers=headers, json=missing_list)
        ).status_code == 404
    assert await _count(client, alice) == 0


async def test_keys_expire_after_24_hours(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    headers = {**alice.headers, "Idempotency-Key": _key()}
    first = await client.post("/api/me/tasks", headers=headers, json={"title": "daily"})
    async with app.state.db.engine.begin() as connection:
        await connection.execute(
            update(IdempotencyKey).values(created_at=utcnow() - KEY_TTL - timedelta(seconds=1))
        )
    second = await client.post("/api/me/tasks", headers=headers, json={"title": "daily"})
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert await _count(client, alice) == 2
    # The fresh record replays from now on.
    third = await client.post("/api/me/tasks", headers=headers, json={"title": "daily"})
    assert third.content == second.content


async def test_concurrent_retries_create_one_task(
    client: httpx.AsyncClient, alice: Account
) -> None:
    headers = {**alice.headers, "Idempotency-Key": _key()}
    answers = await asyncio.gather(
        *(
            client.post("/api/me/tasks", headers=headers, json={"title": "once only"})
            for _ in range(8)
        )
    )
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.content for answer in answers}) == 1
    assert await _count(client, alice) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "spaces are not allowed"])
async def test_malformed_keys_are_422(client: httpx.AsyncClient, alice: Account, key: str) -> None:
    answer = await client.post(
        "/api/me/tasks", headers={**alice.headers, "Idempotency-Key": key}, json={"title": "t"}
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["in"] == "header"
    assert await _count(client, alice) == 0


async def test_deleting_the_account_deletes_its_keys(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    headers = {**alice.headers, "Idempotency-Key": _key()}
    assert (
        await client.post("/api/me/tasks", headers=headers, json={"title": "t"})
    ).status_code == 201
    assert (await client.delete("/api/auth/me", headers=alice.headers)).status_code == 204
    async with app.state.db.engine.connect() as connection:
        left = await connection.execute(text("SELECT count(*) FROM idempotency_keys"))
        assert left.scalar_one() == 0
