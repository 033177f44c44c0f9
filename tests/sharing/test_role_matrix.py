"""The role matrix: every API route under /api/{user_id} x {owner, admin, editor, viewer,
removed member, stranger}, each with its expected status, on a shared list.

The routes come from the application itself: a route missing from MATRIX fails
`test_every_route_has_its_expectations`, so a new route cannot ship without saying what
each role gets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Account, SignUp
from tests.security.test_bola import _PARAMETER, _routes

ACTORS = ("owner", "admin", "editor", "viewer", "removed", "stranger")


@dataclass(frozen=True)
class Call:
    """A call that succeeds for whoever may make it; "{name}" values are the world's ids."""

    json: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # A path parameter filled with another of the world's ids (name -> id's name).
    paths: dict[str, str] = field(default_factory=dict)
    # A body that is not JSON (an .ics file), with its content type.
    content: bytes | None = None
    content_type: str | None = None


def _row(
    owner: int, admin: int, editor: int, viewer: int, removed: int, stranger: int
) -> dict[str, int]:
    return dict(zip(ACTORS, (owner, admin, editor, viewer, removed, stranger), strict=True))


READ = _row(200, 200, 200, 200, 404, 404)
EDIT = _row(200, 200, 200, 403, 404, 404)
EDIT_204 = _row(204, 204, 204, 403, 404, 404)
ADMIN = _row(200, 200, 403, 403, 404, 404)
ADMIN_201 = _row(201, 201, 403, 403, 404, 404)
ADMIN_204 = _row(204, 204, 403, 403, 404, 404)
EVERYONE = _row(200, 200, 200, 200, 200, 200)

