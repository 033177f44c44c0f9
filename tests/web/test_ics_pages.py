"""iCalendar in the web app, over HTTP with the session cookie: a list's and the account's
.ics download, the upload form and its per-task report, and the account's calendar feeds.
Access is the list's: a stranger gets 404, a viewer downloads but cannot import (403)."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar

from tests.web.test_pages import PASSWORD, page_token, sign_up
from todo.caldav.schemas import FEEDS_PER_USER_MAX, IMPORT_ITEMS_MAX
from todo.web.icalendar import UPLOAD_BYTES_MAX

FEED_URL = re.compile(r'id="new-feed-url"[^>]*value="([^"]+)"')
FEED_DELETE = re.compile(r'action="/account/feeds/(\d+)/delete"')


def vcalendar(*todos: str) -> bytes:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    return (head + "".join(todos) + "END:VCALENDAR\r\n").encode()


def vtodo(uid: str, summary: str, parent: str | None = None) -> str:
    related = f"RELATED-TO;RELTYPE=PARENT:{parent}\r\n" if parent else ""
    return (
        f"BEGIN:VTODO\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{summary}\r\n"
        f"{related}END:VTODO\r\n"
    )


async def api_token(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    logged = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {logged.json()['access_token']}"}


async def new_list(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    made = await client.post("/api/me/lists", headers=headers, json={"name": name})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def upload(
    client: httpx.AsyncClient,
    list_id: int,
    body: bytes,
    *,
    filename: str = "tasks.ics",
    media: str = "text/calendar",
    dry_run: bool = False,
) -> httpx.Response:
    token = await page_token(client, "/account")
    data = {"csrf_token": token, **({"dry_run": "yes"} if dry_run else {})}
    return await client.post(
        f"/lists/{list_id}/import", data=data, files={"file": (filename, body, media)}
    )


def counts(page: str) -> tuple[int, int, int]:
    found = [
        int(re.search(rf'class="count-{kind}">(\d+)<', page).group(1))  # type: ignore[union-attr]
        for kind in ("created", "skipped", "failed")
    ]
    return found[0], found[1], found[2]


@pytest.fixture
async def stranger(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    other = httpx.AsyncClient(transport=transport, base_url="http://test")
    await sign_up(other)
    return other


async def test_a_list_downloads_as_an_ics_file_named_after_it(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    email = await sign_up(client)
    headers = await api_token(client, email)
    list_id = await new_list(client, headers, "Garden & Home")
    made = await client.post(
        "/api/me/tasks", headers=headers, json={"title": "Prune roses", "list_id": list_id}
    )
    assert made.status_code == 201
    page = (await client.get(f"/?list={list_id}")).text
    assert f'href="/lists/{list_id}/tasks.ics"' in page
    assert f'href="/lists/{list_id}/import"' in page
    answer = await client.get(f"/lists/{list_id}/tasks.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Garden-Home.ics"')
    assert "filename*=UTF-8''Garden%20%26%20Home.ics" in disposition
    calendar = Calendar.from_ical(answer.content)
    assert [str(todo["SUMMARY"]) for todo in calendar.walk("VTODO")] == ["Prune roses"]
    assert str(calendar["X-WR-CALNAME"]) == "Garden & Home"
    # Someone else's list, and one that does not exist, are the same 404.
    for path in (f"/lists/{list_id}/tasks.ics", "/lists/99999999/tasks.ics"):
        refused = await stranger.get(path)
        assert refused.status_code == 404
        assert "Prune roses" not in refused.text
    assert (await stranger.get("/lists/99999999999999999999/tasks.ics")).status_code == 404
    everything = await stranger.get("/account/tasks.ics")
    assert everything.status_code == 200
    assert b"Prune roses" not in everything.content


async def test_the_account_page_downloads_every_list_seen(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    headers = await api_token(client, email)
    first = await new_list(client, headers, "Work")
    second = await new_list(client, headers, "Ünïcode")
    for title, list_id in (("Report", first), ("Bake", second)):
        await client.post(
            "/api/me/tasks", headers=headers, json={"title": title, "list_id": list_id}
        )
    page = (await client.get("/account")).text
    assert 'href="/account/tasks.ics"' in page
    answer = await client.get("/account/tasks.ics")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="todo.ics"'
    summaries = {str(t["SUMMARY"]) for t in Calendar.from_ical(answer.content).walk("VTODO")}
    assert {"Report", "Bake"} <= summaries
    named = await client.get(f"/lists/{second}/tasks.ics")
    assert named.headers["content-disposition"].startswith('attachment; filename="n-code.ics"')


async def test_an_upload_reports_each_task_nests_children_and_adds_nothing_twice(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    headers = await api_token(client, email)
    list_id = await new_list(client, headers, "Imported")
    parent, child = f"p-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"
    # The child comes first in the file, an event is no task.
    body = vcalendar(
        vtodo(child, "Child", parent),
        vtodo(parent, "Parent"),
        f"BEGIN:VEVENT\r\nUID:e-{parent}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Event\r\n"
        "DTSTART:20260101T100000Z\r\nEND:VEVENT\r\n",
    )
    checked = await upload(client, list_id, body, dry_run=True)
    assert checked.status_code == 200, checked.text
    assert "would be created" in checked.text
    assert counts(checked.text) == (2, 0, 1)
    listed = await client.get(f"/api/me/tasks?list_id={list_id}", headers=headers)
    assert listed.json() == []
    done = await upload(client, list_id, body)
    assert done.status_code == 200, done.text
    assert counts(done.text) == (2, 0, 1)
    assert "Imported tasks.ics" in done.text
    assert f"e-{parent}" in done.text
    tasks = (await client.get(f"/api/me/tasks?list_id={list_id}", headers=headers)).json()
    by_title = {task["title"]: task for task in tasks}
    assert by_title["Child"]["parent_id"] == by_title["Parent"]["id"]
    again = await upload(client, list_id, body)
    assert counts(again.text) == (0, 2, 1)
    after = (await client.get(f"/api/me/tasks?list_id={list_id}", headers=headers)).json()
    assert len(after) == 2


@pytest.mark.parametrize(
    ("filename", "media", "body", "reason"),
    [
        ("picture.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "Choose an iCalendar"),
        ("tasks.ics", "text/calendar", b"", "The file is empty."),
        ("tasks.ics", "text/calendar", b"hello, not a calendar", "not iCalendar"),
        ("tasks.ics", "application/octet-stream", b"\xff\xfe\0\0BEGIN", "not iCalendar"),
        ("tasks.ics", "text/calendar", b"BEGIN:VCARD\r\nEND:VCARD\r\n", "VCALENDAR"),
        ("tasks.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n" * 5000, "VCALENDAR"),
        (
            "big.ics",
            "text/calendar",
            b"BEGIN:VCALENDAR\r\n" + b"X-PAD:" + b"a" * UPLOAD_BYTES_MAX + b"\r\nEND:VCALENDAR\r\n",
            "larger than",
        ),
        (
            "many.ics",
            "text/calendar",
            vcalendar(*(vtodo(f"m-{n}", "t") for n in range(IMPORT_ITEMS_MAX + 1))),
            "at most",
        ),
    ],
)
async def test_a_hostile_upload_gets_the_field_error_and_writes_nothing(
    client: httpx.AsyncClient, filename: str, media: str, body: bytes, reason: str
) -> None:
    email = await sign_up(client)
    headers = await api_token(client, email)
    list_id = await new_list(client, headers, "Target")
    refused = await upload(client, list_id, body, filename=filename, media=media)
    assert refused.status_code == 422, refused.text[:500]
    error = re.search(r'id="file-error" class="field-error">([^<]*)<', refused.text)
    assert error is not None, refused.text[:2000]
    assert reason in error.group(1)
    listed = await client.get(f"/api/me/tasks?list_id={list_id}", headers=headers)
    assert listed.json() == []


async def test_a_post_without_a_file_or_its_csrf_token_is_refused(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    list_id = await new_list(client, await api_token(client, email), "Target")
    token = await page_token(client, "/account")
    bare = await client.post(f"/lists/{list_id}/import", data={"csrf_token": token})
    assert bare.status_code == 422
    assert "Choose an .ics file to import." in bare.text
    text = await client.post(
        f"/lists/{list_id}/import", data={"csrf_token": token, "file": "BEGIN:VCALENDAR"}
    )
    assert text.status_code == 422
    forged = await client.post(
        f"/lists/{list_id}/import", files={"file": ("a.ics", vcalendar(), "text/calendar")}
    )
    assert forged.status_code == 403


async def test_a_viewer_downloads_but_sees_no_import_and_gets_403(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    email = await sign_up(client)
    headers = await api_token(client, email)
    list_id = await new_list(client, headers, "Shared")
    await client.post("/api/me/tasks", headers=headers, json={"title": "Seen", "list_id": list_id})
    viewer = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    viewer_email = await sign_up(viewer)
    added = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=headers,
        json={"email": viewer_email, "role": "viewer"},
    )
    assert added.status_code == 201
    page = (await viewer.get(f"/?list={list_id}")).text
    assert f'href="/lists/{list_id}/tasks.ics"' in page
    assert f"/lists/{list_id}/import" not in page
    answer = await viewer.get(f"/lists/{list_id}/tasks.ics")
    assert answer.status_code == 200
    assert b"Seen" in answer.content
    assert b"Seen" in (await viewer.get("/account/tasks.ics")).content
    assert (await viewer.get(f"/lists/{list_id}/import")).status_code == 403
    posted = await upload(viewer, list_id, vcalendar(vtodo("v-1", "Sneaky")))
    assert posted.status_code == 403
    assert (await stranger.get(f"/lists/{list_id}/import")).status_code == 404
    assert (await upload(stranger, list_id, vcalendar(vtodo("s-1", "x")))).status_code == 404
    listed = (await client.get(f"/api/me/tasks?list_id={list_id}", headers=headers)).json()
    assert [task["title"] for task in listed] == ["Seen"]
    await viewer.aclose()


async def create_feed(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    token = await page_token(client, "/account")
    return await client.post("/account/feeds", data={"csrf_token": token, **fields})


async def test_a_feed_is_shown_once_serves_dated_tasks_and_stops_when_deleted(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    email = await sign_up(client)
    headers = await api_token(client, email)
    list_id = await new_list(client, headers, "Dated")
    await client.post(
        "/api/me/tasks",
        headers=headers,
        json={"title": "Dentist", "list_id": list_id, "due_date": "2031-05-04"},
    )
    assert "No feeds yet." in (await client.get("/account")).text
    made = await create_feed(client, feed_name="Phone", feed_list="", feed_component="VEVENT")
    assert made.status_code == 200, made.text
    found = FEED_URL.search(made.text)
    assert found is not None
    url = found.group(1)
    assert "it is not shown again" in made.text
    events = await client.get(url)
    assert events.status_code == 200
    assert [str(e["SUMMARY"]) for e in Calendar.from_ical(events.content).walk("VEVENT")] == [
        "Dentist"
    ]
    tasks = await create_feed(
        client, feed_name="Thunderbird", feed_list=str(list_id), feed_component="VTODO"
    )
    task_url = FEED_URL.search(tasks.text)
    assert task_url is not None
    assert task_url.group(1).endswith("?component=VTODO")
    assert b"BEGIN:VTODO" in (await client.get(task_url.group(1))).content
    page = (await client.get("/account")).text
    assert url not in page
    assert "The list “Dated”" in page
    assert "All your lists" in page
    feed_ids = FEED_DELETE.findall(page)
    assert len(feed_ids) == 2
    oldest = feed_ids[1]
    # Another user cannot delete it: the same 404 as a feed that is not there.
    stolen = await stranger.post(
        f"/account/feeds/{oldest}/delete", data={"csrf_token": await page_token(stranger, "/")}
    )
    assert stolen.status_code == 404
    assert (await client.get(url)).status_code == 200
    forged = await client.post(f"/account/feeds/{oldest}/delete")
    assert forged.status_code == 403
    token = await page_token(client, "/account")
    deleted = await client.post(f"/account/feeds/{oldest}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert "its address no longer works" in (await client.get("/account")).text
    assert (await client.get(url)).status_code == 404
    again = await client.post(f"/account/feeds/{oldest}/delete", data={"csrf_token": token})
    assert again.status_code == 404
    assert (await client.get(task_url.group(1))).status_code == 200


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"feed_name": ""}, "feed_name", "Feed name must be"),
        ({"feed_name": "x" * 101}, "feed_name", "at most"),
        ({"feed_name": "ok", "feed_list": "abc"}, "feed_list", "Choose one of your lists"),
        ({"feed_name": "ok", "feed_list": "99999999"}, "feed_list", "Choose one of your lists"),
        ({"feed_name": "ok", "feed_list": "9" * 30}, "feed_list", "Choose one of your lists"),
        ({"feed_name": "ok", "feed_list": "-1"}, "feed_list", "Choose one of your lists"),
        ({"feed_name": "ok", "feed_component": "VJOURNAL"}, "feed_component", "events or tasks"),
    ],
)
async def test_a_bad_feed_form_is_shown_again_with_why(
    client: httpx.AsyncClient, fields: dict[str, str], field: str, reason: str
) -> None:
    await sign_up(client)
    refused = await create_feed(client, **fields)
    assert refused.status_code == 422, refused.text[:300]
    error = re.search(rf'id="{field}-error" class="field-error">([^<]*)<', refused.text)
    assert error is not None, refused.text
    assert reason in error.group(1)
    assert FEED_URL.search(refused.text) is None
    assert "No feeds yet." in refused.text


async def test_someone_elses_list_is_no_feed(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    email = await sign_up(client)
    list_id = await new_list(client, await api_token(client, email), "Mine")
    refused = await create_feed(stranger, feed_name="Spy", feed_list=str(list_id))
    assert refused.status_code == 422
    assert "Choose one of your lists" in refused.text
    assert "Mine" not in refused.text


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_twenty_five_parallel_feeds_hold_the_cap(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client, "/account")
    answers = await asyncio.gather(
        *(
            client.post("/account/feeds", data={"csrf_token": token, "feed_name": f"f{n}"})
            for n in range(FEEDS_PER_USER_MAX + 5)
        )
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] * FEEDS_PER_USER_MAX + [422] * 5
    page = (await client.get("/account")).text
    assert len(FEED_DELETE.findall(page)) == FEEDS_PER_USER_MAX


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_twenty_parallel_uploads_store_each_uid_once(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    headers = await api_token(client, email)
    list_id = await new_list(client, headers, "Raced")
    body = vcalendar(vtodo("race-p", "P"), vtodo("race-c", "C", "race-p"))
    answers = await asyncio.gather(*(upload(client, list_id, body) for _ in range(20)))
    assert {answer.status_code for answer in answers} == {200}
    assert sum(counts(answer.text)[0] for answer in answers) == 2
    listed = (await client.get(f"/api/me/tasks?list_id={list_id}", headers=headers)).json()
    assert sorted(task["title"] for task in listed) == ["C", "P"]
