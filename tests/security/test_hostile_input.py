"""Hostile input gets a clear 4xx, never a 500, on both databases.

The first tests pin the rules one by one (ids, integers, text, instants, limits); the sweep at
the end sends values of every kind to every parameter of every route of the app, enumerated
from the app itself so a new route cannot ship unswept.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, routing
from fastapi.params import Form

from tests.conftest import WEBHOOK_URL, Account
from tests.web.test_pages import PASSWORD, page_token
from tests.web.test_pages import add_task as add_web_task
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


# The sweep: every parameter of every route, values of every kind, never a 5xx

FAR_PAST_TEXT = "0001-01-01T00:00:00+14:00"
LONG = "x" * 100_000
LONG_LINE = "x" * 8_000
_INFINITE = "\ufffehuge-float\ufffe"
# What a JSON body field gets: numbers out of every range, digits Python alone calls digits,
# NUL, the ends of time, a very long string and every wrong JSON type.
JSON_VALUES: list[Any] = [
    2**63, 2**64, -1, 0, _INFINITE, "²", "١٢", NUL, FAR_PAST, FAR_FUTURE, LONG,
    [], {}, True, None, 1.5,
]  # fmt: skip
# What a path segment, query parameter, form field or header gets: the same, as text.
TEXT_VALUES: list[str] = [
    str(2**63), str(2**64), "-1", "0", "1e309", "²", "١٢", NUL, FAR_PAST, FAR_FUTURE, LONG, "",
]  # fmt: skip
REPEATED = ["1", "2"]

# Form fields each web action reads (the pages read them by hand, not through FastAPI).
TASK_FORM = (
    "title", "description", "priority", "completed", "list_id", "tags", "due_date", "due_time",
    "remind_at", "repeat", "repeat_monthday", "repeat_custom", "repeat_days", "recurrence_mode",
    "next",
)  # fmt: skip
WEB_FORMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/login"): ("email", "password", "next"),
    ("POST", "/signup"): ("email", "password", "name", "timezone", "next"),
    ("POST", "/account/name"): ("name",),
    ("POST", "/account/timezone"): ("timezone",),
    ("POST", "/account/password"): ("current_password", "new_password"),
    ("POST", "/account/delete"): ("confirm_email",),
    ("POST", "/tasks"): ("title", "next"),
    ("POST", "/tasks/{task_id:int}/complete"): ("completed", "children", "next"),
    ("POST", "/tasks/{task_id:int}"): TASK_FORM,
    ("POST", "/tasks/{task_id:int}/reminder/dismiss"): ("next",),
    ("POST", "/tasks/{task_id:int}/move"): ("after", "next"),
    ("POST", "/tasks/{task_id:int}/reschedule"): ("date", "next"),
    ("POST", "/tasks/{task_id:int}/parent"): ("parent", "next"),
    ("POST", "/tasks/{task_id:int}/subtasks"): ("title",),
    ("POST", "/tasks/{task_id:int}/delete"): ("next",),
    ("POST", "/tasks/{task_id:int}/comments"): ("body",),
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}/delete"): (),
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}"): ("body",),
    ("POST", "/tasks/{task_id:int}/restore"): ("next",),
    ("POST", "/trash/{task_id:int}/delete"): ("next",),
    ("POST", "/trash/empty"): ("confirm",),
    ("POST", "/sort"): ("filter", "sort", "view", "list", "tag", "q"),
    ("POST", "/lists"): ("name",),
    ("POST", "/lists/{list_id}"): ("name",),
    ("POST", "/lists/{list_id}/delete"): ("tasks",),
    ("POST", "/tags/{tag_id}"): ("name",),
    ("POST", "/tags/{tag_id}/delete"): ("confirm",),
    ("POST", "/account/tokens"): ("token_name", "scopes", "expires"),
    # Nothing but the id in its address (and the CSRF token every form sends).
    ("POST", "/account/tokens/{token_id:int}/delete"): (),
    ("POST", "/account/app-passwords"): ("app_password_name",),
    ("POST", "/account/app-passwords/{password_id:int}/delete"): (),
    ("POST", "/account/feeds"): ("feed_name", "feed_list", "feed_component"),
    ("POST", "/account/feeds/{feed_id:int}/delete"): (),
    # The file arrives as text here, which the form refuses as no file chosen.
    ("POST", "/lists/{list_id:int}/import"): ("file", "dry_run"),
    ("POST", "/account/webhooks"): ("url", "mode", "events"),
    ("POST", "/account/webhooks/{webhook_id:int}/enabled"): ("enabled",),
    ("POST", "/account/webhooks/{webhook_id:int}/test"): (),
    ("POST", "/account/webhooks/{webhook_id:int}/rotate-secret"): (),
    ("POST", "/account/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}/retry"): (),
    ("POST", "/account/webhooks/{webhook_id:int}/delete"): (),
    ("POST", "/account/notifications"): ("email_reminders", "push_reminders", "digest_hour"),
    # Sent by the account page's script as JSON (the browser's push subscription).
    ("POST", "/account/push-subscriptions"): (),
    ("POST", "/account/push-subscriptions/delete"): (),
    ("POST", "/lists/{list_id}/members"): ("email", "role"),
    ("POST", "/lists/{list_id}/members/{member_user_id}"): ("role",),
    ("POST", "/lists/{list_id}/members/{member_user_id}/remove"): (),
    ("POST", "/lists/{list_id}/links"): ("role",),
    ("POST", "/lists/{list_id}/links/{link_id}/revoke"): (),
    ("POST", "/lists/{list_id}/invitations/{invitation_id}/cancel"): (),
    ("POST", "/lists/{list_id}/members/{member_user_id}/owner"): ("confirm",),
    ("POST", "/join/{secret}"): (),
}
# Routes with nothing to send but the caller's credentials; calling them would sign the
# sweep out or delete its account, and the authentication tests cover them.
NOTHING_TO_SWEEP = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("GET", "/api/auth/me"),
    ("GET", "/api/auth/me/export"),
    ("DELETE", "/api/auth/me"),
    ("POST", "/api/auth/logout-all"),
    ("POST", "/logout"),
    ("POST", "/account/logout-everywhere"),
    ("GET", "/account"),
    ("GET", "/account/export"),
    ("GET", "/sw.js"),
    ("POST", "/account/push-test"),
    ("GET", "/reminders"),
    ("GET", "/api/{user_id}/reminders/due"),
    ("GET", "/api/{user_id}/lists"),
    ("GET", "/api/{user_id}/tags"),
    ("GET", "/api/auth/tokens"),
    ("GET", "/api/auth/app-passwords"),
    ("GET", "/api/auth/feeds"),
    # The MCP server: one JSON-RPC endpoint whose parameters are its tools' arguments, which
    # FastAPI knows nothing of; tests/assistants/test_mcp.py sweeps those (huge strings,
    # control characters, bad ids, wrong types) through the SDK's own client.
    ("POST", "/mcp"),
    # CalDAV's discovery redirect, and its root (XML bodies and its paths are swept by
    # tests/caldav/test_protocol.py: billion laughs, external entities, broken iCalendar).
    ("GET", "/.well-known/caldav"),
    ("PROPFIND", "/.well-known/caldav"),
    ("OPTIONS", "/.well-known/caldav"),
    *(
        (method, "/dav")
        for method in ("OPTIONS", "GET", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "REPORT")
    ),
    ("MKCALENDAR", "/dav"),
    ("MKCOL", "/dav"),
}
# Event streams never end, and the ASGI transport the sweep calls through waits for the end
# of an answer: tests/activity/test_live.py sweeps their parameters over real HTTP, with
# these same values.
STREAMS = {("GET", "/api/{user_id}/events"), ("GET", "/events")}
# CalDAV (HTTP Basic, XML and iCalendar bodies FastAPI knows nothing of): its paths and
# bodies are swept by tests/caldav/test_protocol.py (hostile paths on every method, billion
# laughs, external entities, broken iCalendar).
CALDAV = {
    (method, "/dav/{path:path}")
    for method in (
        "OPTIONS", "GET", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR",
        "MKCOL",
    )
}  # fmt: skip
# The other routes take parameters that FastAPI knows of (path, query, header, JSON body),
# found from the route itself; the web forms above are swept as well.
SWEPT_HEADERS = {"If-Match", "Idempotency-Key", "HX-Current-URL"}
WRONG_PASSWORD = "not the password 1"


@dataclass
class Target:
    user_id: str
    email: str
    headers: dict[str, str]
    csrf: str
    task_id: int = 0
    list_id: int = 0
    tag_id: int = 0
    token_id: int = 0
    password_id: int = 0
    member_email: str = ""
    member_user_id: str = ""
    link_id: int = 0
    invitation_id: int = 0
    secret: str = ""
    webhook_id: int = 0
    delivery_id: int = 0
    comment_id: int = 0


def _base(target: Target, name: str) -> Any:
    """A value that would pass for each parameter, so only the swept one is hostile."""
    return {
        "user_id": target.user_id,
        "task_id": target.task_id,
        "list_id": target.list_id,
        "tag_id": target.tag_id,
        "token_id": target.token_id,
        "password_id": target.password_id,
        "feed_id": 1,
        "component": "VEVENT",
        "dry_run": False,
        "scopes": ["tasks:read"],
        "token_name": "sweep",
        "app_password_name": "sweep",
        "mode": "all",
        "enabled": "true",
        "expires": "30",
        "subscription_id": 1,
        "member_user_id": target.member_user_id,
        "link_id": target.link_id,
        "invitation_id": target.invitation_id,
        "secret": target.secret,
        "webhook_id": target.webhook_id,
        "delivery_id": target.delivery_id,
        "url": WEBHOOK_URL,
        "events": ["*"],
        "comment_id": target.comment_id,
        "body": "sweep",
        "role": "editor",
        "title": "sweep",
        "text": "sweep tomorrow #x",
        "name": "sweep",
        "email": target.email,
        "username": target.email,
        "password": PASSWORD,
        "current_password": WRONG_PASSWORD,
        "new_password": "another password 1",
        "tasks": "move",
        "completed": "true",
        "confirm": "no",
        "confirm_email": "someone@example.com",
        "timezone": "UTC",
        "csrf_token": target.csrf,
    }.get(name)


@dataclass(frozen=True)
class Parameters:
    path: tuple[str, ...]
    query: tuple[str, ...]
    headers: tuple[str, ...]
    body: tuple[str, ...]
    form: tuple[str, ...]


def _parameters(route: Any) -> Parameters:
    dependant = getattr(route, "dependant", None)
    found: dict[str, list[str]] = {"path": [], "query": [], "header": [], "body": [], "form": []}
    # Plain Starlette routes (the OpenAPI document, the docs page) take no parameters.
    stack = [] if dependant is None else [dependant]
    while stack:
        current = stack.pop()
        stack.extend(current.dependencies)
        found["path"] += [p.alias for p in current.path_params]
        found["query"] += [p.alias for p in current.query_params]
        found["header"] += [p.alias for p in current.header_params if p.alias in SWEPT_HEADERS]
        for body in current.body_params:
            if isinstance(body.field_info, Form):
                found["form"].append(body.alias)
                continue
            model = body.field_info.annotation
            fields = getattr(model, "model_fields", None)
            if fields is None:
                for arg in getattr(model, "__args__", ()):
                    fields = getattr(arg, "model_fields", fields)
            found["body"] += [f.alias or n for n, f in (fields or {}).items()]
    key = next((m, route.path) for m in route.methods if m != "HEAD")
    form = WEB_FORMS.get(key, tuple(dict.fromkeys(found["form"])))
    if (form or key in WEB_FORMS) and key[1] not in ("/login", "/signup"):
        form = (*form, "csrf_token")
    web_headers = () if route.path.startswith("/api") else ("HX-Current-URL",)
    return Parameters(
        path=tuple(dict.fromkeys(found["path"])),
        query=tuple(dict.fromkeys(found["query"])),
        headers=tuple(dict.fromkeys(found["header"])) + web_headers,
        body=tuple(dict.fromkeys(found["body"])),
        form=form,
    )


def _api_routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """Every (method, path) the app answers with its route (static files aside)."""
    found = {}
    for route in routing.iter_route_contexts(app.routes):
        if route.methods is not None:
            for method in route.methods:
                if method != "HEAD":
                    found[(method, route.path)] = route
    return found


def test_every_route_is_swept(app: FastAPI) -> None:
    routes = _api_routes(app)
    unswept = {
        key for key, route in routes.items() if key not in NOTHING_TO_SWEEP and not _has(route)
    }
    assert unswept == set(), "routes with parameters the sweep does not know of"
    unknown = (NOTHING_TO_SWEEP | STREAMS | CALDAV | WEB_FORMS.keys()) - routes.keys()
    assert unknown == set(), "entries for routes that no longer exist"
    forms = {k for k in routes if k[0] == "POST" and not k[1].startswith("/api")}
    assert forms - NOTHING_TO_SWEEP == WEB_FORMS.keys(), "a web action without its form fields"
    for key in NOTHING_TO_SWEEP:
        parameters = _parameters(routes[key])
        assert not parameters.query, key
        assert not parameters.body, key
        assert not parameters.form, key


def _has(route: Any) -> bool:
    p = _parameters(route)
    return bool(p.path or p.query or p.headers or p.body or p.form)


def _url(path: str, values: dict[str, Any]) -> str:
    for name, value in values.items():
        path = re.sub(r"{" + name + r"(:\w+)?}", quote(str(value), safe=""), path)
    return path


async def _request(
    http: httpx.AsyncClient,
    method: str,
    route_path: str,
    parameters: Parameters,
    target: Target,
    swept: tuple[str, str],
    value: Any,
) -> httpx.Response:
    where, name = swept

    def pick(kind: str, each: str) -> Any:
        return value if (kind, each) == swept else _base(target, each)

    path_values = {each: pick("path", each) for each in parameters.path}
    query = [(each, pick("query", each)) for each in parameters.query]
    query = [(k, v) for k, v in query if v is not None]
    if where == "query" and isinstance(value, list):
        query = [(k, v) for k, v in query if k != name] + [(name, v) for v in value]
    headers = dict(target.headers)
    if not route_path.startswith("/api"):
        headers.update({"HX-Request": "true", "HX-Current-URL": "http://test/"})
    if where == "header":
        headers[name] = value.replace("\x00", "")
    content: bytes | None = None
    data: dict[str, str | list[str]] | None = None
    if parameters.body:
        body = {each: pick("body", each) for each in parameters.body}
        body = {k: v for k, v in body.items() if v is not None or (where, k) == swept}
        raw = json.dumps(body).replace(json.dumps(_INFINITE), "1e309")
        content = raw.encode()
        headers["Content-Type"] = "application/json"
    elif parameters.form:
        form = [(each, pick("form", each)) for each in parameters.form]
        data = {k: v if isinstance(v, list) else str(v) for k, v in form if v is not None}
    return await http.request(
        method,
        _url(route_path, path_values),
        params=query,
        content=content,
        data=data,
        headers={k: v.encode("utf-8") if isinstance(v, str) else v for k, v in headers.items()},
    )


async def _new_webhook(http: httpx.AsyncClient, target: Target) -> None:
    """A webhook with one delivery in its log (a ping, to a host that never resolves)."""
    base, headers = f"/api/{target.user_id}", target.headers
    body = {"url": WEBHOOK_URL, "events": ["*"]}
    hook = await http.post(f"{base}/webhooks", json=body, headers=headers)
    if hook.status_code == 409:
        # Past the cap of 20: any webhook of the account will do.
        target.webhook_id = (await http.get(f"{base}/webhooks", headers=headers)).json()[0]["id"]
    else:
        assert hook.status_code == 201, hook.text
        target.webhook_id = hook.json()["id"]
    pinged = await http.post(f"{base}/webhooks/{target.webhook_id}/test", headers=headers)
    assert pinged.status_code == 200, pinged.text
    target.delivery_id = pinged.json()["id"]


async def _refresh(http: httpx.AsyncClient, target: Target) -> None:
    """Objects for the routes to act on, made again after a sweep value deleted one."""
    base = f"/api/{target.user_id}"
    headers = target.headers
    lists = await http.post(f"{base}/lists", json={"name": f"l{uuid.uuid4().hex}"}, headers=headers)
    assert lists.status_code == 201, lists.text
    target.list_id = lists.json()["id"]
    body = {"title": "swept", "tags": [f"t{uuid.uuid4().hex[:8]}"], "list_id": target.list_id}
    task = await http.post(f"{base}/tasks", json=body, headers=headers)
    target.task_id = task.json()["id"]
    comment = await http.post(
        f"{base}/tasks/{target.task_id}/comments", json={"body": "swept"}, headers=headers
    )
    assert comment.status_code == 201, comment.text
    target.comment_id = comment.json()["id"]
    tags = (await http.get(f"{base}/tags", headers=headers)).json()
    target.tag_id = next(tag["id"] for tag in tags if tag["name"] == body["tags"][0])
    shared = await http.post(
        f"{base}/lists/{target.list_id}/members",
        json={"email": target.member_email, "role": "editor"},
        headers=headers,
    )
    assert shared.status_code == 201, shared.text
    target.member_user_id = shared.json()["user"]["id"]
    link = await http.post(
        f"{base}/lists/{target.list_id}/links", json={"role": "viewer"}, headers=headers
    )
    target.link_id = link.json()["id"]
    target.secret = link.json()["url"].rsplit("/", 1)[1]
    if (
        target.webhook_id == 0
        or (await http.get(f"{base}/webhooks/{target.webhook_id}", headers=headers)).status_code
        == 404
    ):
        await _new_webhook(http, target)
    invited = await http.post(
        f"{base}/lists/{target.list_id}/members",
        json={"email": f"invited-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
        headers=headers,
    )
    assert invited.status_code == 202, invited.text
    target.invitation_id = invited.json()["id"]
    token = await http.post(
        "/api/auth/tokens", json={"name": "swept", "scopes": ["tasks:read"]}, headers=headers
    )
    if token.status_code == 409:
        # The sweep's own valid values filled the account up: any token of it will do.
        target.token_id = (await http.get("/api/auth/tokens", headers=headers)).json()[0]["id"]
        return
    assert token.status_code == 201, token.text
    target.token_id = token.json()["id"]


async def test_no_hostile_value_gets_a_5xx(app: FastAPI, client: httpx.AsyncClient) -> None:
    # A 500 is an answer to count here, not an exception to stop at (the `client` fixture
    # still empties the tables afterwards).
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await _sweep(app, http)


async def _sweep(app: FastAPI, client: httpx.AsyncClient) -> None:
    email = await web_sign_up(client)
    logged_in = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    token = logged_in.json()["access_token"]
    target = Target(
        user_id=logged_in.json()["user"]["id"],
        email=email,
        headers={"Authorization": f"Bearer {token}"},
        csrf=await page_token(client),
    )
    # Someone to share the sweep's lists with, for the member routes.
    target.member_email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    member = await client.post(
        "/api/auth/signup", json={"email": target.member_email, "password": PASSWORD}
    )
    assert member.status_code == 201, member.text
    await _refresh(client, target)
    failures: list[str] = []
    sent = 0
    for (method, path), route in sorted(_api_routes(app).items()):
        if (method, path) in NOTHING_TO_SWEEP | STREAMS | CALDAV:
            continue
        parameters = _parameters(route)
        swept = [("path", n) for n in parameters.path]
        swept += [("query", n) for n in parameters.query]
        swept += [("header", n) for n in parameters.headers]
        swept += [("body", n) for n in parameters.body]
        swept += [("form", n) for n in parameters.form]
        for where, name in swept:
            values: list[Any] = JSON_VALUES if where == "body" else list(TEXT_VALUES)
            if where in ("path", "query", "header"):
                # What fits in a URL or a header line: servers refuse longer ones themselves.
                values = [LONG_LINE if v == LONG else v for v in values]
            if where in ("query", "form"):
                values = [*values, REPEATED]
            for value in values:
                response = await _request(
                    client, method, path, parameters, target, (where, name), value
                )
                sent += 1
                if response.status_code >= 500:
                    shown = repr(value)[:40]
                    failures.append(
                        f"{method} {path} {where} {name}={shown}: {response.text[:200]}"
                    )
                deleting = method == "DELETE" or path.endswith(
                    ("/delete", "/remove", "/revoke", "/make-owner")
                )
                if response.status_code < 400 and deleting:
                    await _refresh(client, target)

    assert failures == [], f"{len(failures)} of {sent} requests got a 5xx:\n" + "\n".join(failures)
