"""Hostile input gets a clear 4xx, never a 500, on both databases.

The first tests pin the rules one by one (ids, integers, text, instants, limits); the sweep at
the end sends values of every kind to every parameter of every route of the app, enumerated
from the app itself so a new route cannot ship unswept.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.conftest import Account
from tests.web.test_pages import add_task as add_web_task
from tests.web.test_pages import page_token
from tests.web.test_pages import sign_up as web_sign_up
from todo.core.ids import ID_MAX, parse_int, parse_row_id

TOO_BIG = str(2**63)
NUL = "a\u0000b"


def _cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _fields(response: httpx.Response) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in response.json().get("errors", [])}


# Integers and ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (str(ID_MAX), ID_MAX),
        (TOO_BIG, None),
        ("9" * 20, None),
        ("²", None),
        ("١٢", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1\n", None),
        ("1_000", None),
        ("", None),
    ],
)
def test_the_one_integer_parser_takes_ascii_digits_in_range_only(
    text: str, expected: int | None
) -> None:
    assert parse_int(text) == expected


def test_a_row_id_starts_at_one() -> None:
    assert parse_row_id("0") is None
    assert parse_row_id("1") == 1


async def test_ids_past_bigint_in_bodies_and_queries_are_422(
    client: httpx.AsyncClient, alice: Account
) -> None:
    base = f"/api/{alice.id}"
    task = (await client.post(f"{base}/tasks", json={"title": "t"}, headers=alice.headers)).json()
    inbox = task["list_id"]
    calls = [
        ("POST", f"{base}/tasks", {"title": "t", "list_id": 2**63}, None, "list_id"),
        ("PUT", f"{base}/tasks/{task['id']}", {"list_id": 2**64}, None, "list_id"),
        ("POST", f"{base}/tasks/{task['id']}/move", {"after_id": 2**63}, None, "after_id"),
        ("POST", f"{base}/tasks/{task['id']}/move", {"list_id": 2**63}, None, "list_id"),
        ("PATCH", f"{base}/lists/{inbox}", {"after_id": 2**63}, None, "after_id"),
        ("GET", f"{base}/tasks", None, {"list_id": TOO_BIG}, "list_id"),
        ("GET", f"{base}/tasks", None, {"list_id": "²"}, "list_id"),
        ("POST", f"{base}/tasks", {"title": "t", "list_id": True}, None, "list_id"),
    ]
    for method, url, body, params, field in calls:
        response = await client.request(
            method, url, json=body, params=params, headers=alice.headers
        )
        assert response.status_code == 422, (method, url, body, params, response.text)
        assert field in _fields(response), response.text


@pytest.mark.parametrize("task_id", [TOO_BIG, "0", "-1", "²"])
async def test_path_ids_out_of_range_are_4xx(
    client: httpx.AsyncClient, alice: Account, task_id: str
) -> None:
    for path in ("tasks", "lists", "tags"):
        response = await client.get(f"/api/{alice.id}/{path}/{task_id}", headers=alice.headers)
        assert response.status_code in (404, 422), response.text


@pytest.mark.parametrize(
    ("sort", "value", "last_id"),
    [
        ("created", "2026-01-01T00:00:00+00:00", 2**63),
        ("created", "2026-01-01T00:00:00+00:00", -1),
        ("priority", 40000, 1),
        ("priority", -(2**70), 1),
        ("title", "a\u0000", 1),
        ("due_date", "0001-01-01", 2**64),
        ("created", "0001-01-01T00:00:00+14:00", 1),
        ("completed", "9999-12-31T23:59:59-12:00", 1),
    ],
)
async def test_a_forged_cursor_is_a_400(
    client: httpx.AsyncClient, alice: Account, sort: str, value: Any, last_id: int
) -> None:
    await client.post(f"/api/{alice.id}/tasks", json={"title": "t"}, headers=alice.headers)
    cursor = _cursor({"s": sort, "o": "asc", "v": value, "i": last_id})
    response = await client.get(
        f"/api/{alice.id}/tasks",
        params={"sort": sort, "cursor": cursor},
        headers=alice.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_cursor"


# Header bytes arrive as Latin-1 text, in which "\xb2" is "²", a digit to str.isdigit().
@pytest.mark.parametrize(
    "if_match", [b'"\xb2"', b'"\xb9\xb3"', f'"{TOO_BIG}"'.encode(), b'"-1"', b"W/"]
)
async def test_an_if_match_we_never_issued_is_412(
    client: httpx.AsyncClient, alice: Account, if_match: bytes
) -> None:
    base = f"/api/{alice.id}/tasks"
    task = (await client.post(base, json={"title": "t"}, headers=alice.headers)).json()
    response = await client.put(
        f"{base}/{task['id']}",
        json={"title": "changed"},
        headers={**alice.headers, "If-Match": if_match},
    )
    assert response.status_code == 412, response.text


async def test_web_ids_past_bigint_are_4xx(client: httpx.AsyncClient) -> None:
    await web_sign_up(client)
    task_id = await add_web_task(client, "web task")
    token = await page_token(client)
    posts = [
        (f"/lists/{TOO_BIG}", {"name": "x"}),
        (f"/lists/{TOO_BIG}/delete", {"tasks": "move"}),
        (f"/tags/{TOO_BIG}", {"name": "x"}),
        (f"/tags/{TOO_BIG}/delete", {"confirm": "yes"}),
        (f"/tasks/{TOO_BIG}", {"title": "x"}),
        (f"/tasks/{task_id}", {"title": "x", "list_id": TOO_BIG}),
        (f"/tasks/{task_id}", {"title": "x", "list_id": "²"}),
        (f"/tasks/{task_id}/move", {"after": TOO_BIG}),
        (f"/tasks/{task_id}/move", {"after": "²"}),
    ]
    for url, form in posts:
        response = await client.post(url, data={"csrf_token": token, **form})
        assert 400 <= response.status_code < 500, (url, form, response.status_code)
    for params in ({"list": TOO_BIG}, {"tag": "9" * 20}, {"list": "²"}):
        response = await client.get("/", params=params)
        assert response.status_code == 200, (params, response.status_code)


# Text: no NUL or other control characters, on either database


def _nul_calls(account: Account, task_id: int, list_id: int) -> list[tuple[str, str, Any, str]]:
    base = f"/api/{account.id}"
    return [
        ("POST", f"{base}/tasks", {"title": NUL}, "title"),
        ("POST", f"{base}/tasks", {"title": "t", "description": NUL}, "description"),
        ("POST", f"{base}/tasks", {"title": "t", "tags": [NUL]}, "tags.0"),
        ("POST", f"{base}/tasks", {"title": "t", "rrule": "FREQ=DAILY\u0000"}, "rrule"),
        ("PUT", f"{base}/tasks/{task_id}", {"title": NUL}, "title"),
        ("POST", f"{base}/tasks/quick", {"text": f"call {NUL} #x"}, "text"),
        ("POST", f"{base}/lists", {"name": NUL}, "name"),
        ("PATCH", f"{base}/lists/{list_id}", {"name": NUL}, "name"),
        ("PATCH", "/api/auth/me", {"name": NUL}, "name"),
        ("PATCH", "/api/auth/me", {"timezone": "UTC\u0000"}, "timezone"),
    ]


async def test_nul_in_api_text_is_422_naming_the_field(
    client: httpx.AsyncClient, alice: Account
) -> None:
    base = f"/api/{alice.id}"
    task = (
        await client.post(
            f"{base}/tasks", json={"title": "t", "tags": ["x"]}, headers=alice.headers
        )
    ).json()
    tag = (await client.get(f"{base}/tags", headers=alice.headers)).json()[0]
    calls = _nul_calls(alice, task["id"], task["list_id"])
    calls.append(("PATCH", f"{base}/tags/{tag['id']}", {"name": NUL}, "name"))
    for method, url, body, field in calls:
        response = await client.request(method, url, json=body, headers=alice.headers)
        assert response.status_code == 422, (method, url, body, response.text)
        assert "NUL" in _fields(response).get(field, ""), response.text
    for params, field in (
        ({"q": NUL}, "q"),
        ({"tag": NUL}, "tag.0"),
    ):
        response = await client.get(f"{base}/tasks", params=params, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert field in _fields(response)
    response = await client.get(f"{base}/tasks/parse", params={"text": NUL}, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert "text" in _fields(response)


async def test_other_control_characters_are_refused_but_tabs_and_newlines_kept(
    client: httpx.AsyncClient, alice: Account
) -> None:
    base = f"/api/{alice.id}/tasks"
    refused = await client.post(base, json={"title": "bell\u0007"}, headers=alice.headers)
    assert refused.status_code == 422
    assert "control characters" in _fields(refused)["title"]
    kept = await client.post(
        base, json={"title": "t", "description": "one\n\ttwo\r\n"}, headers=alice.headers
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["description"] == "one\n\ttwo\r\n"


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/signup"])
async def test_nul_in_the_login_email_is_422_before_anyone_signs_in(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(
        path, json={"email": f"x{NUL}@example.com", "password": "correct horse 1"}
    )
    assert response.status_code == 422, response.text
    assert "email" in _fields(response)


async def test_nul_in_web_forms_and_queries_is_422(client: httpx.AsyncClient) -> None:
    token = await page_token(client, "/login")
    response = await client.post(
        "/login", data={"csrf_token": token, "email": NUL, "password": "x" * 10}
    )
    assert response.status_code == 422, response.status_code
    await web_sign_up(client)
    task_id = await add_web_task(client, "web task")
    token = await page_token(client)
    for url, form in (
        ("/tasks", {"title": NUL}),
        (f"/tasks/{task_id}", {"title": "x", "description": NUL}),
        ("/lists", {"name": NUL}),
        ("/account/name", {"name": NUL}),
    ):
        response = await client.post(url, data={"csrf_token": token, **form})
        assert response.status_code == 422, (url, response.status_code)
        assert "NUL" in response.text
    for url, params in (("/", {"q": NUL}), ("/tasks/preview", {"title": NUL})):
        response = await client.get(url, params=params, headers={"HX-Request": "true"})
        assert response.status_code == 422, (url, response.status_code)


# Instants: the range every time zone can show


FAR_PAST = "0001-01-01T00:00:00+14:00"
FAR_FUTURE = "9999-12-31T23:59:59-12:00"


@pytest.mark.parametrize("instant", [FAR_PAST, FAR_FUTURE, "0001-01-01T05:00:00Z"])
async def test_instants_outside_the_range_are_422(
    client: httpx.AsyncClient, alice: Account, instant: str
) -> None:
    base = f"/api/{alice.id}/tasks"
    task = (await client.post(base, json={"title": "t"}, headers=alice.headers)).json()
    for method, url, body, field in (
        ("POST", base, {"title": "t", "due_at": instant}, "due_at"),
        ("POST", base, {"title": "t", "remind_at": instant}, "remind_at"),
        ("PUT", f"{base}/{task['id']}", {"due_at": instant}, "due_at"),
    ):
        response = await client.request(method, url, json=body, headers=alice.headers)
        assert response.status_code == 422, (body, response.text)
        assert "between" in _fields(response)[field], response.text
    for name in ("completed_from", "completed_to"):
        response = await client.get(base, params={name: instant}, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert name in _fields(response)


async def test_a_task_at_the_edge_survives_any_time_zone(
    client: httpx.AsyncClient, alice: Account
) -> None:
    base = f"/api/{alice.id}/tasks"
    for instant in ("0001-01-02T00:00:00Z", "9999-12-30T23:59:59Z"):
        created = await client.post(
            base,
            json={"title": "edge", "due_at": instant, "remind_at": instant},
            headers=alice.headers,
        )
        assert created.status_code == 201, created.text
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12", "America/Los_Angeles"):
        changed = await client.patch("/api/auth/me", json={"timezone": zone}, headers=alice.headers)
        assert changed.status_code == 200, changed.text
        listed = await client.get(base, params={"sort": "due_date"}, headers=alice.headers)
        assert listed.status_code == 200, listed.text
        for due in ("overdue", "today", "week"):
            filtered = await client.get(base, params={"due": due}, headers=alice.headers)
            assert filtered.status_code == 200, filtered.text


async def test_quick_add_on_the_last_day_is_a_clear_422(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await client.patch("/api/auth/me", json={"timezone": "Etc/GMT+12"}, headers=alice.headers)
    response = await client.post(
        f"/api/{alice.id}/tasks/quick",
        json={"text": "party 9999-12-31 11pm"},
        headers=alice.headers,
    )
    assert response.status_code == 422, response.text
    assert "text" in _fields(response)


# Limits


async def test_quick_add_with_too_many_tags_is_422_naming_the_limit(
    client: httpx.AsyncClient, alice: Account
) -> None:
    text = "many " + " ".join(f"#t{i}" for i in range(25))
    response = await client.post(
        f"/api/{alice.id}/tasks/quick", json={"text": text}, headers=alice.headers
    )
    assert response.status_code == 422, response.text
    assert "20" in _fields(response)["text"]
