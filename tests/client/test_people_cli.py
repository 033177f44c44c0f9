"""The people's `todo` commands against a live server: log in, work with tasks, see errors."""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from tests.client.conftest import PASSWORD, Person, Server
from tests.reliability.live import free_port
from todo.accounts.schemas import SCOPES


def _tasks(person: Person, **params: Any) -> list[dict[str, Any]]:
    with person.api() as api:
        response = api.get("/api/me/tasks", params={"status": "all", "limit": 500, **params})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_login_keeps_a_private_token_and_logout_forgets_it(stranger: Person) -> None:
    logged = stranger.ok("login", stranger.server.url, "--email", stranger.email)
    assert stranger.email in logged.stdout
    assert stat.S_IMODE(stranger.config.stat().st_mode) == 0o600
    saved = json.loads(stranger.config.read_text())
    assert saved["url"] == stranger.server.url
    # A personal access token with every scope, named after this computer: never the password.
    assert saved["token"].startswith("todo_pat_")
    assert PASSWORD not in stranger.config.read_text()
    listed = _tokens(stranger)
    assert [t["id"] for t in listed] == [saved["token_id"]]
    assert listed[0]["name"] == f"todo CLI on {socket.gethostname()}"
    assert set(listed[0]["scopes"]) == set(SCOPES)
    with stranger.api() as api:
        assert api.get("/api/auth/me").json()["email"] == stranger.email
    stranger.ok("ls")

    assert "Logged out" in stranger.ok("logout").stdout
    assert not stranger.config.exists()
    assert _tokens(stranger) == []
    revoked = httpx.get(
        f"{stranger.server.url}/api/auth/me",
        headers={"Authorization": f"Bearer {saved['token']}"},
    )
    assert revoked.status_code == 401
    after = stranger.todo("ls")
    assert after.exit_code == 2
    assert "not logged in" in _one_error_line(after.stderr)


def _tokens(person: Person) -> list[dict[str, Any]]:
    login = httpx.post(
        f"{person.server.url}/api/auth/login",
        json={"email": person.email, "password": PASSWORD},
        timeout=30,
    )
    listed = httpx.get(
        f"{person.server.url}/api/auth/tokens",
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=30,
    )
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


def test_logout_asks_for_the_password_or_only_forgets(person: Person) -> None:
    # Without a password (none in the environment, no terminal to ask on) nothing changes.
    blind = person.todo("logout", TODO_PASSWORD=None)
    assert blind.exit_code == 2
    assert "--forget" in _one_error_line(blind.stderr)
    assert person.config.exists()
    wrong = person.todo("logout", TODO_PASSWORD="not my password")
    assert wrong.exit_code == 1
    assert "the login here is kept" in _one_error_line(wrong.stderr)
    assert person.config.exists()
    # A token revoked on the account page meanwhile: logging out still ends cleanly.
    token_id = json.loads(person.config.read_text())["token_id"]
    login = httpx.post(
        f"{person.server.url}/api/auth/login",
        json={"email": person.email, "password": PASSWORD},
        timeout=30,
    )
    gone = httpx.delete(
        f"{person.server.url}/api/auth/tokens/{token_id}",
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=30,
    )
    assert gone.status_code == 204
    assert "Logged out" in person.ok("logout").stdout
    assert not person.config.exists()

    person.ok("login", person.server.url, "--email", person.email)
    # Logging in again replaces the token: one live token per computer, not one per log-in.
    first = json.loads(person.config.read_text())["token_id"]
    person.ok("login", person.server.url, "--email", person.email.upper())
    assert [t["id"] for t in _tokens(person)] == [json.loads(person.config.read_text())["token_id"]]
    assert first not in [t["id"] for t in _tokens(person)]
    forgot = person.ok("logout", "--forget", TODO_PASSWORD=None)
    assert "still works" in forgot.stdout
    assert not person.config.exists()
    assert len(_tokens(person)) == 1


def test_login_asks_for_what_it_is_not_given(stranger: Person) -> None:
    result = stranger.todo(
        "login",
        stranger.server.url + "/",
        input=f"{stranger.email}\n{PASSWORD}\n",
        TODO_PASSWORD=None,
    )
    assert result.exit_code == 0, result.stderr
    # The password is asked without echo: it never shows in what the terminal printed.
    assert PASSWORD not in result.stdout
    assert json.loads(stranger.config.read_text())["url"] == stranger.server.url


