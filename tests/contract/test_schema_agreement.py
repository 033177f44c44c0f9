"""The OpenAPI document and the server agree on bodies the document used to promise and the
server refused: a request is valid by the schema exactly when the server accepts it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jsonschema_rs import Draft202012Validator

from tests.conftest import Account


def _validator(app: FastAPI, name: str) -> Draft202012Validator:
    document = app.openapi()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    # Formats (date, date-time) are checked, as clients and fuzzers read them.
    return Draft202012Validator(schema, validate_formats=True)


CREATE_BODIES: list[dict[str, Any]] = [
    {"title": "Weekly", "rrule": "FREQ=WEEKLY"},
    {"title": "Weekly", "rrule": "FREQ=WEEKLY", "due_date": None},
    {"title": "Weekly", "rrule": "FREQ=WEEKLY", "due_date": "2030-01-07"},
    {"title": "Weekly", "rrule": "FREQ=WEEKLY", "due_at": "2030-01-07T09:00:00Z"},
    {"title": "Weekly", "rrule": None},
    {"title": "Plain", "description": None, "priority": None, "tags": None},
    {"title": "Plain", "completed": None, "recurrence_mode": None, "list_id": None},
    {"title": " \x1f\u3000"},
    {"title": "\ufeff"},
    {"title": "Tagged", "tags": ["#"]},
    {"title": "Tagged", "tags": ["##"]},
    {"title": "Tagged", "tags": ["# \x1c"]},
    {"title": "Dated", "due_date": 0},
    {"title": "Dated", "due_date": "0"},
    {"title": "Dated", "due_at": 1_700_000_000},
    {"title": "Dated", "remind_at": "1700000000"},
    {"title": "Dated", "due_date": "2030-01-07", "due_at": "2030-01-07T09:00:00+02:00"},
]


@pytest.mark.parametrize("body", CREATE_BODIES)
async def test_create_schema_and_server_agree(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, body: dict[str, Any]
) -> None:
    valid = _validator(app, "TaskCreate").is_valid(body)
    response = await client.post("/api/me/tasks", headers=alice.headers, json=body)
    assert response.status_code == (201 if valid else 422), (valid, response.text)


UPDATE_BODIES: list[dict[str, Any]] = [
    {"completed": None},
    {"priority": None},
    {"recurrence_mode": None},
    {"title": None, "description": None, "tags": None, "list_id": None},
]


@pytest.mark.parametrize("body", UPDATE_BODIES)
async def test_update_schema_and_server_agree(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, body: dict[str, Any]
) -> None:
    assert _validator(app, "TaskUpdate").is_valid(body)
    task = await client.post("/api/me/tasks", headers=alice.headers, json={"title": "T"})
    response = await client.put(
        f"/api/me/tasks/{task.json()['id']}", headers=alice.headers, json=body
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires", "Mars/Olympus", "utc", ""]
)
async def test_time_zone_schema_and_server_agree(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, zone: str
) -> None:
    valid = _validator(app, "UserUpdate").is_valid({"timezone": zone})
    response = await client.patch("/api/auth/me", headers=alice.headers, json={"timezone": zone})
    assert response.status_code == (200 if valid else 422), (valid, response.text)
    signup = _validator(app, "SignupRequest").is_valid(
        {"email": "x@example.com", "password": "long enough", "timezone": zone}
    )
    assert signup == valid


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("SignupRequest", {"email": "short@example.com", "password": "seven77"}),
        ("SignupRequest", {"email": "long@example.com", "password": "eight888"}),
        ("ListCreate", {"name": "\t\x1d"}),
        ("ListCreate", {"name": "Groceries"}),
    ],
)
async def test_other_bodies_schema_and_server_agree(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, schema: str, body: dict[str, Any]
) -> None:
    valid = _validator(app, schema).is_valid(body)
    url = "/api/auth/signup" if schema == "SignupRequest" else "/api/me/lists"
    response = await client.post(url, headers=alice.headers, json=body)
    assert response.status_code == (201 if valid else 422), (valid, response.text)


@pytest.mark.parametrize("query", ["due_to=0", "due_from=1700000000", "completed_from=0"])
async def test_dates_in_queries_are_written_out(
    client: httpx.AsyncClient, alice: Account, query: str
) -> None:
    response = await client.get(f"/api/me/tasks?{query}", headers=alice.headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Backup script", "scopes": ["tasks:read"]},
        {"name": "Backup script", "scopes": ["tasks:read", "tasks:read"], "expires_at": None},
        {"name": "\t\x1d", "scopes": ["tasks:read"]},
        {"name": "", "scopes": ["tasks:read"]},
        {"name": "x" * 101, "scopes": ["tasks:read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["tasks:nuke"]},
        {"name": "x", "scopes": ["tasks:read"] * 17},
        {"name": "x", "scopes": ["tasks:read"], "expires_at": 1_900_000_000},
        {"name": "x", "scopes": ["tasks:read"], "secret": "mine"},
    ],
)
async def test_token_bodies_schema_and_server_agree(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, body: dict[str, Any]
) -> None:
    # An expiry's bounds move with the clock, which no schema can hold: tests/accounts has them.
    valid = _validator(app, "AccessTokenCreate").is_valid(body)
    response = await client.post("/api/auth/tokens", headers=alice.headers, json=body)
    assert response.status_code == (201 if valid else 422), (valid, response.text)
