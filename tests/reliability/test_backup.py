"""Backup and restore: `todo export` then `todo import` into an empty database gives back
everything the API showed before, on both databases."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import NewDatabase, make_settings
from tests.reliability.live import server_env
from todo import migrations
from todo.app import create_app
from todo.core.config import Settings

PASSWORD = "correct horse 1"


@asynccontextmanager
async def _api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def _database(new_database: NewDatabase, data_dir: Path, *, migrate: bool) -> Settings:
    """A database of its own (made in a thread: its helpers run event loops of their own)."""

    def make() -> Settings:
        settings = make_settings(new_database.url(), data_dir)
        if migrate:
            migrations.upgrade(settings)
        return settings

    return await asyncio.to_thread(make)


async def _todo(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = server_env(settings.database_url, settings.data_dir)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "todo",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    login = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _populate(http: httpx.AsyncClient, email: str, flavour: str) -> None:
    signup = await http.post(
        "/api/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "name": f"Ünïcode {flavour}",
            "timezone": "Europe/Berlin",
        },
    )
    assert signup.status_code == 201
    headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await http.post(path, headers=headers, json=body)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    work = await post("/api/me/lists", {"name": f"Work {flavour}", "color": "#4f46e5"})
    await post("/api/me/lists", {"name": "Errands"})
    plain = await post("/api/me/tasks", {"title": f"Plain {flavour}", "description": "d\n😀"})
    await post(
        "/api/me/tasks",
        {
            "title": "Timed",
            "list_id": work["id"],
            "due_at": "2030-05-01T15:30:00+02:00",
            "remind_at": "2020-01-01T08:00:00Z",
            "priority": "urgent",
            "tags": ["Deep Work", "urgent"],
        },
    )
    recurring = await post(
        "/api/me/tasks",
        {
            "title": "Water plants",
            "due_date": "2026-01-05",
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
            "tags": ["home"],
        },
    )
    completed = await http.patch(
        f"/api/me/tasks/{recurring['id']}/complete", headers=headers, json={"completed": True}
    )
    assert completed.status_code == 200
    await post(
        "/api/me/tasks/quick", {"text": f"Call Sam tomorrow 5pm #phone !high +Errands {flavour}"}
    )
    moved = await http.post(
        f"/api/me/tasks/{plain['id']}/move", headers=headers, json={"list_id": work["id"]}
    )
    assert moved.status_code == 200
    renamed = await http.put(
        f"/api/me/tasks/{plain['id']}", headers=headers, json={"title": "Edited"}
    )
    assert renamed.status_code == 200
    deleted = await post("/api/me/tasks", {"title": "Deleted later"})
    assert (await http.delete(f"/api/me/tasks/{deleted['id']}", headers=headers)).status_code == 204


async def _everything(http: httpx.AsyncClient, email: str) -> dict[str, Any]:
    headers = await _token(http, email)
    seen: dict[str, Any] = {}
    for path in (
        "/api/auth/me",
        "/api/me/lists",
        "/api/me/tags",
        "/api/me/reminders/due",
        "/api/me/tasks?status=all&limit=500",
        "/api/me/tasks?status=all&sort=manual&limit=500",
        "/api/me/tasks?q=plants",
        "/api/me/tasks?tag=home&status=all",
        # The trash is part of the backup: restorable after a restore, its 30 days kept.
        "/api/me/trash",
    ):
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, response.text
        seen[path] = response.json()
    for task in seen["/api/me/tasks?status=all&limit=500"]:
        one = await http.get(f"/api/me/tasks/{task['id']}", headers=headers)
        seen[f"task {task['id']}"] = (one.json(), one.headers["etag"])
    for found in seen["/api/me/lists"] + seen["/api/me/tags"]:
        kind = "lists" if "is_inbox" in found else "tags"
        one = await http.get(f"/api/me/{kind}/{found['id']}", headers=headers)
        seen[f"{kind} {found['id']}"] = one.json()
    return seen


async def test_export_then_import_is_lossless(new_database: NewDatabase, tmp_path: Path) -> None:
    source = await _database(new_database, tmp_path / "a", migrate=True)
    target = await _database(new_database, tmp_path / "b", migrate=False)
    emails = ["ada@example.com", "grace@example.com"]
    async with _api(source) as http:
        for n, email in enumerate(emails):
            await _populate(http, email, str(n))
        before = {email: await _everything(http, email) for email in emails}
    assert len(before[emails[0]]["/api/me/tasks?status=all&limit=500"]) == 5
    assert [t["title"] for t in before[emails[0]]["/api/me/trash"]] == ["Deleted later"]

    backup = tmp_path / "backup.json"
    code, _, err = await _todo(source, "export", "--out", str(backup))
    assert code == 0, err
    assert backup.stat().st_mode & 0o777 == 0o600
    document = json.loads(backup.read_text())
    assert document["format"] == "todo-export"
    assert document["version"] == 1
    assert all(entry["user"]["password_hash"].startswith("$argon2") for entry in document["users"])

    code, out, err = await _todo(target, "import", str(backup))
    assert code == 0, err
    # 10 live tasks and the 2 in the trash (one per account).
    assert "imported 2 account(s) and 12 task(s)" in out

    async with _api(target) as http:
        after = {email: await _everything(http, email) for email in emails}
        assert after == before
        # New rows get ids after the restored ones: the sequences moved on.
        headers = await _token(http, emails[0])
        created = await http.post("/api/me/tasks", headers=headers, json={"title": "new"})
        assert created.status_code == 201
        highest = max(
            task["id"] for task in before[emails[1]]["/api/me/tasks?status=all&limit=500"]
        )
        assert created.json()["id"] > highest
        listed = await http.post("/api/me/lists", headers=headers, json={"name": "new"})
        assert listed.status_code == 201

    again = await _todo(target, "import", str(backup))
    assert again[0] == 1
    assert "already holds 2 account(s)" in again[2]


async def test_a_full_backup_keeps_deleted_accounts_deleted(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    # Without them, the first Better Auth token of a deleted user after a restore would
    # create the account again.
    source = await _database(new_database, tmp_path / "a", migrate=True)
    target = await _database(new_database, tmp_path / "b", migrate=False)
    async with _api(source) as http:
        await _populate(http, "ada@example.com", "a")
        await _populate(http, "gone@example.com", "g")
        gone = await http.get("/api/auth/me", headers=await _token(http, "gone@example.com"))
        gone_id = gone.json()["id"]
    code, _, err = await _todo(source, "user", "delete", "gone@example.com", "--yes")
    assert code == 0, err
    backup = tmp_path / "backup.json"
    code, _, err = await _todo(source, "export", "--out", str(backup))
    assert code == 0, err
    document = json.loads(backup.read_text())
    assert [row["user_id"] for row in document["deleted_accounts"]] == [gone_id]

    clash = dict(document, deleted_accounts=[{"user_id": document["users"][0]["user"]["id"]}])
    bad = tmp_path / "clash.json"
    bad.write_text(json.dumps(clash))
    code, _, err = await _todo(target, "import", str(bad))
    assert code == 2
    assert "deleted_accounts[0].user_id" in err, err

    code, _, err = await _todo(target, "import", str(backup))
    assert code == 0, err
    again = tmp_path / "again.json"
    code, _, err = await _todo(target, "export", "--out", str(again))
    assert code == 0, err
    assert json.loads(again.read_text())["deleted_accounts"] == document["deleted_accounts"]


async def test_one_user_export_and_the_api_download(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    source = await _database(new_database, tmp_path / "a", migrate=True)
    async with _api(source) as http:
        await _populate(http, "ada@example.com", "a")
        await _populate(http, "grace@example.com", "g")
        headers = await _token(http, "ada@example.com")
        download = await http.get("/api/auth/me/export", headers=headers)
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    mine = download.json()
    assert [entry["user"]["email"] for entry in mine["users"]] == ["ada@example.com"]
    assert mine["users"][0]["user"]["password_hash"] is None
    assert "grace" not in download.text

    out = tmp_path / "ada.json"
    code, _, err = await _todo(source, "export", "--out", str(out), "--user", "ADA@example.com")
    assert code == 0, err
    cli = json.loads(out.read_text())
    assert cli["users"][0]["user"]["password_hash"].startswith("$argon2")
    cli["users"][0]["user"]["password_hash"] = None
    assert cli["users"] == mine["users"]

    missing = await _todo(source, "export", "--out", str(out), "--user", "nobody@example.com")
    assert missing[0] == 1
    assert "no account" in missing[2]

    # A download restores too, into an empty database: the account then has no password.
    target = await _database(new_database, tmp_path / "b", migrate=False)
    restored_file = tmp_path / "download.json"
    restored_file.write_text(download.text)
    code, _, err = await _todo(target, "import", str(restored_file))
    assert code == 0, err


async def test_import_refuses_what_is_not_a_backup(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    target = await _database(new_database, tmp_path, migrate=False)
    cases = {
        "not json": "{",
        "wrong format": json.dumps({"format": "other", "version": 1, "users": []}),
        "future version": json.dumps({"format": "todo-export", "version": 99, "users": []}),
        "unknown column": json.dumps(
            {"format": "todo-export", "version": 1, "users": [{"user": {"id": "u", "evil": 1}}]}
        ),
        "NUL in text": json.dumps(
            {"format": "todo-export", "version": 1, "users": [{"user": {"id": "u\u0000"}}]}
        ),
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(content)
        code, _, err = await _todo(target, "import", str(path))
        assert code in (1, 2), name
        assert err.strip().splitlines()[-1].startswith("error:"), (name, err)


STAMP = "2026-01-01T09:00:00+00:00"


def _account(n: int) -> dict[str, Any]:
    """A small account as `todo export` writes one: every column of every row."""
    uid, first = f"user-{n}", 10 * n + 1
    return {
        "user": {
            "id": uid,
            "email": f"user{n}@example.com",
            "name": f"User {n}",
            "timezone": "Europe/Berlin",
            "password_hash": None,
            "session_version": 0,
            "tokens_valid_after": None,
            "created_at": STAMP,
            "updated_at": STAMP,
        },
        "lists": [
            {
                "id": first + i,
                "user_id": uid,
                "name": name,
                "color": None,
                "position": position,
                "is_inbox": i == 0,
                "created_at": STAMP,
                "updated_at": STAMP,
            }
            for i, (name, position) in enumerate([("Inbox", "i"), ("Work", "r")])
        ],
        "tags": [
            {
                "id": first + i,
                "user_id": uid,
                "name": name,
                "key": name.lower(),
                "created_at": STAMP,
            }
            for i, name in enumerate(["Home", "Deep Work"])
        ],
        "tasks": [
            {
                "id": first + i,
                "user_id": uid,
                "title": f"Task {i}",
                "description": "",
                "completed": False,
                "completed_at": None,
                "list_id": first + i,
                "position": "i",
                "priority": 2,
                "due_date": "2026-01-05",
                "due_at": None,
                "remind_at": None,
                "reminder_dismissed": False,
                "rrule": "FREQ=WEEKLY;BYDAY=MO",
                "recurrence_mode": "due",
                "series_id": f"series-{n}-{i}",
                "occurrence": 1,
                "created_at": STAMP,
                "updated_at": STAMP,
                "version": 1,
            }
            for i in range(2)
        ],
        "task_tags": [{"task_id": first, "tag_id": first, "user_id": uid}],
    }


def _valid_backup() -> dict[str, Any]:
    return {
        "format": "todo-export",
        "version": 1,
        "exported_at": STAMP,
        "users": [_account(0), _account(1)],
    }


async def test_import_checks_every_value_like_the_api(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    target = await _database(new_database, tmp_path, migrate=False)
    document = _valid_backup()
    ada, bob = (entry for entry in document["users"])
    document["users"].append(_account(2))
    document["users"][2]["user"]["timezone"] = "Mars/Olympus"
    ada["tasks"][0]["priority"] = 99
    ada["tasks"][1]["rrule"] = "NOT A RULE"
    ada["tasks"][1]["title"] = "x" * 5000
    ada["lists"][1]["color"] = "red"
    ada["tags"][1]["name"] = "t" * 51
    # Bob's rows pointing into Ada's account: deleting her list would delete his task.
    bob["tasks"][0]["list_id"] = ada["lists"][1]["id"]
    bob["task_tags"][0]["tag_id"] = ada["tags"][0]["id"]
    bob["tasks"][1]["user_id"] = ada["user"]["id"]
    bob["user"]["email"] = "USER0@example.com"
    bob["lists"][1]["id"] = ada["lists"][0]["id"]
    bob["tasks"][1]["id"] = 0
    bob["lists"][0]["user_id"] = ada["user"]["id"]
    bob["lists"][1]["is_inbox"] = True
    bob["tags"][1].update(name="HOME", key="home")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))

    code, out, err = await _todo(target, "import", str(path))

    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: users[0].lists[1].color: String should match pattern '^#[0-9a-fA-F]{6}$'",
        "error: users[0].tags[1].name: String should have at most 50 characters",
        "error: users[0].tasks[0].priority: Input should be less than or equal to 4",
        "error: users[0].tasks[1].title: String should have at most 200 characters",
        "error: users[0].tasks[1].rrule: 'NOT A RULE' is not a NAME=VALUE part of a "
        "recurrence rule.",
        "error: users[1].user.email: user0@example.com is also the email address of users[0].user",
        "error: users[1].lists[0].user_id: must be user-1, the id of this account",
        "error: users[1].lists[1].id: 1 is also the id of users[0].lists[0]",
        "error: users[1].lists[1].is_inbox: An account has one Inbox at most",
        "error: users[1].tags[1].name: The tag 'HOME' is also tag 11 (case is ignored)",
        "error: users[1].tasks[0].list_id: List 2 is not one of this account's lists",
        "error: users[1].tasks[1].id: Input should be greater than or equal to 1",
        "error: users[1].task_tags[0].tag_id: Tag 1 is not one of this account's tags",
        "error: users[2].user.timezone: Time zone must be an IANA name such as Europe/Berlin",
    ]
    # Nothing was written: the schema is not even there yet, and the good file imports.
    assert "empty database" in (await _todo(target, "db", "current"))[1]
    path.write_text(json.dumps(_valid_backup()))
    code, out, err = await _todo(target, "import", str(path))
    assert code == 0, err
    assert "imported 2 account(s) and 4 task(s)" in out


def _without(document: dict[str, Any], *path: str | int) -> dict[str, Any]:
    inner: Any = document
    for key in path[:-1]:
        inner = inner[key]
    del inner[path[-1]]
    return document


def _with(document: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    inner: Any = document
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("content", "lines"),
    [
        (
            "{",
            [
                "is not a backup: it is not JSON (Expecting property name enclosed in double "
                "quotes: line 1 column 2 (char 1))"
            ],
        ),
        ("[]", ['format: must be "todo-export": this is not a backup of Todo']),
        (
            json.dumps({"format": "other", "version": 1, "users": []}),
            ['format: must be "todo-export": this is not a backup of Todo'],
        ),
        (
            json.dumps({"format": "todo-export", "version": 99, "users": []}),
            ["version: must be 1, not 99: a newer format?"],
        ),
        (
            json.dumps(_without(_valid_backup(), "users")),
            ["users: Field required"],
        ),
        (
            json.dumps(_with(_valid_backup(), {"a": 1}, "users")),
            ["users: Input should be a valid list"],
        ),
        (
            json.dumps(_without(_valid_backup(), "users", 1, "tasks")),
            ["users[1].tasks: Field required"],
        ),
        (
            json.dumps(_without(_valid_backup(), "users", 0, "tasks", 1, "title")),
            ["users[0].tasks[1].title: Field required"],
        ),
        (
            json.dumps(_with(_valid_backup(), "eleven", "users", 0, "tasks", 1, "id")),
            [
                "users[0].tasks[1].id: Input should be a valid integer, unable to parse string as "
                "an integer"
            ],
        ),
        (
            json.dumps(_with(_valid_backup(), 1, "users", 0, "user", "evil")),
            ["users[0].user.evil: Extra inputs are not permitted"],
        ),
        (
            json.dumps(_with(_valid_backup(), "tomorrow", "users", 0, "tasks", 0, "due_date")),
            [
                "users[0].tasks[0].due_date: Input should be a valid date or datetime, input is "
                "too short"
            ],
        ),
        (
            json.dumps(_with(_valid_backup(), "inbox", "users", 0, "lists", 1, "name")),
            ["users[0].lists[1].name: The list 'inbox' is also list 1 (case is ignored)"],
        ),
    ],
    ids=[
        "not json",
        "not an object",
        "wrong format",
        "future version",
        "no users",
        "users not a list",
        "missing table",
        "missing column",
        "wrong type",
        "unknown column",
        "bad date",
        "list name taken in another case",
    ],
)
def test_import_answers_malformed_files_in_one_line(
    content: str, lines: list[str], tmp_path: Path
) -> None:
    """Checked before any database is opened, so the SQLite file is never even created."""
    database = tmp_path / "todo.db"
    path = tmp_path / "backup.json"
    path.write_text(content)
    env = server_env(f"sqlite:///{database}", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "todo", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    expected = (
        [f"error: {path} {lines[0]}"]
        if lines[0].startswith("is not")
        else [f"error: {line}" for line in lines]
    )
    assert result.stderr.splitlines() == expected
    assert not database.exists()


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        (["x"], "deleted_accounts[0]"),
        ([{}], "deleted_accounts[0].user_id"),
        ([{"user_id": "a\x00b"}], "deleted_accounts[0].user_id"),
        ([{"user_id": "x" * 65}], "deleted_accounts[0].user_id"),
        ([{"user_id": "a", "extra": 1}], "deleted_accounts[0].extra"),
        ([{"user_id": "a"}, {"user_id": "a"}], "deleted_accounts[1].user_id"),
        ("not a list", "deleted_accounts"),
    ],
)
def test_deleted_accounts_in_a_backup_are_checked_like_every_row(entries: Any, field: str) -> None:
    from todo.backup import service as backup

    document = {
        "format": "todo-export",
        "version": 1,
        "exported_at": "2026-12-02T00:00:00Z",
        "users": [],
        "deleted_accounts": entries,
    }
    with pytest.raises(backup.InvalidBackup) as refused:
        backup.parse(document)
    assert [problem["field"] for problem in refused.value.errors or []] == [field]


async def _sharing_state(http: httpx.AsyncClient, email: str) -> dict[str, Any]:
    headers = await _token(http, email)
    seen: dict[str, Any] = {}
    for path in ("/api/auth/tokens", "/api/me/notification-settings", "/api/me/lists"):
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, response.text
        seen[path] = response.json()
    # The server's own Web Push key is the database's, not the account's: each has its own.
    seen["/api/me/notification-settings"].pop("vapid_public_key")
    for found in seen["/api/me/lists"]:
        if found["is_inbox"]:
            continue
        for part in ("members", "invitations", "links"):
            path = f"/api/me/lists/{found['id']}/{part}"
            response = await http.get(path, headers=headers)
            seen[path] = (response.status_code, response.json())
    return seen


async def test_sharing_tokens_and_notification_settings_survive_a_round_trip(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    """Memberships, pending invitations, share links (by their hashes), personal access
    tokens (hashed) and notification settings come back: the link and the token still
    work, the invitation still turns into a membership at sign-up."""
    source = await _database(new_database, tmp_path / "a", migrate=True)
    target = await _database(new_database, tmp_path / "b", migrate=False)
    emails = ["ada@example.com", "grace@example.com", "joiner@example.com"]
    async with _api(source) as http:
        for n, email in enumerate(emails):
            await _populate(http, email, str(n))
        ada = await _token(http, emails[0])
        lists = (await http.get("/api/me/lists", headers=ada)).json()
        work = next(found["id"] for found in lists if found["name"] == "Work 0")
        shared = await http.post(
            f"/api/me/lists/{work}/members",
            headers=ada,
            json={"email": emails[1], "role": "editor"},
        )
        assert shared.status_code == 201, shared.text
        invited = await http.post(
            f"/api/me/lists/{work}/members",
            headers=ada,
            json={"email": "later@example.com", "role": "viewer"},
        )
        assert invited.status_code == 202, invited.text
        link = await http.post(f"/api/me/lists/{work}/links", headers=ada, json={"role": "viewer"})
        assert link.status_code == 201, link.text
        secret = link.json()["url"].rsplit("/", 1)[1]
        token = await http.post(
            "/api/auth/tokens", headers=ada, json={"name": "script", "scopes": ["tasks:read"]}
        )
        assert token.status_code == 201, token.text
        pat = token.json()["token"]
        settings = await http.patch(
            "/api/me/notification-settings", headers=ada, json={"digest_hour": 7}
        )
        assert settings.status_code == 200, settings.text
        before = {email: await _sharing_state(http, email) for email in emails[:2]}

    backup = tmp_path / "backup.json"
    code, _, err = await _todo(source, "export", "--out", str(backup))
    assert code == 0, err
    document = json.loads(backup.read_text())
    exported = document["users"][0]
    assert [row["role"] for row in exported["list_members"]] == ["editor"]
    assert [row["email"] for row in exported["list_invitations"]] == ["later@example.com"]
    assert len(exported["list_links"]) == len(exported["access_tokens"]) == 1
    assert exported["notification_settings"][0]["digest_hour"] == 7
    assert secret not in backup.read_text()  # only the link's hash
    assert pat not in backup.read_text()  # only the token's hash
    code, _, err = await _todo(target, "import", str(backup))
    assert code == 0, err

    async with _api(target) as http:
        after = {email: await _sharing_state(http, email) for email in emails[:2]}
        for email in emails[:2]:
            for key in before[email]:
                assert after[email][key] == before[email][key], (email, key)
        assert (
            await http.get("/api/me/tasks", headers={"Authorization": f"Bearer {pat}"})
        ).is_success
        joiner = await _token(http, emails[2])
        joined = await http.post(f"/api/me/links/{secret}/join", headers=joiner)
        assert joined.status_code == 200, joined.text
        assert joined.json()["list_id"] == work
        later = await http.post(
            "/api/auth/signup", json={"email": "later@example.com", "password": PASSWORD}
        )
        assert later.status_code == 201
        theirs = await http.get(
            "/api/me/lists",
            headers={"Authorization": f"Bearer {later.json()['access_token']}"},
        )
        assert work in [found["id"] for found in theirs.json()]
        # New rows get ids after the restored ones.
        again = await http.post(
            f"/api/me/lists/{work}/links",
            headers=await _token(http, emails[0]),
            json={"role": "viewer"},
        )
        assert again.status_code == 201
        assert again.json()["id"] > link.json()["id"]


# Comments


async def _comment(
    http: httpx.AsyncClient, headers: dict[str, str], task_id: int, body: str
) -> dict[str, Any]:
    posted = await http.post(
        f"/api/me/tasks/{task_id}/comments", headers=headers, json={"body": body}
    )
    assert posted.status_code == 201, posted.text
    return dict(posted.json())


async def _list_id(http: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    lists = (await http.get("/api/me/lists", headers=headers)).json()
    return int(next(found["id"] for found in lists if found["name"] == name))


async def _share(
    http: httpx.AsyncClient, headers: dict[str, str], list_id: int, email: str
) -> None:
    shared = await http.post(
        f"/api/me/lists/{list_id}/members", headers=headers, json={"email": email, "role": "editor"}
    )
    assert shared.status_code == 201, shared.text


async def _threads(http: httpx.AsyncClient, email: str) -> dict[int, Any]:
    """Every comment the account sees, task by task, as the API shows them."""
    headers = await _token(http, email)
    tasks = (await http.get("/api/me/tasks?status=all&limit=500", headers=headers)).json()
    seen: dict[int, Any] = {}
    for task in tasks:
        thread = await http.get(f"/api/me/tasks/{task['id']}/comments", headers=headers)
        assert thread.status_code == 200, thread.text
        seen[task["id"]] = thread.json()
    return seen


async def test_comments_survive_a_round_trip(new_database: NewDatabase, tmp_path: Path) -> None:
    """Every thread comes back with its ids, authors, text and times, on a shared list too
    and on a task in the trash; new comments get ids after the restored ones."""
    source = await _database(new_database, tmp_path / "a", migrate=True)
    target = await _database(new_database, tmp_path / "b", migrate=False)
    emails = ["ada@example.com", "grace@example.com"]
    async with _api(source) as http:
        for n, email in enumerate(emails):
            await _populate(http, email, str(n))
        ada, grace = await _token(http, emails[0]), await _token(http, emails[1])
        work = await _list_id(http, ada, "Work 0")
        await _share(http, ada, work, emails[1])
        task = await http.post(
            "/api/me/tasks", headers=ada, json={"title": "Fence", "list_id": work}
        )
        fence = task.json()["id"]
        await _comment(http, ada, fence, "Which colour?")
        answer = await _comment(http, grace, fence, "White.\n  Two coats 😀")
        edited = await http.patch(
            f"/api/me/tasks/{fence}/comments/{answer['id']}",
            headers=grace,
            json={"body": "White, two coats."},
        )
        assert edited.status_code == 200, edited.text
        private = await http.post("/api/me/tasks", headers=grace, json={"title": "Diary"})
        await _comment(http, grace, private.json()["id"], "Only mine")
        binned = await http.post("/api/me/tasks", headers=ada, json={"title": "Binned"})
        binned_id = binned.json()["id"]
        last = await _comment(http, ada, binned_id, "Before the bin")
        assert (await http.delete(f"/api/me/tasks/{binned_id}", headers=ada)).status_code == 204
        before = {email: await _threads(http, email) for email in emails}
    assert before[emails[1]][fence][1]["updated_at"] > before[emails[1]][fence][1]["created_at"]

    backup = tmp_path / "backup.json"
    code, _, err = await _todo(source, "export", "--out", str(backup))
    assert code == 0, err
    document = json.loads(backup.read_text())
    bodies = [[row["body"] for row in entry["comments"]] for entry in document["users"]]
    assert bodies == [["Which colour?", "White, two coats.", "Before the bin"], ["Only mine"]]
    code, _, err = await _todo(target, "import", str(backup))
    assert code == 0, err

    async with _api(target) as http:
        after = {email: await _threads(http, email) for email in emails}
        assert after == before
        ada = await _token(http, emails[0])
        restored = await http.post(f"/api/me/tasks/{binned_id}/restore", headers=ada)
        assert restored.status_code == 200, restored.text
        thread = await http.get(f"/api/me/tasks/{binned_id}/comments", headers=ada)
        assert [c["body"] for c in thread.json()] == ["Before the bin"]
        new = await _comment(http, ada, fence, "After the restore")
        assert new["id"] > last["id"]


async def test_a_download_holds_the_comments_on_the_accounts_own_tasks(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    """Ada's own export: every comment on her tasks (Grace's answer included, which Ada
    reads on her task page), none on Grace's tasks, not even Ada's own on Grace's shared
    list. Restored alone, the comments of people it lacks stay, without their author."""
    source = await _database(new_database, tmp_path / "a", migrate=True)
    target = await _database(new_database, tmp_path / "b", migrate=False)
    emails = ["ada@example.com", "grace@example.com"]
    async with _api(source) as http:
        for n, email in enumerate(emails):
            await _populate(http, email, str(n))
        ada, grace = await _token(http, emails[0]), await _token(http, emails[1])
        ada_id = (await http.get("/api/auth/me", headers=ada)).json()["id"]
        grace_id = (await http.get("/api/auth/me", headers=grace)).json()["id"]
        hers = await _list_id(http, ada, "Work 0")
        theirs = await _list_id(http, grace, "Work 1")
        await _share(http, ada, hers, emails[1])
        await _share(http, grace, theirs, emails[0])
        task = await http.post(
            "/api/me/tasks",
            headers=ada,
            json={"title": "Fence", "list_id": hers, "assignee_id": grace_id},
        )
        fence = task.json()["id"]
        await _comment(http, ada, fence, "ada on her own")
        await _comment(http, grace, fence, "grace on ada's")
        other = await http.post(
            "/api/me/tasks", headers=grace, json={"title": "Roof", "list_id": theirs}
        )
        await _comment(http, ada, other.json()["id"], "ada on grace's")
        diary = await http.post("/api/me/tasks", headers=grace, json={"title": "Diary"})
        await _comment(http, grace, diary.json()["id"], "grace alone")
        download = await http.get("/api/auth/me/export", headers=ada)
    assert download.status_code == 200
    (mine,) = download.json()["users"]
    assert [(c["body"], c["author_id"]) for c in mine["comments"]] == [
        ("ada on her own", ada_id),
        ("grace on ada's", grace_id),
    ]
    assert "ada on grace's" not in download.text
    assert "grace alone" not in download.text

    out = tmp_path / "ada.json"
    code, _, err = await _todo(source, "export", "--out", str(out), "--user", emails[0])
    assert code == 0, err
    assert json.loads(out.read_text())["users"][0]["comments"] == mine["comments"]
    code, _, err = await _todo(target, "import", str(out))
    assert code == 0, err
    async with _api(target) as http:
        ada = await _token(http, emails[0])
        thread = await http.get(f"/api/me/tasks/{fence}/comments", headers=ada)
        assert [(c["body"], c["author_id"]) for c in thread.json()] == [
            ("ada on her own", ada_id),
            ("grace on ada's", None),
        ]
        got = await http.get(f"/api/me/tasks/{fence}", headers=ada)
        assert got.json()["assignee_id"] is None


def _with_comments() -> dict[str, Any]:
    document = _valid_backup()
    for n, entry in enumerate(document["users"]):
        task = entry["tasks"][0]["id"]
        entry["comments"] = [
            {
                "id": 10 * n + i + 1,
                "user_id": entry["user"]["id"],
                "task_id": task,
                "author_id": document["users"][i]["user"]["id"],
                "body": f"Comment {i}\non two lines",
                "created_at": STAMP,
                "updated_at": STAMP,
            }
            for i in range(2)
        ]
    return document


@pytest.mark.parametrize(
    ("column", "value", "field", "reason"),
    [
        ("body", "", "body", "String should have at least 1 character"),
        ("body", " \n\t", "body", "A comment must not be empty"),
        ("body", "x" * 10_001, "body", "String should have at most 10000 characters"),
        ("body", "a\x00b", "body", "must not contain NUL characters"),
        ("body", None, "body", "Input should be a valid string"),
        ("task_id", 1, "task_id", "Task 1 is not one of this account's tasks"),
        ("task_id", 99, "task_id", "Task 99 is not one of this account's tasks"),
        ("user_id", "user-0", "user_id", "must be user-1, the id of this account"),
        ("id", 1, "id", "1 is also the id of users[0].comments[0]"),
        ("id", "eleven", "id", "Input should be a valid integer"),
        ("author_id", "x" * 65, "author_id", "String should have at most 64 characters"),
        ("created_at", "yesterday", "created_at", "Write it in ISO 8601"),
        ("evil", 1, "evil", "Extra inputs are not permitted"),
    ],
)
def test_comments_in_a_backup_are_checked_like_the_api_checks_them(
    column: str, value: Any, field: str, reason: str
) -> None:
    from todo.backup import service as backup

    document = _with_comments()
    document["users"][1]["comments"][0][column] = value
    with pytest.raises(backup.InvalidBackup) as refused:
        backup.parse(document)
    problems = [(p["field"], p["reason"]) for p in refused.value.errors or []]
    assert len(problems) == 1, problems
    assert problems[0][0] == f"users[1].comments[0].{field}"
    assert problems[0][1].startswith(reason), problems


async def test_import_refuses_a_bad_comment_whole_and_takes_files_without_them(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    target = await _database(new_database, tmp_path, migrate=False)
    document = _with_comments()
    document["users"][0]["comments"][1]["body"] = ""
    document["users"][1]["comments"] = "not a list"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    code, out, err = await _todo(target, "import", str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: users[0].comments[1].body: String should have at least 1 character",
        "error: users[1].comments: Input should be a valid list",
    ]
    assert "empty database" in (await _todo(target, "db", "current"))[1]

    # A backup written before comments has no such key, and imports as it did.
    older = _valid_backup()
    assert all("comments" not in entry for entry in older["users"])
    path.write_text(json.dumps(older))
    code, out, err = await _todo(target, "import", str(path))
    assert code == 0, err


async def test_comments_of_a_checked_file_are_restored(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    target = await _database(new_database, tmp_path, migrate=True)
    document = _with_comments()
    # A comment's author that is not in the backup is forgotten, as a deleted account is.
    document["users"][0]["comments"][1]["author_id"] = "someone-else"
    path = tmp_path / "good.json"
    path.write_text(json.dumps(document))
    code, out, err = await _todo(target, "import", str(path))
    assert "imported 2 account(s) and 4 task(s)" in out
    assert code == 0, err
    again = tmp_path / "again.json"
    code, _, err = await _todo(target, "export", "--out", str(again))
    assert code == 0, err
    restored = json.loads(again.read_text())
    expected = [entry["comments"] for entry in document["users"]]
    expected[0][1]["author_id"] = None
    assert [entry["comments"] for entry in restored["users"]] == expected