def test_a_wrong_password_is_one_line(stranger: Person) -> None:
    result = stranger.todo(
        "login", stranger.server.url, "--email", stranger.email, TODO_PASSWORD="wrong password"
    )
    assert result.exit_code == 1
    assert "password is wrong" in _one_error_line(result.stderr)
    assert not stranger.config.exists()


def test_the_environment_wins_over_the_file(person: Person, tmp_path: Path) -> None:
    token = person.token()
    person.ok("add", "Only via the environment")
    elsewhere = Person(person.server, person.email, tmp_path / "empty", person.runner)
    found = elsewhere.json("ls", TODO_URL=person.server.url, TODO_TOKEN=token)
    assert [task["title"] for task in found] == ["Only via the environment"]
    bogus = elsewhere.todo("ls", TODO_URL=person.server.url, TODO_TOKEN="not-a-token")
    assert bogus.exit_code == 1
    _one_error_line(bogus.stderr)
    # A TODO_URL of another server never gets the stored token.
    other = person.todo("ls", TODO_URL="http://127.0.0.1:9")
    assert other.exit_code == 2
    assert "not logged in" in _one_error_line(other.stderr)


def test_add_ls_done_edit_and_rm(person: Person) -> None:
    rent = person.json("add", "Pay rent every month on the 1st #home !high +Bills")
    assert rent["title"] == "Pay rent"
    assert rent["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    assert rent["tags"] == ["home"]
    assert rent["priority"] == "high"
    lists = {entry["name"]: entry["id"] for entry in person.json("lists")}
    assert rent["list_id"] == lists["Bills"]
    # Words without quotes are one line of text too.
    added = person.ok("add", "Buy", "milk", "tomorrow")
    assert "Buy milk" in added.stdout
    milk = next(t for t in person.json("ls") if t["title"] == "Buy milk")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert milk["due_date"] == tomorrow

    table = person.ok("ls").stdout
    assert "Pay rent" in table
    assert "Buy milk" in table
    assert [t["title"] for t in person.json("ls", "Bills")] == ["Pay rent"]
    assert "Bills" in person.ok("lists").stdout

    person.ok("done", str(milk["id"]))
    assert [t["title"] for t in person.json("ls", "--done")] == ["Buy milk"]
    assert "Buy milk" not in [t["title"] for t in person.json("ls")]
    person.ok("undone", str(milk["id"]))
    assert "Buy milk" in [t["title"] for t in person.json("ls")]

    edited = person.json(
        "edit",
        str(milk["id"]),
        "--title",
        "Buy oat milk",
        "--priority",
        "urgent",
        "--due",
        "2027-01-02",
        "--list",
        "bills",
        "--tag",
        "shop",
        "--add-tag",
        "food",
    )
    assert edited["title"] == "Buy oat milk"
    assert edited["priority"] == "urgent"
    assert edited["due_date"] == "2027-01-02"
    assert edited["list_id"] == lists["Bills"]
    assert edited["tags"] == ["food", "shop"]
    friday = person.json("edit", str(milk["id"]), "--due", "next fri", "--remove-tag", "food")
    assert date.fromisoformat(friday["due_date"]).weekday() == 4
    assert friday["tags"] == ["shop"]
    cleared = person.json("edit", str(milk["id"]), "--due", "none", "--list", "Inbox")
    assert cleared["due_date"] is None
    assert cleared["list_id"] == lists["Inbox"]

    kept = person.todo("rm", str(milk["id"]), input="n\n")
    assert kept.exit_code == 0
    assert "kept" in kept.stdout
    assert milk["id"] in [t["id"] for t in _tasks(person)]
    person.ok("rm", str(milk["id"]), "--yes")
    assert milk["id"] not in [t["id"] for t in _tasks(person)]


def test_views_and_filters(person: Person) -> None:
    person.ok("add", "Alpha today")
    overdue = person.json("add", "Bravo")
    person.ok("edit", str(overdue["id"]), "--due", "2020-01-01")
    person.ok("add", "Charlie in 3 days")
    person.ok("add", "Delta #errand !low")
    echo = person.json("add", "Echo")
    person.ok("done", str(echo["id"]))

    def titles(*args: str) -> set[str]:
        return {task["title"] for task in person.json("ls", *args)}

    assert titles("today") == {"Alpha", "Bravo"}
    assert titles("upcoming") == {"Alpha", "Charlie"}
    assert titles("--tag", "errand") == {"Delta"}
    assert titles("--priority", "low") == {"Delta"}
    assert titles("--search", "charlie") == {"Charlie"}
    assert titles("--done") == {"Echo"}
    assert titles("--all") == {"Alpha", "Bravo", "Charlie", "Delta", "Echo"}
    assert titles() == {"Alpha", "Bravo", "Charlie", "Delta"}
    assert len(person.json("ls", "--limit", "2")) == 2
    unknown = person.todo("ls", "Nowhere")
    assert unknown.exit_code == 2
    assert "no list named 'Nowhere'" in _one_error_line(unknown.stderr)


def test_a_long_title_stays_inside_a_narrow_table(person: Person) -> None:
    person.ok("add", "x" * 200)
    # Markup in a title is text, never styling.
    person.ok("add", "[bold red]Literal[/] #tag")
    out = person.ok("ls", COLUMNS="60").stdout
    assert all(len(line) <= 60 for line in out.splitlines()), out
    assert out.count("x") >= 200
    assert "[bold red]Literal[/]" in out


def test_colour_follows_no_color(person: Person) -> None:
    person.ok("add", "Loud !urgent")
    colour = re.compile(r"\x1b\[(?:[0-9]+;)*3[0-7]m")
    assert colour.search(person.ok("ls", FORCE_COLOR="1", NO_COLOR=None).stdout)
    assert not colour.search(person.ok("ls", FORCE_COLOR="1", NO_COLOR="1").stdout)


def test_refusals_are_one_line_with_the_right_exit_code(person: Person) -> None:
    task = person.json("add", "Target")
    ident = str(task["id"])
    cases: list[tuple[tuple[str, ...], int, str]] = [
        (("edit", ident, "--title", "T" * 300), 1, "at most 200 characters"),
        (("add", "a\x01b"), 1, "control characters"),
        (("add", "y" * 600), 1, "at most 500 characters"),
        (("edit", ident, "--due", "2026-02-30"), 2, "not a date"),
        (("edit", ident, "--due", "when pigs fly"), 2, "cannot read"),
        (("edit", ident), 2, "nothing to change"),
        (("done", "999999999"), 1, "not found"),
        (("done", "abc"), 2, "not a task id"),
        (("done", "99999999999999999999"), 2, "not a task id"),
        (("rm", "0", "--yes"), 2, "not a task id"),
    ]
    for args, code, words in cases:
        result = person.todo(*args)
        assert result.exit_code == code, (args, result.stderr)
        assert words in _one_error_line(result.stderr), (args, result.stderr)
    usage = person.todo("ls", "--priority", "bogus")
    assert usage.exit_code == 2
    assert "Traceback" not in usage.output
    assert person.json("ls")[0]["title"] == "Target"


def _run_todo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "todo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_server_that_is_down_is_one_line(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path),
        "TODO_URL": down,
        "TODO_TOKEN": "whatever",
        "TODO_PASSWORD": PASSWORD,
    }
    for args in (("ls",), ("add", "Milk"), ("done", "1"), ("lists",)):
        result = _run_todo(env, *args)
        assert result.returncode == 1, result.stderr
        assert f"cannot reach the server at {down}" in _one_error_line(result.stderr)
        assert result.stdout == ""
    login = _run_todo(env, "login", down, "--email", "a@example.com")
    assert login.returncode == 1
    assert "cannot reach the server" in _one_error_line(login.stderr)
    config = tmp_path / "todo" / "config.json"
    assert not config.exists()
    # Logging out of a server that is down changes nothing, and says how to only forget.
    config.parent.mkdir()
    config.write_text(json.dumps({"url": down, "token": "secret", "token_id": 7, "email": "a@b.c"}))
    logout = _run_todo({**env, "TODO_URL": "", "TODO_TOKEN": ""}, "logout")
    assert logout.returncode == 1
    assert "cannot reach the server" in _one_error_line(logout.stderr)
    assert "--forget" in logout.stderr
    assert config.exists()


