"""The `todo` command as an operator runs it: a real process on a real database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET, NewDatabase


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "AUTH_SECRET": TEST_SECRET,
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_TIME_COST": "1",
    }


def _todo(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "todo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=input,
    )


def test_db_and_user_commands(new_database: NewDatabase, tmp_path: Path) -> None:
    env = _env(new_database.url(), tmp_path)
    assert "empty database" in _todo(env, "db", "current").stdout
    assert _todo(env, "db", "upgrade").returncode == 0
    assert "(head)" in _todo(env, "db", "current").stdout
    check = _todo(env, "db", "check")
    assert check.returncode == 0, check.stderr
    created = _todo(
        env, "user", "create", "Op@Example.com", "--name", "Op", "--password", "longenough1"
    )
    assert created.returncode == 0, created.stderr
    user_id = created.stdout.strip()
    duplicate = _todo(env, "user", "create", "op@example.com", "--password", "longenough1")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    short = _todo(env, "user", "create", "x@example.com", "--password", "short")
    assert short.returncode == 2
    assert "password" in short.stderr
    listed = _todo(env, "user", "list")
    assert listed.stdout.strip() == f"{user_id}\top@example.com\tOp"
    assert _todo(env, "user", "delete", "op@example.com", "--yes").returncode == 0
    assert _todo(env, "user", "list").stdout.strip() == ""
    assert _todo(env, "user", "delete", "op@example.com", "--yes").returncode == 1
    assert _todo(env, "db", "downgrade", "base").returncode == 0


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["db"], ["db", "upgrade"], ["user"], ["user", "create"]]
)
def test_help_everywhere(command: list[str], tmp_path: Path) -> None:
    result = _todo(_env("sqlite:///x.db", tmp_path), *command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "todo", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health in 30 s"
            time.sleep(0.05)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def test_serve_migrates_sqlite_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path}/data/todo.db", tmp_path / "data")
    port = _free_port()
    with _serving(env, port) as base:
        signup = httpx.post(
            f"{base}/api/auth/signup", json={"email": "keep@example.com", "password": "longenough"}
        )
        assert signup.status_code == 201
        token = signup.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            httpx.post(f"{base}/api/me/tasks", headers=headers, json={"title": "stay"}).status_code
            == 201
        )
        assert httpx.get(f"{base}/health/ready").status_code == 200
        docs = httpx.get(f"{base}/docs")
        assert docs.status_code == 200
        assert "/static/vendor/swagger-ui-bundle.js" in docs.text
    with _serving(env, port) as base:
        listed = httpx.get(f"{base}/api/me/tasks", headers=headers)
        assert [t["title"] for t in listed.json()] == ["stay"]
