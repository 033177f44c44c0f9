"""Broken object-level authorization: every route that takes an object's id, called by another
user, answers 404 and changes nothing.

The routes come from the application itself: a new route with an id in its path and no entry
in ID_ROUTES fails `test_every_id_route_is_covered`, so it cannot ship unchecked.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, routing

from tests.conftest import WEBHOOK_URL, Account
from tests.web.test_pages import (
    WEB_COMMENT_ROUTES,
    WEB_ICS_ROUTES,
    WEB_ID_ROUTES,
    WEB_LIST_ROUTES,
    WEB_SHARING_ROUTES,
    WEB_TAG_ROUTES,
    WEB_TOKEN_ROUTES,
    WEB_TRASH_ROUTES,
    WEB_WEBHOOK_ROUTES,
)

OWNER_PARAMETER = "user_id"


@dataclass(frozen=True)
class Call:
    """How to call a route: a body and query that would succeed for the owner."""

    json: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # A body that is not JSON (an .ics file), sent with its content type.
    content: bytes | None = None
    content_type: str | None = None

    def body(self) -> dict[str, Any]:
        """The request's body arguments for httpx."""
        if self.content is None:
            return {"json": self.json}
        return {"content": self.content}

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        if self.content_type is None:
            return headers
        return {**headers, "Content-Type": self.content_type}

    # The route acts on a task in the trash: its task_id is the victim's trashed task.
    trashed: bool = False
    # The route answers with a stream that only ends when the client leaves.
    streams: bool = False


ID_ROUTES: dict[tuple[str, str], Call] = {
    ("GET", "/api/{user_id}/tasks/{task_id}"): Call(),
    ("PUT", "/api/{user_id}/tasks/{task_id}"): Call(json={"title": "taken over"}),
    ("PATCH", "/api/{user_id}/tasks/{task_id}/complete"): Call(json={"completed": True}),
    ("POST", "/api/{user_id}/tasks/{task_id}/move"): Call(json={"after_id": None}),
    ("DELETE", "/api/{user_id}/tasks/{task_id}"): Call(),
    ("POST", "/api/{user_id}/reminders/{task_id}/dismiss"): Call(),
    ("GET", "/api/{user_id}/lists/{list_id}"): Call(),
    ("PATCH", "/api/{user_id}/lists/{list_id}"): Call(json={"name": "taken over"}),
    ("DELETE", "/api/{user_id}/lists/{list_id}"): Call(params={"tasks": "delete"}),
    ("GET", "/api/{user_id}/tags/{tag_id}"): Call(),
    ("PATCH", "/api/{user_id}/tags/{tag_id}"): Call(json={"name": "taken over"}),
    ("DELETE", "/api/{user_id}/tags/{tag_id}"): Call(),
    ("DELETE", "/api/auth/tokens/{token_id}"): Call(),
    ("DELETE", "/api/auth/app-passwords/{password_id}"): Call(),
    ("DELETE", "/api/auth/feeds/{feed_id}"): Call(),
    # A feed's secret is the key itself, as a link's: a made-up one finds nothing.
    ("GET", "/api/feeds/{secret}.ics"): Call(),
    ("POST", "/api/{user_id}/tasks/{task_id}/restore"): Call(trashed=True),
    ("DELETE", "/api/{user_id}/trash/{task_id}"): Call(trashed=True),
    ("DELETE", "/api/{user_id}/push-subscriptions/{subscription_id}"): Call(),
    ("GET", "/api/{user_id}/tasks/{task_id}/activity"): Call(),
    ("GET", "/api/{user_id}/lists/{list_id}/activity"): Call(),
    ("GET", "/api/{user_id}/lists/{list_id}/members"): Call(),
    ("POST", "/api/{user_id}/lists/{list_id}/members"): Call(
        json={"email": "planted@example.com", "role": "admin"}
    ),
    ("PATCH", "/api/{user_id}/lists/{list_id}/members/{member_user_id}"): Call(
        json={"role": "admin"}
    ),
    ("DELETE", "/api/{user_id}/lists/{list_id}/members/{member_user_id}"): Call(),
    ("POST", "/api/{user_id}/lists/{list_id}/members/{member_user_id}/make-owner"): Call(),
    ("GET", "/api/{user_id}/lists/{list_id}/links"): Call(),
    ("POST", "/api/{user_id}/lists/{list_id}/links"): Call(json={"role": "admin"}),
    ("DELETE", "/api/{user_id}/lists/{list_id}/links/{link_id}"): Call(),
    ("GET", "/api/{user_id}/webhooks/{webhook_id}"): Call(),
    ("PATCH", "/api/{user_id}/webhooks/{webhook_id}"): Call(json={"events": ["task.*"]}),
    ("DELETE", "/api/{user_id}/webhooks/{webhook_id}"): Call(),
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/rotate-secret"): Call(),
    ("GET", "/api/{user_id}/webhooks/{webhook_id}/deliveries"): Call(),
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/test"): Call(),
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): Call(),
    ("GET", "/api/{user_id}/lists/{list_id}/invitations"): Call(),
    ("DELETE", "/api/{user_id}/lists/{list_id}/invitations/{invitation_id}"): Call(),
    # A link's secret is the key itself: a made-up one finds nothing (the owner's is in
    # tests/sharing/test_role_matrix.py, where anyone holding it joins).
    ("POST", "/api/{user_id}/links/{secret}/join"): Call(),
    ("GET", "/api/{user_id}/tasks/{task_id}/comments"): Call(),
    ("POST", "/api/{user_id}/tasks/{task_id}/comments"): Call(json={"body": "planted"}),
    ("PATCH", "/api/{user_id}/tasks/{task_id}/comments/{comment_id}"): Call(
        json={"body": "taken over"}
    ),
    ("DELETE", "/api/{user_id}/tasks/{task_id}/comments/{comment_id}"): Call(),
    ("GET", "/api/{user_id}/lists/{list_id}/tasks.ics"): Call(),
    ("POST", "/api/{user_id}/lists/{list_id}/tasks.ics"): Call(
        content=b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:bola\r\n"
        b"SUMMARY:planted\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        content_type="text/calendar",
    ),
}

