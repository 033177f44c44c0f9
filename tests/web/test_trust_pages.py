"""The web app keeps what people typed and shows things where they are (issue 10), over HTTP."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from tests.web.test_pages import add_task, page_token, sign_up

HTMX = {"HX-Request": "true"}


def _detail_form(token: str, **changes: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf_token": token,
        "title": "Water the plants",
        "description": "The big fern too",
        "priority": "high",
        "tags": "home",
        "due_date": "2031-03-03",
        "due_time": "",
        "remind_at": "",
        "repeat": "daily",
        "repeat_monthday": "",
        "repeat_custom": "",
        "recurrence_mode": "due",
        "completed": "false",
    }
    form.update(changes)
    return form


def _checked(page: str, element_id: str) -> bool:
    found = re.search(rf'<input id="{element_id}"[^>]*>', page)
    assert found is not None, f"no #{element_id} on the page"
    return " checked" in found.group(0)


async def test_a_form_error_keeps_completed_as_it_was_and_saving_then_completes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    task_id = await add_task(client, "Water the plants")
    token = await page_token(client, f"/tasks/{task_id}")
    made_daily = await client.post(f"/tasks/{task_id}", data=_detail_form(token))
    assert made_daily.status_code == 303
    for broken in ({"title": ""}, {"repeat": "custom", "repeat_custom": "FREQ=SOMETIMES"}):
        refused = await client.post(f"/tasks/{task_id}", data=_detail_form(token, **broken))
        assert refused.status_code == 422
        assert not _checked(refused.text, "completed"), "an unticked box came back ticked"
        assert "The big fern too" in refused.text
        assert '<option value="high" selected>' in refused.text

    # The person fixes the title and saves the form as it came back.
    saved = await client.post(f"/tasks/{task_id}", data=_detail_form(token))
    assert saved.status_code == 303
    listed = (await client.get("/")).text
    assert listed.count('class="task"') == 1, "saving made another occurrence"
    assert 'aria-checked="false"' in listed


async def test_a_form_error_keeps_a_ticked_completed_ticked(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    task_id = await add_task(client, "Post the letter")
    token = await page_token(client, f"/tasks/{task_id}")
    form = _detail_form(token, title="", repeat="none", completed=["false", "true"])
    refused = await client.post(f"/tasks/{task_id}", data=form)
    assert refused.status_code == 422
    assert _checked(refused.text, "completed")


async def test_the_task_page_shows_instants_in_the_owners_time_zone(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    token = await page_token(client, "/account")
    zoned = await client.post(
        "/account/timezone", data={"csrf_token": token, "timezone": "Europe/Berlin"}
    )
    assert zoned.status_code == 303
    task_id = await add_task(client, "Renew the passport")
    page = (await client.get(f"/tasks/{task_id}")).text
    created = re.search(r'Created <time datetime="([^"]+)">([^<]+)</time>', page)
    assert created is not None
    instant = datetime.fromisoformat(created.group(1))
    local = instant.astimezone(ZoneInfo("Europe/Berlin"))
    assert created.group(2) == f"{local.day} {local:%b %Y, %H:%M} {local:%Z}"
    assert local.tzname() in ("CET", "CEST")
    assert "UTC" not in created.group(2)


def _rows(page: str) -> list[str]:
    return re.findall(r'id="title-\d+"[^>]*>([^<]*)<', page)


async def _new_list(client: httpx.AsyncClient, name: str) -> str:
    token = await page_token(client)
    made = await client.post("/lists", data={"csrf_token": token, "name": name})
    assert made.status_code == 303
    return str(made.headers["location"])


async def _quick_add(client: httpx.AsyncClient, view: str, text: str) -> httpx.Response:
    token = await page_token(client, view)
    headers = {**HTMX, "HX-Current-URL": f"http://test{view}"}
    return await client.post("/tasks", data={"csrf_token": token, "title": text}, headers=headers)


async def test_quick_add_in_a_view_gives_the_task_that_view_and_shows_it_there(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    errands = await _new_list(client, "Errands")
    added = await _quick_add(client, errands, "Buy stamps")
    assert added.status_code == 200
    assert _rows(added.text) == ["Buy stamps"]
    assert _rows((await client.get(errands)).text) == ["Buy stamps"]

    await _quick_add(client, "/", "Mow the lawn #garden")
    listed = (await client.get("/")).text
    tag_view = re.search(r'href="(/\?tag=\d+)"', listed)
    assert tag_view is not None
    in_tag = await _quick_add(client, tag_view.group(1), "Rake the leaves")
    assert "Rake the leaves" in _rows(in_tag.text)

    in_today = await _quick_add(client, "/?view=today", "Call the bank")
    assert _rows(in_today.text) == ["Call the bank"]

    # What the line says wins: +List takes the task to that list, and the view says so.
    elsewhere = await _quick_add(client, errands, "Renew the car tax +Car")
    assert "Renew the car tax" not in _rows(elsewhere.text)
    assert "Added “Renew the car tax” to Car; this view does not show it." in elsewhere.text


async def test_quick_add_without_javascript_lands_in_the_view_too(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    errands = await _new_list(client, "Errands")
    token = await page_token(client, errands)
    made = await client.post(
        "/tasks", data={"csrf_token": token, "title": "Buy stamps", "next": errands}
    )
    assert made.status_code == 303
    assert made.headers["location"] == errands
    assert _rows((await client.get(errands)).text) == ["Buy stamps"]


def _count(page: str, label: str) -> int:
    found = re.search(rf'id="filters".*?>{label} <span class="count">(\d+)</span>', page, re.S)
    assert found is not None, f"no {label} count"
    return int(found.group(1))


def _sidebar_count(page: str, label: str) -> int:
    found = re.search(rf">{re.escape(label)} <span class=\"count\">(\d+)</span>", page)
    assert found is not None, f"no sidebar count for {label}"
    return int(found.group(1))


async def test_the_counts_are_the_views_own(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    errands = await _new_list(client, "Errands")
    for line in ("Buy stamps", "Post the parcel"):
        await _quick_add(client, errands, line)
    for line in ("Read a book", "Call Sam today", "Plan the trip"):
        await _quick_add(client, "/", line)
    in_list = (await client.get(errands)).text
    assert (_count(in_list, "All"), _count(in_list, "Active")) == (2, 2)
    assert _count((await client.get("/")).text, "All") == 5
    today = (await client.get("/?view=today")).text
    assert _count(today, "Active") == 1
    assert ">All <" not in today, "Today offers filters that change nothing"
    searched = (await client.get("/?q=stamps")).text
    assert _count(searched, "All") == 1


async def test_every_change_answers_with_the_new_counts_and_sidebar(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    errands = await _new_list(client, "Errands")
    added = await _quick_add(client, errands, "Buy stamps #post")
    # The sidebar learns of the task's tag at once, and the list's count goes up.
    assert 'id="sidebar-tags" hx-swap-oob="true"' in added.text
    assert "#post <span" in added.text
    assert _sidebar_count(added.text, "Errands") == 1
    task_id = int(re.findall(r'id="title-(\d+)"', added.text)[0])

    token = await page_token(client, errands)
    headers = {**HTMX, "HX-Current-URL": f"http://test{errands}"}
    done = await client.post(
        f"/tasks/{task_id}/complete",
        data={"csrf_token": token, "completed": "true"},
        headers=headers,
    )
    assert 'id="filters" class="filters"' in done.text
    assert 'id="sidebar-views" hx-swap-oob="true"' in done.text
    assert (_count(done.text, "Active"), _count(done.text, "Completed")) == (0, 1)
    assert _sidebar_count(done.text, "Errands") == 0
    assert _sidebar_count(done.text, "Completed") == 1

    deleted = await client.post(
        f"/tasks/{task_id}/delete", data={"csrf_token": token}, headers=headers
    )
    assert _count(deleted.text, "All") == 0
    assert _sidebar_count(deleted.text, "Completed") == 0


def _chosen_sort(page: str) -> str:
    found = re.search(r'<option value="(\w+)" selected>', page.split('id="sort"', 1)[1])
    assert found is not None
    return found.group(1)


async def test_a_lists_chosen_sort_is_remembered_for_the_next_visit(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    errands = await _new_list(client, "Errands")
    list_id = errands.split("list=")[1]
    assert _chosen_sort((await client.get(errands)).text) == "newest"
    token = await page_token(client, errands)
    chosen = await client.post(
        "/sort", data={"csrf_token": token, "list": list_id, "sort": "manual"}
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == f"{errands}&sort=manual"
    # Opened again from the sidebar (no sort in the URL), on this device or another.
    assert _chosen_sort((await client.get(errands)).text) == "manual"
    assert _chosen_sort((await client.get("/?view=inbox")).text) == "newest"
    # htmx changes it in place and the address follows.
    back = await client.post(
        "/sort",
        data={"csrf_token": token, "list": list_id, "sort": "title"},
        headers={**HTMX, "HX-Current-URL": f"http://test{errands}"},
    )
    assert back.headers["HX-Push-Url"] == f"{errands}&sort=title"
    assert _chosen_sort((await client.get(errands)).text) == "title"
    # A URL that names a sort still wins.
    assert _chosen_sort((await client.get(f"{errands}&sort=oldest")).text) == "oldest"


async def test_choosing_a_sort_needs_a_known_order_and_ones_own_list(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    token = await page_token(client)
    refused = await client.post("/sort", data={"csrf_token": token, "sort": "sideways"})
    assert refused.status_code == 400
    other = await client.post(
        "/sort", data={"csrf_token": token, "list": "999999", "sort": "title"}
    )
    assert other.status_code == 404
