"""Tags in the web app over HTTP: renamed (or merged) and deleted from the tag's own view."""

from __future__ import annotations

import re

import httpx

from tests.web.test_pages import HTML, page_token, sign_up

SIDEBAR_TAG = re.compile(r'href="/\?tag=(\d+)"[^>]*>#([^ <]+) <span class="count">(\d+)</span>')


async def sidebar_tags(client: httpx.AsyncClient) -> dict[str, tuple[int, int]]:
    """Each tag of the sidebar: name -> (id, number of tasks)."""
    page = (await client.get("/")).text
    return {name: (int(tag_id), int(used)) for tag_id, name, used in SIDEBAR_TAG.findall(page)}


async def add_task(client: httpx.AsyncClient, line: str) -> None:
    """Quick add: the #tags of the line become the task's tags."""
    token = await page_token(client)
    response = await client.post("/tasks", data={"csrf_token": token, "title": line})
    assert response.status_code == 303, response.text


def shown_titles(page: str) -> list[str]:
    return re.findall(r'class="title"[^>]*>([^<]*)<', page)


async def test_a_tag_is_renamed_on_every_task_from_its_view(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    await add_task(client, "Post the letter #errand")
    await add_task(client, "Buy stamps #errand")
    tag_id, used = (await sidebar_tags(client))["errand"]
    assert used == 2
    view = (await client.get(f"/?tag={tag_id}")).text
    assert f'action="/tags/{tag_id}"' in view
    assert f'action="/tags/{tag_id}/delete"' in view

    token = await page_token(client)
    renamed = await client.post(f"/tags/{tag_id}", data={"csrf_token": token, "name": "#chores"})
    assert renamed.status_code == 303
    assert renamed.headers["location"] == f"/?tag={tag_id}"
    page = (await client.get(renamed.headers["location"])).text
    assert "Renamed the tag to #chores." in page
    assert '<h1 class="view-title">#chores</h1>' in page
    assert sorted(shown_titles(page)) == ["Buy stamps", "Post the letter"]
    assert page.count('<span class="badge tag">#chores</span>') == 2
    assert await sidebar_tags(client) == {"chores": (tag_id, 2)}


async def test_renaming_onto_another_tag_merges_the_two(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    await add_task(client, "Fix the tap #home")
    await add_task(client, "Paint the door #house")
    await add_task(client, "Sweep #home #house")
    before = await sidebar_tags(client)
    home_id, house_id = before["home"][0], before["house"][0]
    token = await page_token(client)
    merged = await client.post(f"/tags/{house_id}", data={"csrf_token": token, "name": "Home"})
    assert merged.status_code == 303
    assert merged.headers["location"] == f"/?tag={home_id}"
    page = (await client.get(merged.headers["location"])).text
    assert "Merged #house into #Home." in page
    assert sorted(shown_titles(page)) == ["Fix the tap", "Paint the door", "Sweep"]
    # The task that carried both now carries the one tag once.
    assert page.count('<span class="badge tag">#Home</span>') == 3
    assert await sidebar_tags(client) == {"Home": (home_id, 3)}
    gone = await client.get(f"/?tag={house_id}", headers=HTML)
    assert gone.status_code == 404


async def test_a_bad_tag_name_is_refused_next_to_the_field(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    await add_task(client, "Call the plumber #home")
    tag_id, _ = (await sidebar_tags(client))["home"]
    token = await page_token(client)
    for name, reason in (
        ("   ", "Name must not be empty."),
        ("#", "Name must not be empty."),
        ("x" * 51, "Name can be at most 50 characters long."),
    ):
        refused = await client.post(f"/tags/{tag_id}", data={"csrf_token": token, "name": name})
        assert refused.status_code == 422, name
        assert 'id="tag-name-error"' in refused.text
        assert reason in refused.text
        # The form stays open on the tag's view, with what was typed.
        assert '<details class="list-manage" open>' in refused.text
        assert '<h1 class="view-title">#home</h1>' in refused.text
    missing = await client.post(f"/tags/{tag_id}", data={"csrf_token": token})
    assert missing.status_code == 422
    assert await sidebar_tags(client) == {"home": (tag_id, 1)}


async def test_deleting_a_tag_asks_first_and_keeps_the_tasks(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    await add_task(client, "Water the plants #garden #weekly")
    await add_task(client, "Mow the lawn #garden")
    tag_id, _ = (await sidebar_tags(client))["garden"]
    view = (await client.get(f"/?tag={tag_id}")).text
    assert 'name="confirm" value="yes" required' in view
    token = await page_token(client)

    unconfirmed = await client.post(f"/tags/{tag_id}/delete", data={"csrf_token": token})
    assert unconfirmed.status_code == 422
    assert 'id="tag-delete-error"' in unconfirmed.text
    assert "garden" in await sidebar_tags(client)

    deleted = await client.post(
        f"/tags/{tag_id}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/"
    page = (await client.get("/")).text
    assert "Deleted the tag #garden; its tasks stay." in page
    assert sorted(shown_titles(page)) == ["Mow the lawn", "Water the plants"]
    assert '<span class="badge tag">#garden</span>' not in page
    assert '<span class="badge tag">#weekly</span>' in page
    assert set(await sidebar_tags(client)) == {"weekly"}
    assert (await client.get(f"/?tag={tag_id}", headers=HTML)).status_code == 404


async def test_another_users_tag_cannot_be_renamed_or_deleted(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    await add_task(client, "Secret #concealed")
    tag_id, _ = (await sidebar_tags(client))["concealed"]
    client.cookies.clear()
    await sign_up(client)
    token = await page_token(client)
    for path, data in (
        (f"/tags/{tag_id}", {"name": "mine now"}),
        (f"/tags/{tag_id}/delete", {"confirm": "yes"}),
        ("/tags/99999999999999999999/delete", {"confirm": "yes"}),
    ):
        response = await client.post(path, data={"csrf_token": token, **data}, headers=HTML)
        assert response.status_code == 404, path
        assert "concealed" not in response.text


async def test_tag_changes_need_a_session_and_a_csrf_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    await add_task(client, "Keep #keep")
    tag_id, _ = (await sidebar_tags(client))["keep"]
    for path, data in (
        (f"/tags/{tag_id}", {"name": "forged"}),
        (f"/tags/{tag_id}/delete", {"confirm": "yes"}),
    ):
        response = await client.post(path, data=data, headers=HTML)
        assert response.status_code == 403
    assert await sidebar_tags(client) == {"keep": (tag_id, 1)}
    client.cookies.clear()
    logged_out = await client.post(f"/tags/{tag_id}/delete", data={"confirm": "yes"})
    assert logged_out.status_code in (303, 403)