PUSH_SUBSCRIPTION = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/bola-victim",
    "keys": {"p256dh": "BNc" + "A" * 84, "auth": "c2VjcmV0c2VjcmV0MTI"},
}

# Routes under /api/{user_id} without another id: only the 403 for a foreign user_id applies.
OWNER_ROUTES: dict[tuple[str, str], Call] = {
    ("GET", "/api/{user_id}/tasks"): Call(),
    ("GET", "/api/{user_id}/tasks.ics"): Call(),
    ("POST", "/api/{user_id}/tasks"): Call(json={"title": "planted"}),
    ("POST", "/api/{user_id}/tasks/quick"): Call(json={"text": "planted tomorrow"}),
    ("GET", "/api/{user_id}/tasks/parse"): Call(params={"text": "x tomorrow"}),
    ("GET", "/api/{user_id}/reminders/due"): Call(),
    ("GET", "/api/{user_id}/lists"): Call(),
    ("POST", "/api/{user_id}/lists"): Call(json={"name": "planted"}),
    ("GET", "/api/{user_id}/tags"): Call(),
    ("GET", "/api/{user_id}/trash"): Call(),
    ("DELETE", "/api/{user_id}/trash"): Call(),
    ("GET", "/api/{user_id}/notification-settings"): Call(),
    ("PATCH", "/api/{user_id}/notification-settings"): Call(json={"email_reminders": True}),
    ("GET", "/api/{user_id}/push-subscriptions"): Call(),
    ("POST", "/api/{user_id}/push-subscriptions"): Call(json=PUSH_SUBSCRIPTION),
    ("POST", "/api/{user_id}/push-subscriptions/test"): Call(),
    ("GET", "/api/{user_id}/webhooks"): Call(),
    ("POST", "/api/{user_id}/webhooks"): Call(json={"url": WEBHOOK_URL, "events": ["*"]}),
    # The stream itself is checked over real HTTP (tests/activity/test_live.py): a stranger's
    # stream sees none of the owner's events. Here: another user's path is a 403 at once.
    ("GET", "/api/{user_id}/events"): Call(streams=True),
}

