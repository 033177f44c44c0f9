from __future__ import annotations

import time

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET, Account, SignUp


async def test_signup_returns_user_and_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/signup",
        json={"email": "  Ada@Example.COM ", "password": "longenough", "name": " Ada  L "},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["name"] == "Ada L"
    assert "password_hash" not in body["user"]
    me = await client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


async def test_signup_duplicate_email_any_case_is_409(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post(
        "/api/auth/signup", json={"email": "ALICE@example.com", "password": "longenough"}
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "email_taken"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "x@example.com", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": "longenough"}, "email"),
        ({"password": "longenough"}, "email"),
        ({"email": "x@example.com", "password": "longenough", "role": "admin"}, "role"),
    ],
)
async def test_signup_validation(
    client: httpx.AsyncClient, payload: dict[str, str], field: str
) -> None:
    response = await client.post("/api/auth/signup", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in [error["field"] for error in body["errors"]]


async def test_login(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": "Alice@example.com", "password": alice.password}
    )
    assert response.status_code == 200
    assert response.json()["user"]["id"] == alice.id


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, alice: Account
) -> None:
    wrong = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": "nope-nope"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"


async def test_oauth2_token_form(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/api/auth/token", data={"username": alice.email, "password": alice.password}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == alice.email


async def test_me_requires_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


async def test_change_name_and_password(client: httpx.AsyncClient, alice: Account) -> None:
    wrong = await client.patch(
        "/api/auth/me",
        headers=alice.headers,
        json={"current_password": "not-it-at-all", "new_password": "brand new pass"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "wrong_password"
    ok = await client.patch(
        "/api/auth/me",
        headers=alice.headers,
        json={
            "name": "Alice B",
            "current_password": alice.password,
            "new_password": "brand new pass",
        },
    )
    assert ok.status_code == 200
    assert ok.json()["name"] == "Alice B"
    old = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert old.status_code == 401
    new = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": "brand new pass"}
    )
    assert new.status_code == 200


async def test_logout_all_revokes_earlier_tokens(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post("/api/auth/logout-all", headers=alice.headers)
    assert response.status_code == 204
    stale = await client.get("/api/auth/me", headers=alice.headers)
    assert stale.status_code == 401
    assert stale.json()["code"] == "token_revoked"
    fresh = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": alice.password}
    )
    token = fresh.json()["access_token"]
    assert (
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200


async def test_delete_account_removes_tasks_and_token(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await client.post("/api/me/tasks", headers=alice.headers, json={"title": "a"})
    await client.post("/api/me/tasks", headers=bob.headers, json={"title": "b"})
    assert (await client.delete("/api/auth/me", headers=alice.headers)).status_code == 204
    gone = await client.get("/api/auth/me", headers=alice.headers)
    assert gone.status_code == 401
    assert gone.json()["code"] == "user_gone"
    again = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert again.status_code == 401
    bobs = await client.get("/api/me/tasks", headers=bob.headers)
    assert [t["title"] for t in bobs.json()] == ["b"]


def _better_auth_token(claims: dict[str, object]) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 600, **claims}, TEST_SECRET, algorithm="HS256")


async def test_better_auth_hs256_token_creates_user_once(client: httpx.AsyncClient) -> None:
    token = _better_auth_token({"sub": "ba-user-1", "email": "Grace@Example.com", "name": "Grace"})
    headers = {"Authorization": f"Bearer {token}"}
    first = await client.get("/api/auth/me", headers=headers)
    assert first.status_code == 200
    assert first.json() == {**first.json(), "id": "ba-user-1", "email": "grace@example.com"}
    created = await client.post("/api/ba-user-1/tasks", headers=headers, json={"title": "from BA"})
    assert created.status_code == 201
    listed = await client.get("/api/me/tasks", headers=headers)
    assert [t["title"] for t in listed.json()] == ["from BA"]


async def test_better_auth_user_id_claim_fallback(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    token = _better_auth_token({"user_id": account.id})
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["id"] == account.id


async def test_foreign_token_before_logout_all_is_revoked(
    client: httpx.AsyncClient, alice: Account
) -> None:
    old = _better_auth_token({"sub": alice.id, "iat": int(time.time()) - 60})
    await client.post("/api/auth/logout-all", headers=alice.headers)
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"


async def test_foreign_token_for_unknown_user_without_email_is_refused(
    client: httpx.AsyncClient,
) -> None:
    token = _better_auth_token({"sub": "nobody-here"})
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
