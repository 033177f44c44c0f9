"""Backup and restore: `todo export` then `todo import` into an empty database gives back
everything the API showed before, on both databases."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
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
    assert "imported 2 account(s) and 10 task(s)" in out

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
