"""The organize-and-find endpoints of the web app over HTTP: quick add and its preview."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlmodel import col, select

from tests.web.test_pages import HTML, PASSWORD, add_task, csrf_of, page_token, sign_up
from todo.accounts import service as accounts
from todo.lists.models import TaskList
from todo.web.listing import PAGE_SIZE

HTMX = {"HX-Request": "true"}


async def test_quick_add_reads_the_markers_out_of_the_line(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    response = await client.post(
        "/tasks",
        data={"csrf_token": token, "title": "Pay rent every month on the 1st #home !high +Bills"},
    )
    assert response.status_code == 303
    listed = (await client.get("/")).text
    assert ">Pay rent<" in listed
    assert "!high" in listed
    assert "#home" in listed
    assert 'title="Repeats"' in listed


async def test_a_line_with_nothing_but_markers_is_refused_with_a_sentence(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    token = await page_token(client)
    response = await client.post("/tasks", data={"csrf_token": token, "title": "#home !high"})
    assert response.status_code == 422
    assert 'id="new-title-error"' in response.text
    assert "no title left" in response.text


async def test_the_preview_shows_the_recognised_parts(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    response = await client.get(
        "/tasks/preview",
        params={"title": "Pay rent every month on the 1st #home !high +Bills"},
        headers=HTMX,
    )
    assert response.status_code == 200
    chips = response.text
    assert 'data-chip="repeat"' in chips
    assert 'data-chip="due"' in chips
    assert "! high" in chips
    assert "#home" in chips
    assert "+Bills" in chips
    empty = await client.get("/tasks/preview", params={"title": ""}, headers=HTMX)
    assert "data-chip" not in empty.text
    # Without htmx there is nothing to preview into: back to the list.
    plain = await client.get("/tasks/preview", params={"title": "x"}, headers=HTML)
    assert plain.status_code == 303


async def test_the_preview_needs_a_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/tasks/preview", params={"title": "x"}, headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    plain = await client.get("/tasks/preview", params={"title": "x"}, headers=HTML)
    assert plain.status_code == 303
    assert plain.headers["location"].startswith("/login")


async def test_quick_add_without_a_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    response = await client.post("/tasks", data={"title": "sneaky #x"}, headers=HTML)
    assert response.status_code == 403
    assert "sneaky" not in (await client.get("/")).text


async def test_a_plain_title_still_adds_a_plain_task(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    task_id = await add_task(client, "Buy milk")
    assert task_id > 0


async def _new_list(client: httpx.AsyncClient, name: str) -> int:
    token = await page_token(client)
    response = await client.post("/lists", data={"csrf_token": token, "name": name})
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/\?list=(\d+)", response.headers["location"])
    assert found is not None
    return int(found.group(1))


async def test_lists_are_made_renamed_and_deleted_from_the_sidebar(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    list_id = await _new_list(client, "Errands")
    token = await page_token(client)
    await client.post("/tasks", data={"csrf_token": token, "title": "Post the letter +Errands"})
    shown = (await client.get(f"/?list={list_id}")).text
    assert '<h1 class="view-title">Errands</h1>' in shown
    assert ">Post the letter<" in shown

    renamed = await client.post(f"/lists/{list_id}", data={"csrf_token": token, "name": "Chores"})
    assert renamed.status_code == 303
    assert '<h1 class="view-title">Chores</h1>' in (await client.get(f"/?list={list_id}")).text

    gone = await client.post(
        f"/lists/{list_id}/delete", data={"csrf_token": token, "tasks": "move"}
    )
    assert gone.status_code == 303
    assert (await client.get(f"/?list={list_id}", headers=HTML)).status_code == 404
    assert ">Post the letter<" in (await client.get("/?view=inbox")).text


async def test_a_list_name_must_not_be_empty(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    response = await client.post("/lists", data={"csrf_token": token, "name": "   "})
    assert response.status_code == 422
    assert 'id="list-error"' in response.text
    assert "must not be empty" in response.text


async def test_another_users_list_and_tag_are_not_found(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    list_id = await _new_list(client, "Private")
    token = await page_token(client)
    await client.post("/tasks", data={"csrf_token": token, "title": "Secret #hidden"})
    tag = re.search(r'href="/\?tag=(\d+)"', (await client.get("/")).text)
    assert tag is not None
    client.cookies.clear()
    await sign_up(client)
    token = await page_token(client)
    assert (await client.get(f"/?list={list_id}", headers=HTML)).status_code == 404
    assert (await client.get(f"/?tag={tag.group(1)}", headers=HTML)).status_code == 404
    for path, data in (
        (f"/lists/{list_id}", {"name": "Mine now"}),
        (f"/lists/{list_id}/delete", {"tasks": "delete"}),
    ):
        response = await client.post(path, data={"csrf_token": token, **data}, headers=HTML)
        assert response.status_code == 404


async def test_list_changes_need_a_session_and_a_csrf_token(client: httpx.AsyncClient) -> None:
    logged_out = await client.post("/lists", data={"name": "x"}, headers=HTML)
    assert logged_out.status_code in (303, 403)
    await sign_up(client)
    list_id = await _new_list(client, "Keep")
    for path, data in (
        ("/lists", {"name": "Forged"}),
        (f"/lists/{list_id}", {"name": "Forged"}),
        (f"/lists/{list_id}/delete", {"tasks": "delete"}),
    ):
        response = await client.post(path, data=data, headers=HTML)
        assert response.status_code == 403
    assert "Forged" not in (await client.get("/")).text
    assert (await client.get(f"/?list={list_id}")).status_code == 200


async def test_views_live_in_the_url(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    for line in ("Old bill 2020-01-01", "Call mom today", "Dentist tomorrow", "Trip in 30 days"):
        await client.post("/tasks", data={"csrf_token": token, "title": line})
    today = (await client.get("/?view=today")).text
    assert re.findall(r'class="title"[^>]*>([^<]*)<', today) == ["Old bill", "Call mom"]
    upcoming = (await client.get("/?view=upcoming")).text
    assert re.findall(r'class="title"[^>]*>([^<]*)<', upcoming) == ["Call mom", "Dentist"]
    assert upcoming.count('class="day-heading"') == 2


SELECTED_ZONE = re.compile(r'<select id="timezone".*?<option selected>([^<]+)</option>', re.DOTALL)


def saved_zone(account_page: httpx.Response) -> str | None:
    """The zone the account page's time-zone picker has selected."""
    found = SELECTED_ZONE.search(account_page.text)
    return found.group(1) if found else None


