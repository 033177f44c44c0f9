"""The task page's comments and assignee, over HTTP: members see each other's comments and
the assignment, a viewer reads without a form, strangers get 404, text stays text."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.web.test_pages import PASSWORD, page_token, sign_up


def _other(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _api(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    login = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_members_see_comments_and_the_assignee_strangers_do_not(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner_email = await sign_up(client)
    owner = await _api(client, owner_email)
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
