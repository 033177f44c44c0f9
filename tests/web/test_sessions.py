"""Web sessions in the account service: expiry, renewal, ending them."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from todo.accounts import service as accounts
from todo.core.db import utcnow

PASSWORD = "correct horse battery"


async def _new_user(app: FastAPI, email: str) -> None:
    async with app.state.db.session(write=True) as session:
        await accounts.create_user(
            session, app.state.passwords, email=email, password=PASSWORD, name=""
        )


async def _log_in(app: FastAPI, email: str, **options: object) -> str:
    async with app.state.db.session(write=True) as session:
        login = await accounts.web_login(
            session, passwords=app.state.passwords, email=email, password=PASSWORD, **options
        )
    return login.token


async def _resolve(app: FastAPI, token: str, **options: object) -> accounts.ActiveWebSession | None:
    async with app.state.db.session(write=False) as session:
        return await accounts.resolve_web_session(session, token, **options)


async def _renew(app: FastAPI, token: str, **options: object) -> None:
    found = await _resolve(app, token, **options)
    assert found is not None
    async with app.state.db.session(write=True) as session:
        await accounts.renew_web_session(session, found.session_id, **options)


@pytest.fixture
async def ada(client: httpx.AsyncClient, app: FastAPI) -> str:
    """An account; `client` empties the tables afterwards."""
    await _new_user(app, "ada@example.com")
    return "ada@example.com"


async def test_an_idle_session_expires(app: FastAPI, ada: str) -> None:
    start = utcnow()
    token = await _log_in(app, ada, now=start)
    fresh = await _resolve(app, token, now=start)
    assert fresh is not None
    assert not fresh.renew_due
    assert await _resolve(app, token, now=start + timedelta(days=29)) is not None
    assert await _resolve(app, token, now=start + accounts.WEB_SESSION_IDLE) is None


async def test_a_session_in_use_slides_but_never_past_its_cap(app: FastAPI, ada: str) -> None:
    start = utcnow()
    token = await _log_in(app, ada, now=start)
    for days in (20, 40, 60):
        day = start + timedelta(days=days)
        found = await _resolve(app, token, now=day)
        assert found is not None, f"ended {days} days after logging in"
        assert found.renew_due
        await _renew(app, token, now=day)
    cap = start + accounts.WEB_SESSION_MAX
    near_cap = await _resolve(app, token, now=cap - timedelta(days=5))
    assert near_cap is not None
    assert not near_cap.renew_due
    assert await _resolve(app, token, now=cap - timedelta(seconds=1)) is not None
    assert await _resolve(app, token, now=cap) is None


async def test_ending_a_session_ends_only_that_one(app: FastAPI, ada: str) -> None:
    laptop = await _log_in(app, ada)
    phone = await _log_in(app, ada)
    async with app.state.db.session(write=True) as session:
        await accounts.end_web_session(session, laptop)
    assert await _resolve(app, laptop) is None
    assert await _resolve(app, phone) is not None


async def test_logging_out_everywhere_ends_every_session_of_that_user_only(
    app: FastAPI, ada: str
) -> None:
    await _new_user(app, "bob@example.com")
    sessions = [await _log_in(app, ada), await _log_in(app, ada)]
    bobs = await _log_in(app, "bob@example.com")
    found = await _resolve(app, sessions[0])
    assert found is not None
    async with app.state.db.session(write=True) as session:
        user = await accounts.get_user(session, found.user.id)
        assert user is not None
        await accounts.logout_everywhere(session, user)
    assert [await _resolve(app, token) for token in sessions] == [None, None]
    assert await _resolve(app, bobs) is not None


async def test_expired_sessions_are_cleared_at_the_next_log_in(app: FastAPI, ada: str) -> None:
    long_ago = utcnow() - timedelta(days=200)
    stale = await _log_in(app, ada, now=long_ago)
    assert await _resolve(app, stale, now=long_ago) is not None
    await _log_in(app, ada)
    # Gone, not merely expired: even at the time it was valid it opens nothing now.
    assert await _resolve(app, stale, now=long_ago) is None


async def test_a_deleted_account_has_no_sessions(app: FastAPI, ada: str) -> None:
    token = await _log_in(app, ada)
    found = await _resolve(app, token)
    assert found is not None
    async with app.state.db.session(write=True) as session:
        await accounts.delete_user(session, found.user.id)
    assert await _resolve(app, token) is None


@pytest.mark.parametrize("token", ["", "x" * 500, "not-a-token"])
async def test_unknown_tokens_open_nothing(app: FastAPI, ada: str, token: str) -> None:
    assert await _resolve(app, token) is None
