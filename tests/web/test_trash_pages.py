"""The trash in the web app, over HTTP: the Trash view, Undo as a restore by id, Delete
forever, Empty trash; other users get 404 on every trash route (WEB_TRASH_ROUTES)."""

from __future__ import annotations

import asyncio
import re

import httpx
from fastapi import FastAPI

from tests.web.test_pages import WEB_TRASH_ROUTES, add_task, page_token, sign_up

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://test/"}


async def _delete(client: httpx.AsyncClient, task_id: int) -> None:
    token = await page_token(client)
    deleted = await client.post(f"/tasks/{task_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303, deleted.text


def _titles(page: str) -> list[str]:
    return re.findall(r'<span id="title-\d+" class="title">([^<]*)<', page)


async def test_the_trash_view_lists_deleted_tasks_with_restore_and_delete_forever(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    empty = await client.get("/trash")
    assert empty.status_code == 200
    assert "The trash is empty" in empty.text
    assert '<a href="/trash" aria-current="page">Trash</a>' in empty.text
    kept = await add_task(client, "kept")
    token = await page_token(client)
    tagged = await client.post("/tasks", data={"csrf_token": token, "title": "first #home"})
    assert tagged.status_code == 303
    first = int(re.findall(r'id="title-(\d+)"[^>]*>first<', (await client.get("/")).text)[0])
    second = await add_task(client, "second")
    for task_id in (first, second):
        await _delete(client, task_id)
    page = (await client.get("/trash")).text
    assert _titles(page) == ["second", "first"]
    assert "#home" in page
    assert f'action="/tasks/{first}/restore"' in page
    assert f'action="/trash/{first}/delete"' in page
    assert "Empty trash" in page
    listed = (await client.get("/")).text
    assert f'id="title-{kept}"' in listed
    assert "second" not in re.sub(r'<div id="toasts".*', "", listed, flags=re.DOTALL)


async def test_restore_from_the_trash_puts_it_back(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    task_id = await add_task(client, "back again")
    await _delete(client, task_id)
    token = await page_token(client, "/trash")
    restored = await client.post(
        f"/tasks/{task_id}/restore", data={"csrf_token": token, "next": "/trash"}
    )
    assert restored.status_code == 303
    assert restored.headers["location"] == "/trash"
    page = (await client.get("/trash")).text
    assert "Restored “back again”." in page
    assert _titles(page) == []
    assert f'id="title-{task_id}"' in (await client.get("/")).text


async def test_the_toast_undo_restores_by_id_in_place(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    task_id = await add_task(client, "undo me")
    token = await page_token(client)
    deleted = await client.post(
        f"/tasks/{task_id}/delete", data={"csrf_token": token}, headers=HTMX
    )
    assert deleted.status_code == 200
    assert f'hx-post="/tasks/{task_id}/restore"' in deleted.text
    undone = await client.post(
        f"/tasks/{task_id}/restore", data={"csrf_token": token}, headers=HTMX
    )
    assert undone.status_code == 200
    assert undone.text.startswith('<section id="tasks"')
    assert f'id="title-{task_id}"' in undone.text


async def test_twenty_undo_clicks_restore_one_task(client: httpx.AsyncClient) -> None:
    """Undo used to post the task back to be created again: 20 clicks made 20 copies."""
    await sign_up(client)
    task_id = await add_task(client, "only once")
    await _delete(client, task_id)
    token = await page_token(client)
    answers = await asyncio.gather(
        *(
            client.post(
                f"/tasks/{task_id}/restore",
                data={"csrf_token": token},
                headers=HTMX if i % 2 else {},
            )
            for i in range(20)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(404) == 19, statuses
    assert statuses[0] in (200, 303)
    listed = (await client.get("/")).text
    assert re.findall(r'id="title-(\d+)"[^>]*>only once<', listed) == [str(task_id)]


async def test_delete_forever_and_empty_the_trash_with_a_confirm(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    ids = [await add_task(client, f"t{i}") for i in range(3)]
    for task_id in ids:
        await _delete(client, task_id)
    token = await page_token(client, "/trash")
    gone = await client.post(f"/trash/{ids[0]}/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    assert gone.headers["location"] == "/trash"
    page = (await client.get("/trash")).text
    assert "Deleted the task for good." in page
    assert _titles(page) == ["t2", "t1"]
    unconfirmed = await client.post("/trash/empty", data={"csrf_token": token})
    assert unconfirmed.status_code == 303
    page = (await client.get("/trash")).text
    assert "Tick the box" in page
    assert _titles(page) == ["t2", "t1"]
    emptied = await client.post("/trash/empty", data={"csrf_token": token, "confirm": "yes"})
    assert emptied.status_code == 303
    page = (await client.get("/trash")).text
    assert "Emptied the trash: 2 tasks deleted for good." in page
    assert _titles(page) == []


async def test_the_trash_pages_with_load_more(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    ids = [await add_task(client, f"task {i:02}") for i in range(27)]
    for task_id in ids:
        await _delete(client, task_id)
    first = (await client.get("/trash")).text
    assert len(_titles(first)) == 25
    more = re.search(r'href="(/trash\?cursor=[^"]+)"', first)
    assert more is not None
    second = (await client.get(more.group(1).replace("&amp;", "&"))).text
    assert _titles(second) == ["task 01", "task 00"]
    assert (await client.get("/trash?cursor=forged")).status_code == 400


async def test_another_user_gets_404_on_every_trash_route(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_up(client)
    task_id = await add_task(client, "private")
    await _delete(client, task_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        await sign_up(other)
        token = await page_token(other)
        for method, path in sorted(WEB_TRASH_ROUTES):
            url = path.replace("{task_id:int}", str(task_id))
            response = await other.request(method, url, data={"csrf_token": token}, headers=HTMX)
            assert response.status_code == 404, (path, response.status_code)
            assert "private" not in response.text
        assert "private" not in (await other.get("/trash")).text
    assert _titles((await client.get("/trash")).text) == ["private"]


async def test_ids_past_bigint_are_404(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    for method, path in sorted(WEB_TRASH_ROUTES):
        for task_id in (0, 2**63, 2**64):
            url = path.replace("{task_id:int}", str(task_id))
            response = await client.request(method, url, data={"csrf_token": token})
            assert response.status_code == 404, (url, response.status_code)


async def test_the_owner_can_call_every_trash_route(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for method, path in sorted(WEB_TRASH_ROUTES):
        task_id = await add_task(client, f"mine {path}")
        await _delete(client, task_id)
        token = await page_token(client)
        url = path.replace("{task_id:int}", str(task_id))
        response = await client.request(method, url, data={"csrf_token": token}, headers=HTMX)
        assert response.status_code in (200, 303), (path, response.text)
