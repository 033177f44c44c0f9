"""The task page's comments and assignee, over HTTP: members see each other's comments and
the assignment, a viewer reads without a form, strangers get 404, text stays text."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from tests.web.test_pages import PASSWORD, page_token, sign_up


def _other(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _api(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    login = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@dataclass(frozen=True)
class Garden:
    """The owner's list "Garden", shared with an editor and a viewer; and a stranger. Each
    person signed in to the pages in a client of their own."""

    owner: dict[str, str]
    list_id: int
    member: httpx.AsyncClient
    member_email: str
    viewer: httpx.AsyncClient
    stranger: httpx.AsyncClient


@pytest.fixture
async def garden(client: httpx.AsyncClient, app: FastAPI) -> AsyncIterator[Garden]:
    owner = await _api(client, await sign_up(client))
    async with _other(app) as member, _other(app) as viewer, _other(app) as stranger:
        member_email = await sign_up(member)
        viewer_email = await sign_up(viewer)
        await sign_up(stranger)
        listed = await client.post("/api/me/lists", headers=owner, json={"name": "Garden"})
        list_id = listed.json()["id"]
        for email, role in ((member_email, "editor"), (viewer_email, "viewer")):
            added = await client.post(
                f"/api/me/lists/{list_id}/members",
                headers=owner,
                json={"email": email, "role": role},
            )
            assert added.status_code == 201, added.text
        yield Garden(owner, list_id, member, member_email, viewer, stranger)


async def test_members_see_comments_and_the_assignee_strangers_do_not(
    client: httpx.AsyncClient, garden: Garden
) -> None:
    owner, list_id = garden.owner, garden.list_id
    member, member_email = garden.member, garden.member_email
    viewer, stranger = garden.viewer, garden.stranger
    member_id = await member.get("/api/auth/me", headers=await _api(member, member_email))
    member_user = member_id.json()["id"]
    task = await client.post(
        "/api/me/tasks",
        headers=owner,
        json={"title": "Mow", "list_id": list_id, "assignee_id": member_user},
    )
    task_id = task.json()["id"]

    token = await page_token(member, f"/tasks/{task_id}")
    posted = await member.post(
        f"/tasks/{task_id}/comments",
        data={"csrf_token": token, "body": "<b>Done</b> by Friday\nsecond line"},
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == f"/tasks/{task_id}#comments"

    page = (await client.get(f"/tasks/{task_id}")).text
    assert "&lt;b&gt;Done&lt;/b&gt; by Friday\nsecond line" in page
    assert "<b>Done</b>" not in page
    assert re.search(rf'<option value="{member_user}" selected>', page)
    rows = (await client.get(f"/?list={list_id}")).text
    assert "@Web" in rows
    assigned = (await member.get("/?view=assigned")).text
    assert "Mow" in assigned
    assert "Mow" not in (await client.get("/?view=assigned")).text

    seen = (await viewer.get(f"/tasks/{task_id}")).text
    assert "by Friday" in seen
    assert 'action="/tasks/' + str(task_id) + '/comments"' not in seen
    token = await page_token(viewer, f"/tasks/{task_id}")
    refused = await viewer.post(
        f"/tasks/{task_id}/comments", data={"csrf_token": token, "body": "me too"}
    )
    assert refused.status_code == 403

    comment_id = re.findall(r'id="comment-(\d+)"', page)[0]
    token = await page_token(stranger)
    for path, form in (
        (f"/tasks/{task_id}/comments", {"body": "planted"}),
        (f"/tasks/{task_id}/comments/{comment_id}/delete", {}),
    ):
        answer = await stranger.post(path, data={"csrf_token": token, **form})
        assert answer.status_code == 404, (path, answer.status_code)
        assert "Friday" not in answer.text
    assert (await stranger.get(f"/tasks/{task_id}")).status_code == 404

    # The owner deletes the member's comment (an admin's right); an unknown id is a 404.
    token = await page_token(client, f"/tasks/{task_id}")
    gone = await client.post(
        f"/tasks/{task_id}/comments/{comment_id}/delete", data={"csrf_token": token}
    )
    assert gone.status_code == 303
    assert "by Friday" not in (await member.get(f"/tasks/{task_id}")).text
    again = await client.post(
        f"/tasks/{task_id}/comments/{comment_id}/delete", data={"csrf_token": token}
    )
    assert again.status_code == 404
    far = await client.post(
        f"/tasks/{task_id}/comments/99999999999999999999/delete", data={"csrf_token": token}
    )
    assert far.status_code == 404


async def test_the_assignee_is_chosen_on_the_task_page(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    headers = await _api(client, email)
    friend = await client.post(
        "/api/auth/signup", json={"email": "friend@example.com", "password": PASSWORD}
    )
    listed = await client.post("/api/me/lists", headers=headers, json={"name": "Trip"})
    list_id = listed.json()["id"]
    await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=headers,
        json={"email": "friend@example.com", "role": "editor"},
    )
    task = await client.post(
        "/api/me/tasks", headers=headers, json={"title": "Tickets", "list_id": list_id}
    )
    task_id = task.json()["id"]
    own = await client.post("/api/me/tasks", headers=headers, json={"title": "Private"})
    assert 'name="assignee_id"' not in (await client.get(f"/tasks/{own.json()['id']}")).text
    page = (await client.get(f"/tasks/{task_id}")).text
    assert 'name="assignee_id"' in page
    token = await page_token(client, f"/tasks/{task_id}")
    friend_id = friend.json()["user"]["id"]
    saved = await client.post(
        f"/tasks/{task_id}",
        data={"csrf_token": token, "title": "Tickets", "assignee_id": friend_id},
    )
    assert saved.status_code == 303, saved.text
    got = await client.get(f"/api/me/tasks/{task_id}", headers=headers)
    assert got.json()["assignee_id"] == friend_id
    stranger = await client.post(
        f"/tasks/{task_id}",
        data={"csrf_token": token, "title": "Tickets", "assignee_id": "nobody"},
    )
    assert stranger.status_code == 422
    assert "not a member of this list" in stranger.text


HTMX = {"HX-Request": "true", "HX-Current-URL": "http://test/"}


async def _comment_on(
    http: httpx.AsyncClient, headers: dict[str, str], task_id: int, body: str
) -> int:
    posted = await http.post(
        f"/api/me/tasks/{task_id}/comments", headers=headers, json={"body": body}
    )
    assert posted.status_code == 201, posted.text
    return int(posted.json()["id"])


def _edit_links(page: str, task_id: int) -> list[str]:
    return re.findall(rf'href="/tasks/{task_id}/comments/(\d+)/edit', page)


async def test_the_author_edits_their_own_comment_in_place(
    client: httpx.AsyncClient, garden: Garden
) -> None:
    owner, list_id = garden.owner, garden.list_id
    member, member_email = garden.member, garden.member_email
    viewer, stranger = garden.viewer, garden.stranger
    task_id = (
        await client.post("/api/me/tasks", headers=owner, json={"title": "Mow", "list_id": list_id})
    ).json()["id"]
    mine = await _comment_on(member, await _api(member, member_email), task_id, "Which mower?")
    theirs = await _comment_on(client, owner, task_id, "The red one")
    url = f"/tasks/{task_id}/comments/{mine}"

    # An Edit button on one's own comments only; none at all for a viewer.
    assert _edit_links((await member.get(f"/tasks/{task_id}")).text, task_id) == [str(mine)]
    assert _edit_links((await client.get(f"/tasks/{task_id}")).text, task_id) == [str(theirs)]
    assert _edit_links((await viewer.get(f"/tasks/{task_id}")).text, task_id) == []

    form = await member.get(f"{url}/edit", headers=HTMX)
    assert form.status_code == 200
    assert f'<li class="comment editing" id="comment-{mine}">' in form.text
    assert ">Which mower?</textarea>" in form.text
    assert "<html" not in form.text
    # Without scripts: the whole task page, with the form in the comment's place.
    page = await member.get(f"{url}/edit")
    assert page.status_code == 200
    assert "<html" in page.text
    assert ">Which mower?</textarea>" in page.text
    assert "The red one" in page.text
    token = await page_token(member, f"/tasks/{task_id}")

    saved = await member.post(
        url, headers=HTMX, data={"csrf_token": token, "body": "The <b>green</b> one"}
    )
    assert saved.status_code == 200, saved.text
    assert "The &lt;b&gt;green&lt;/b&gt; one" in saved.text
    assert '<span class="edited">edited</span>' in saved.text
    assert "<textarea" not in saved.text
    shown = await member.get(url, headers=HTMX)
    assert shown.text == saved.text
    assert (await member.get(url)).headers["location"] == f"/tasks/{task_id}#comment-{mine}"

    plain = await member.post(url, data={"csrf_token": token, "body": "Green."})
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/tasks/{task_id}#comment-{mine}"
    seen = (await client.get(f"/tasks/{task_id}")).text
    assert "Green." in seen
    assert "edited" in seen

    # Bad text: the field's error, the typed text kept, the comment unchanged.
    for typed, reason in ((" \n ", "must not be empty"), ("x" * 10_001, "at most 10000")):
        for headers in (HTMX, {}):
            refused = await member.post(
                url, headers=headers, data={"csrf_token": token, "body": typed}
            )
            assert refused.status_code == 422, refused.text
            assert reason in refused.text
            assert 'aria-invalid="true"' in refused.text
            assert f">{typed}</textarea>" in refused.text
            assert ("<html" in refused.text) is (headers == {})
    api = await member.get(
        f"/api/me/tasks/{task_id}/comments", headers=await _api(member, member_email)
    )
    assert [c["body"] for c in api.json()] == ["Green.", "The red one"]

    # Someone else's comment: no form, no change; the owner may delete it, not edit it.
    token = await page_token(client, f"/tasks/{task_id}")
    assert (await client.get(f"{url}/edit", headers=HTMX)).status_code == 403
    assert (
        await client.post(url, data={"csrf_token": token, "body": "mine now"})
    ).status_code == 403
    token = await page_token(member, f"/tasks/{task_id}")
    other = f"/tasks/{task_id}/comments/{theirs}"
    assert (await member.get(f"{other}/edit", headers=HTMX)).status_code == 403
    assert (await member.post(other, data={"csrf_token": token, "body": "x"})).status_code == 403
    # A viewer reads, never edits; a stranger learns nothing.
    token = await page_token(viewer, f"/tasks/{task_id}")
    assert (await viewer.get(f"{url}/edit", headers=HTMX)).status_code == 403
    assert (await viewer.post(url, data={"csrf_token": token, "body": "x"})).status_code == 403
    token = await page_token(stranger)
    for answer in (
        await stranger.get(url, headers=HTMX),
        await stranger.get(f"{url}/edit", headers=HTMX),
        await stranger.post(url, data={"csrf_token": token, "body": "x"}),
    ):
        assert answer.status_code == 404
        assert "Green" not in answer.text
    token = await page_token(member, f"/tasks/{task_id}")
    for bad in ("99999999999999999999", "0", "abc", str(theirs + 1000)):
        bad_url = f"/tasks/{task_id}/comments/{bad}"
        assert (await member.get(f"{bad_url}/edit", headers=HTMX)).status_code == 404
        assert (
            await member.post(bad_url, data={"csrf_token": token, "body": "x"})
        ).status_code == 404
    api = await client.get(f"/api/me/tasks/{task_id}/comments", headers=owner)
    assert [c["body"] for c in api.json()] == ["Green.", "The red one"]