MATRIX: dict[tuple[str, str], tuple[Call, dict[str, int]]] = {
    # Tasks of the shared list.
    ("GET", "/api/{user_id}/tasks/{task_id}"): (Call(), READ),
    ("PUT", "/api/{user_id}/tasks/{task_id}"): (Call(json={"title": "changed"}), EDIT),
    ("PATCH", "/api/{user_id}/tasks/{task_id}/complete"): (Call(json={"completed": True}), EDIT),
    ("POST", "/api/{user_id}/tasks/{task_id}/move"): (Call(json={"after_id": None}), EDIT),
    ("DELETE", "/api/{user_id}/tasks/{task_id}"): (Call(), EDIT_204),
    ("POST", "/api/{user_id}/reminders/{task_id}/dismiss"): (Call(), EDIT),
    # Writing into the shared list by its id in the body.
    ("POST", "/api/{user_id}/tasks"): (
        Call(json={"title": "added", "list_id": "{list_id}"}),
        _row(201, 201, 201, 403, 404, 404),
    ),
    ("POST", "/api/{user_id}/tasks/quick"): (
        Call(json={"text": "added tomorrow", "list_id": "{list_id}"}),
        _row(201, 201, 201, 403, 404, 404),
    ),
    # Personal routes: everyone gets their own answer (visibility is checked elsewhere).
    ("GET", "/api/{user_id}/tasks"): (Call(params={"list_id": "{list_id}"}), EVERYONE),
    ("GET", "/api/{user_id}/tasks.ics"): (Call(), EVERYONE),
    ("GET", "/api/{user_id}/tasks/parse"): (Call(params={"text": "x tomorrow"}), EVERYONE),
    ("GET", "/api/{user_id}/reminders/due"): (Call(), EVERYONE),
    ("GET", "/api/{user_id}/lists"): (Call(), EVERYONE),
    ("POST", "/api/{user_id}/lists"): (Call(json={"name": "{fresh}"}), _row(*[201] * 6)),
    ("GET", "/api/{user_id}/tags"): (Call(), EVERYONE),
    # Tags stay personal: the owner's tag is nobody else's.
    ("GET", "/api/{user_id}/tags/{tag_id}"): (Call(), _row(200, 404, 404, 404, 404, 404)),
    ("PATCH", "/api/{user_id}/tags/{tag_id}"): (
        Call(json={"name": "renamed"}),
        _row(200, 404, 404, 404, 404, 404),
    ),
    ("DELETE", "/api/{user_id}/tags/{tag_id}"): (Call(), _row(204, 404, 404, 404, 404, 404)),
    # The list itself.
    ("GET", "/api/{user_id}/lists/{list_id}"): (Call(), READ),
    # .ics files: reading the list's tasks, and writing tasks into it.
    ("GET", "/api/{user_id}/lists/{list_id}/tasks.ics"): (Call(), READ),
    ("POST", "/api/{user_id}/lists/{list_id}/tasks.ics"): (
        Call(
            content=b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:matrix\r\n"
            b"SUMMARY:added\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            content_type="text/calendar",
        ),
        EDIT,
    ),
    ("PATCH", "/api/{user_id}/lists/{list_id}"): (Call(json={"name": "{fresh}"}), ADMIN),
    ("DELETE", "/api/{user_id}/lists/{list_id}"): (Call(params={"tasks": "delete"}), ADMIN_204),
    # Members and links.
    ("GET", "/api/{user_id}/lists/{list_id}/members"): (Call(), READ),
    ("POST", "/api/{user_id}/lists/{list_id}/members"): (
        # An address without an account: a pending invitation (202); tests/sharing has the 201.
        Call(json={"email": "{newcomer}", "role": "viewer"}),
        _row(202, 202, 403, 403, 404, 404),
    ),
    ("PATCH", "/api/{user_id}/lists/{list_id}/members/{member_user_id}"): (
        Call(json={"role": "editor"}),
        ADMIN,
    ),
    # The target is the viewer: the viewer removing themselves is leaving.
    ("DELETE", "/api/{user_id}/lists/{list_id}/members/{member_user_id}"): (
        Call(),
        _row(204, 204, 403, 204, 404, 404),
    ),
    ("POST", "/api/{user_id}/lists/{list_id}/members/{member_user_id}/make-owner"): (
        Call(),
        _row(204, 403, 403, 403, 404, 404),
    ),
    ("GET", "/api/{user_id}/lists/{list_id}/links"): (Call(), ADMIN),
    ("POST", "/api/{user_id}/lists/{list_id}/links"): (Call(json={"role": "viewer"}), ADMIN_201),
    ("DELETE", "/api/{user_id}/lists/{list_id}/links/{link_id}"): (Call(), ADMIN_204),
    ("GET", "/api/{user_id}/lists/{list_id}/invitations"): (Call(), ADMIN),
    ("DELETE", "/api/{user_id}/lists/{list_id}/invitations/{invitation_id}"): (
        Call(),
        ADMIN_204,
    ),
    # A link lets anyone signed in join; those who already see the list keep their role.
    ("POST", "/api/{user_id}/links/{secret}/join"): (Call(), EVERYONE),
    # History of what members can read.
    ("GET", "/api/{user_id}/lists/{list_id}/activity"): (Call(), READ),
    ("GET", "/api/{user_id}/tasks/{task_id}/activity"): (Call(), READ),
    # Comments: members read, editors and above write; the world's comment is the owner's,
    # so only its author edits it and only the author or an admin deletes it (403 not_author).
    ("GET", "/api/{user_id}/tasks/{task_id}/comments"): (Call(), READ),
    ("POST", "/api/{user_id}/tasks/{task_id}/comments"): (
        Call(json={"body": "a comment"}),
        _row(201, 201, 201, 403, 404, 404),
    ),
    ("PATCH", "/api/{user_id}/tasks/{task_id}/comments/{comment_id}"): (
        Call(json={"body": "changed"}),
        _row(200, 403, 403, 403, 404, 404),
    ),
    ("DELETE", "/api/{user_id}/tasks/{task_id}/comments/{comment_id}"): (
        Call(),
        _row(204, 204, 403, 403, 404, 404),
    ),
    # The trash is the owner's own: everyone sees and empties their own.
    ("GET", "/api/{user_id}/trash"): (Call(), EVERYONE),
    ("DELETE", "/api/{user_id}/trash"): (Call(), _row(*[204] * 6)),
    # A deleted task of the shared list is in the trash of its editors and more, who may
    # restore it or delete it for good; a viewer does not see it there.
    ("POST", "/api/{user_id}/tasks/{task_id}/restore"): (
        Call(paths={"task_id": "trashed_id"}),
        _row(200, 200, 200, 404, 404, 404),
    ),
    ("DELETE", "/api/{user_id}/trash/{task_id}"): (
        Call(paths={"task_id": "trashed_id"}),
        _row(204, 204, 204, 404, 404, 404),
    ),
}