def test_set_password_ends_the_old_tokens(person: Person) -> None:
    operator = {
        "DATABASE_URL": person.server.database_url,
        "DATA_DIR": str(person.server.data_dir),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
    }
    short = person.todo(
        "user", "set-password", person.email, "--password-stdin", input="short\n", **operator
    )
    assert short.exit_code == 2
    assert "at least 8" in _one_error_line(short.stderr)
    unknown = person.todo(
        "user",
        "set-password",
        "nobody@example.com",
        "--password-stdin",
        input="long enough 1\n",
        **operator,
    )
    assert unknown.exit_code == 1
    _one_error_line(unknown.stderr)

    with person.api() as api:
        # A log-in's token, which a password change ends (the stored token is a PAT).
        session_token = httpx.post(
            f"{person.server.url}/api/auth/login",
            json={"email": person.email, "password": PASSWORD},
        ).json()["access_token"]
        person.ok(
            "user",
            "set-password",
            person.email,
            input="a new password\na new password\n",
            **operator,
        )
        assert _me(person, session_token) == 401
        # Personal access tokens survive a password change, as the owner's own change does.
        assert api.get("/api/auth/me").status_code == 200
        person.ok("ls")
        assert person.todo("login", person.server.url, "--email", person.email).exit_code == 1
        changed = person.ok(
            "user",
            "set-password",
            person.email,
            "--password-stdin",
            "--revoke-tokens",
            input="a third password\n",
            **operator,
        )
        assert "personal access tokens" in changed.stdout
        assert api.get("/api/auth/me").status_code == 401
    stale = person.todo("ls")
    assert stale.exit_code == 1
    assert "todo login" in _one_error_line(stale.stderr)
    person.ok("login", person.server.url, "--email", person.email, TODO_PASSWORD="a third password")
    person.ok("ls")