async def test_sign_up_takes_the_browsers_time_zone(client: httpx.AsyncClient) -> None:
    token = csrf_of((await client.get("/signup")).text)
    email = f"tz-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": email,
            "password": PASSWORD,
            "timezone": "Asia/Tokyo",
        },
    )
    assert response.status_code == 303
    assert saved_zone(await client.get("/account")) == "Asia/Tokyo"


async def test_an_unknown_browser_time_zone_leaves_utc(client: httpx.AsyncClient) -> None:
    token = csrf_of((await client.get("/signup")).text)
    email = f"tz-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post(
        "/signup",
        data={"csrf_token": token, "email": email, "password": PASSWORD, "timezone": "Mars/Base"},
    )
    assert response.status_code == 303
    assert saved_zone(await client.get("/account")) == "UTC"


WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)', re.IGNORECASE)


@contextmanager
def committed_writes(app: FastAPI) -> Iterator[list[set[str]]]:
    """The writes of each transaction the app commits while the block runs, such as
    {"INSERT INTO users", "INSERT INTO lists"}; transactions that only read are left out."""
    committed: list[set[str]] = []
    current: set[str] = set()

    def on_execute(*args: Any) -> None:
        found = WRITE.match(args[2])
        if found:
            current.add(f"{found.group(1).upper()} {found.group(2)}")

    def on_commit(_connection: Any) -> None:
        if current:
            committed.append(set(current))
        current.clear()

    def on_rollback(_connection: Any) -> None:
        current.clear()

    engine = app.state.db.engine.sync_engine
    hooks = (
        ("before_cursor_execute", on_execute),
        ("commit", on_commit),
        ("rollback", on_rollback),
    )
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        yield committed
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)


