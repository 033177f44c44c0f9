"""Against a real Better Auth server from npm (tests/interop/better_auth_server.mjs): its
email/password sign-in and JWT plugin tokens open our API, its JWKS is fetched and its key
rotations followed, its session-cache JWT is refused, and an outage of it signs nobody out."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.conftest import ADMIN_URL
from tests.security.support import bearer, client_for, running
from todo.core.config import Settings

ROOT = Path(__file__).parents[2]
SCRIPT = Path(__file__).with_name("better_auth_server.mjs")
START_TIMEOUT = 60.0
PASSWORD = "correct horse battery"


@dataclass
class BetterAuth:
    url: str
    process: subprocess.Popen[str]

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/api/auth/jwks"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@contextmanager
def better_auth_server() -> Iterator[BetterAuth]:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the Better Auth interop tests"
    assert (ROOT / "node_modules" / "better-auth").is_dir(), "run `npm ci` first"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BETTER_AUTH_SECRET": secrets.token_urlsafe(48),
        "PG_ADMIN_URL": ADMIN_URL,
        "NODE_ENV": "test",
    }
    process = subprocess.Popen(
        [node, str(SCRIPT)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    server: BetterAuth | None = None
    try:
        assert process.stdout is not None
        # The script prints its address once it listens (a blocking read, not a sleep).
        line = process.stdout.readline()
        assert line, f"the Better Auth server exited with {process.wait(timeout=10)}"
        server = BetterAuth(url=json.loads(line)["url"], process=process)
        _wait_healthy(server.url)
        yield server
    finally:
        if server is not None:
            server.stop()
        elif process.poll() is None:
            process.kill()
            process.wait()


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=2.0) as http:
        while True:
            try:
                if http.get(f"{url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the Better Auth server never became healthy"


@dataclass
class BetterAuthUser:
    email: str
    name: str
    cookies: httpx.Cookies
    session_cache_jwt: str


async def _sign_up_and_in(server: BetterAuth, name: str = "Ada Lovelace") -> BetterAuthUser:
    email = f"ba-{uuid.uuid4().hex[:10]}@example.com"
    origin = {"Origin": server.url}
    async with httpx.AsyncClient(base_url=server.url, headers=origin) as http:
        signed_up = await http.post(
            "/api/auth/sign-up/email", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert signed_up.status_code == 200, signed_up.text
        http.cookies.clear()
        signed_in = await http.post(
            "/api/auth/sign-in/email", json={"email": email, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        return BetterAuthUser(email, name, http.cookies, _session_cache(signed_in))


def _session_cache(response: httpx.Response) -> str:
    """The session-cache JWT of Better Auth's `session_data` cookie, chunks joined."""
    parts = {
        name: value
        for name, value in response.cookies.items()
        if name == "better-auth.session_data" or name.startswith("better-auth.session_data.")
    }
    assert parts, "Better Auth set no session_data cookie"
    if "better-auth.session_data" in parts:
        return parts["better-auth.session_data"]
    return "".join(parts[name] for name in sorted(parts, key=lambda n: int(n.rsplit(".", 1)[1])))


async def _jwt(server: BetterAuth, user: BetterAuthUser) -> str:
    async with httpx.AsyncClient(base_url=server.url, cookies=user.cookies) as http:
        response = await http.get("/api/auth/token")
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def _rotate(server: BetterAuth) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/test/rotate-key")
    assert response.status_code == 200, response.text
    kid: str = response.json()["kid"]
    return kid


AppFor = Callable[..., Any]


@pytest.fixture(scope="module")
def better_auth() -> Iterator[BetterAuth]:
    with better_auth_server() as server:
        yield server


@pytest.fixture
def app_for(
    settings: Settings, client: httpx.AsyncClient
) -> Callable[..., Any]:  # `client` empties the tables afterwards
    @asynccontextmanager
    async def make(server: BetterAuth, **overrides: Any) -> AsyncIterator[FastAPI]:
        async with running(
            settings,
            auth_jwks_url=server.jwks_url,
            auth_issuer=server.url,
            auth_audience=server.url,
            **overrides,
        ) as app:
            yield app

    return make


