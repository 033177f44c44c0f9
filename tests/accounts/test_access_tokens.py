"""Personal access tokens: created with scopes, shown once, listed without secrets, revoked at
once; what only a log-in may do; expiry, last use, and which account changes end them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.sql import Executable

from tests.conftest import Account, SignUp
from tests.security.support import bearer
from todo.accounts.models import AccessToken
from todo.accounts.schemas import SCOPES, TOKEN_NAME_MAX, TOKENS_PER_USER_MAX

URL = "/api/auth/tokens"
ALL = list(SCOPES)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def make_token(
    client: httpx.AsyncClient, owner: Account, scopes: list[str], **fields: Any
) -> dict[str, Any]:
    body = {"name": fields.pop("name", "script"), "scopes": scopes, **fields}
    response = await client.post(URL, headers=owner.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _sql(app: FastAPI, statement: str | Executable) -> list[Any]:
    async with app.state.db.engine.begin() as connection:
        result = await connection.execute(
            text(statement) if isinstance(statement, str) else statement
        )
        return [tuple(row) for row in result] if result.returns_rows else []


async def test_create_shows_the_secret_once_and_stores_only_its_digest(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)
    created = await make_token(
        client,
        alice,
        ["tasks:write", "tasks:read", "tasks:read"],
        name="  Backup   script ",
        expires_at=_iso(expires),
    )
    assert set(created) == {
        "id", "name", "scopes", "token", "created_at", "expires_at", "last_used_at",
    }  # fmt: skip
    assert created["name"] == "Backup script"
    # Duplicates count once, in the one order of the scope table.
    assert created["scopes"] == ["tasks:read", "tasks:write"]
    assert created["last_used_at"] is None
    assert datetime.fromisoformat(created["expires_at"]) == expires.replace(
        microsecond=expires.microsecond
    )
    secret = created["token"]
    assert secret.startswith("todo_pat_")
    assert len(secret) == len("todo_pat_") + 43
    rows = await _sql(app, "SELECT digest FROM access_tokens")
    assert rows == [(hashlib.sha256(secret.encode()).hexdigest(),)]
    listed = await client.get(URL, headers=alice.headers)
    assert listed.status_code == 200
    assert secret not in listed.text
    assert listed.json() == [{k: v for k, v in created.items() if k != "token"}]


async def test_a_token_opens_what_its_scopes_allow(
    client: httpx.AsyncClient, alice: Account
) -> None:
    reader = bearer((await make_token(client, alice, ["tasks:read"]))["token"])
    task = await client.post("/api/me/tasks", headers=alice.headers, json={"title": "mine"})
    got = await client.get(f"/api/me/tasks/{task.json()['id']}", headers=reader)
    assert got.status_code == 200, got.text
    assert got.json()["title"] == "mine"
    refused = await client.post("/api/me/tasks", headers=reader, json={"title": "planted"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "insufficient_scope"
    assert "tasks:write" in refused.json()["detail"]
    assert refused.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="tasks:write"'
    )
    # The user is the token's: `me` and the real id both work, another's is a 403.
    assert (await client.get(f"/api/{alice.id}/tasks", headers=reader)).status_code == 200


async def test_list_is_newest_first_and_only_the_callers(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    names = [f"token {i}" for i in range(3)]
    for name in names:
        await make_token(client, alice, ["tasks:read"], name=name)
    await make_token(client, bob, ["tasks:read"], name="bob's")
    listed = await client.get(URL, headers=alice.headers)
    assert [t["name"] for t in listed.json()] == names[::-1]
    assert "bob's" not in listed.text


async def test_revoking_stops_the_token_at_once(client: httpx.AsyncClient, alice: Account) -> None:
    created = await make_token(client, alice, ["account:read"])
    headers = bearer(created["token"])
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    revoked = await client.delete(f"{URL}/{created['id']}", headers=alice.headers)
    assert revoked.status_code == 204
    after = await client.get("/api/auth/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_token"
    assert after.headers["www-authenticate"] == "Bearer"
    again = await client.delete(f"{URL}/{created['id']}", headers=alice.headers)
    assert again.status_code == 404
    assert again.json()["code"] == "token_not_found"
    assert (await client.get(URL, headers=alice.headers)).json() == []


async def test_another_users_token_is_404_like_a_missing_one(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    created = await make_token(client, alice, ["tasks:read"])
    foreign = await client.delete(f"{URL}/{created['id']}", headers=bob.headers)
    missing = await client.delete(f"{URL}/{created['id'] + 1000}", headers=bob.headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == "token_not_found"
    assert (await client.get("/api/me/tasks", headers=bearer(created["token"]))).status_code == 200


@pytest.mark.parametrize(("method", "path"), [("POST", URL), ("GET", URL), ("DELETE", f"{URL}/1")])
async def test_token_routes_need_authentication(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = {"name": "x", "scopes": ["tasks:read"]} if method == "POST" else None
    response = await client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


_FUTURE = _iso(datetime.now(UTC) + timedelta(days=1))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["tasks:read", "tasks:delete"]}, "scopes.1"),
        ({"name": "x", "scopes": ["TASKS:READ"]}, "scopes.0"),
        ({"name": "x", "scopes": "tasks:read"}, "scopes"),
        ({"name": "x", "scopes": ["tasks:read"] * 50}, "scopes"),
        ({"name": "x"}, "scopes"),
        ({"scopes": ["tasks:read"]}, "name"),
        ({"name": "", "scopes": ["tasks:read"]}, "name"),
        ({"name": " \t ", "scopes": ["tasks:read"]}, "name"),
        ({"name": "x" * (TOKEN_NAME_MAX + 1), "scopes": ["tasks:read"]}, "name"),
        ({"name": "bell\u0007", "scopes": ["tasks:read"]}, "name"),
        ({"name": "a\u0000b", "scopes": ["tasks:read"]}, "name"),
        (
            {"name": "x", "scopes": ["tasks:read"], "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
        (
            {
                "name": "x",
                "scopes": ["tasks:read"],
                "expires_at": _iso(datetime.now(UTC) + timedelta(days=367)),
            },
            "expires_at",
        ),
        ({"name": "x", "scopes": ["tasks:read"], "expires_at": "2027-01-01"}, "expires_at"),
        ({"name": "x", "scopes": ["tasks:read"], "expires_at": 1900000000}, "expires_at"),
        ({"name": "x", "scopes": ["tasks:read"], "token": "todo_pat_chosen"}, "token"),
    ],
)
async def test_bad_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, alice: Account, body: dict[str, Any], field: str
) -> None:
    response = await client.post(URL, headers=alice.headers, json=body)
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}, response.text
    assert (await client.get(URL, headers=alice.headers)).json() == []


async def test_a_names_longest_length_and_a_years_expiry_are_accepted(
    client: httpx.AsyncClient, alice: Account
) -> None:
    created = await make_token(
        client,
        alice,
        ALL,
        name="x" * TOKEN_NAME_MAX,
        expires_at=_iso(datetime.now(UTC) + timedelta(days=365)),
    )
    assert created["scopes"] == ALL


async def test_the_cap_on_tokens_per_account(client: httpx.AsyncClient, alice: Account) -> None:
    for i in range(TOKENS_PER_USER_MAX):
        await make_token(client, alice, ["tasks:read"], name=f"t{i}")
    refused = await client.post(
        URL, headers=alice.headers, json={"name": "one more", "scopes": ALL}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "too_many_tokens"
    first = (await client.get(URL, headers=alice.headers)).json()[-1]
    assert (await client.delete(f"{URL}/{first['id']}", headers=alice.headers)).status_code == 204
    await make_token(client, alice, ["tasks:read"], name="room again")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", URL, {"name": "child", "scopes": ["tasks:read"]}),
        ("GET", URL, None),
        ("DELETE", f"{URL}/{{id}}", None),
        ("POST", "/api/auth/logout-all", None),
        ("DELETE", "/api/auth/me", None),
        ("PATCH", "/api/auth/me", {"current_password": "{password}", "new_password": "new one 12"}),
    ],
)
async def test_only_a_log_in_may_manage_tokens_and_the_account(
    client: httpx.AsyncClient,
    alice: Account,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    created = await make_token(client, alice, ALL)
    url = path.format(id=created["id"])
    if body is not None:
        body = {
            k: v.format(password=alice.password) if k.endswith("password") else v
            for k, v in body.items()
        }
    response = await client.request(method, url, headers=bearer(created["token"]), json=body)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "login_required"
    assert response.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    # Nothing happened: the token, the account and its password are as they were.
    assert (await client.get("/api/auth/me", headers=bearer(created["token"]))).status_code == 200
    assert [t["id"] for t in (await client.get(URL, headers=alice.headers)).json()] == [
        created["id"]
    ]
    login = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert login.status_code == 200


async def test_a_token_with_account_write_changes_name_and_time_zone(
    client: httpx.AsyncClient, alice: Account
) -> None:
    headers = bearer((await make_token(client, alice, ["account:write"]))["token"])
    changed = await client.patch(
        "/api/auth/me", headers=headers, json={"name": "Ada", "timezone": "Europe/Berlin"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["timezone"]) == ("Ada", "Europe/Berlin")
    assert changed.json()["access_token"] is None


async def test_an_expired_token_is_401_token_expired(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    created = await make_token(
        client, alice, ["tasks:read"], expires_at=_iso(datetime.now(UTC) + timedelta(hours=1))
    )
    headers = bearer(created["token"])
    assert (await client.get("/api/me/tasks", headers=headers)).status_code == 200
    await _sql(app, update(AccessToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = await client.get("/api/me/tasks", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"
    # Still listed, so its owner sees why the script stopped, until revoked.
    assert [t["id"] for t in (await client.get(URL, headers=alice.headers)).json()] == [
        created["id"]
    ]


@pytest.mark.parametrize(
    "token",
    [
        "todo_pat_",
        "todo_pat_" + "A" * 42,
        "todo_pat_" + "A" * 44,
        "todo_pat_" + "A" * 42 + "=",
        "todo_pat_" + "A" * 42 + "é",
        "todo_pat_" + "A" * 43,
    ],
)
async def test_malformed_or_unknown_tokens_are_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(
        "/api/me/tasks", headers={"Authorization": f"Bearer {token}".encode()}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def _last_used(app: FastAPI) -> datetime | None:
    ((value,),) = await _sql(app, select(AccessToken.last_used_at))
    assert value is None or isinstance(value, datetime)
    return value


async def test_last_use_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    headers = bearer((await make_token(client, alice, ["tasks:read", "tasks:write"]))["token"])
    assert await _last_used(app) is None
    before = datetime.now(UTC)
    assert (await client.get("/api/me/tasks", headers=headers)).status_code == 200
    first = await _last_used(app)
    assert first is not None
    listed = (await client.get(URL, headers=alice.headers)).json()[0]["last_used_at"]
    assert listed is not None
    assert datetime.fromisoformat(listed) >= before - timedelta(seconds=1)
    # Reads and writes within the minute leave it alone: no write on every request.
    assert (await client.get("/api/me/tasks", headers=headers)).status_code == 200
    assert (await client.post("/api/me/tasks", headers=headers, json={"title": "t"})).is_success
    assert await _last_used(app) == first
    await _sql(app, update(AccessToken).values(last_used_at=first - timedelta(minutes=2)))
    # A writing request records the use in its own transaction.
    assert (await client.post("/api/me/tasks", headers=headers, json={"title": "u"})).is_success
    later = await _last_used(app)
    assert later is not None
    assert later > first - timedelta(minutes=1)


async def test_log_out_everywhere_revokes_tokens_but_a_password_change_does_not(
    client: httpx.AsyncClient, alice: Account
) -> None:
    kept = await make_token(client, alice, ["tasks:read"])
    changed = await client.patch(
        "/api/auth/me",
        headers=alice.headers,
        json={"current_password": alice.password, "new_password": "another password 1"},
    )
    assert changed.status_code == 200, changed.text
    # As on GitHub: scripts keep working through a password change.
    assert (await client.get("/api/me/tasks", headers=bearer(kept["token"]))).status_code == 200
    fresh = bearer(changed.json()["access_token"])
    assert (await client.post("/api/auth/logout-all", headers=fresh)).status_code == 204
    gone = await client.get("/api/me/tasks", headers=bearer(kept["token"]))
    assert gone.status_code == 401
    assert gone.json()["code"] == "invalid_token"
    login = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": "another password 1"}
    )
    assert (await client.get(URL, headers=bearer(login.json()["access_token"]))).json() == []


async def test_deleting_the_account_deletes_its_tokens(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, sign_up: SignUp
) -> None:
    created = await make_token(client, alice, ALL)
    other = await sign_up()
    await make_token(client, other, ["tasks:read"])
    assert (await client.delete("/api/auth/me", headers=alice.headers)).status_code == 204
    response = await client.get("/api/me/tasks", headers=bearer(created["token"]))
    assert response.status_code == 401
    assert await _sql(app, "SELECT user_id FROM access_tokens") == [(other.id,)]
