"""Argon2 runs outside any transaction: on SQLite an open write transaction holds the one
write lock of the database, so a log-in or sign-up that hashed inside it stalled every other
writer, in every process, for the whole hash (found by make bench: SQLite create p99 3.2 s).

Each test starts the slow request, lets it reach its hashing, then writes from another
client: the write must be answered while the hash is still being computed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from tests.conftest import SignUp
from tests.security.support import bearer, client_for, running
from todo.core.config import Settings

# About 0.3 s per hash here: far longer than a task write.
SLOW_HASHING = {"argon2_time_cost": 8, "argon2_memory_cost": 32768, "argon2_parallelism": 1}
PASSWORD = "correct horse battery"


async def _write_while(
    http: httpx.AsyncClient, slow: Callable[[], Awaitable[httpx.Response]], token: str
) -> tuple[httpx.Response, httpx.Response, bool]:
    pending = asyncio.ensure_future(slow())
    await asyncio.sleep(0.05)  # the slow request is hashing now
    created = await http.post("/api/me/tasks", json={"title": "meanwhile"}, headers=bearer(token))
    slow_was_done = pending.done()
    return await pending, created, slow_was_done


async def _writer(http: httpx.AsyncClient, email: str) -> str:
    response = await http.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    token: str = response.json()["access_token"]
    return token


async def test_a_write_does_not_wait_for_a_login_hash(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    async with running(settings, **SLOW_HASHING) as app, client_for(app) as http:
        token = await _writer(http, "writer@example.com")
        await _writer(http, "login@example.com")

        async def login() -> httpx.Response:
            return await http.post(
                "/api/auth/login", json={"email": "login@example.com", "password": PASSWORD}
            )

        logged_in, created, login_was_done = await _write_while(http, login, token)
    assert logged_in.status_code == 200
    assert created.status_code == 201
    assert not login_was_done, "the task write waited for the log-in's password hash"


async def test_a_write_does_not_wait_for_a_signup_hash(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    async with running(settings, **SLOW_HASHING) as app, client_for(app) as http:
        token = await _writer(http, "writer@example.com")

        async def signup() -> httpx.Response:
            return await http.post(
                "/api/auth/signup", json={"email": "new@example.com", "password": PASSWORD}
            )

        signed_up, created, signup_was_done = await _write_while(http, signup, token)
    assert signed_up.status_code == 201
    assert created.status_code == 201
    assert not signup_was_done, "the task write waited for the sign-up's password hash"


async def test_a_write_does_not_wait_for_a_password_change(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    async with running(settings, **SLOW_HASHING) as app, client_for(app) as http:
        token = await _writer(http, "writer@example.com")
        changer = await _writer(http, "changer@example.com")

        async def change() -> httpx.Response:
            return await http.patch(
                "/api/auth/me",
                json={"current_password": PASSWORD, "new_password": "another long password"},
                headers=bearer(changer),
            )

        changed, created, change_was_done = await _write_while(http, change, token)
    assert changed.status_code == 200, changed.text
    assert created.status_code == 201
    assert not change_was_done, "the task write waited for the password change's hashes"