def _me(person: Person, token: str) -> int:
    return httpx.get(
        f"{person.server.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}
    ).status_code


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Its log would go where the command's one line is read."""


def test_an_address_that_is_not_a_todo_server_is_one_line(tmp_path: Path) -> None:
    handler = functools.partial(_QuietFiles, directory=str(tmp_path))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as other:
        thread = threading.Thread(target=other.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{other.server_address[1]}"
            nowhere = Server(url, "none", "", tmp_path)
            person = Person(nowhere, "x@example.com", tmp_path / "cfg", CliRunner())
            result = person.todo("ls", TODO_URL=url, TODO_TOKEN="token")
            login = person.todo("login", url, "--email", "x@example.com")
        finally:
            other.shutdown()
    assert result.exit_code == 1
    assert "is this the address of a Todo server?" in _one_error_line(result.stderr)
    assert login.exit_code == 1
    assert "is this the address of a Todo server?" in _one_error_line(login.stderr)


def test_the_help_names_the_api_choices() -> None:
    from typing import get_args

    from todo.client import commands
    from todo.tasks.schemas import PRIORITIES, SortKey

    # The choices are read from the schemas when parsed; the help's words must keep up.
    assert [w for w in re.split(r"[, ]+", commands._PRIORITY_HELP) if w != "or"] == list(PRIORITIES)
    assert [w for w in re.split(r"[, ]+", commands._SORT_HELP) if w != "or"] == list(
        get_args(SortKey)
    )


def test_a_bad_address_or_config_file_is_one_line(tmp_path: Path) -> None:
    nowhere = Server("http://127.0.0.1:9", "none", "", tmp_path)
    person = Person(nowhere, "x@example.com", tmp_path / "cfg", CliRunner())
    for args, env, words in (
        (("login", "todo.example.com"), {}, "not a server address"),
        (("login", "ftp://todo.example.com"), {}, "not an http:// or https:// address"),
        (("ls",), {"TODO_URL": "nonsense", "TODO_TOKEN": "x"}, "TODO_URL"),
    ):
        result = person.todo(*args, **env)
        assert result.exit_code == 2, (args, result.stderr)
        assert words in _one_error_line(result.stderr)
    person.config.parent.mkdir(parents=True)
    person.config.write_text("{not json")
    broken = person.todo("ls")
    assert broken.exit_code == 2
    assert "run `todo login URL` again" in _one_error_line(broken.stderr)
    person.config.write_text('{"url": "http://127.0.0.1:9"}')
    partial = person.todo("ls")
    assert partial.exit_code == 2
    assert "not a login of this program" in _one_error_line(partial.stderr)
