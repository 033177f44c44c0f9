"""Lists, tags, priorities, due dates, reminders, recurrence, ordering, quick add, search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import Account, SignUp


async def _create(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/me/tasks", headers=who.headers, json={"title": "t", **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _titles(client: httpx.AsyncClient, who: Account, query: str = "") -> list[str]:
    response = await client.get(f"/api/me/tasks?{query}", headers=who.headers)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


async def _set_zone(client: httpx.AsyncClient, who: Account, zone: str) -> None:
    response = await client.patch("/api/auth/me", headers=who.headers, json={"timezone": zone})
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == zone


# Lists


async def test_inbox_exists_and_new_tasks_go_there(
    client: httpx.AsyncClient, alice: Account
) -> None:
    lists = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert [(each["name"], each["is_inbox"]) for each in lists] == [("Inbox", True)]
    task = await _create(client, alice)
    assert task["list_id"] == lists[0]["id"]
    again = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert again[0]["open_tasks"] == 1


async def test_list_crud_counts_and_order(client: httpx.AsyncClient, alice: Account) -> None:
    home = await client.post(
        "/api/me/lists", headers=alice.headers, json={"name": " Home ", "color": "#ff0000"}
    )
    assert home.status_code == 201
    assert home.json()["name"] == "Home"
    work = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "Work"})).json()
    await _create(client, alice, list_id=work["id"])
    await _create(client, alice, list_id=work["id"], completed=True)
    listed = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert [(e["name"], e["open_tasks"]) for e in listed] == [
        ("Inbox", 0),
        ("Home", 0),
        ("Work", 1),
    ]
    moved = await client.patch(
        f"/api/me/lists/{work['id']}", headers=alice.headers, json={"first": True}
    )
    assert moved.status_code == 200
    listed = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert [e["name"] for e in listed] == ["Inbox", "Work", "Home"]
    renamed = await client.patch(
        f"/api/me/lists/{home.json()['id']}", headers=alice.headers, json={"name": "House"}
    )
    assert renamed.json()["name"] == "House"
    bad = await client.patch(
        f"/api/me/lists/{home.json()['id']}", headers=alice.headers, json={"color": "red"}
    )
    assert bad.status_code == 422


async def test_inbox_cannot_be_deleted_or_renamed(
    client: httpx.AsyncClient, alice: Account
) -> None:
    inbox = (await client.get("/api/me/lists", headers=alice.headers)).json()[0]
    gone = await client.delete(f"/api/me/lists/{inbox['id']}?tasks=delete", headers=alice.headers)
    assert gone.status_code == 409
    assert gone.json()["code"] == "inbox_fixed"
    renamed = await client.patch(
        f"/api/me/lists/{inbox['id']}", headers=alice.headers, json={"name": "Other"}
    )
    assert renamed.status_code == 409


@pytest.mark.parametrize(("mode", "left"), [("move", ["a", "b", "keep"]), ("delete", ["keep"])])
async def test_delete_list_moves_or_deletes_its_tasks(
    client: httpx.AsyncClient, alice: Account, mode: str, left: list[str]
) -> None:
    doomed = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "X"})).json()
    await _create(client, alice, title="a", list_id=doomed["id"])
    await _create(client, alice, title="b", list_id=doomed["id"])
    await _create(client, alice, title="keep")
    missing_mode = await client.delete(f"/api/me/lists/{doomed['id']}", headers=alice.headers)
    assert missing_mode.status_code == 422
    response = await client.delete(
        f"/api/me/lists/{doomed['id']}?tasks={mode}", headers=alice.headers
    )
    assert response.status_code == 204
    assert sorted(await _titles(client, alice)) == left
    inbox = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert [e["name"] for e in inbox] == ["Inbox"]
    assert inbox[0]["open_tasks"] == len(left)


async def test_another_users_list_is_404(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    mine = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "M"})).json()
    for method, url, body in (
        ("GET", f"/api/me/lists/{mine['id']}", None),
        ("PATCH", f"/api/me/lists/{mine['id']}", {"name": "stolen"}),
        ("DELETE", f"/api/me/lists/{mine['id']}?tasks=delete", None),
        ("POST", "/api/me/tasks", {"title": "x", "list_id": mine["id"]}),
    ):
        response = await client.request(method, url, headers=bob.headers, json=body)
        assert response.status_code == 404, (method, url)
        assert response.json()["code"] == "list_not_found"
    assert (await client.get(f"/api/me/lists/{mine['id']}", headers=alice.headers)).json()[
        "name"
    ] == "M"


# Tags and priorities


async def test_tags_are_per_user_case_insensitive_and_rename_everywhere(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    one = await _create(client, alice, title="one", tags=["Home", "#errands", "home"])
    assert one["tags"] == ["errands", "Home"]
    await _create(client, alice, title="two", tags=["HOME"])
    await _create(client, bob, title="bobs", tags=["home"])
    tags = (await client.get("/api/me/tags", headers=alice.headers)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("errands", 1), ("Home", 2)]
    home = next(t for t in tags if t["name"] == "Home")
    renamed = await client.patch(
        f"/api/me/tags/{home['id']}", headers=alice.headers, json={"name": "House"}
    )
    assert renamed.status_code == 200
    assert sorted(await _titles(client, alice, "tag=house")) == ["one", "two"]
    assert await _titles(client, bob, "tag=home") == ["bobs"]
    stolen = await client.patch(
        f"/api/me/tags/{home['id']}", headers=bob.headers, json={"name": "x"}
    )
    assert stolen.status_code == 404


async def test_renaming_onto_an_existing_tag_merges(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _create(client, alice, title="both", tags=["a", "b"])
    await _create(client, alice, title="only a", tags=["a"])
    tags = {t["name"]: t for t in (await client.get("/api/me/tags", headers=alice.headers)).json()}
    merged = await client.patch(
        f"/api/me/tags/{tags['a']['id']}", headers=alice.headers, json={"name": "B"}
    )
    assert merged.status_code == 200
    after = (await client.get("/api/me/tags", headers=alice.headers)).json()
    assert [(t["name"], t["tasks"]) for t in after] == [("B", 2)]


async def test_tag_limits_and_update(client: httpx.AsyncClient, alice: Account) -> None:
    too_many = await client.post(
        "/api/me/tasks",
        headers=alice.headers,
        json={"title": "x", "tags": [f"t{i}" for i in range(21)]},
    )
    assert too_many.status_code == 422
    empty = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "x", "tags": [" "]}
    )
    assert empty.status_code == 422
    task = await _create(client, alice, tags=["a"])
    updated = await client.put(
        f"/api/me/tasks/{task['id']}", headers=alice.headers, json={"tags": ["b", "c"]}
    )
    assert updated.json()["tags"] == ["b", "c"]
    assert updated.headers["etag"] == '"2"'
    tags = {
        t["name"]: t["id"] for t in (await client.get("/api/me/tags", headers=alice.headers)).json()
    }
    assert (
        await client.delete(f"/api/me/tags/{tags['b']}", headers=alice.headers)
    ).status_code == 204
    fetched = await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)
    assert fetched.json()["tags"] == ["c"]


async def test_priorities_filter_and_sort(client: httpx.AsyncClient, alice: Account) -> None:
    for title, priority in (
        ("low", "low"),
        ("urgent", "urgent"),
        ("none", "none"),
        ("high", "high"),
    ):
        await _create(client, alice, title=title, priority=priority)
    assert await _titles(client, alice, "sort=priority&order=desc") == [
        "urgent",
        "high",
        "low",
        "none",
    ]
    assert sorted(await _titles(client, alice, "priority=high&priority=urgent")) == [
        "high",
        "urgent",
    ]
    bad = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "x", "priority": "p1"}
    )
    assert bad.status_code == 422


# Due dates and time zones


async def test_whole_day_due_stays_on_its_day_in_every_zone(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await _create(client, alice, due_date="2026-03-10")
    for zone in ("Pacific/Auckland", "America/Los_Angeles", "UTC"):
        await _set_zone(client, alice, zone)
        fetched = (await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)).json()
        assert fetched["due_date"] == "2026-03-10"
        assert fetched["due_at"] is None


async def test_timed_due_day_follows_the_owners_zone(
    client: httpx.AsyncClient, alice: Account
) -> None:
    # 23:30 in Los Angeles on the 10th is already the 11th in UTC and in Auckland.
    await _set_zone(client, alice, "America/Los_Angeles")
    task = await _create(client, alice, due_at="2026-01-10T23:30:00-08:00")
    assert task["due_date"] == "2026-01-10"
    assert task["due_at"] == "2026-01-11T07:30:00Z"
    await _set_zone(client, alice, "Pacific/Auckland")
    fetched = (await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)).json()
    assert fetched["due_date"] == "2026-01-11"
    naive = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "x", "due_at": "2026-03-10T10:00:00"}
    )
    assert naive.status_code == 422


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
async def test_today_and_overdue_are_computed_in_the_users_zone(
    client: httpx.AsyncClient, alice: Account, zone: str
) -> None:
    # UTC+14 and UTC-11: for most of every UTC day these zones are on different dates.
    await _set_zone(client, alice, zone)
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    await _create(client, alice, title="yesterday", due_date=str(today - timedelta(days=1)))
    await _create(client, alice, title="today", due_date=str(today))
    await _create(client, alice, title="in 3 days", due_date=str(today + timedelta(days=3)))
    await _create(client, alice, title="in 8 days", due_date=str(today + timedelta(days=8)))
    await _create(client, alice, title="undated")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await _create(client, alice, title="an hour ago", due_at=hour_ago.isoformat())
    hour_ago_day = hour_ago.astimezone(ZoneInfo(zone)).date()
    assert sorted(await _titles(client, alice, "due=overdue")) == ["an hour ago", "yesterday"]
    assert sorted(await _titles(client, alice, "due=today")) == sorted(
        ["today"] + (["an hour ago"] if hour_ago_day == today else [])
    )
    assert sorted(await _titles(client, alice, "due=week")) == sorted(
        ["today", "in 3 days"] + (["an hour ago"] if hour_ago_day == today else [])
    )
    assert await _titles(client, alice, "due=none") == ["undated"]
    window = f"due_from={today + timedelta(days=2)}&due_to={today + timedelta(days=8)}"
    assert await _titles(client, alice, window) == ["in 3 days", "in 8 days"]


async def test_due_sort_puts_undated_last(client: httpx.AsyncClient, alice: Account) -> None:
    await _create(client, alice, title="none")
    await _create(client, alice, title="late", due_date="2026-12-01")
    await _create(client, alice, title="early", due_date="2026-01-01")
    assert await _titles(client, alice, "sort=due_date") == ["early", "late", "none"]
    assert await _titles(client, alice, "sort=due_date&order=desc") == ["late", "early", "none"]


async def test_completed_range_and_newest_first(client: httpx.AsyncClient, alice: Account) -> None:
    first = await _create(client, alice, title="first", completed=True)
    await _create(client, alice, title="second", completed=True)
    await _create(client, alice, title="open")
    assert await _titles(client, alice, "status=completed&sort=completed&order=desc") == [
        "second",
        "first",
    ]
    since = first["completed_at"].replace("Z", "+00:00")
    later = await client.get(
        "/api/me/tasks", headers=alice.headers, params={"completed_from": since}
    )
    assert sorted(t["title"] for t in later.json()) == ["first", "second"]


# Reminders


async def test_reminders_fire_and_dismiss(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    future = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    fired = await _create(client, alice, title="fired", remind_at=past)
    await _create(client, alice, title="later", remind_at=future)
    await _create(client, alice, title="done", remind_at=past, completed=True)
    due = await client.get("/api/me/reminders/due", headers=alice.headers)
    assert [t["title"] for t in due.json()] == ["fired"]
    assert (await client.get("/api/me/reminders/due", headers=bob.headers)).json() == []
    other = await client.post(f"/api/me/reminders/{fired['id']}/dismiss", headers=bob.headers)
    assert other.status_code == 404
    dismissed = await client.post(f"/api/me/reminders/{fired['id']}/dismiss", headers=alice.headers)
    assert dismissed.status_code == 200
    assert (await client.get("/api/me/reminders/due", headers=alice.headers)).json() == []
    # Setting a new reminder time re-arms it.
    await client.put(
        f"/api/me/tasks/{fired['id']}",
        headers=alice.headers,
        json={"remind_at": (datetime.now(UTC) - timedelta(minutes=7)).isoformat()},
    )
    assert [
        t["title"]
        for t in (await client.get("/api/me/reminders/due", headers=alice.headers)).json()
    ] == ["fired"]


# Recurrence


async def test_completing_a_recurring_task_twice_creates_the_series(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first = await _create(
        client,
        alice,
        title="Water plants",
        due_date="2026-01-31",
        rrule="RRULE:freq=monthly;bymonthday=-1",
        tags=["home"],
    )
    assert first["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=-1"
    done = await client.patch(f"/api/me/tasks/{first['id']}/complete", headers=alice.headers)
    assert done.json()["completed"] is True
    pending = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    assert [(t["title"], t["due_date"], t["tags"]) for t in pending] == [
        ("Water plants", "2026-02-28", ["home"])
    ]
    assert pending[0]["series_id"] == first["series_id"]
    # Reopening and completing the first again must not create a second successor.
    await client.patch(f"/api/me/tasks/{first['id']}/complete", headers=alice.headers)
    await client.patch(f"/api/me/tasks/{first['id']}/complete", headers=alice.headers)
    await client.patch(f"/api/me/tasks/{pending[0]['id']}/complete", headers=alice.headers)
    pending = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    assert [t["due_date"] for t in pending] == ["2026-03-31"]
    everything = await _titles(client, alice)
    assert len(everything) == 3


async def test_recurrence_ends_with_count(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _create(client, alice, due_date="2026-05-01", rrule="FREQ=DAILY;COUNT=2")
    await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=alice.headers)
    second = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    assert [t["due_date"] for t in second] == ["2026-05-02"]
    await client.patch(f"/api/me/tasks/{second[0]['id']}/complete", headers=alice.headers)
    assert (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json() == []


async def test_recurrence_from_completion_and_timed_reminder_shift(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "Europe/Berlin")
    long_ago = "2020-01-06T09:00:00+01:00"
    task = await _create(
        client,
        alice,
        due_at=long_ago,
        remind_at="2020-01-06T08:30:00+01:00",
        rrule="FREQ=HOURLY;INTERVAL=1",
    )
    await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=alice.headers)
    following = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()[0]
    assert following["due_at"] == "2020-01-06T09:00:00Z"
    assert following["remind_at"] == "2020-01-06T08:30:00Z"
    by_completion = await _create(
        client,
        alice,
        title="haircut",
        due_date="2020-01-01",
        rrule="FREQ=WEEKLY;INTERVAL=4",
        recurrence_mode="completion",
    )
    await client.patch(f"/api/me/tasks/{by_completion['id']}/complete", headers=alice.headers)
    haircut = [
        t
        for t in (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
        if t["title"] == "haircut"
    ]
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    assert haircut[0]["due_date"] == str(today + timedelta(weeks=4))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rrule": "FREQ=DAILY"}, "rrule"),
        ({"rrule": "FREQ=SOMETIMES", "due_date": "2026-01-01"}, "rrule"),
        ({"rrule": "garbage", "due_date": "2026-01-01"}, "rrule"),
        ({"recurrence_mode": "whenever"}, "recurrence_mode"),
    ],
)
async def test_recurrence_validation(
    client: httpx.AsyncClient, alice: Account, body: dict[str, str], field: str
) -> None:
    response = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "x", **body}
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_impossible_rule_completes_without_successor(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await _create(
        client, alice, due_date="2026-01-01", rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"
    )
    response = await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=alice.headers)
    assert response.status_code == 200
    assert (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json() == []


# Manual order


async def test_move_reorders_without_touching_other_rows(
    client: httpx.AsyncClient, alice: Account
) -> None:
    a, b, c = [await _create(client, alice, title=t) for t in "abc"]
    assert await _titles(client, alice, "sort=manual") == ["a", "b", "c"]
    moved = await client.post(
        f"/api/me/tasks/{c['id']}/move", headers=alice.headers, json={"after_id": a["id"]}
    )
    assert moved.status_code == 200
    assert await _titles(client, alice, "sort=manual") == ["a", "c", "b"]
    first = await client.post(
        f"/api/me/tasks/{b['id']}/move", headers=alice.headers, json={"after_id": None}
    )
    assert first.status_code == 200
    assert await _titles(client, alice, "sort=manual") == ["b", "a", "c"]
    for task in (a, b):
        fetched = await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)
        assert fetched.headers["etag"] == ('"1"' if task is a else '"2"')
    itself = await client.post(
        f"/api/me/tasks/{a['id']}/move", headers=alice.headers, json={"after_id": a["id"]}
    )
    assert itself.status_code == 422


async def test_move_to_another_list(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    target = (await client.post("/api/me/lists", headers=alice.headers, json={"name": "T"})).json()
    task = await _create(client, alice)
    moved = await client.post(
        f"/api/me/tasks/{task['id']}/move", headers=alice.headers, json={"list_id": target["id"]}
    )
    assert moved.json()["list_id"] == target["id"]
    assert await _titles(client, alice, f"list_id={target['id']}") == ["t"]
    bobs = await _create(client, bob)
    stolen = await client.post(
        f"/api/me/tasks/{bobs['id']}/move", headers=alice.headers, json={"list_id": target["id"]}
    )
    assert stolen.status_code == 404


async def test_many_moves_between_the_same_neighbours(
    client: httpx.AsyncClient, alice: Account
) -> None:
    a = await _create(client, alice, title="a")
    b = await _create(client, alice, title="b")
    for i in range(40):
        moving = await _create(client, alice, title=f"m{i}")
        response = await client.post(
            f"/api/me/tasks/{moving['id']}/move", headers=alice.headers, json={"after_id": a["id"]}
        )
        assert response.status_code == 200
    order = await _titles(client, alice, "sort=manual")
    assert order[0] == "a"
    assert order[-1] == "b"
    assert order[1:-1] == [f"m{i}" for i in reversed(range(40))]
    assert b["title"] == "b"


# Quick add


async def test_quick_add_creates_everything_it_recognises(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "Europe/Berlin")
    response = await client.post(
        "/api/me/tasks/quick",
        headers=alice.headers,
        json={"text": "Pay rent every month on the 1st #home !high +Bills"},
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "Pay rent"
    assert task["priority"] == "high"
    assert task["tags"] == ["home"]
    assert task["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    assert task["due_date"].endswith("-01")
    lists = (await client.get("/api/me/lists", headers=alice.headers)).json()
    assert [e["name"] for e in lists] == ["Inbox", "Bills"]
    assert task["list_id"] == lists[1]["id"]
    again = await client.post(
        "/api/me/tasks/quick", headers=alice.headers, json={"text": "Gas +bills"}
    )
    assert again.json()["list_id"] == lists[1]["id"]


async def test_quick_add_timed_and_preview(client: httpx.AsyncClient, alice: Account) -> None:
    await _set_zone(client, alice, "America/New_York")
    preview = await client.get(
        "/api/me/tasks/parse", headers=alice.headers, params={"text": "Call Sam tomorrow 5pm"}
    )
    assert preview.status_code == 200
    body = preview.json()
    assert body["title"] == "Call Sam"
    tomorrow = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=1)
    assert body["due_date"] == str(tomorrow)
    local = datetime.fromisoformat(body["due_at"]).astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour) == (tomorrow, 17)
    assert {s["kind"] for s in body["spans"]} == {"date", "time"}
    assert await _titles(client, alice) == []
    created = await client.post(
        "/api/me/tasks/quick", headers=alice.headers, json={"text": "Call Sam tomorrow 5pm"}
    )
    assert created.json()["due_at"] == body["due_at"].replace("+00:00", "Z")


@pytest.mark.parametrize("text", ["", "x" * 501, "tomorrow"])
async def test_quick_add_validation(client: httpx.AsyncClient, alice: Account, text: str) -> None:
    response = await client.post("/api/me/tasks/quick", headers=alice.headers, json={"text": text})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "text"


# Search


async def test_search_ranks_and_follows_edits(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await _create(client, alice, title="Buy milk", description="and more milk for the milkshake")
    await _create(client, alice, title="Call mum", description="about the milk")
    other = await _create(client, alice, title="Paint fence")
    await _create(client, bob, title="Bob's milk")
    assert await _titles(client, alice, "q=milk") == ["Buy milk", "Call mum"]
    assert await _titles(client, alice, "q=MIL") == ["Buy milk", "Call mum"]
    assert await _titles(client, alice, "q=fence") == ["Paint fence"]
    await client.put(
        f"/api/me/tasks/{other['id']}", headers=alice.headers, json={"title": "Paint gate"}
    )
    assert await _titles(client, alice, "q=fence") == []
    assert await _titles(client, alice, "q=gate") == ["Paint gate"]
    await client.delete(f"/api/me/tasks/{other['id']}", headers=alice.headers)
    assert await _titles(client, alice, "q=gate") == []
    assert await _titles(client, alice, "q=milk%20mum") == ["Call mum"]
    assert await _titles(client, alice, "q=%22%27*%28%29%3A") == await _titles(client, alice)
    assert await _titles(client, alice, "q=milk&sort=title&order=desc") == ["Call mum", "Buy milk"]


async def test_search_pages_by_relevance(client: httpx.AsyncClient, alice: Account) -> None:
    for i in range(7):
        await _create(client, alice, title=f"report {i}", description="report " * (i % 3))
    url: str | None = "/api/me/tasks?q=report&limit=3"
    seen: list[str] = []
    while url:
        response = await client.get(url, headers=alice.headers)
        assert response.status_code == 200, response.text
        seen += [t["title"] for t in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert sorted(seen) == [f"report {i}" for i in range(7)]
    assert len(set(seen)) == 7


@pytest.mark.parametrize(
    ("sort", "order"),
    [("priority", "desc"), ("manual", "asc"), ("completed", "desc"), ("due_date", "asc")],
)
async def test_new_sorts_page_with_ties(
    client: httpx.AsyncClient, alice: Account, sort: str, order: str
) -> None:
    created = []
    for i in range(9):
        created.append(
            (
                await _create(
                    client,
                    alice,
                    title=f"t{i}",
                    priority=["none", "high"][i % 2],
                    completed=i % 3 == 0,
                    due_date=None if i % 4 == 0 else "2026-06-01",
                )
            )["id"]
        )
    url: str | None = f"/api/me/tasks?sort={sort}&order={order}&limit=2"
    seen: list[int] = []
    while url:
        response = await client.get(url, headers=alice.headers)
        assert response.status_code == 200, response.text
        seen += [t["id"] for t in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert sorted(seen) == sorted(created)
    whole = await client.get(f"/api/me/tasks?sort={sort}&order={order}", headers=alice.headers)
    assert seen == [t["id"] for t in whole.json()]


async def test_original_clients_still_work(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    created = await client.post(
        f"/api/{account.id}/tasks",
        headers=account.headers,
        json={"title": "plain", "description": "d"},
    )
    assert created.status_code == 201
    task_id = created.json()["id"]
    updated = await client.put(
        f"/api/{account.id}/tasks/{task_id}", headers=account.headers, json={"completed": True}
    )
    assert updated.json()["completed"] is True
    listed = await client.get(
        f"/api/{account.id}/tasks?status=completed&sort=title", headers=account.headers
    )
    assert [t["title"] for t in listed.json()] == ["plain"]


async def test_timezone_must_be_a_real_zone(client: httpx.AsyncClient, alice: Account) -> None:
    for zone in ("Mars/Olympus", "../../etc/passwd", ""):
        response = await client.patch(
            "/api/auth/me", headers=alice.headers, json={"timezone": zone}
        )
        assert response.status_code == 422