async def test_sign_up_writes_the_account_with_its_time_zone_in_one_transaction(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    for zone, saved in (("America/Sao_Paulo", "America/Sao_Paulo"), ("Not/AZone", "UTC")):
        client.cookies.clear()
        token = csrf_of((await client.get("/signup")).text)
        email = f"tz-{uuid.uuid4().hex[:10]}@example.com"
        with committed_writes(app) as transactions:
            response = await client.post(
                "/signup",
                data={"csrf_token": token, "email": email, "password": PASSWORD, "timezone": zone},
            )
        assert response.status_code == 303, response.text
        # The user with their time zone, their Inbox and the web session: one transaction,
        # with no later UPDATE of the user to set the zone.
        assert len(transactions) == 1, (zone, transactions)
        assert {"INSERT INTO users", "INSERT INTO lists", "INSERT INTO web_sessions"} <= (
            transactions[0]
        )
        assert "UPDATE users" not in transactions[0]
        assert saved_zone(await client.get("/account")) == saved
        async with app.state.db.session(write=False) as session:
            user = await accounts.find_by_email(session, email)
            assert user is not None
            assert user.timezone == saved
            inboxes = await session.exec(
                select(TaskList).where(TaskList.user_id == user.id, col(TaskList.is_inbox))
            )
            assert len(inboxes.all()) == 1


async def test_the_time_zone_is_edited_on_the_account_page(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client, "/account")
    bad = await client.post("/account/timezone", data={"csrf_token": token, "timezone": "Nowhere"})
    assert bad.status_code == 422
    assert "IANA name" in bad.text
    forged = await client.post(
        "/account/timezone", data={"timezone": "Europe/Berlin"}, headers=HTML
    )
    assert forged.status_code == 403
    good = await client.post(
        "/account/timezone", data={"csrf_token": token, "timezone": "Europe/Berlin"}
    )
    assert good.status_code == 303
    assert saved_zone(await client.get("/account")) == "Europe/Berlin"
    client.cookies.clear()
    logged_out = await client.post("/account/timezone", data={"timezone": "UTC"}, headers=HTML)
    assert logged_out.status_code in (303, 403)


async def test_the_detail_page_edits_priority_tags_due_and_repetition(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    task_id = await add_task(client, "Stand-up")
    token = await page_token(client, f"/tasks/{task_id}")
    form = {
        "csrf_token": token,
        "title": "Stand-up",
        "description": "",
        "priority": "high",
        "tags": "work, #daily",
        "due_date": "2031-03-03",
        "due_time": "09:30",
        "remind_at": "2031-03-03T09:15",
        "repeat": "weekly",
        "repeat_days": ["MO", "WE"],
        "repeat_monthday": "",
        "repeat_custom": "",
    }
    response = await client.post(f"/tasks/{task_id}", data=form)
    assert response.status_code == 303, response.text
    page = (await client.get(f"/tasks/{task_id}")).text
    assert '<option value="high" selected>' in page
    assert 'value="work, daily"' in page or 'value="daily, work"' in page
    assert 'value="2031-03-03"' in page
    assert 'value="09:30"' in page
    assert 'value="2031-03-03T09:15"' in page
    assert '<option value="weekly" selected>' in page
    assert 'value="MO" checked' in page
    assert 'value="WE" checked' in page
    assert 'value="TU" checked' not in page

    bad_day = await client.post(
        f"/tasks/{task_id}", data={**form, "repeat": "monthly", "repeat_monthday": "40"}
    )
    assert bad_day.status_code == 422
    assert "from 1 to 31" in bad_day.text
    bad_rule = await client.post(
        f"/tasks/{task_id}", data={**form, "repeat": "custom", "repeat_custom": "FREQ=SOMETIMES"}
    )
    assert bad_rule.status_code == 422
    assert 'class="field-error"' in bad_rule.text
    cleared = await client.post(
        f"/tasks/{task_id}",
        data={**form, "due_date": "", "due_time": "", "remind_at": "", "repeat": "none"},
    )
    assert cleared.status_code == 303
    assert '<option value="none" selected>' in (await client.get(f"/tasks/{task_id}")).text


async def test_due_reminders_are_listed_and_dismissed(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    task_id = await add_task(client, "Ring the bank")
    token = await page_token(client, f"/tasks/{task_id}")
    await client.post(
        f"/tasks/{task_id}",
        data={"csrf_token": token, "due_date": "2020-01-01", "remind_at": "2020-01-01T09:00"},
    )
    polled = await client.get("/reminders", headers=HTMX)
    assert polled.status_code == 200
    assert f'data-reminder="{task_id}"' in polled.text
    assert f'data-reminder="{task_id}"' in (await client.get("/")).text
    forged = await client.post(f"/tasks/{task_id}/reminder/dismiss", headers=HTML)
    assert forged.status_code == 403
    dismissed = await client.post(
        f"/tasks/{task_id}/reminder/dismiss", data={"csrf_token": token}, headers=HTMX
    )
    assert dismissed.status_code == 200
    assert "data-reminder" not in (await client.get("/reminders", headers=HTMX)).text
    client.cookies.clear()
    assert (await client.get("/reminders", headers=HTMX)).status_code == 401


async def test_the_detail_page_sets_whether_a_repeat_counts_from_due_or_completion(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    task_id = await add_task(client, "Water the plants")
    token = await page_token(client, f"/tasks/{task_id}")
    page = (await client.get(f"/tasks/{task_id}")).text
    assert 'name="recurrence_mode" value="due" checked' in page
    form = {
        "csrf_token": token,
        "title": "Water the plants",
        "due_date": "2031-03-03",
        "repeat": "weekly",
        "repeat_days": ["MO"],
        "recurrence_mode": "completion",
    }
    saved = await client.post(f"/tasks/{task_id}", data=form)
    assert saved.status_code == 303, saved.text
    page = (await client.get(f"/tasks/{task_id}")).text
    assert 'name="recurrence_mode" value="completion" checked' in page
    assert 'name="recurrence_mode" value="due" checked' not in page

    # Saving the page as it shows keeps the mode; changing only the title keeps it too.
    again = await client.post(f"/tasks/{task_id}", data={**form, "title": "Water the ferns"})
    assert again.status_code == 303
    assert 'value="completion" checked' in (await client.get(f"/tasks/{task_id}")).text
    back = await client.post(f"/tasks/{task_id}", data={**form, "recurrence_mode": "due"})
    assert back.status_code == 303
    assert (
        'name="recurrence_mode" value="due" checked' in (await client.get(f"/tasks/{task_id}")).text
    )

    bad = await client.post(f"/tasks/{task_id}", data={**form, "recurrence_mode": "sometimes"})
    assert bad.status_code == 422
    assert 'id="recurrence_mode-error"' in bad.text
    # The refused choice is not kept: the page shows what was stored.
    assert 'name="recurrence_mode" value="due" checked' in bad.text


async def test_completing_a_task_repeated_from_completion_counts_from_today(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    task_id = await add_task(client, "Descale the kettle")
    token = await page_token(client, f"/tasks/{task_id}")
    form = {
        "csrf_token": token,
        "title": "Descale the kettle",
        "due_date": "2020-01-01",
        "repeat": "custom",
        "repeat_custom": "FREQ=DAILY;INTERVAL=10",
        "recurrence_mode": "completion",
    }
    assert (await client.post(f"/tasks/{task_id}", data=form)).status_code == 303
    done = await client.post(
        f"/tasks/{task_id}/complete", data={"csrf_token": token, "completed": "true"}
    )
    assert done.status_code == 303
    listed = (await client.get("/?filter=active")).text
    next_id = re.search(r'id="title-(\d+)"[^>]*>Descale the kettle<', listed)
    assert next_id is not None
    detail = (await client.get(f"/tasks/{next_id.group(1)}")).text
    # Ten days from the day it was done (in the account's zone, UTC), not from 2020.
    assert f'value="{datetime.now(UTC).date() + timedelta(days=10)}"' in detail
    assert 'name="recurrence_mode" value="completion" checked' in detail


async def _upcoming_spanning_a_page(client: httpx.AsyncClient) -> None:
    """A first page of Upcoming that ends in the middle of tomorrow's tasks."""
    await sign_up(client)
    token = await page_token(client)
    lines = [
        *(f"Alpha {n:02} today" for n in range(PAGE_SIZE - 5)),
        *(f"Bravo {n:02} tomorrow" for n in range(10)),
        *(f"Charlie {n:02} in 2 days" for n in range(3)),
    ]
    for line in lines:
        added = await client.post("/tasks", data={"csrf_token": token, "title": line})
        assert added.status_code == 303


HEADING = re.compile(r'<li class="day-heading"[^>]*>([^<]*)</li>')


async def test_upcoming_rows_loaded_later_are_grouped_by_day_too(
    client: httpx.AsyncClient,
) -> None:
    await _upcoming_spanning_a_page(client)
    first = (await client.get("/?view=upcoming")).text
    assert HEADING.findall(first) == ["Today", "Tomorrow"]
    more = re.search(r'hx-get="(/\?view=upcoming&amp;cursor=[^"]+)"', first)
    assert more is not None
    url = more.group(1).replace("&amp;", "&")

    appended = (
        await client.get(url, headers={"HX-Request": "true", "HX-Target": "task-list"})
    ).text
    titles = re.findall(r'class="title"[^>]*>([^<]*)<', appended)
    assert titles == [
        *(f"Bravo {n:02}" for n in range(5, 10)),
        "Charlie 00",
        "Charlie 01",
        "Charlie 02",
    ]
    # Tomorrow's heading is already on the page above: only the new day gets one, just
    # before its first row.
    later = (datetime.now(UTC).date() + timedelta(days=2)).strftime("%a")
    headings = HEADING.findall(appended)
    assert len(headings) == 1
    assert headings[0].startswith(later)
    assert appended.index("day-heading") < appended.index(">Charlie 00<")
    assert appended.index("day-heading") > appended.index(">Bravo 09<")

    # Without JavaScript the next page is a page of its own, which starts with its day.
    whole = (await client.get(url)).text
    assert HEADING.findall(whole)[:1] == ["Tomorrow"]
    assert len(HEADING.findall(whole)) == 2


async def test_a_list_drawn_again_keeps_the_pages_load_more_added(
    client: httpx.AsyncClient,
) -> None:
    """app.js asks for ?pages=N when it draws the list again (live, or back in the tab),
    N being the first page and each Load more since: those rows stay on screen."""
    await _upcoming_spanning_a_page(client)
    total = PAGE_SIZE - 5 + 10 + 3

    def rows(page: str) -> int:
        return len(re.findall(r'class="title"[^>]*>[^<]*<', page))

    def pages_drawn(page: str) -> str | None:
        found = re.search(r'<section id="tasks"[^>]*data-pages="(\d+)"', page)
        return found.group(1) if found else None

    fragment = {"HX-Request": "true", "HX-Target": "tasks"}
    first = (await client.get("/?view=upcoming", headers=fragment)).text
    assert rows(first) == PAGE_SIZE
    assert pages_drawn(first) == "1"
    both = (await client.get("/?view=upcoming&pages=2", headers=fragment)).text
    assert rows(both) == total
    assert pages_drawn(both) == "2"
    assert "Load more" not in both
    # Anything else is the first page, as any unknown value of the URL; more than
    # MAX_PAGES is MAX_PAGES.
    for hostile in ("0", "-1", "abc", "1e3", "²", " 2", ""):
        page = (await client.get(f"/?view=upcoming&pages={hostile}", headers=fragment)).text
        assert rows(page) == PAGE_SIZE, hostile
    for many in ("9", "9" * 20):
        capped = await client.get(f"/?view=upcoming&pages={many}", headers=fragment)
        assert rows(capped.text) == total
        assert pages_drawn(capped.text) == "8"
    too_long = await client.get(f"/?view=upcoming&pages={'9' * 21}")
    assert too_long.status_code == 422
    # The pages asked for are not carried into the links of the page (Load more, sorts).
    assert not re.search(r"[?&;]pages=", both)


async def test_a_change_that_draws_the_list_again_keeps_the_pages_shown(
    client: httpx.AsyncClient,
) -> None:
    """Tab (POST /tasks/{id}/parent) draws the list again: with X-Todo-Pages (app.js sends
    how many pages are shown) the rows Load more brought are drawn too."""
    await _upcoming_spanning_a_page(client)
    total = PAGE_SIZE - 5 + 10 + 3
    token = await page_token(client)
    listed = (await client.get("/?sort=oldest")).text
    first, second = [int(n) for n in re.findall(r'id="title-(\d+)"', listed)[:2]]
    htmx = {"HX-Request": "true", "HX-Current-URL": "http://test/?sort=oldest"}
    for shown, rows in (("2", total), (None, PAGE_SIZE), ("x", PAGE_SIZE)):
        headers = {**htmx, **({"X-Todo-Pages": shown} if shown else {})}
        drawn = await client.post(
            f"/tasks/{second}/parent",
            data={"csrf_token": token, "parent": str(first) if rows == total else ""},
            headers=headers,
        )
        assert drawn.status_code == 200, drawn.text
        assert len(re.findall(r'id="title-\d+"', drawn.text)) == rows, shown