# Routes of the caller's own that name no list or task, so a shared list changes nothing for
# them; each is checked elsewhere for another user's path and ids, as the reason says.
NOT_CALLED = {
    ("GET", "/api/{user_id}/events"): "a stream that never ends: tests/activity/test_live.py",
    ("GET", "/api/{user_id}/notification-settings"): "personal: tests/notifications/test_api.py",
    ("PATCH", "/api/{user_id}/notification-settings"): "personal: tests/notifications",
    ("GET", "/api/{user_id}/push-subscriptions"): "personal: tests/notifications/test_api.py",
    ("POST", "/api/{user_id}/push-subscriptions"): "personal: tests/notifications/test_api.py",
    ("POST", "/api/{user_id}/push-subscriptions/test"): "personal: tests/notifications",
    ("DELETE", "/api/{user_id}/push-subscriptions/{subscription_id}"): "personal: test_bola.py",
    ("GET", "/api/{user_id}/webhooks"): "personal: tests/webhooks/test_api.py",
    ("POST", "/api/{user_id}/webhooks"): "personal: tests/webhooks/test_api.py",
    ("GET", "/api/{user_id}/webhooks/{webhook_id}"): "personal: test_bola.py",
    ("PATCH", "/api/{user_id}/webhooks/{webhook_id}"): "personal: test_bola.py",
    ("DELETE", "/api/{user_id}/webhooks/{webhook_id}"): "personal: test_bola.py",
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/rotate-secret"): "personal: test_bola.py",
    ("GET", "/api/{user_id}/webhooks/{webhook_id}/deliveries"): "personal: test_bola.py",
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/test"): "personal: test_bola.py",
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): (
        "personal: test_bola.py"
    ),
}


def test_every_route_has_its_expectations(app: FastAPI) -> None:
    scoped = {route for route in _routes(app) if route[1].startswith("/api/{user_id}/")}
    missing = sorted(scoped - MATRIX.keys() - NOT_CALLED.keys())
    assert not missing, f"routes without role expectations: add them to MATRIX: {missing}"
    assert not (MATRIX.keys() | NOT_CALLED.keys()) - scoped, "names routes the app no longer has"


@dataclass
class World:
    accounts: dict[str, Account]
    ids: dict[str, Any]


async def _share(
    client: httpx.AsyncClient, owner: Account, list_id: int, who: Account, role: str
) -> None:
    added = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=owner.headers,
        json={"email": who.email, "role": role},
    )
    assert added.status_code == 201, added.text


async def _people(sign_up: SignUp) -> dict[str, Account]:
    return {actor: await sign_up() for actor in ACTORS}


