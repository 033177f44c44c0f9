"""The python `caldav` library against a live server: what a real client does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import httpx
import pytest

import caldav
from tests.caldav.conftest import DavAccount

pytestmark = pytest.mark.timeout(120)

T = TypeVar("T")


async def off_loop(work: Callable[[], T]) -> T:
    """The client blocks; the server runs on this loop."""
    return await asyncio.to_thread(work)


def connect(url: str, who: DavAccount) -> caldav.DAVClient:
    return caldav.DAVClient(
        url=f"{url}/.well-known/caldav", username=who.auth[0], password=who.auth[1]
    )


VTODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Client//EN
BEGIN:VTODO
UID:{uid}
DTSTAMP:20261203T120000Z
SUMMARY:{summary}
DUE;VALUE=DATE:20261224
PRIORITY:1
CATEGORIES:home,errands
X-CLIENT-SECRET:keep me
GEO:48.85;2.35
URL:https://example.com/milk
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:first
TRIGGER;VALUE=DATE-TIME:20261224T080000Z
END:VALARM
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;VALUE=DATE-TIME:20261224T090000Z
X-EXTRA-ALARM:yes
END:VALARM
END:VTODO
END:VCALENDAR
"""


async def test_discover_create_update_complete_delete_and_sync(
    live_url: str, dav_alice: DavAccount, client: httpx.AsyncClient
) -> None:
    def work() -> dict[str, Any]:
        with connect(live_url, dav_alice) as dav:
            principal = dav.principal()
            calendars = principal.calendars()
            inbox = calendars[0]
            assert "VTODO" in inbox.get_supported_components()
            todo = inbox.save_todo(VTODO.format(uid="milk-1", summary="Buy milk"))
            first_token = inbox.objects_by_sync_token(load_objects=False).sync_token
            fetched = inbox.todo_by_uid("milk-1")
            component = fetched.icalendar_component
            component["SUMMARY"] = "Buy oat milk"
            fetched.save()
            changed = inbox.objects_by_sync_token(sync_token=first_token, load_objects=True)
            changed_urls = [str(each.url) for each in changed]
            second_token = changed.sync_token
            fetched.complete()
            open_todos = inbox.todos()
            all_todos = inbox.todos(include_completed=True)
            todo.delete()
            gone = inbox.objects_by_sync_token(sync_token=second_token, load_objects=False)
            return {
                "url": str(todo.url),
                "changed": changed_urls,
                "open": len(open_todos),
                "all": len(all_todos),
                "gone": [str(each.url) for each in gone],
                "calendars": [each.get_display_name() for each in calendars],
            }

    result = await off_loop(work)
    assert result["calendars"] == ["Inbox"]
    assert result["changed"] == [result["url"]]
    assert result["open"] == 0
    assert result["all"] == 1
    assert result["url"] in result["gone"]
    tasks = (await client.get("/api/me/tasks", headers=dav_alice.account.headers)).json()
    assert tasks == []
    trash = await client.get("/api/me/trash", headers=dav_alice.account.headers)
    assert "Buy oat milk" in trash.text


async def test_round_trip_keeps_what_we_do_not_map(
    live_url: str, dav_alice: DavAccount, client: httpx.AsyncClient
) -> None:
    def put() -> str:
        with connect(live_url, dav_alice) as dav:
            inbox = dav.principal().calendars()[0]
            inbox.save_todo(VTODO.format(uid="keep-1", summary="Keep"))
            return str(inbox.todo_by_uid("keep-1").url)

    url = await off_loop(put)
    listed = (await client.get("/api/me/tasks", headers=dav_alice.account.headers)).json()
    task = next(each for each in listed if each["title"] == "Keep")
    assert task["priority"] == "urgent"
    assert sorted(task["tags"]) == ["errands", "home"]
    assert task["due_date"] == date(2026, 12, 24).isoformat()
    assert task["remind_at"].startswith("2026-12-24T08:00:00")
    edit = await client.put(
        f"/api/me/tasks/{task['id']}",
        json={"title": "Kept and renamed", "priority": "low"},
        headers=dav_alice.account.headers,
    )
    assert edit.status_code == 200, edit.text
    served = await client.get(url, auth=dav_alice.auth)
    body = served.text
    assert served.status_code == 200
    assert "SUMMARY:Kept and renamed" in body
    assert "PRIORITY:9" in body
    for kept in (
        "X-CLIENT-SECRET:keep me",
        "GEO:48.85;2.35",
        "URL:https://example.com/milk",
        "X-EXTRA-ALARM:yes",
        "DESCRIPTION:first",
        "CATEGORIES:home,errands",
    ):
        assert kept in body, kept
