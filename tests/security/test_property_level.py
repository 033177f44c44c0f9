"""Broken object property level authorization: clients cannot set what the server owns, and
responses carry no secrets and nothing of other users."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Account

SERVER_OWNED = {
    "id": 424242,
    "version": 99,
    "created_at": "2001-01-01T00:00:00Z",
    "updated_at": "2001-01-01T00:00:00Z",
    "completed_at": "2001-01-01T00:00:00Z",
    "position": "0001",
    "series_id": "00000000-0000-0000-0000-000000000000",
}
SECRET_FIELDS = {
    "password_hash", "password", "session_version", "tokens_valid_after", "digest", "token",
}  # fmt: skip


def _recent(stamp: str) -> bool:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


async def test_task_create_ignores_server_owned_fields(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    body = {"title": "mine", **SERVER_OWNED, "user_id": bob.id}
    created = await client.post("/api/me/tasks", headers=alice.headers, json=body)
    assert created.status_code == 201
    task = created.json()
    assert task["id"] != SERVER_OWNED["id"]
    assert task["user_id"] == alice.id
    assert created.headers["etag"] == '"1"'
    assert _recent(task["created_at"])
    assert _recent(task["updated_at"])
    assert task["completed_at"] is None
    assert task["position"] != SERVER_OWNED["position"]
    assert task["series_id"] is None
    assert (await client.get("/api/me/tasks", headers=bob.headers)).json() == []


async def test_task_update_ignores_server_owned_fields(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    created = (
        await client.post("/api/me/tasks", headers=alice.headers, json={"title": "a"})
    ).json()
    body = {**created, **SERVER_OWNED, "user_id": bob.id, "title": "b"}
    updated = await client.put(f"/api/me/tasks/{created['id']}", headers=alice.headers, json=body)
    assert updated.status_code == 200, updated.text
    task = updated.json()
    assert task["id"] == created["id"]
    assert task["user_id"] == alice.id
    assert task["created_at"] == created["created_at"]
    assert updated.headers["etag"] == '"2"'
    assert task["position"] == created["position"]
    assert (await client.get("/api/me/tasks", headers=bob.headers)).json() == []


@pytest.mark.parametrize("field", ["password_hash", "session_version", "tokens_valid_after"])
async def test_account_secrets_cannot_be_written(
    client: httpx.AsyncClient, alice: Account, field: str
) -> None:
    value: Any = 0 if field == "session_version" else "x"
    signup = await client.post(
        "/api/auth/signup",
        json={"email": "new@example.com", "password": "longenough", field: value},
    )
    assert signup.status_code == 422
    assert signup.json()["errors"][0]["field"] == field
    patch = await client.patch("/api/auth/me", headers=alice.headers, json={field: value})
    assert patch.status_code == 422
    assert (await client.get("/api/auth/me", headers=alice.headers)).status_code == 200


async def test_account_id_and_email_are_not_writable(
    client: httpx.AsyncClient, alice: Account
) -> None:
    signup = await client.post(
        "/api/auth/signup",
        json={"email": "chosen@example.com", "password": "longenough", "id": alice.id},
    )
    assert signup.status_code == 201
    assert signup.json()["user"]["id"] != alice.id
    changed = await client.patch(
        "/api/auth/me", headers=alice.headers, json={"id": "other", "email": "x@example.com"}
    )
    assert changed.status_code == 422
    me = (await client.get("/api/auth/me", headers=alice.headers)).json()
    assert me["id"] == alice.id
    assert me["email"] == alice.email


async def test_lists_and_tags_ignore_server_owned_fields(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    created = await client.post(
        "/api/me/lists",
        headers=alice.headers,
        json={"name": "L", "id": 9999, "user_id": bob.id, "created_at": "2001-01-01T00:00:00Z"},
    )
    assert created.status_code == 201
    assert created.json()["id"] != 9999
    assert _recent(created.json()["created_at"])
    inbox = await client.post(
        "/api/me/lists", headers=alice.headers, json={"name": "I", "is_inbox": True}
    )
    assert inbox.status_code == 422
    assert [
        item["name"] for item in (await client.get("/api/me/lists", headers=bob.headers)).json()
    ] == ["Inbox"]


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


async def test_no_response_carries_secrets_or_other_users_data(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await client.post("/api/me/tasks", headers=bob.headers, json={"title": "bob's", "tags": ["b"]})
    await client.post("/api/me/lists", headers=bob.headers, json={"name": "bob's list"})
    task = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "a", "tags": ["a"]}
    )
    task_id = task.json()["id"]
    for owner in (alice, bob):
        made = await client.post(
            "/api/auth/tokens",
            headers=owner.headers,
            json={
                "name": f"{'bob' if owner is bob else 'alice'}'s script",
                "scopes": ["tasks:read"],
            },
        )
        assert made.status_code == 201, made.text
    responses = [
        task,
        await client.post(
            "/api/auth/signup", json={"email": "c@example.com", "password": "longenough"}
        ),
        await client.post(
            "/api/auth/login", json={"email": alice.email, "password": alice.password}
        ),
        await client.post(
            "/api/auth/token", data={"username": alice.email, "password": alice.password}
        ),
        await client.get("/api/auth/me", headers=alice.headers),
        await client.patch("/api/auth/me", headers=alice.headers, json={"name": "A"}),
        await client.get("/api/auth/me/export", headers=alice.headers),
        await client.get("/api/me/tasks?status=all", headers=alice.headers),
        await client.get(f"/api/me/tasks/{task_id}", headers=alice.headers),
        await client.get("/api/me/lists", headers=alice.headers),
        await client.get("/api/me/tags", headers=alice.headers),
        await client.get("/api/me/tasks?q=bob", headers=alice.headers),
        await client.get("/api/auth/tokens", headers=alice.headers),
        await client.get("/openapi.json"),
    ]
    for response in responses:
        assert response.status_code in (200, 201), f"{response.url}: {response.text}"
        body = response.json()
        if response.url.path == "/api/auth/me/export":
            # The backup format keeps the columns, the download leaves the hash out.
            assert body["users"][0]["user"]["password_hash"] is None
        elif response.url.path != "/openapi.json":
            assert not _keys(body) & SECRET_FIELDS, (
                f"{response.url} carries {_keys(body) & SECRET_FIELDS}"
            )
        text = json.dumps(body)
        for foreign in (bob.id, bob.email, "bob's", "$argon2"):
            assert foreign not in text, f"{response.url} carries {foreign!r}"
