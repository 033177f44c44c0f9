"""What a client written for the hackathon's spec sends, exactly: a Better Auth JWT with a
32-character user id, `null` for every empty optional field, `PATCH .../complete` with no
body, ids as numbers, and a browser's CORS preflights from the front end's origin."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.contract.conftest import FRONTEND, BetterAuth

_ALPHABET = string.ascii_letters + string.digits


class SpecClient:
    """A signed-in user of the front end: its calls carry the Better Auth token."""

    def __init__(self, http: httpx.AsyncClient, better_auth: BetterAuth) -> None:
        # Better Auth's ids: 32 random letters and digits.
        self.id = "".join(secrets.choice(_ALPHABET) for _ in range(32))
        now = int(time.time())
        token = better_auth.token(
            {
                "sub": self.id,
                "id": self.id,
                "email": f"{self.id.lower()}@example.com",
                "name": "Spec Client",
                "iat": now,
                "exp": now + 15 * 60,
                "iss": FRONTEND,
                "aud": FRONTEND,
            }
        )
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tasks = f"/api/{self.id}/tasks"

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.request(
            method, path, headers=self.headers | (headers or {}), **kwargs
        )

    async def create(self, **fields: Any) -> dict[str, Any]:
        response = await self.call("POST", self.tasks, json={"title": "Task"} | fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def spec(client: httpx.AsyncClient, better_auth: BetterAuth) -> SpecClient:
    return SpecClient(client, better_auth)


async def test_the_two_requests_of_the_issue(spec: SpecClient) -> None:
    created = await spec.call(
        "POST", spec.tasks, json={"title": "Write report", "description": None}
    )
    assert created.status_code == 201, created.text
    assert created.json()["description"] == ""

    task = await spec.create(title="Milk", description="2 litres")
    updated = await spec.call(
        "PUT", f"{spec.tasks}/{task['id']}", json={"title": "Buy milk", "description": None}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["title"] == "Buy milk"
    assert updated.json()["description"] == ""
    reloaded = await spec.call("GET", f"{spec.tasks}/{task['id']}")
    assert reloaded.json()["description"] == ""


CREATE_DEFAULTS = {
    "description": "",
    "completed": False,
    "priority": "none",
    "tags": [],
    "due_date": None,
    "due_at": None,
    "remind_at": None,
    "rrule": None,
    "recurrence_mode": "due",
}


@pytest.mark.parametrize("field", [*CREATE_DEFAULTS, "list_id"])
async def test_null_on_create_is_the_default(spec: SpecClient, field: str) -> None:
    left_out = await spec.create(title="Left out")
    sent_null = await spec.create(title="Sent null", **{field: None})
    assert sent_null[field] == left_out[field]
    if field == "list_id":
        inbox = [found for found in await _lists(spec) if found["is_inbox"]]
        assert sent_null["list_id"] == inbox[0]["id"]
    else:
        assert sent_null[field] == CREATE_DEFAULTS[field]


async def _lists(spec: SpecClient) -> list[dict[str, Any]]:
    response = await spec.call("GET", f"/api/{spec.id}/lists")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def _full_task(spec: SpecClient, **fields: Any) -> dict[str, Any]:
    """A task with every optional field set away from its empty value."""
    made = await spec.call("POST", f"/api/{spec.id}/lists", json={"name": "Work"})
    assert made.status_code == 201, made.text
    return await spec.create(
        title="Full",
        description="Every field set",
        completed=True,
        list_id=made.json()["id"],
        priority="high",
        tags=["home"],
        due_at="2030-05-01T09:00:00Z",
        remind_at="2030-05-01T08:00:00Z",
        recurrence_mode="completion",
        **fields,
    )


# Null clears a field that has an empty value; where there is none it changes nothing.
UPDATE_NULL = {
    "title": "unchanged",
    "description": "",
    "completed": "unchanged",
    "priority": "none",
    "tags": [],
    "due_date": None,
    "due_at": None,
    "remind_at": None,
    "recurrence_mode": "unchanged",
}


@pytest.mark.parametrize("field", [*UPDATE_NULL, "list_id"])
async def test_null_on_update(spec: SpecClient, field: str) -> None:
    task = await _full_task(spec)
    response = await spec.call("PUT", f"{spec.tasks}/{task['id']}", json={field: None})
    assert response.status_code == 200, response.text
    after = response.json()
    expected = UPDATE_NULL.get(field)
    if field == "list_id":
        inbox = [found for found in await _lists(spec) if found["is_inbox"]]
        assert after["list_id"] == inbox[0]["id"] != task["list_id"]
    elif expected == "unchanged":
        assert after[field] == task[field]
    else:
        assert task[field] != expected
        assert after[field] == expected
    if field in ("due_date", "due_at"):
        assert after["due_date"] is None
        assert after["due_at"] is None
    untouched = {"id", "updated_at", "version", "list_id", "due_date", "due_at", field}
    assert {k: v for k, v in after.items() if k not in untouched} == {
        k: v for k, v in task.items() if k not in untouched
    }


async def test_null_rrule_on_update_stops_the_recurrence(spec: SpecClient) -> None:
    task = await spec.create(due_date="2030-05-01", rrule="FREQ=WEEKLY")
    assert task["rrule"] == "FREQ=WEEKLY"
    response = await spec.call("PUT", f"{spec.tasks}/{task['id']}", json={"rrule": None})
    assert response.status_code == 200, response.text
    assert response.json()["rrule"] is None
    assert response.json()["due_date"] == "2030-05-01"


def _request_schemas(app: FastAPI) -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = app.openapi()["components"]["schemas"]
    return schemas


def _nullable(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or {"type": "null"} in prop.get("anyOf", [])


@pytest.mark.parametrize(
    ("schema", "method", "path"),
    [
        ("TaskCreate", "POST", ""),
        ("TaskUpdate", "PUT", "/{id}"),
        ("TaskCompletion", "PATCH", "/{id}/complete"),
        ("TaskMove", "POST", "/{id}/move"),
    ],
)
async def test_openapi_says_which_fields_accept_null(
    spec: SpecClient, app: FastAPI, schema: str, method: str, path: str
) -> None:
    """The document and the server agree, field by field: null is accepted exactly where the
    schema allows it."""
    properties = _request_schemas(app)[schema]["properties"]
    for field, prop in properties.items():
        task = await spec.create()
        required = {"title": "Null"} if schema == "TaskCreate" and field != "title" else {}
        body = required | {field: None}
        url = spec.tasks + path.replace("{id}", str(task["id"]))
        response = await spec.call(method, url, json=body)
        if _nullable(prop):
            assert response.status_code in (200, 201), (field, response.text)
        else:
            assert response.status_code == 422, (field, response.text)
            assert field in [error["field"] for error in response.json()["errors"]]


async def test_the_six_spec_routes_with_numbers_for_ids(spec: SpecClient) -> None:
    listed = await spec.call("GET", spec.tasks)
    assert listed.status_code == 200, listed.text
    assert listed.json() == []  # a bare array, and the account was made on first sight

    task = await spec.create(title="Buy milk", description=None)
    assert isinstance(task["id"], int)
    assert isinstance(task["list_id"], int)
    assert task["user_id"] == spec.id
    one = f"{spec.tasks}/{task['id']}"

    got = await spec.call("GET", one)
    assert got.status_code == 200
    assert got.json()["id"] == task["id"]

    for expected in (True, False):
        toggled = await spec.call("PATCH", f"{one}/complete")
        assert toggled.status_code == 200, toggled.text
        assert toggled.json()["completed"] is expected

    edited = await spec.call("PUT", one, json={"title": "Buy oat milk", "description": "1 l"})
    assert edited.status_code == 200
    assert edited.json()["description"] == "1 l"

    listed = await spec.call("GET", spec.tasks)
    assert isinstance(listed.json(), list)
    assert [found["id"] for found in listed.json()] == [task["id"]]

    deleted = await spec.call("DELETE", one)
    assert deleted.status_code == 204
    assert (await spec.call("GET", one)).status_code == 404


async def test_errors_carry_detail(spec: SpecClient, client: httpx.AsyncClient) -> None:
    answers = [
        await spec.call("GET", f"{spec.tasks}/999999"),
        await spec.call("POST", spec.tasks, json={"title": None}),
        await spec.call("POST", spec.tasks, json={"description": "no title"}),
        await client.get(spec.tasks),
        await spec.call("GET", f"/api/{'x' * 32}/tasks"),
    ]
    assert [answer.status_code for answer in answers] == [404, 422, 422, 401, 403]
    for answer in answers:
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert isinstance(body["detail"], str)
        assert body["detail"]
        assert body["code"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_cors_preflight_from_the_front_end(spec: SpecClient, method: str) -> None:
    preflight = await spec.http.options(
        f"{spec.tasks}/1",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert method in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed

    answer = await spec.call("GET", spec.tasks, headers={"Origin": FRONTEND})
    assert answer.headers["access-control-allow-origin"] == FRONTEND


async def test_cors_refuses_another_origin(spec: SpecClient) -> None:
    preflight = await spec.http.options(
        spec.tasks,
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


async def test_better_auth_token_for_another_audience_is_refused(
    spec: SpecClient, better_auth: BetterAuth
) -> None:
    now = int(time.time())
    claims = {"sub": spec.id, "iat": now, "exp": now + 900, "iss": FRONTEND}
    for wrong in ({"aud": "https://other.example"}, {"aud": FRONTEND, "iss": "https://x.example"}):
        token = better_auth.token(claims | wrong)
        response = await spec.http.get(spec.tasks, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, wrong
