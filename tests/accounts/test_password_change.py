"""Changing the password ends every other token and web session, keeps the caller signed in,
and is limited like log-in (a stolen session must not become a password oracle)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Account, SignUp
from tests.security.support import bearer, client_for, running
from todo.core.config import Settings

NEW_PASSWORD = "a brand new passphrase"
STRICT = {"auth_rate_per_account": 3, "auth_rate_per_address": 100, "auth_rate_window": 60}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


async def _web_login(http: httpx.AsyncClient, email: str, password: str) -> None:
    token = _csrf((await http.get("/login")).text)
    response = await http.post(
        "/login", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code == 303, response.text


async def _web_change(
    http: httpx.AsyncClient, current: str, new: str = NEW_PASSWORD
) -> httpx.Response:
    token = _csrf((await http.get("/account")).text)
    return await http.post(
        "/account/password",
        data={"csrf_token": token, "current_password": current, "new_password": new},
    )


async def _signed_in(http: httpx.AsyncClient) -> bool:
    response = await http.get("/account")
    return response.status_code == 200


async def _api_change(
    http: httpx.AsyncClient, token: str, current: str, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await http.patch(
        "/api/auth/me",
        headers=bearer(token),
        json={"current_password": current, "new_password": new},
    )


async def _login_token(http: httpx.AsyncClient, email: str, password: str) -> str:
    response = await http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_api_change_ends_other_tokens_and_sessions_and_answers_a_fresh_token(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    other_token = await _login_token(client, alice.email, alice.password)
    async with client_for(app) as browser:
        await _web_login(browser, alice.email, alice.password)

        response = await _api_change(client, alice.token, alice.password)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == alice.id
        assert body["token_type"] == "bearer"
        assert body["expires_in"] > 0
        fresh = await client.get("/api/auth/me", headers=bearer(body["access_token"]))
        assert fresh.status_code == 200
        for stale in (alice.token, other_token):
            refused = await client.get("/api/auth/me", headers=bearer(stale))
            assert refused.status_code == 401
            assert refused.json()["code"] == "token_revoked"
        assert not await _signed_in(browser)


async def test_api_change_of_the_name_alone_keeps_every_token(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.patch("/api/auth/me", headers=alice.headers, json={"name": "Al"})

    assert response.status_code == 200
    assert response.json()["access_token"] is None
    assert (await client.get("/api/auth/me", headers=alice.headers)).status_code == 200


async def test_web_change_ends_other_sessions_and_tokens_but_keeps_this_one(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    async with client_for(app) as here, client_for(app) as elsewhere:
        await _web_login(here, alice.email, alice.password)
        await _web_login(elsewhere, alice.email, alice.password)

        response = await _web_change(here, alice.password)

        assert response.status_code == 303, response.text
        assert "Your password was changed." in (await here.get("/account")).text
        assert not await _signed_in(elsewhere)
        refused = await client.get("/api/auth/me", headers=alice.headers)
        assert refused.json()["code"] == "token_revoked"
        await _web_login(elsewhere, alice.email, NEW_PASSWORD)
        assert await _signed_in(elsewhere)


async def test_a_wrong_current_password_ends_nothing(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    async with client_for(app) as here, client_for(app) as elsewhere:
        await _web_login(here, alice.email, alice.password)
        await _web_login(elsewhere, alice.email, alice.password)

        assert (await _web_change(here, "not the password")).status_code == 422
        assert (await _api_change(client, alice.token, "not the password")).status_code == 422

        assert await _signed_in(elsewhere)
        assert (await client.get("/api/auth/me", headers=alice.headers)).status_code == 200


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 120


@pytest.mark.usefixtures("client")  # empties the tables afterwards
async def test_api_wrong_current_passwords_are_limited_like_log_in(
    settings: Settings, sign_up: SignUp
) -> None:
    victim = await sign_up()
    async with running(settings, **STRICT) as app, client_for(app) as http:
        for _ in range(3):
            assert (await _api_change(http, victim.token, "a wrong guess")).status_code == 422

        limited = await _api_change(http, victim.token, victim.password)

        _assert_limited(limited)
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["code"] == "rate_limited"
        # The guesses counted against the account's log-in budget too: one budget per account.
        _assert_limited(
            await http.post(
                "/api/auth/login", json={"email": victim.email, "password": victim.password}
            )
        )


@pytest.mark.usefixtures("client")
async def test_web_wrong_current_passwords_are_limited_like_log_in(
    settings: Settings, sign_up: SignUp
) -> None:
    victim = await sign_up()
    async with running(settings, **STRICT) as app, client_for(app) as http:
        await _web_login(http, victim.email, victim.password)
        for _ in range(2):
            assert (await _web_change(http, "a wrong guess")).status_code == 422

        limited = await _web_change(http, victim.password)

        _assert_limited(limited)
        assert "Too many attempts" in limited.text
        assert await _signed_in(http)


@pytest.mark.usefixtures("client")
async def test_a_name_change_is_not_counted_as_a_password_attempt(
    settings: Settings, sign_up: SignUp
) -> None:
    user = await sign_up()
    async with running(settings, **STRICT) as app, client_for(app) as http:
        for number in range(5):
            renamed = await http.patch(
                "/api/auth/me", headers=bearer(user.token), json={"name": f"Name {number}"}
            )
            assert renamed.status_code == 200
        assert (await _login_token(http, user.email, user.password)).count(".") == 2