_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, included routers flattened."""
    found: set[tuple[str, str]] = set()
    for route in routing.iter_route_contexts(app.routes):
        if route.methods is None:
            # A mount (static files): it must not hide parameterised paths of its own.
            assert not _PARAMETER.search(route.path), f"a mount with parameters: {route.path}"
            continue
        # API routes as the OpenAPI document names them: `{task_id:int}` is `{task_id}`.
        path = route.path
        if path.startswith("/api/"):
            path = _PARAMETER.sub(lambda match: "{" + match.group(1) + "}", path)
        for method in route.methods:
            if method != "HEAD":
                found.add((method, path))
    return found


def _id_parameters(path: str) -> set[str]:
    return {match.group(1) for match in _PARAMETER.finditer(path)} - {OWNER_PARAMETER}


def test_every_id_route_is_covered(app: FastAPI) -> None:
    # The web pages log in with a cookie, not a token: tests/web/test_pages.py checks them
    # against its own table. Between the two tables, every route that takes an id is covered.
    # CalDAV (/dav, HTTP Basic) resolves its own paths: tests/caldav checks another user's
    # calendars and objects are 404s.
    everything = _routes(app)
    pages = {route for route in everything if _id_parameters(route[1])} - {
        route for route in everything if route[1].startswith(("/api/", "/dav"))
    }
    checked = (
        WEB_ID_ROUTES.keys()
        | WEB_LIST_ROUTES
        | WEB_TAG_ROUTES
        | WEB_TOKEN_ROUTES
        | WEB_WEBHOOK_ROUTES
        | WEB_TRASH_ROUTES
        | WEB_SHARING_ROUTES
        | WEB_COMMENT_ROUTES
        | WEB_ICS_ROUTES
    )
    assert pages <= checked, f"page routes without a BOLA check: {sorted(pages - checked)}"
    routes = {route for route in everything if route[1].startswith("/api/")}
    with_ids = {route for route in routes if _id_parameters(route[1])}
    uncovered = sorted(with_ids - ID_ROUTES.keys())
    assert not uncovered, (
        f"routes taking an id without a BOLA check: add them to ID_ROUTES: {uncovered}"
    )
    assert not ID_ROUTES.keys() - with_ids, "ID_ROUTES names routes the app no longer has"
    owned = {r for r in routes if "{user_id}" in r[1] and not _id_parameters(r[1])}
    assert owned == OWNER_ROUTES.keys(), (
        f"add to OWNER_ROUTES: {sorted(owned - OWNER_ROUTES.keys())}; "
        f"no longer there: {sorted(OWNER_ROUTES.keys() - owned)}"
    )


@dataclass
class Victim:
    account: Account
    ids: dict[str, int]
    titles: list[str]


async def _victim_with_everything(client: httpx.AsyncClient, alice: Account) -> Victim:
    headers = alice.headers
    # Called once per route for one owner: list names are unique, so each gets its own.
    name = f"Secret plans {uuid.uuid4().hex[:8]}"
    listed = await client.post("/api/me/lists", headers=headers, json={"name": name})
    assert listed.status_code == 201
    list_id = listed.json()["id"]
    task = await client.post(
        "/api/me/tasks",
        headers=headers,
        json={
            "title": "Alice's secret task",
            "list_id": list_id,
            "tags": ["hidden"],
            "due_date": "2030-01-01",
            "remind_at": "2020-01-01T09:00:00Z",
        },
    )
    assert task.status_code == 201
    comment = await client.post(
        f"/api/me/tasks/{task.json()['id']}/comments",
        headers=headers,
        json={"body": "Alice's secret comment"},
    )
    assert comment.status_code == 201, comment.text
    tags = await client.get("/api/me/tags", headers=headers)
    token = await client.post(
        "/api/auth/tokens",
        headers=headers,
        json={"name": "Secret script", "scopes": ["tasks:read"]},
    )
    assert token.status_code == 201
    trashed = await client.post(
        "/api/me/tasks",
        headers=headers,
        json={"title": "Alice's deleted secret", "list_id": list_id, "tags": ["hidden"]},
    )
    assert trashed.status_code == 201
    gone = await client.delete(f"/api/me/tasks/{trashed.json()['id']}", headers=headers)
    assert gone.status_code == 204
    subscribed = await client.post(
        "/api/me/push-subscriptions",
        headers=headers,
        json={**PUSH_SUBSCRIPTION, "endpoint": f"{PUSH_SUBSCRIPTION['endpoint']}-{name[-8:]}"},
    )
    assert subscribed.status_code == 201, subscribed.text
    member = await client.post(
        "/api/auth/signup",
        json={"email": f"m-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse 1"},
    )
    shared = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=headers,
        json={"email": member.json()["user"]["email"], "role": "editor"},
    )
    assert shared.status_code == 201, shared.text
    link = await client.post(
        f"/api/me/lists/{list_id}/links", headers=headers, json={"role": "viewer"}
    )
    # One webhook for all the calls of one owner (an account has at most 20).
    hooks = (await client.get("/api/me/webhooks", headers=headers)).json()
    if not hooks:
        made = await client.post(
            "/api/me/webhooks", headers=headers, json={"url": WEBHOOK_URL, "events": ["*"]}
        )
        assert made.status_code == 201, made.text
        hooks = [made.json()]
    webhook_id = hooks[0]["id"]
    pinged = await client.post(f"/api/me/webhooks/{webhook_id}/test", headers=headers)
    assert pinged.status_code == 200, pinged.text
    invited = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=headers,
        json={"email": f"i-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
    )
    assert invited.status_code == 202, invited.text
    app_password = await client.post(
        "/api/auth/app-passwords", headers=headers, json={"name": "Secret phone"}
    )
    assert app_password.status_code == 201, app_password.text
    # One feed for all the calls of one owner (an account has at most 20), as for webhooks.
    feeds = (await client.get("/api/auth/feeds", headers=headers)).json()
    if not feeds:
        made_feed = await client.post(
            "/api/auth/feeds", headers=headers, json={"name": "Secret feed"}
        )
        assert made_feed.status_code == 201, made_feed.text
        feeds = [made_feed.json()]
    return Victim(
        account=alice,
        ids={
            "task_id": task.json()["id"],
            "list_id": list_id,
            "tag_id": tags.json()[0]["id"],
            "token_id": token.json()["id"],
            "trashed_id": trashed.json()["id"],
            "subscription_id": subscribed.json()["id"],
            "member_user_id": member.json()["user"]["id"],
            "link_id": link.json()["id"],
            "invitation_id": invited.json()["id"],
            "password_id": app_password.json()["id"],
            "feed_id": feeds[0]["id"],
            "secret": "x" * 43,
            "webhook_id": webhook_id,
            "delivery_id": pinged.json()["id"],
            "comment_id": comment.json()["id"],
        },
        titles=[
            "Alice's secret task",
            "Alice's deleted secret",
            "Secret plans",
            "hidden",
            "Secret script",
            "Alice's secret comment",
            "Secret phone",
        ],
    )


async def _snapshot(client: httpx.AsyncClient, account: Account) -> list[Any]:
    state = []
    for path in (
        "/api/auth/me",
        "/api/me/tasks?status=all",
        "/api/me/lists",
        "/api/me/tags",
        "/api/me/reminders/due",
        "/api/auth/tokens",
        "/api/auth/app-passwords",
        "/api/auth/feeds",
        "/api/me/trash",
        "/api/me/notification-settings",
        "/api/me/push-subscriptions",
        "/api/me/webhooks",
    ):
        response = await client.get(path, headers=account.headers)
        assert response.status_code == 200
        state.append(response.json())
    return state


def _fill(path: str, user_id: str, ids: dict[str, int], call: Call | None = None) -> str:
    if call is not None and call.trashed:
        ids = {**ids, "task_id": ids["trashed_id"]}
    return _PARAMETER.sub(
        lambda m: user_id if m.group(1) == OWNER_PARAMETER else str(ids[m.group(1)]), path
    )


async def test_another_user_gets_404_on_every_id_route_and_changes_nothing(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    victim = await _victim_with_everything(client, alice)
    before = await _snapshot(client, alice)
    for (method, path), call in sorted(ID_ROUTES.items()):
        url = _fill(path, "me", victim.ids, call)
        response = await client.request(
            method, url, headers=call.headers(bob.headers), params=call.params, **call.body()
        )
        assert response.status_code == 404, (
            f"{method} {url}: {response.status_code} {response.text}"
        )
        assert response.headers["content-type"] == "application/problem+json"
        for secret in (*victim.titles, alice.email, alice.id):
            assert secret not in response.text, f"{method} {url} leaks {secret!r}"
    assert await _snapshot(client, alice) == before


async def test_a_foreign_user_id_in_the_path_is_403_everywhere(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    victim = await _victim_with_everything(client, alice)
    before = await _snapshot(client, alice)
    for (method, path), call in sorted({**ID_ROUTES, **OWNER_ROUTES}.items()):
        if "{" + OWNER_PARAMETER + "}" not in path:
            # The account's own routes (/api/auth/...) name no user: nothing to be foreign.
            continue
        url = _fill(path, alice.id, victim.ids, call)
        response = await client.request(
            method, url, headers=call.headers(bob.headers), params=call.params, **call.body()
        )
        assert response.status_code == 403, f"{method} {url}: {response.status_code}"
        assert response.json()["code"] == "wrong_user"
        assert "Alice's secret task" not in response.text
    assert await _snapshot(client, alice) == before


async def test_the_owner_can_call_every_id_route(client: httpx.AsyncClient, alice: Account) -> None:
    """The table's calls are real ones: for the owner they succeed, so a 404 above means BOLA
    protection and not a malformed request."""
    for (method, path), call in sorted(ID_ROUTES.items(), key=lambda item: item[0][0] == "DELETE"):
        if path in ("/api/{user_id}/links/{secret}/join", "/api/feeds/{secret}.ics"):
            continue  # a made-up secret; joining with a real one: tests/sharing
        victim = await _victim_with_everything(client, alice)
        url = _fill(path, "me", victim.ids, call)
        response = await client.request(
            method, url, headers=call.headers(alice.headers), params=call.params, **call.body()
        )
        assert response.status_code in (200, 201, 202, 204), f"{method} {url}: {response.text}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/me/tasks", {"title": "x", "list_id": "{list_id}"}),
        ("PUT", "/api/me/tasks/{own_task}", {"list_id": "{list_id}"}),
        ("POST", "/api/me/tasks/{own_task}/move", {"after_id": "{task_id}"}),
        ("POST", "/api/me/tasks/{own_task}/move", {"list_id": "{list_id}"}),
        ("PATCH", "/api/me/lists/{own_list}", {"after_id": "{list_id}"}),
    ],
)
async def test_ids_in_bodies_are_scoped_to_the_caller_too(
    client: httpx.AsyncClient,
    alice: Account,
    bob: Account,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    victim = await _victim_with_everything(client, alice)
    own_task = (await client.post("/api/me/tasks", headers=bob.headers, json={"title": "b"})).json()
    own_list = (await client.post("/api/me/lists", headers=bob.headers, json={"name": "b"})).json()
    ids = {**victim.ids, "own_task": own_task["id"], "own_list": own_list["id"]}
    before = await _snapshot(client, alice)
    filled = {
        k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v for k, v in body.items()
    }
    url = path.format(**ids)
    response = await client.request(method, url, headers=bob.headers, json=filled)
    assert response.status_code == 404, response.text
    assert await _snapshot(client, alice) == before


async def test_filters_by_a_foreign_list_or_tag_find_nothing(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    victim = await _victim_with_everything(client, alice)
    by_list = await client.get(
        "/api/me/tasks", headers=bob.headers, params={"list_id": victim.ids["list_id"]}
    )
    by_tag = await client.get("/api/me/tasks", headers=bob.headers, params={"tag": "hidden"})
    search = await client.get("/api/me/tasks", headers=bob.headers, params={"q": "secret"})
    for response in (by_list, by_tag, search):
        assert response.status_code in (200, 404)
        assert "Alice" not in response.text
