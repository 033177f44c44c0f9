"""List names are unique per user whatever the case: the API and the web form refuse a
taken name with 409 `list_name_taken`, and migration 0006 renames existing duplicates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import Account, NewDatabase, make_settings
from tests.test_migrations import _sql
from tests.web.test_pages import page_token, sign_up
from todo import migrations


async def test_creating_a_list_onto_a_taken_name_is_409_in_any_case(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    assert (await client.post("/api/me/lists", headers=h, json={"name": "Groceries"})).is_success
    for name in ("Groceries", "groceries", "GROCERIES", "inbox"):
        taken = await client.post("/api/me/lists", headers=h, json={"name": name})
        assert taken.status_code == 409, taken.text
        assert taken.headers["content-type"] == "application/problem+json"
        assert taken.json()["code"] == "list_name_taken"
    names = [x["name"] for x in (await client.get("/api/me/lists", headers=h)).json()]
    assert names == ["Inbox", "Groceries"]


async def test_renaming_a_list_onto_a_taken_name_is_409_but_its_own_case_may_change(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    h = alice.headers
    first = (await client.post("/api/me/lists", headers=h, json={"name": "Work"})).json()
    second = (await client.post("/api/me/lists", headers=h, json={"name": "Home"})).json()
    taken = await client.patch(f"/api/me/lists/{second['id']}", headers=h, json={"name": "wORK"})
    assert taken.status_code == 409
    assert taken.json()["code"] == "list_name_taken"
    recased = await client.patch(f"/api/me/lists/{first['id']}", headers=h, json={"name": "WORK"})
    assert recased.status_code == 200
    assert recased.json()["name"] == "WORK"
    # Another user's names are theirs.
    theirs = await client.post("/api/me/lists", headers=bob.headers, json={"name": "Work"})
    assert theirs.status_code == 201


async def test_quick_add_into_an_existing_list_whatever_the_case(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    made = (await client.post("/api/me/lists", headers=h, json={"name": "Errands"})).json()
    quick = await client.post("/api/me/tasks/quick", headers=h, json={"text": "post +errands"})
    assert quick.status_code == 201
    assert quick.json()["list_id"] == made["id"]


async def test_the_web_form_shows_a_taken_name_on_the_form(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    assert (await client.post("/lists", data={"csrf_token": token, "name": "Errands"})).is_redirect
    response = await client.post("/lists", data={"csrf_token": token, "name": "errands"})
    assert response.status_code == 422
    assert 'id="list-error"' in response.text
    assert "already have a list named" in response.text


def test_migration_renames_existing_duplicates_and_is_reversible(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    settings = make_settings(new_database.url(), tmp_path)
    migrations.upgrade(settings, "0005_search_owner")
    lists = [
        (1, "u1", "Inbox", True),
        (2, "u1", "inbox", False),
        (3, "u1", "Work", False),
        (4, "u1", "WORK", False),
        (5, "u1", "Work (2)", False),
        (6, "u1", "work", False),
        (7, "u2", "Work", False),
        (8, "u1", "x" * 100, False),
        (9, "u1", "X" * 100, False),
    ]
    asyncio.run(
        _sql(
            settings,
            "INSERT INTO users (id, email, name, session_version, created_at, updated_at) "
            "VALUES ('u1', 'a@example.com', 'A', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
            "('u2', 'b@example.com', 'B', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            *(
                "INSERT INTO lists (id, user_id, name, position, is_inbox, created_at, "
                f"updated_at) VALUES ({i}, '{u}', '{n}', 'a{i}', {str(inbox).lower()}, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                for i, u, n, inbox in lists
            ),
        )
    )
    migrations.upgrade(settings)
    names = dict(asyncio.run(_sql(settings, "SELECT id, name FROM lists ORDER BY id")))
    assert names == {
        1: "Inbox",
        2: "inbox (2)",
        3: "Work",
        4: "WORK (3)",
        5: "Work (2)",
        6: "work (4)",
        7: "Work",
        8: "x" * 100,
        9: "X" * 96 + " (2)",
    }
    duplicate = (
        "INSERT INTO lists (id, user_id, name, position, is_inbox, created_at, updated_at) "
        "VALUES (100, 'u1', 'wOrK', 'z', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(IntegrityError, match="uq_lists_user_id_lower_name"):
        asyncio.run(_sql(settings, duplicate))
    migrations.downgrade(settings, "0005_search_owner")
    asyncio.run(_sql(settings, duplicate))
    migrations.upgrade(settings)
    assert "(head)" in migrations.current(settings)