async def _world(client: httpx.AsyncClient, people: dict[str, Account]) -> World:
    """A fresh shared list of the owner's with one tagged task with a fired reminder, its
    admin, editor and viewer, a removed member, and a link."""
    owner = people["owner"]
    name = f"Shared {uuid.uuid4().hex[:8]}"
    listed = await client.post("/api/me/lists", headers=owner.headers, json={"name": name})
    assert listed.status_code == 201
    list_id = listed.json()["id"]
    task = await client.post(
        "/api/me/tasks",
        headers=owner.headers,
        json={
            "title": "Shared task",
            "list_id": list_id,
            "tags": [f"t{uuid.uuid4().hex[:6]}"],
            "remind_at": "2020-01-01T09:00:00Z",
        },
    )
    assert task.status_code == 201
    comment = await client.post(
        f"/api/me/tasks/{task.json()['id']}/comments",
        headers=owner.headers,
        json={"body": "The owner's comment"},
    )
    assert comment.status_code == 201, comment.text
    for role in ("admin", "editor", "viewer", "removed"):
        await _share(client, owner, list_id, people[role], "viewer" if role == "removed" else role)
    removed = await client.delete(
        f"/api/me/lists/{list_id}/members/{people['removed'].id}", headers=owner.headers
    )
    assert removed.status_code == 204
    link = await client.post(
        f"/api/me/lists/{list_id}/links", headers=owner.headers, json={"role": "viewer"}
    )
    assert link.status_code == 201
    trashed = await client.post(
        "/api/me/tasks",
        headers=owner.headers,
        json={"title": "Deleted shared task", "list_id": list_id},
    )
    assert trashed.status_code == 201
    gone = await client.delete(f"/api/me/tasks/{trashed.json()['id']}", headers=owner.headers)
    assert gone.status_code == 204
    invited = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=owner.headers,
        json={"email": f"i-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
    )
    assert invited.status_code == 202, invited.text
    tag_id = next(
        tag["id"]
        for tag in (await client.get("/api/me/tags", headers=owner.headers)).json()
        if tag["name"] == task.json()["tags"][0]
    )
    return World(
        accounts=people,
        ids={
            "task_id": task.json()["id"],
            "list_id": list_id,
            "tag_id": tag_id,
            "member_user_id": people["viewer"].id,
            "link_id": link.json()["id"],
            "invitation_id": invited.json()["id"],
            "trashed_id": trashed.json()["id"],
            "secret": link.json()["url"].rsplit("/", 1)[1],
            "comment_id": comment.json()["id"],
        },
    )


def _value(value: Any, world: World) -> Any:
    if value == "{fresh}":
        return f"List {uuid.uuid4().hex[:8]}"
    if value == "{newcomer}":
        return f"new-{uuid.uuid4().hex[:8]}@example.com"
    if isinstance(value, str) and value.startswith("{"):
        return world.ids[value[1:-1]]
    return value


async def _call(
    client: httpx.AsyncClient, route: tuple[str, str], call: Call, who: Account, world: World
) -> httpx.Response:
    method, path = route
    url = _PARAMETER.sub(
        lambda m: (
            "me"
            if m.group(1) == "user_id"
            else str(world.ids[call.paths.get(m.group(1), m.group(1))])
        ),
        path,
    )
    body = {k: _value(v, world) for k, v in call.json.items()} if call.json is not None else None
    params = {k: _value(v, world) for k, v in call.params.items()}
    if call.content is not None:
        headers = {**who.headers, "Content-Type": call.content_type or ""}
        return await client.request(
            method, url, headers=headers, content=call.content, params=params
        )
    return await client.request(method, url, headers=who.headers, json=body, params=params)


async def test_every_role_gets_what_the_matrix_says_on_every_route(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    people = await _people(sign_up)
    failures = []
    for route, (call, expected) in sorted(MATRIX.items()):
        world: World | None = None
        for actor in reversed(ACTORS):  # refusals first: they change nothing
            if world is None:
                world = await _world(client, people)
            response = await _call(client, route, call, people[actor], world)
            if response.status_code != expected[actor]:
                failures.append(
                    f"{route[0]} {route[1]} as {actor}: {response.status_code} "
                    f"(expected {expected[actor]}) {response.text[:200]}"
                )
            elif response.status_code == 403:
                # not_author: a member whose role allows the write, on someone else's comment.
                assert response.json()["code"] in ("forbidden_role", "not_author"), response.text
            elif response.status_code == 404:
                assert "Shared task" not in response.text
            if response.status_code < 300 and route[0] != "GET":
                world = None  # a write may have changed it: the next actor gets a fresh one
    assert not failures, "\n".join(failures)
