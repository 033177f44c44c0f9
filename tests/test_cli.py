"""The `todo` command as an operator runs it: a real process on a real database."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from tests.conftest import ADMIN_URL, TEST_SECRET, NewDatabase
from todo.core.config import normalize_database_url
from todo.migrations import HEAD


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
    purged = _todo(env, "trash", "purge")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.strip() == "purged 0 task(s) deleted more than 30 days ago"
    assert _todo(env, "db", "downgrade", "base").returncode == 0


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["db"],
        ["db", "upgrade"],
        ["user"],
        ["user", "create"],
        ["trash", "purge"],
        ["user", "set-password"],
        ["login"],
        ["ls"],
        ["import-tasks"],
    ],
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


def test_a_new_sqlite_file_from_an_env_file_with_empty_lines(tmp_path: Path) -> None:
    """The first command on a new machine: empty `.env` lines mean the defaults, and the
    default SQLite file (./data/todo.db) gets its schema as `todo serve` would give it."""
    (tmp_path / ".env").write_text(
        "DATABASE_URL=\nDATA_DIR=\nREDIS_URL=\nAUTH_JWKS_URL=\nCORS_ORIGINS=\nLOG_LEVEL=\n"
    )
    env = {
        key: value
        for key, value in _env("unused", tmp_path).items()
        if key not in ("DATABASE_URL", "DATA_DIR")
    }
    created = subprocess.run(
        [sys.executable, "-m", "todo", "user", "create", "new@example.com", "--password", "x" * 8],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    assert "Traceback" not in created.stderr
    assert (tmp_path / "data" / "todo.db").exists()
    listed = subprocess.run(
        [sys.executable, "-m", "todo", "user", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.stdout == f"{created.stdout.strip()}\tnew@example.com\t\n"


def test_a_worker_on_a_postgresql_database_without_schema_says_so(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    if new_database.backend != "postgres":
        pytest.skip("SQLite is migrated first, as by every command")
    result = _todo(_env(new_database.url(), tmp_path), "worker")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: the database has no schema yet: run `todo db upgrade` first\n"


def test_a_missing_or_older_schema(new_database: NewDatabase, tmp_path: Path) -> None:
    """SQLite is brought to the newest revision; PostgreSQL, where migrating is a release
    step, gets one line saying what to run."""
    env = _env(new_database.url(), tmp_path)
    empty = _todo(env, "user", "list")
    if new_database.backend == "postgres":
        assert (empty.returncode, empty.stdout) == (1, "")
        assert (
            empty.stderr == "error: the database has no schema yet: run `todo db upgrade` first\n"
        )
    else:
        assert (empty.returncode, empty.stdout) == (0, "")
        assert _todo(env, "db", "downgrade", "0004_idempotency").returncode == 0
    if new_database.backend == "postgres":
        assert _todo(env, "db", "upgrade", "0004_idempotency").returncode == 0
    behind = _todo(env, "user", "create", "a@example.com", "--password", "longenough1")
    if new_database.backend == "postgres":
        assert (behind.returncode, behind.stdout) == (1, "")
        assert behind.stderr == (
            f"error: the database schema is at revision 0004_idempotency, behind {HEAD}: "
            "run `todo db upgrade`\n"
        )
        assert _todo(env, "db", "upgrade").returncode == 0
        behind = _todo(env, "user", "create", "a@example.com", "--password", "longenough1")
    assert behind.returncode == 0, behind.stderr
    assert "(head)" in _todo(env, "db", "current").stdout


def _pg(database: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def _shown(url: str) -> str:
    return make_url(normalize_database_url(url).url).render_as_string(hide_password=True)


REFUSED = "postgresql://postgres:pw@127.0.0.1:1/todo"
MISSING = _pg("todo_no_such_database")


@pytest.mark.parametrize(
    ("url", "args", "code", "line"),
    [
        (
            REFUSED,
            ["user", "list"],
            1,
            f"cannot connect to the database {_shown(REFUSED)}: "
            "[Errno 111] Connect call failed ('127.0.0.1', 1)",
        ),
        (
            REFUSED,
            ["db", "current"],
            1,
            f"cannot connect to the database {_shown(REFUSED)}: "
            "[Errno 111] Connect call failed ('127.0.0.1', 1)",
        ),
        (
            MISSING,
            ["user", "create", "a@example.com", "--password", "longenough1"],
            1,
            f'cannot use the database {_shown(MISSING)}: database "todo_no_such_database" '
            "does not exist",
        ),
        (
            "sqlite:////proc/no/such/dir/todo.db",
            ["user", "list"],
            1,
            "cannot connect to the database sqlite+aiosqlite:////proc/no/such/dir/todo.db: "
            "[Errno 2] No such file or directory: '/proc/no'",
        ),
        (
            "mysql://u@h/db",
            ["user", "list"],
            2,
            "DATABASE_URL: unsupported database scheme 'mysql'; use postgresql:// or sqlite://",
        ),
        (
            None,
            ["user", "delete", "nobody@example.com", "--yes"],
            1,
            "no account with the email address nobody@example.com",
        ),
        (
            None,
            ["export", "--out", "x.json", "--user", "nobody@example.com"],
            1,
            "no account with the email address nobody@example.com",
        ),
        (
            None,
            ["db", "downgrade", "nonsense"],
            1,
            "Can't locate revision identified by 'nonsense'",
        ),
        (
            None,
            ["user", "create", "not-an-address", "--password", "longenough1"],
            2,
            "email: value is not a valid email address: An email address must have an @-sign.",
        ),
        (
            None,
            ["import", "no-such-file.json"],
            2,
            "cannot read no-such-file.json: No such file or directory",
        ),
    ],
    ids=[
        "postgres-refused",
        "postgres-refused-migrations",
        "postgres-missing-database",
        "sqlite-unopenable",
        "bad-url",
        "unknown-user",
        "unknown-user-export",
        "unknown-revision",
        "bad-email",
        "missing-file",
    ],
)
def test_expected_failures_are_one_line(
    url: str | None, args: list[str], code: int, line: str, tmp_path: Path
) -> None:
    env = _env(url or f"sqlite:///{tmp_path}/todo.db", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "todo", *args],
        env={**env, "LOG_LEVEL": "warning"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (code, "")
    errors = [text for text in result.stderr.splitlines() if not text.startswith("INFO ")]
    assert errors == [f"error: {line}"]


def test_a_duplicate_email_and_a_database_from_a_newer_todo(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path}/todo.db", tmp_path)
    assert (
        _todo(env, "user", "create", "a@example.com", "--password", "longenough1").returncode == 0
    )
    again = _todo(env, "user", "create", "A@example.com", "--password", "longenough1")
    assert (again.returncode, again.stderr) == (
        1,
        "error: An account with this email address already exists.\n",
    )
    with sqlite3.connect(tmp_path / "todo.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    newer = _todo(env, "user", "list")
    assert (newer.returncode, newer.stderr) == (
        1,
        "error: the database schema is at revision 0099_from_the_future, which this version "
        f"of todo does not know (it needs {HEAD}): was it upgraded by a newer todo?\n",
    )


def test_a_restored_download_logs_in_once_an_operator_sets_a_password(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    # The web app's "download my data" has no password hash: restored as it is, the account
    # exists but nobody can log in to it until an operator gives it a password.
    download = Path(__file__).parent / "fixtures" / "imports" / "download.json"
    env = _env(new_database.url(), tmp_path)
    restored = _todo(env, "import", str(download))
    assert restored.returncode == 0, restored.stderr
    assert "no password (ada@example.com)" in restored.stderr
    assert "todo user set-password" in restored.stderr
    changed = _todo(
        env, "user", "set-password", "ada@example.com", "--password-stdin", input="ada's secret\n"
    )
    assert changed.returncode == 0, changed.stderr
    with _serving(env, _free_port()) as base:
        login = httpx.post(
            f"{base}/api/auth/login",
            json={"email": "ada@example.com", "password": "ada's secret"},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        tasks = httpx.get(
            f"{base}/api/me/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert {task["title"] for task in tasks.json()} >= {"File taxes", "Call the bank"}
