"""Token attacks at the HTTP surface: every protected route refuses them with 401, and a
refused request changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET, Account
from tests.security.support import bearer, client_for, running
from todo.core.config import Settings

Forge = Callable[[Account], str]


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(account: Account, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": account.id, "iat": now, "nbf": now, "exp": now + 600, "sv": 0} | changes


def _sign(claims: dict[str, Any], key: str = TEST_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def _hs512(claims: dict[str, Any]) -> str:
    # By hand: PyJWT warns about a 42-byte key for HS512, and the point is that it is our key.
    signing_input = f"{_b64({'alg': 'HS512', 'typ': 'JWT'})}.{_b64(claims)}"
    digest = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{_b64(digest)}"


def _unsigned(account: Account, alg: str) -> str:
    return f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(_claims(account))}."


def _tampered(account: Account) -> str:
    header, _, signature = account.token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(account.token.split(".")[1] + "=="))
    payload["sv"] = 7
    return f"{header}.{_b64(payload)}.{signature}"


def _other_users_signature(account: Account) -> str:
    # Alice's real signature over a payload that says "Bob": the signature must not follow.
    header, payload, signature = account.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    return f"{header}.{_b64(claims)}.{signature}"


ATTACKS: dict[str, tuple[Forge, str]] = {
    "alg none": (lambda a: _unsigned(a, "none"), "invalid_token"),
    "alg None": (lambda a: _unsigned(a, "None"), "invalid_token"),
    "alg none with the real signature": (
        lambda a: _unsigned(a, "none") + a.token.split(".")[2],
        "invalid_token",
    ),
    "tampered payload": (_tampered, "invalid_token"),
    "signature moved to another subject": (_other_users_signature, "invalid_token"),
    "wrong key": (lambda a: _sign(_claims(a), key="x" * 48), "invalid_token"),
    "HS512 with the right key": (lambda a: _hs512(_claims(a)), "invalid_token"),
    "expired": (
        lambda a: _sign(_claims(a, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
        "token_expired",
    ),
    "not valid before an hour from now": (
        lambda a: _sign(_claims(a, nbf=int(time.time()) + 3600)),
        "token_not_yet_valid",
    ),
    "issued in the future": (
        lambda a: _sign(_claims(a, iat=int(time.time()) + 3600)),
        "token_not_yet_valid",
    ),
    "no expiry": (
        lambda a: _sign({k: v for k, v in _claims(a).items() if k != "exp"}),
        "invalid_token",
    ),
    "no subject": (
        lambda a: _sign({k: v for k, v in _claims(a).items() if k != "sub"}),
        "invalid_token",
    ),
    "session version as a boolean": (lambda a: _sign(_claims(a, sv=False)), "invalid_token"),
    "garbage": (lambda a: "not.a.token", "invalid_token"),
}

PROTECTED = [
    ("GET", "/api/auth/me", None),
    ("PATCH", "/api/auth/me", {"name": "Mallory"}),
    ("POST", "/api/auth/logout-all", None),
    ("GET", "/api/me/tasks", None),
    ("POST", "/api/me/tasks", {"title": "planted"}),
    ("POST", "/api/me/lists", {"name": "planted"}),
    ("GET", "/api/me/tags", None),
    ("DELETE", "/api/auth/me", None),
]


async def _unchanged(client: httpx.AsyncClient, account: Account) -> None:
    me = await client.get("/api/auth/me", headers=account.headers)
    assert me.status_code == 200
    assert me.json()["name"] == "Test"
    assert (await client.get("/api/me/tasks", headers=account.headers)).json() == []
    lists = await client.get("/api/me/lists", headers=account.headers)
    assert [item["name"] for item in lists.json()] == ["Inbox"]


def _refused(response: httpx.Response, code: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    if code is not None:
        assert response.json()["code"] == code


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_forged_tokens_are_refused_everywhere(
    client: httpx.AsyncClient, alice: Account, attack: str
) -> None:
    forge, code = ATTACKS[attack]
    token = forge(alice)
    for method, path, body in PROTECTED:
        _refused(await client.request(method, path, headers=bearer(token), json=body), code)
    await _unchanged(client, alice)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
        {"Authorization": "Token abc"},
    ],
)
async def test_missing_or_other_schemes(
    client: httpx.AsyncClient, alice: Account, headers: dict[str, str]
) -> None:
    for method, path, body in PROTECTED:
        _refused(await client.request(method, path, headers=headers, json=body))
    await _unchanged(client, alice)


async def test_non_ascii_token(client: httpx.AsyncClient, alice: Account) -> None:
    raw = f"Bearer {alice.token[:-2]}é".encode("latin-1")
    _refused(await client.get("/api/auth/me", headers={"Authorization": raw}), "invalid_token")


async def test_a_token_in_the_query_string_is_not_read(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for name in ("access_token", "token"):
        _refused(await client.get("/api/auth/me", params={name: alice.token}))


async def test_token_of_a_deleted_user(client: httpx.AsyncClient, alice: Account) -> None:
    assert (await client.delete("/api/auth/me", headers=alice.headers)).status_code == 204
    for method, path, body in PROTECTED:
        _refused(await client.request(method, path, headers=alice.headers, json=body), "user_gone")
    # A new account with the same address is somebody else: the old token stays dead.
    again = await client.post(
        "/api/auth/signup", json={"email": alice.email, "password": alice.password}
    )
    assert again.status_code == 201
    _refused(await client.get("/api/auth/me", headers=alice.headers), "user_gone")


async def test_tokens_issued_before_logout_all(client: httpx.AsyncClient, alice: Account) -> None:
    second = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": alice.password}
    )
    tokens = [alice.token, second.json()["access_token"]]
    assert (await client.post("/api/auth/logout-all", headers=alice.headers)).status_code == 204
    for token in tokens:
        for method, path, body in PROTECTED:
            _refused(
                await client.request(method, path, headers=bearer(token), json=body),
                "token_revoked",
            )
    fresh = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert (
        await client.get("/api/auth/me", headers=bearer(fresh.json()["access_token"]))
    ).status_code == 200


async def test_audience_and_issuer_when_configured(
    client: httpx.AsyncClient, settings: Settings, alice: Account
) -> None:
    strict = {"auth_audience": "todo-api", "auth_issuer": "https://auth.example.com"}
    good = {"aud": "todo-api", "iss": "https://auth.example.com"}
    async with running(settings, **strict) as app, client_for(app) as http:
        ok = await http.get("/api/auth/me", headers=bearer(_sign(_claims(alice, **good))))
        assert ok.status_code == 200
        cases = {
            "invalid_audience": [
                _claims(alice, **{**good, "aud": "another-api"}),
                _claims(alice, iss=good["iss"]),
            ],
            "invalid_issuer": [
                _claims(alice, **{**good, "iss": "https://evil.example.com"}),
                _claims(alice, aud=good["aud"]),
            ],
        }
        for code, claim_sets in cases.items():
            for claims in claim_sets:
                _refused(await http.get("/api/auth/me", headers=bearer(_sign(claims))), code)
        # Tokens the app issues itself carry both claims and are accepted.
        login = await http.post(
            "/api/auth/login", json={"email": alice.email, "password": alice.password}
        )
        issued = jwt.decode(login.json()["access_token"], options={"verify_signature": False})
        assert issued["aud"] == "todo-api"
        assert issued["iss"] == "https://auth.example.com"
