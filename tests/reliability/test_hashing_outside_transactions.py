"""Argon2 runs outside any transaction: on SQLite an open write transaction holds the one
write lock of the database, so a log-in or sign-up that hashed inside it stalled every other
writer, in every process, for the whole hash.

Each case starts the slow request, lets it reach its hashing, then writes from another
client: the write must be answered while the hash is still being computed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.conftest import SignUp
from tests.security.support import bearer, client_for, running
from todo.core.config import Settings

# About 0.3 s per hash here: far longer than a task write.
SLOW_HASHING = {"argon2_time_cost": 8, "argon2_memory_cost": 32768, "argon2_parallelism": 1}
PASSWORD = "correct horse battery"


async def _signed_up(http: httpx.AsyncClient, email: str) -> str:
    response = await http.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    token: str = response.json()["access_token"]
    return token


Request = Callable[[], Awaitable[httpx.Response]]


async def _login(http: httpx.AsyncClient) -> Request:
    await _signed_up(http, "login@example.com")
    body = {"email": "login@example.com", "password": PASSWORD}
    return lambda: http.post("/api/auth/login", json=body)


async def _signup(http: httpx.AsyncClient) -> Request:
    body = {"email": "new@example.com", "password": PASSWORD}
    return lambda: http.post("/api/auth/signup", json=body)


async def _password_change(http: httpx.AsyncClient) -> Request:
    changer = await _signed_up(http, "changer@example.com")
    body = {"current_password": PASSWORD, "new_password": "another long password"}
    return lambda: http.patch("/api/auth/me", json=body, headers=bearer(changer))


@pytest.mark.parametrize(
    ("prepare", "status"), [(_login, 200), (_signup, 201), (_password_change, 200)]
)
async def test_a_write_does_not_wait_for_a_password_hash(
    client: httpx.AsyncClient,
    settings: Settings,
    sign_up: SignUp,
    prepare: Callable[[httpx.AsyncClient], Awaitable[Request]],
    status: int,
) -> None:
    async with running(settings, **SLOW_HASHING) as app, client_for(app) as http:
        token = await _signed_up(http, "writer@example.com")
        slow = await prepare(http)  # its accounts exist before it starts
        pending = asyncio.ensure_future(slow())
        await asyncio.sleep(0.05)  # the slow request is hashing now
        created = await http.post(
            "/api/me/tasks", json={"title": "meanwhile"}, headers=bearer(token)
        )
        slow_was_done = pending.done()
        answered = await pending
    assert answered.status_code == status, answered.text
    assert created.status_code == 201
    assert not slow_was_done, "the task write waited for the password hash"
