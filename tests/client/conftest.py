"""The people's commands against a real server: `todo serve` on a free port per backend,
driven through the command's own entry point, as a person at a terminal drives it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.conftest import NewDatabase
from tests.reliability.live import serving_migrated
from todo.cli import app

PASSWORD = "correct horse battery"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"


@dataclass(frozen=True)
class Server:
    url: str
    backend: str
    # What an operator's command on the same database needs.
    database_url: str
    data_dir: Path


@pytest.fixture(scope="session")
def server(
    backend: str, new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"cli-{backend}")
    url = new_database.url()
    with serving_migrated(url, data_dir) as live:
        yield Server(live.base_url, backend, url, data_dir)


@dataclass
class Person:
    """Someone with an account on the server and a config directory of their own."""

    server: Server
    email: str
    home: Path
    runner: CliRunner

    def env(self, **extra: str | None) -> dict[str, str | None]:
        return {
            "XDG_CONFIG_HOME": str(self.home),
            "TODO_PASSWORD": PASSWORD,
            "TODO_URL": None,
            "TODO_TOKEN": None,
            "NO_COLOR": "1",
            "FORCE_COLOR": None,
            "COLUMNS": "100",
            **extra,
        }

    def todo(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        return self.runner.invoke(app, list(args), env=self.env(**env), input=input)

    def ok(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        result = self.todo(*args, input=input, **env)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str, **env: str | None) -> Any:
        import json

        return json.loads(self.ok(*args, "--json", **env).stdout)

    @property
    def config(self) -> Path:
        return self.home / "todo" / "config.json"

    def token(self) -> str:
        import json

        return str(json.loads(self.config.read_text())["token"])

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {self.token()}"}
        )


def sign_up(server: Server) -> str:
    email = f"cli-{uuid.uuid4().hex[:10]}@example.com"
    response = httpx.post(
        f"{server.url}/api/auth/signup",
        json={"email": email, "password": PASSWORD, "name": "Cli"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return email


@pytest.fixture
def stranger(server: Server, tmp_path: Path) -> Person:
    """An account that has not logged in yet."""
    return Person(server, sign_up(server), tmp_path / "config", CliRunner())


@pytest.fixture
def person(stranger: Person) -> Person:
    """An account logged in with `todo login`."""
    stranger.ok("login", stranger.server.url, "--email", stranger.email)
    return stranger
