"""Test fixtures: every database test runs on SQLite and on the machine's PostgreSQL.

Each backend gets a database of its own, built by the migrations; tables are emptied
after every test. Set TEST_POSTGRES_URL to point elsewhere, and TODO_REQUIRE_POSTGRES=1
(as CI does) to turn an unreachable PostgreSQL into a failure instead of a skip.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from todo import migrations
from todo.app import create_app
from todo.core.config import Settings, load_settings

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("TODO_REQUIRE_POSTGRES", "") not in ("", "0")
TEST_SECRET = "test-secret-that-is-long-enough-0123456789"
WEBHOOK_HOST = "hooks.invalid"
WEBHOOK_URL = f"http://{WEBHOOK_HOST}/hook"
TABLES = (
    "webhook_deliveries",
    "webhooks",
    "caldav_objects",
    "caldav_collections",
    "app_passwords",
    "access_tokens",
    "reminder_deliveries",
    "push_subscriptions",
    "notification_settings",
    "events",
    "list_links",
    "list_invitations",
    "list_members",
    "deleted_accounts",
    "idempotency_keys",
    "web_sessions",
    "task_tags",
    "tags",
    "tasks",
    "lists",
    "users",
)


async def _probe_postgres() -> str | None:
    try:
        connection = await asyncpg.connect(ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"{error.__class__.__name__}: {error}"
    await connection.close()
    return None


def pytest_configure(config: pytest.Config) -> None:
    problem = asyncio.run(_probe_postgres())
    config.stash[_PG_PROBLEM] = problem
    if problem and REQUIRE_POSTGRES:
        raise pytest.UsageError(
            f"PostgreSQL is required but not reachable at {ADMIN_URL}: {problem}"
        )


_PG_PROBLEM = pytest.StashKey[str | None]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.stash[_PG_PROBLEM]:
        return
    postgres = [i for i in items if "postgres" in getattr(i, "callspec", _NoSpec).id.split("-")]
    if postgres:
        config.hook.pytest_deselected(items=postgres)
        items[:] = [i for i in items if i not in postgres]


class _NoSpec:
    id = ""


def pytest_report_header(config: pytest.Config) -> str:
    problem = config.stash[_PG_PROBLEM]
    if problem:
        return (
            f"PostgreSQL not reachable at {ADMIN_URL}: skipping every PostgreSQL test ({problem})"
        )
    return f"PostgreSQL: {ADMIN_URL}"


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    defaults: dict[str, Any] = {
        "auth_secret": TEST_SECRET,
        "app_env": "test",
        # Cheap hashes keep the suite fast; the parameters are not what is under test.
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
        # The whole suite signs up from one address; tests/security sets tight limits.
        "auth_rate_per_account": 1_000_000,
        "auth_rate_per_address": 1_000_000,
        # No job worker in the app under test unless a test asks for one.
        "jobs_in_process": "never",
        # A webhook target the sweeps may save without sending anything anywhere: the name is
        # allowed, and .invalid never resolves, so a delivery to it fails at once.
        "webhook_allow_private": WEBHOOK_HOST,
    }
    return load_settings(database_url=database_url, data_dir=data_dir, **{**defaults, **overrides})


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class NewDatabase:
    """Makes empty databases on the backend under test and drops them afterwards."""

    backend: str
    root: Path
    created: list[str]

    def url(self) -> str:
        name = f"todo_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.root / name}.db"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def new_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewDatabase]:
    factory = NewDatabase(backend, tmp_path_factory.mktemp(backend), [])
    yield factory
    for name in factory.created:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    result = make_settings(new_database.url(), tmp_path_factory.mktemp("data"))
    migrations.upgrade(result)
    return result


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    async with app.state.db.engine.begin() as connection:
        for table in TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


SignUp = Callable[..., Awaitable[Account]]


@pytest.fixture
def sign_up(client: httpx.AsyncClient) -> SignUp:
    async def make(email: str | None = None, password: str = "correct horse 1") -> Account:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = await client.post(
            "/api/auth/signup", json={"email": email, "password": password, "name": "Test"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(body["user"]["id"], email, password, body["access_token"])

    return make


@pytest.fixture
async def alice(sign_up: SignUp) -> Account:
    return await sign_up("alice@example.com")


@pytest.fixture
async def bob(sign_up: SignUp) -> Account:
    return await sign_up("bob@example.com")
