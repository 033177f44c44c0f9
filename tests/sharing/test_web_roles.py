"""The role matrix of the web app: every page route over a task, a list or a link x {owner,
admin, editor, viewer, removed member, stranger}, on a shared list, signed in by cookie.

The routes come from the app: a page route with an id missing here fails
`test_every_page_route_with_an_id_has_its_expectations`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI, routing

from tests.sharing.test_role_matrix import ACTORS, _row
from tests.web.test_pages import PASSWORD, WEB_WEBHOOK_ROUTES, page_token, sign_up

READ = _row(200, 200, 200, 200, 404, 404)
EDIT = _row(200, 200, 200, 403, 404, 404)
ADMIN = _row(303, 303, 403, 403, 404, 404)
AUTHOR = _row(200, 403, 403, 403, 404, 404)

# (method, path) -> (form, expected status per actor). Task routes are sent as htmx sends
# them (fragments, 200); list and sharing forms redirect (303).
WEB_MATRIX: dict[tuple[str, str], tuple[dict[str, str], dict[str, int]]] = {
    ("GET", "/tasks/{task_id:int}"): ({}, READ),
    ("GET", "/tasks/{task_id:int}/edit"): ({}, READ),
    ("GET", "/tasks/{task_id:int}/row"): ({}, READ),
    ("POST", "/tasks/{task_id:int}"): ({"title": "changed", "description": ""}, EDIT),
    ("POST", "/tasks/{task_id:int}/complete"): ({"completed": "true"}, EDIT),
    ("POST", "/tasks/{task_id:int}/delete"): ({}, EDIT),
    ("POST", "/tasks/{task_id:int}/move"): ({"after": ""}, _row(204, 204, 204, 403, 404, 404)),
    ("POST", "/tasks/{task_id:int}/reminder/dismiss"): ({}, EDIT),
    ("POST", "/tasks/{task_id:int}/parent"): ({"parent": ""}, EDIT),
    # The calendar's move: the calendar drawn again for whoever may edit.
    ("POST", "/tasks/{task_id:int}/reschedule"): ({"date": "2031-01-02"}, EDIT),
    # Members who may edit add subtasks.
    ("POST", "/tasks/{task_id:int}/subtasks"): ({"title": "a subtask"}, EDIT),
    # Viewers read the comments; editors and up write them (tests/web/test_comment_pages.py).
    ("POST", "/tasks/{task_id:int}/comments"): (
        {"body": "a comment"},
        _row(*[303] * 3, 403, 404, 404),
    ),
    # The owner's comment: its author and the list's admins delete it.
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}/delete"): ({}, ADMIN),
    # Every member reads it; only its author (the owner here) edits it.
    ("GET", "/tasks/{task_id:int}/comments/{comment_id}"): ({}, READ),
    ("GET", "/tasks/{task_id:int}/comments/{comment_id}/edit"): ({}, AUTHOR),
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}"): ({"body": "edited"}, AUTHOR),
    ("POST", "/lists/{list_id}"): ({"name": "{fresh}"}, ADMIN),
    ("POST", "/lists/{list_id}/delete"): ({"tasks": "delete"}, ADMIN),
    ("POST", "/lists/{list_id}/members"): ({"email": "{newcomer}", "role": "viewer"}, ADMIN),
    ("POST", "/lists/{list_id}/members/{member_user_id}"): ({"role": "editor"}, ADMIN),
    # The target is the viewer: the viewer removing themselves is leaving.
    ("POST", "/lists/{list_id}/members/{member_user_id}/remove"): (
        {},
        _row(303, 303, 403, 303, 404, 404),
    ),
    ("POST", "/lists/{list_id}/links"): ({"role": "viewer"}, ADMIN),
    ("POST", "/lists/{list_id}/links/{link_id}/revoke"): ({}, ADMIN),
    ("POST", "/lists/{list_id}/invitations/{invitation_id}/cancel"): ({}, ADMIN),
    # Only the owner hands over; an admin is told so on the list's page.
    ("POST", "/lists/{list_id}/members/{member_user_id}/owner"): (
        {"confirm": "yes"},
        _row(303, 303, 403, 403, 404, 404),
    ),
    # Every member downloads the list's .ics; editors and up import (without a file: 422).
    ("GET", "/lists/{list_id:int}/tasks.ics"): ({}, READ),
    ("GET", "/lists/{list_id:int}/import"): ({}, EDIT),
    ("POST", "/lists/{list_id:int}/import"): ({}, _row(*[422] * 3, 403, 404, 404)),
    # Anyone signed in who holds the link may join.
    ("GET", "/join/{secret}"): ({}, _row(*[200] * 6)),
    ("POST", "/join/{secret}"): ({}, _row(*[303] * 6)),
}


def test_every_page_route_with_an_id_has_its_expectations(app: FastAPI) -> None:
    with_ids = {
        (method, route.path)
        for route in routing.iter_route_contexts(app.routes)
        if route.methods and not route.path.startswith(("/api/", "/dav")) and "{" in route.path
        for method in route.methods
        if method != "HEAD"
    }
    # Tags stay personal: tests/web/test_tag_pages.py checks them for other users.
    with_ids -= {("POST", "/tags/{tag_id}"), ("POST", "/tags/{tag_id}/delete")}
    # The trash, tokens and app passwords are the account's own: tests/web/test_trash_pages.py,
    # test_token_pages.py and test_app_password_pages.py check them for other users.
    with_ids -= {
        ("POST", "/tasks/{task_id:int}/restore"),
        ("POST", "/trash/{task_id:int}/delete"),
        ("POST", "/account/tokens/{token_id:int}/delete"),
        ("POST", "/account/app-passwords/{password_id:int}/delete"),
    }
    # So are calendar feeds: tests/web/test_ics_pages.py checks them for other users.
    with_ids -= {("POST", "/account/feeds/{feed_id:int}/delete")}
    # So are webhooks: tests/web/test_webhook_pages.py checks them for other users.
    with_ids -= WEB_WEBHOOK_ROUTES
    assert with_ids == WEB_MATRIX.keys()


@dataclass
class Person:
    http: httpx.AsyncClient
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def people(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[dict[str, Person]]:
    found: dict[str, Person] = {}
    transport = httpx.ASGITransport(app=app)
    for actor in ACTORS:
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        email = await sign_up(http)
        logged = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        body = logged.json()
        found[actor] = Person(http, body["user"]["id"], email, body["access_token"])
    yield found
    for person in found.values():
        await person.http.aclose()


async def _world(client: httpx.AsyncClient, people: dict[str, Person]) -> dict[str, str]:
    owner = people["owner"]
    name = f"Shared {uuid.uuid4().hex[:8]}"
    list_id = (
        await client.post("/api/me/lists", headers=owner.headers, json={"name": name})
    ).json()["id"]
    task = await client.post(
        "/api/me/tasks",
        headers=owner.headers,
        json={"title": "Shared task", "list_id": list_id, "remind_at": "2020-01-01T09:00:00Z"},
    )
    for role in ("admin", "editor", "viewer", "removed"):
        added = await client.post(
            f"/api/me/lists/{list_id}/members",
            headers=owner.headers,
            json={"email": people[role].email, "role": "viewer" if role == "removed" else role},
        )
        assert added.status_code == 201
    await client.delete(
        f"/api/me/lists/{list_id}/members/{people['removed'].id}", headers=owner.headers
    )
    link = (
        await client.post(
            f"/api/me/lists/{list_id}/links", headers=owner.headers, json={"role": "viewer"}
        )
    ).json()
    invited = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=owner.headers,
        json={"email": f"i-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
    )
    assert invited.status_code == 202, invited.text
    comment = await client.post(
        f"/api/me/tasks/{task.json()['id']}/comments", headers=owner.headers, json={"body": "hi"}
    )
    assert comment.status_code == 201, comment.text
    return {
        "comment_id": str(comment.json()["id"]),
        "invitation_id": str(invited.json()["id"]),
        "task_id": str(task.json()["id"]),
        "list_id": str(list_id),
        "member_user_id": people["viewer"].id,
        "link_id": str(link["id"]),
        "secret": link["url"].rsplit("/", 1)[1],
    }


_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


async def test_every_role_gets_what_the_web_matrix_says(
    client: httpx.AsyncClient, people: dict[str, Person]
) -> None:
    failures = []
    for (method, path), (form, expected) in sorted(WEB_MATRIX.items()):
        ids: dict[str, str] | None = None
        for actor in reversed(ACTORS):
            if ids is None:
                ids = await _world(client, people)
            person = people[actor]
            url = _PARAMETER.sub(lambda m: ids[m.group(1)], path)  # noqa: B023
            headers = (
                {"HX-Request": "true", "HX-Current-URL": "http://test/"}
                if path.startswith("/tasks/")
                else {}
            )
            values = {
                k: f"List {uuid.uuid4().hex[:6]}"
                if v == "{fresh}"
                else f"n-{uuid.uuid4().hex[:6]}@example.com"
                if v == "{newcomer}"
                else v
                for k, v in form.items()
            }
            if method == "GET":
                response = await person.http.get(url, headers=headers)
            else:
                token = await page_token(person.http)
                response = await person.http.post(
                    url, headers=headers, data={"csrf_token": token, **values}
                )
            if response.status_code != expected[actor]:
                failures.append(
                    f"{method} {path} as {actor}: {response.status_code}, not {expected[actor]}"
                )
            if response.status_code == 404:
                assert "Shared task" not in response.text
            if response.status_code < 400 and method != "GET":
                ids = None
    assert not failures, "\n".join(failures)


async def test_the_list_page_shows_the_share_panel_by_role(
    client: httpx.AsyncClient, people: dict[str, Person]
) -> None:
    ids = await _world(client, people)
    for actor, sees_panel, may_invite in (
        ("owner", True, True),
        ("admin", True, True),
        ("editor", True, False),
        ("viewer", True, False),
    ):
        page = await people[actor].http.get(f"/?list={ids['list_id']}")
        assert page.status_code == 200
        assert ("Shared task" in page.text) is True
        assert ('class="list-manage share-panel"' in page.text) is sees_panel
        assert ('action="/lists/' + ids["list_id"] + '/members"' in page.text) is may_invite
        assert ("Edit list" in page.text) is may_invite
        assert ('id="new-task"' in page.text) is (actor != "viewer")
        assert 'class="shared-mark"' in page.text
    for actor in ("removed", "stranger"):
        page = await people[actor].http.get(f"/?list={ids['list_id']}")
        assert page.status_code == 404
        everything = await people[actor].http.get("/")
        assert "Shared task" not in everything.text


async def test_a_viewer_sees_the_list_and_its_tasks_read_only(
    client: httpx.AsyncClient, people: dict[str, Person]
) -> None:
    """A viewer is shown no control that would only meet a 403: no add box, no complete,
    edit, move or delete on the rows, a task page without a form to save; and a hint why.
    An editor of the same list keeps them all."""
    ids = await _world(client, people)
    task_id = ids["task_id"]
    controls = (
        'id="new-task"',
        f'formaction="/tasks/{task_id}/complete"',
        f'formaction="/tasks/{task_id}/delete"',
        f'hx-get="/tasks/{task_id}/edit"',
    )
    for actor in ("viewer", "editor"):
        http = people[actor].http
        for path in (f"/?list={ids['list_id']}", "/?view=all"):
            page = await http.get(path)
            assert page.status_code == 200
            assert "Shared task" in page.text
            for control in controls[1:] if path == "/?view=all" else controls:
                assert (control in page.text) is (actor == "editor"), (actor, path, control)
            if path.startswith("/?list"):
                assert ("You can view this list." in page.text) is (actor == "viewer")
        detail = await http.get(f"/tasks/{task_id}")
        assert detail.status_code == 200
        assert ("You can view this list." in detail.text) is (actor == "viewer")
        assert ('class="read-only-fields" disabled' in detail.text) is (actor == "viewer")
        assert ('<button type="submit" class="button primary">Save</button>' in detail.text) is (
            actor == "editor"
        )
        assert ("Delete task" in detail.text) is (actor == "editor")
    # The viewer's own tasks stay editable next to the shared ones.
    viewer = people["viewer"]
    own = await client.post("/api/me/tasks", headers=viewer.headers, json={"title": "Mine"})
    page = await viewer.http.get("/?view=all")
    assert f'formaction="/tasks/{own.json()["id"]}/complete"' in page.text
