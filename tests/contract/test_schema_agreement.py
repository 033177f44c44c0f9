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
    return Draft202012Validator(schema)


CREATE_BODIES: list[dict[str, Any]] = [
    {"title": "Weekly", "rrule": "FREQ=WEEKLY"},
    {"title": "Weekly", "rrule": "FREQ=WEEKLY", "due_date": None},
    {"title": "Weekly", "rrule": "FREQ=WEEKLY", "due_date": "2030-01-07"},
    {"title": "Weekly", "rrule": "FREQ=WEEKLY", "due_at": "2030-01-07T09:00:00Z"},
    {"title": "Weekly", "rrule": None},
    {"title": "Plain", "description": None, "priority": None, "tags": None},
    {"title": "Plain", "completed": None, "recurrence_mode": None, "list_id": None},
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
