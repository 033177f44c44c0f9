from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.conftest import Account


async def _create(client: httpx.AsyncClient, who: Account, **fields: object) -> dict[str, object]:
    response = await client.post(
        "/api/me/tasks", headers=who.headers, json={"title": "t", **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_returns_task_with_location_and_etag(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post(
        f"/api/{alice.id}/tasks",
        headers=alice.headers,
        json={"title": "  Buy milk  ", "description": "2 litres"},
    )
    assert response.status_code == 201
    task = response.json()
    assert set(task) >= {
        "id",
        "user_id",
        "title",
        "description",
        "completed",
        "completed_at",
        "due_date",
        "created_at",
        "updated_at",
    }
    assert task["title"] == "Buy milk"
    assert task["user_id"] == alice.id
    assert task["completed"] is False
    assert task["completed_at"] is None
    assert datetime.fromisoformat(task["created_at"]).utcoffset() is not None
    assert response.headers["location"].endswith(f"/api/{alice.id}/tasks/{task['id']}")
    assert response.headers["etag"] == '"1"'
    fetched = await client.get(response.headers["location"], headers=alice.headers)
    assert fetched.json() == task


async def test_get_put_delete_roundtrip(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice, title="Original")
    url = f"/api/me/tasks/{task['id']}"
    updated = await client.put(
        url, headers=alice.headers, json={"title": "Renamed", "completed": True}
    )
    assert updated.status_code == 200
    body = updated.json()
    assert body["title"] == "Renamed"
    assert body["description"] == ""
    assert body["completed"] is True
    assert body["completed_at"] is not None
    assert updated.headers["etag"] == '"2"'
    assert (await client.delete(url, headers=alice.headers)).status_code == 204
    missing = await client.get(url, headers=alice.headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "task_not_found"


async def test_put_ignores_read_only_fields(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice)
    response = await client.put(
        f"/api/me/tasks/{task['id']}",
        headers=alice.headers,
        json={
            **task,
            "id": 999,
            "user_id": "someone",
            "created_at": "2000-01-01T00:00:00Z",
            "title": "x",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["user_id"], body["created_at"]) == (
        task["id"],
        alice.id,
        task["created_at"],
    )


async def test_complete_sets_and_toggles(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice)
    url = f"/api/me/tasks/{task['id']}/complete"
    toggled = await client.patch(url, headers=alice.headers)
    assert toggled.json()["completed"] is True
    assert toggled.json()["completed_at"] is not None
    toggled_back = await client.patch(url, headers=alice.headers)
    assert toggled_back.json()["completed"] is False
    assert toggled_back.json()["completed_at"] is None
    explicit = await client.patch(url, headers=alice.headers, json={"completed": False})
    assert explicit.json()["completed"] is False
    explicit = await client.patch(url, headers=alice.headers, json={"completed": True})
    assert explicit.json()["completed"] is True


ROUTES = [
    ("GET", "/api/{user}/tasks", None),
    ("POST", "/api/{user}/tasks", {"title": "x"}),
    ("GET", "/api/{user}/tasks/{task}", None),
    ("PUT", "/api/{user}/tasks/{task}", {"title": "x"}),
    ("DELETE", "/api/{user}/tasks/{task}", None),
    ("PATCH", "/api/{user}/tasks/{task}/complete", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_route_needs_a_token(
    client: httpx.AsyncClient, alice: Account, method: str, path: str, body: object
) -> None:
    task = await _create(client, alice)
    url = path.format(user=alice.id, task=task["id"])
    for headers in ({}, {"Authorization": "Bearer not.a.token"}, {"Authorization": "Basic abc"}):
        response = await client.request(method, url, headers=headers, json=body)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_other_users_path_is_403(
    client: httpx.AsyncClient, alice: Account, bob: Account, method: str, path: str, body: object
) -> None:
    task = await _create(client, alice)
    response = await client.request(
        method, path.format(user=alice.id, task=task["id"]), headers=bob.headers, json=body
    )
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_user"


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if "{task}" in r[1]])
async def test_someone_elses_task_is_404_and_unchanged(
    client: httpx.AsyncClient, alice: Account, bob: Account, method: str, path: str, body: object
) -> None:
    task = await _create(client, alice, title="mine")
    response = await client.request(
        method, path.format(user="me", task=task["id"]), headers=bob.headers, json=body
    )
    assert response.status_code == 404
    assert response.json()["code"] == "task_not_found"
    missing = await client.request(
        method, path.format(user="me", task=987654321), headers=bob.headers, json=body
    )
    assert missing.status_code == 404
    assert missing.json() == {**response.json(), "detail": missing.json()["detail"]}
    still = await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)
    assert still.json() == task


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "d" * 10_001}, "description"),
        ({"title": "ok", "colour": "red"}, "colour"),
        ({"title": 5}, "title"),
        ({}, "title"),
        ({"title": "ok", "completed": "maybe"}, "completed"),
    ],
)
async def test_create_validation(
    client: httpx.AsyncClient, alice: Account, payload: dict[str, object], field: str
) -> None:
    response = await client.post("/api/me/tasks", headers=alice.headers, json=payload)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in [error["field"] for error in body["errors"]]
    assert body["detail"].startswith("The request is not valid")