async def test_a_better_auth_token_opens_the_api_and_creates_the_account_once(
    better_auth: BetterAuth, app_for: AppFor
) -> None:
    user = await _sign_up_and_in(better_auth)
    token = await _jwt(better_auth, user)
    async with app_for(better_auth) as app, client_for(app) as http:
        me = await http.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 200, me.text
        assert me.json()["email"] == user.email
        assert me.json()["name"] == user.name
        user_id = me.json()["id"]
        assert user_id == jwt.decode(token, options={"verify_signature": False})["sub"]

        created = await http.post(
            f"/api/{user_id}/tasks", headers=bearer(token), json={"title": "from Better Auth"}
        )
        assert created.status_code == 201, created.text
        again = await http.get("/api/me/tasks", headers=bearer(await _jwt(better_auth, user)))
        assert [task["title"] for task in again.json()] == ["from Better Auth"]


async def test_key_rotation_is_followed(better_auth: BetterAuth, app_for: AppFor) -> None:
    user = await _sign_up_and_in(better_auth)
    before = await _jwt(better_auth, user)
    async with app_for(better_auth) as app, client_for(app) as http:
        assert (await http.get("/api/auth/me", headers=bearer(before))).status_code == 200

        kid = await _rotate(better_auth)
        after = await _jwt(better_auth, user)

        assert jwt.get_unverified_header(after)["kid"] == kid
        assert (await http.get("/api/auth/me", headers=bearer(after))).status_code == 200
        # The old key is still published, so its tokens keep working until they expire.
        assert (await http.get("/api/auth/me", headers=bearer(before))).status_code == 200


async def test_the_session_cache_jwt_is_refused(better_auth: BetterAuth, app_for: AppFor) -> None:
    user = await _sign_up_and_in(better_auth)
    header = jwt.get_unverified_header(user.session_cache_jwt)
    assert header["typ"] == "better-auth.session-cache+jwt"
    async with app_for(better_auth) as app, client_for(app) as http:
        refused = await http.get("/api/auth/me", headers=bearer(user.session_cache_jwt))

        assert refused.status_code == 401
        assert refused.json()["code"] == "not_an_access_token"


async def test_a_deleted_account_stays_deleted(better_auth: BetterAuth, app_for: AppFor) -> None:
    user = await _sign_up_and_in(better_auth)
    async with app_for(better_auth) as app, client_for(app) as http:
        token = await _jwt(better_auth, user)
        assert (await http.delete("/api/auth/me", headers=bearer(token))).status_code == 204

        refused = await http.get("/api/auth/me", headers=bearer(await _jwt(better_auth, user)))

        assert refused.status_code == 401
        assert refused.json()["code"] == "user_gone"


async def test_with_the_server_down_cached_keys_work_and_an_unknown_key_is_503(
    app_for: AppFor,
) -> None:
    with better_auth_server() as server:
        user = await _sign_up_and_in(server)
        known = await _jwt(server, user)
        # Every request refreshes the key set: the outage is met at once, not after 10 min.
        no_cache = timedelta(0)
        async with app_for(server, auth_jwks_cache_ttl=no_cache) as app, client_for(app) as http:
            assert (await http.get("/api/auth/me", headers=bearer(known))).status_code == 200
            await _rotate(server)
            unseen = await _jwt(server, user)

            server.stop()

            still = await http.get("/api/auth/me", headers=bearer(known))
            assert still.status_code == 200, still.text
            unavailable = await http.get("/api/auth/me", headers=bearer(unseen))
            assert unavailable.status_code == 503, unavailable.text
            assert unavailable.headers["content-type"] == "application/problem+json"
            assert unavailable.json()["code"] == "jwks_unavailable"
            assert int(unavailable.headers["retry-after"]) >= 1
