"""Accounts seen through Better Auth tokens (signed with the shared secret here; the same
rules hold for JWKS-signed ones, see tests/interop): created on first sight, kept in step
with later tokens, gone for good once deleted, and cut off by "log out everywhere"."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import TEST_SECRET, Account
from tests.security.support import bearer
from todo.accounts.schemas import EMAIL_MAX, NAME_MAX
from todo.core.config import load_settings

SECRET_A = "a" * 40
SECRET_B = "b" * 40


def _token(user_id: str, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": user_id, "iat": now, "exp": now + 600, **claims}
    return jwt.encode(payload, TEST_SECRET, algorithm="HS256")


def _new_id() -> str:
    return f"ba-{uuid.uuid4().hex[:12]}"


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/auth/me", headers=bearer(token))


async def test_a_deleted_account_is_not_created_again_by_its_tokens(
    client: httpx.AsyncClient,
) -> None:
    user_id = _new_id()
    token = _token(user_id, email=f"{user_id}@example.com", name="Grace")
    assert (await _me(client, token)).status_code == 200
    assert (await client.delete("/api/auth/me", headers=bearer(token))).status_code == 204

    for later in (token, _token(user_id, email=f"{user_id}@example.com", iat=int(time.time()))):
        refused = await _me(client, later)
        assert refused.status_code == 401
        assert refused.json()["code"] == "user_gone"


async def test_a_later_token_updates_name_and_email(client: httpx.AsyncClient) -> None:
    user_id = _new_id()
    issued = int(time.time())
    first = _token(user_id, email=f"{user_id}@example.com", name="Grace", iat=issued)
    assert (await _me(client, first)).status_code == 200

    renamed = _token(user_id, email=f"New-{user_id}@Example.com", name="Grace H", iat=issued + 1)
    answer = await _me(client, renamed)

    assert answer.status_code == 200
    assert answer.json()["email"] == f"new-{user_id}@example.com"
    assert answer.json()["name"] == "Grace H"
    # A token issued before the change no longer speaks for the profile.
    assert (await _me(client, first)).json()["name"] == "Grace H"


async def test_an_unchanged_profile_is_not_written_on_every_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id = _new_id()
    token = _token(user_id, email=f"{user_id}@example.com", name="Grace")
    assert (await _me(client, token)).status_code == 200
    writes: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert (await _me(client, token)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert writes == []


async def test_a_changed_email_that_another_account_holds_is_refused(
    client: httpx.AsyncClient, alice: Account
) -> None:
    user_id = _new_id()
    issued = int(time.time())
    assert (await _me(client, _token(user_id, email=f"{user_id}@x.org", iat=issued))).is_success

    taken = await _me(client, _token(user_id, email=alice.email, iat=issued + 1))

    assert taken.status_code == 401
    assert taken.json()["code"] == "email_conflict"
    kept = await _me(client, _token(user_id, email=f"{user_id}@x.org", iat=issued + 1))
    assert kept.json()["email"] == f"{user_id}@x.org"


async def test_a_token_issued_in_the_same_second_after_log_out_everywhere_is_valid(
    client: httpx.AsyncClient,
) -> None:
    user_id = _new_id()
    token = _token(user_id, email=f"{user_id}@example.com", iat=int(time.time()) - 5)
    assert (await client.post("/api/auth/logout-all", headers=bearer(token))).status_code == 204
    after = int(datetime.now(UTC).timestamp())

    assert (await _me(client, _token(user_id, iat=after))).status_code == 200
    assert (await _me(client, token)).json()["code"] == "token_revoked"


async def test_our_own_token_issued_right_after_log_out_everywhere_is_valid(
    client: httpx.AsyncClient, alice: Account
) -> None:
    assert (await client.post("/api/auth/logout-all", headers=alice.headers)).status_code == 204
    login = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": alice.password}
    )

    assert (await _me(client, login.json()["access_token"])).status_code == 200
    assert (await _me(client, alice.token)).json()["code"] == "token_revoked"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BETTER_AUTH_SECRET": SECRET_A, "AUTH_SECRET": SECRET_B}, SECRET_A),
        ({"AUTH_SECRET": SECRET_B}, SECRET_B),
        ({"BETTER_AUTH_SECRET": SECRET_A}, SECRET_A),
    ],
)
def test_the_secret_is_read_in_better_auths_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("AUTH_SECRET", raising=False)
    monkeypatch.delenv("BETTER_AUTH_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    settings = load_settings(data_dir=tmp_path, _env_file=None)

    assert settings.auth_secret is not None
    assert settings.auth_secret.get_secret_value() == expected


async def test_a_long_name_is_cut_to_our_limit_and_a_long_email_is_refused(
    client: httpx.AsyncClient,
) -> None:
    user_id = _new_id()
    email = f"{user_id}@example.com"

    created = await _me(client, _token(user_id, email=email, name="n" * (NAME_MAX + 50)))
    assert created.status_code == 200, created.text
    assert created.json()["name"] == "n" * NAME_MAX

    too_long = f"{'x' * EMAIL_MAX}@example.com"
    refused = await _me(client, _token(_new_id(), email=too_long))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
