"""The hot reads (tasks/hot.py): the list and the one task of the API answer what the ORM
path answers for the same data, byte for byte, across the filters, sorts and pages, and every
answer is valid by the OpenAPI document. A stranger's rows never appear."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from jsonschema_rs import Draft202012Validator
from pydantic import TypeAdapter
from sqlalchemy import update

from tests.conftest import Account, SignUp
from todo.core.db import Database
from todo.lists import access
from todo.tasks import service as tasks
from todo.tasks.deps import etag
from todo.tasks.models import Task
from todo.tasks.query import RELEVANCE, TaskQuery, assignee_filter, decode_cursor, search_terms
from todo.tasks.schemas import PRIORITY_VALUE, TaskRead

_PAGE = TypeAdapter(list[TaskRead])


def _old_bytes(value: Any) -> bytes:
    # What FastAPI's JSONResponse wrote for the response model's JSON value.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _validator(app: FastAPI, schema: dict[str, Any]) -> Draft202012Validator:
    document = app.openapi()
    return Draft202012Validator(
        {**schema, "components": document["components"]}, validate_formats=True
    )


def _response_schema(app: FastAPI, path: str) -> dict[str, Any]:
    operation = app.openapi()["paths"][path]["get"]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


@dataclass
class World:
    me: Account
    shared_list: int
    work_list: int
    parent_id: int
    task_ids: list[int]
    stranger_ids: set[int]


async def _post(client: httpx.AsyncClient, who: Account, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/me/tasks", headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _world(client: httpx.AsyncClient, app: FastAPI, sign_up: SignUp) -> World:
    me, owner, stranger = await sign_up(), await sign_up(), await sign_up()
    made = await client.post("/api/me/lists", headers=owner.headers, json={"name": "Shared"})
    shared = made.json()["id"]
    added = await client.post(
        f"/api/me/lists/{shared}/members",
        headers=owner.headers,
        json={"email": me.email, "role": "editor"},
    )
    assert added.status_code == 201, added.text
    work = (await client.post("/api/me/lists", headers=me.headers, json={"name": "Work"})).json()
    ids = []
    milk = await _post(
        client,
        me,
        title="Buy milk",
        tags=["zeta", "Home", "errands"],
        priority="high",
        due_date="2030-01-07",
        description="2 litres, ünïcode ✓",
    )
    ids.append(milk["id"])
    for body in (
        {
            "title": "call Sam",
            "due_at": "2030-01-07T09:00:00+02:00",
            "remind_at": "2030-01-07T08:00:00Z",
        },
        {"title": "Apple pie", "completed": True, "tags": ["home"]},
        {"title": "Sub of milk", "parent_id": milk["id"], "priority": "low"},
        {"title": "Sub two", "parent_id": milk["id"], "completed": True},
        {"title": "Weekly review", "rrule": "FREQ=WEEKLY", "due_date": "2001-01-01"},
        {"title": "Deploy", "list_id": work["id"], "tags": ["work"], "priority": "urgent"},
        {"title": "Shared mine", "list_id": shared, "assignee_id": me.id, "tags": ["home"]},
        {"title": "zebra milk", "due_date": "2030-02-01", "priority": "medium"},
    ):
        ids.append((await _post(client, me, **body))["id"])
    for body in (
        {
            "title": "Owner's shared milk",
            "list_id": shared,
            "tags": ["home"],
            "assignee_id": owner.id,
        },
        {"title": "Owner's own milk", "tags": ["home"]},
    ):
        ids.append((await _post(client, owner, **body))["id"])
    gone = await _post(client, me, title="Trashed milk", tags=["home"])
    assert (await client.delete(f"/api/me/tasks/{gone['id']}", headers=me.headers)).status_code
    strangers = {
        (await _post(client, stranger, title=f"Stranger milk {n}", tags=["home"]))["id"]
        for n in range(3)
    }
    # Whole seconds, which the answer writes without a fraction.
    db: Database = app.state.db
    async with db.session(write=True) as session:
        await session.exec(
            update(Task)
            .where(Task.id == ids[1])  # type: ignore[arg-type]
            .values(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        )
        await session.commit()
    return World(me, shared, work["id"], milk["id"], ids, strangers)


def _query(params: dict[str, Any], user_id: str) -> TaskQuery:
    """The TaskQuery the list route makes of these parameters (tasks/routes.py)."""
    q = params.get("q")
    terms = search_terms(q)
    sort = params.get("sort")
    order = params.get("order", "asc")
    effective_sort = sort or (RELEVANCE if terms else "created")
    effective_order = order if sort or not terms else "desc"
    cursor = params.get("cursor")
    parent = params.get("parent")
    now = datetime.now(UTC)
    return TaskQuery(
        status=params.get("status", "all"),
        sort=effective_sort,
        order=effective_order,
        limit=int(params.get("limit", 100)),
        after=decode_cursor(cursor, sort=effective_sort, order=effective_order) if cursor else None,
        list_id=int(params["list_id"]) if "list_id" in params else None,
        tags=tuple(params.get("tag", ())),
        priorities=tuple(PRIORITY_VALUE[p] for p in params.get("priority", ())),
        due=params.get("due"),
        due_from=_date(params.get("due_from")),
        due_to=_date(params.get("due_to")),
        completed_from=_instant(params.get("completed_from")),
        completed_to=_instant(params.get("completed_to")),
        q=q,
        search_terms=terms,
        today=now.date(),
        now=now,
        **assignee_filter(params.get("assignee"), user_id),
        parent=None if parent is None else parent if parent == "none" else int(parent),
    )


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


CASES: list[dict[str, Any]] = [
    {},
    {"status": "pending"},
    {"status": "completed"},
    {"sort": "title"},
    {"sort": "title", "order": "desc"},
    {"sort": "due_date"},
    {"sort": "due_date", "order": "desc"},
    {"sort": "priority", "order": "desc"},
    {"sort": "manual"},
    {"sort": "completed"},
    {"sort": "updated", "order": "desc"},
    {"tag": ["home"]},
    {"tag": ["HOME", "errands"]},
    {"priority": ["high", "low"]},
    {"due": "overdue"},
    {"due": "week"},
    {"due": "today"},
    {"due": "none"},
    {"due": "any", "sort": "due_date"},
    {"due_from": "2030-01-01", "due_to": "2030-12-31"},
    {"completed_from": "2000-01-01T00:00:00Z", "completed_to": "2100-01-01T00:00:00Z"},
    {"assignee": "me"},
    {"assignee": "none"},
    {"parent": "none"},
    {"parent": "{parent}"},
    {"list_id": "{shared}"},
    {"list_id": "{work}", "status": "pending"},
    {"q": "milk"},
    {"q": "milk", "sort": "title"},
    {"q": "mil sam", "status": "pending"},
    {"limit": "2"},
    {"limit": "1", "sort": "due_date"},
    {"limit": "3", "sort": "completed", "order": "desc"},
    {"limit": "2", "q": "milk"},
    {"limit": "2", "sort": "title", "order": "desc"},
    {"limit": "2", "sort": "priority"},
    {"limit": "3", "sort": "manual"},
    {"limit": "2", "sort": "updated"},
    {"limit": "2", "sort": "due_date", "order": "desc", "tag": ["home"]},
]


def _filled(case: dict[str, Any], world: World) -> dict[str, Any]:
    names = {
        "{parent}": str(world.parent_id),
        "{shared}": str(world.shared_list),
        "{work}": str(world.work_list),
    }
    return {k: names.get(v, v) if isinstance(v, str) else v for k, v in case.items()}


async def _orm_page(app: FastAPI, world: World, params: dict[str, Any]) -> tuple[bytes, Any]:
    db: Database = app.state.db
    async with db.session(write=False) as session:
        scope = await access.scope_of(session, world.me.id)
        page = await tasks.list_task_rows(session, scope, _query(params, world.me.id))
    return _old_bytes(_PAGE.dump_python(_PAGE.validate_python(page.items), mode="json")), (
        page.next_cursor
    )


async def test_hot_list_answers_as_the_orm_path(
    client: httpx.AsyncClient, app: FastAPI, sign_up: SignUp
) -> None:
    world = await _world(client, app, sign_up)
    valid = _validator(app, _response_schema(app, "/api/{user_id}/tasks"))
    seen: set[int] = set()
    for case in CASES:
        params = _filled(case, world)
        for _page in range(20):
            response = await client.get("/api/me/tasks", headers=world.me.headers, params=params)
            assert response.status_code == 200, (params, response.text)
            assert response.headers["content-type"] == "application/json"
            body = response.json()
            errors = [str(e) for e in valid.iter_errors(body)]
            assert not errors, (params, errors)
            expected, next_cursor = await _orm_page(app, world, params)
            assert response.content == expected, params
            ids = {item["id"] for item in body}
            assert not ids & world.stranger_ids, params
            seen |= ids
            link = response.headers.get("link")
            if next_cursor is None:
                assert link is None, params
                break
            assert link is not None, params
            url = link.removeprefix("<").split(">;")[0]
            cursor = parse_qs(urlsplit(url).query)["cursor"][0]
            assert cursor == next_cursor, params
            params = {**params, "cursor": cursor}
        else:
            pytest.fail(f"no last page for {case}")
    # Every visible task showed in some answer: the comparison did not pass on empty pages.
    assert set(world.task_ids[:-1]) <= seen


async def test_hot_get_answers_as_the_orm_path(
    client: httpx.AsyncClient, app: FastAPI, sign_up: SignUp
) -> None:
    world = await _world(client, app, sign_up)
    valid = _validator(app, _response_schema(app, "/api/{user_id}/tasks/{task_id}"))
    db: Database = app.state.db
    for task_id in world.task_ids:
        response = await client.get(f"/api/me/tasks/{task_id}", headers=world.me.headers)
        async with db.session(write=False) as session:
            scope = await access.scope_of(session, world.me.id)
            try:
                task = await tasks.get_task(session, scope, task_id)
            except Exception:
                assert response.status_code == 404
                assert response.json()["code"] == "task_not_found"
                continue
            open_, total = await tasks.children_of(session, task)
            read = TaskRead.model_validate(task).model_copy(
                update={"children_open": open_, "children_total": total}
            )
        assert response.status_code == 200, response.text
        assert not list(valid.iter_errors(response.json()))
        assert response.content == _old_bytes(read.model_dump(mode="json"))
        assert response.headers["etag"] == etag(task)
    # The owner's own task is not shared with me: a 404 as for a missing one.
    assert world.task_ids[-1] not in {
        t["id"] for t in (await client.get("/api/me/tasks", headers=world.me.headers)).json()
    }
    for stranger_id in world.stranger_ids:
        response = await client.get(f"/api/me/tasks/{stranger_id}", headers=world.me.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "task_not_found"


async def test_one_compiled_statement_serves_every_caller_with_their_own_rows(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    """Callers of the same shape share the compiled statement, never its values: 20 of them
    in parallel, each listing and reading by the same filters, see their own tasks only."""
    people = [await sign_up() for _ in range(20)]
    mine: dict[str, set[int]] = {}
    for who in people:
        made = [await _post(client, who, title=f"{who.id} {n}", tags=["home"]) for n in range(2)]
        mine[who.id] = {task["id"] for task in made}

    async def read(who: Account) -> tuple[str, set[int], set[int]]:
        listed = await client.get(
            "/api/me/tasks", headers=who.headers, params={"tag": "home", "limit": "1"}
        )
        assert listed.status_code == 200, listed.text
        following = listed.headers["link"].removeprefix("<").split(">;")[0]
        rest = await client.get(following, headers=who.headers)
        got = {t["id"] for t in listed.json()} | {t["id"] for t in rest.json()}
        others = set().union(*(ids for owner, ids in mine.items() if owner != who.id))
        statuses = set()
        for task_id in sorted(mine[who.id]) + sorted(others)[:3]:
            one = await client.get(f"/api/me/tasks/{task_id}", headers=who.headers)
            statuses.add(one.status_code if task_id in mine[who.id] else -one.status_code)
        return who.id, got, statuses

    for user_id, got, statuses in await asyncio.gather(*(read(who) for who in people)):
        assert got == mine[user_id]
        assert statuses == {200, -404}