@pytest.mark.parametrize(
    ("payload", "field"),
    # null is accepted everywhere on update (tests/contract): these are refused values.
    [({"title": "  "}, "title"), ({"completed": "maybe"}, "completed"), ({"owner": "x"}, "owner")],
)
async def test_update_validation(
    client: httpx.AsyncClient, alice: Account, payload: dict[str, object], field: str
) -> None:
    task = await _create(client, alice)
    response = await client.put(f"/api/me/tasks/{task['id']}", headers=alice.headers, json=payload)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_path_and_query_validation(client: httpx.AsyncClient, alice: Account) -> None:
    # A task id is digits: /tasks/abc is no task's address (and /tasks/quick is not one).
    assert (await client.get("/api/me/tasks/abc", headers=alice.headers)).status_code == 404
    for url in (
        "/api/me/tasks/0",
        "/api/me/tasks?limit=501",
        "/api/me/tasks?limit=0",
        "/api/me/tasks?status=done",
        "/api/me/tasks?sort=colour",
        "/api/me/tasks?order=up",
    ):
        response = await client.get(url, headers=alice.headers)
        assert response.status_code == 422, url


async def test_malformed_json_is_400(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/api/me/tasks",
        headers={**alice.headers, "content-type": "application/json"},
        content=b'{"title": "x"',
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient, alice: Account) -> None:
    big = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(
        "/api/me/tasks", headers={**alice.headers, "content-type": "application/json"}, content=big
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    streamed = await client.post(
        "/api/me/tasks",
        headers={**alice.headers, "content-type": "application/json"},
        content=chunks(),
    )
    assert streamed.status_code == 413


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
    wrong = await client.delete("/health")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_list_filters_by_status(client: httpx.AsyncClient, alice: Account) -> None:
    done = await _create(client, alice, title="done", completed=True)
    todo = await _create(client, alice, title="todo")
    for status, expected in (("all", [done, todo]), ("pending", [todo]), ("completed", [done])):
        response = await client.get(f"/api/me/tasks?status={status}", headers=alice.headers)
        assert [t["id"] for t in response.json()] == [t["id"] for t in expected]


async def test_list_sorts(client: httpx.AsyncClient, alice: Account) -> None:
    banana = await _create(client, alice, title="banana", due_date="2026-01-02")
    apple = await _create(client, alice, title="Apple")
    cherry = await _create(client, alice, title="cherry", due_date="2026-01-01")
    await client.put(
        f"/api/me/tasks/{banana['id']}", headers=alice.headers, json={"description": "u"}
    )

    async def ids(query: str) -> list[object]:
        response = await client.get(f"/api/me/tasks?{query}", headers=alice.headers)
        assert response.status_code == 200
        return [t["id"] for t in response.json()]

    assert await ids("sort=title") == [apple["id"], banana["id"], cherry["id"]]
    assert await ids("sort=title&order=desc") == [cherry["id"], banana["id"], apple["id"]]
    assert await ids("sort=created&order=desc") == [cherry["id"], apple["id"], banana["id"]]
    assert await ids("sort=updated&order=desc") == [banana["id"], cherry["id"], apple["id"]]
    assert await ids("sort=due_date") == [cherry["id"], banana["id"], apple["id"]]
    assert await ids("sort=due_date&order=desc") == [banana["id"], cherry["id"], apple["id"]]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("title", "asc"),
        ("title", "desc"),
        ("due_date", "asc"),
        ("due_date", "desc"),
        ("created", "asc"),
        ("updated", "desc"),
    ],
)
async def test_keyset_pages_cover_everything_once_with_ties(
    client: httpx.AsyncClient, alice: Account, sort: str, order: str
) -> None:
    created = []
    for i in range(11):
        # Few distinct titles and dates, so pages end in the middle of ties.
        fields = {
            "title": f"same {i % 2}",
            "due_date": None if i % 3 == 0 else f"2026-05-0{1 + i % 2}",
        }
        created.append((await _create(client, alice, **fields))["id"])
    url: str | None = f"/api/me/tasks?sort={sort}&order={order}&limit=3"
    seen: list[object] = []
    pages = 0
    while url:
        response = await client.get(url, headers=alice.headers)
        assert response.status_code == 200, response.text
        seen += [t["id"] for t in response.json()]
        pages += 1
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert pages == 4
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    everything = await client.get(f"/api/me/tasks?sort={sort}&order={order}", headers=alice.headers)
    assert seen == [t["id"] for t in everything.json()]


async def test_bad_cursor_is_400(client: httpx.AsyncClient, alice: Account) -> None:
    for cursor in ("garbage", "eyJ4IjoxfQ", "e30"):
        response = await client.get(f"/api/me/tasks?cursor={cursor}", headers=alice.headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_cursor"
    for i in range(3):
        await _create(client, alice, title=f"t{i}")
    first = await client.get("/api/me/tasks?limit=1&sort=title", headers=alice.headers)
    link = first.headers["link"]
    cursor = link[link.index("cursor=") + 7 : link.index(">")]
    mismatch = await client.get(
        f"/api/me/tasks?sort=created&cursor={cursor}", headers=alice.headers
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["code"] == "cursor_mismatch"


async def test_if_match(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice)
    url = f"/api/me/tasks/{task['id']}"
    stale = await client.put(
        url, headers={**alice.headers, "If-Match": '"7"'}, json={"title": "no"}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    ok = await client.put(url, headers={**alice.headers, "If-Match": '"1"'}, json={"title": "yes"})
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"2"'
    gone = await client.delete(url, headers={**alice.headers, "If-Match": '"1"'})
    assert gone.status_code == 412
    assert (await client.get(url, headers=alice.headers)).json()["title"] == "yes"


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.json()["status"] == "ok"
    assert response.json()["app"] == "TODO API"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200


async def test_unhandled_error_is_problem_with_cors(client: httpx.AsyncClient, app: object) -> None:
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/__boom", boom)
    try:
        response = await client.get("/__boom", headers={"Origin": "http://localhost:3000"})
    finally:
        app.router.routes.pop()
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert response.json()["code"] == "internal_error"
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
