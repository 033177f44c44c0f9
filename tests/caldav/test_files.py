""".ics export and import through the API: what a file holds, a round trip that keeps what
we do not map byte for byte, hostile files, and imports raced."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.caldav.conftest import DavAccount
from tests.caldav.test_client import VTODO
from tests.caldav.test_protocol import inbox_path, todo
from tests.conftest import Account
from todo.caldav.schemas import IMPORT_ITEMS_MAX

ICS = {"Content-Type": "text/calendar"}
JSON = {"Content-Type": "application/json"}
HUGE = b"BEGIN:VCALENDAR\r\nX-A:" + b"a" * (2 * 1024 * 1024) + b"\r\nEND:VCALENDAR\r\n"
# The properties of the client's object (test_client.VTODO) that we do not map, as lines.
UNMAPPED = ("X-CLIENT-SECRET", "GEO", "URL")


async def inbox_id(client: httpx.AsyncClient, who: Account) -> int:
    lists = (await client.get("/api/me/lists", headers=who.headers)).json()
    return int(next(each["id"] for each in lists if each["is_inbox"]))


async def titles(client: httpx.AsyncClient, who: Account) -> dict[str, dict[str, Any]]:
    listed = await client.get(
        "/api/me/tasks", params={"status": "all", "limit": 500}, headers=who.headers
    )
    return {each["title"]: each for each in listed.json()}


def vtodo_blocks(body: str) -> dict[str, str]:
    """Each VTODO of a file as text (unfolded), by UID."""
    unfolded = body.replace("\r\n ", "").replace("\r\n", "\n")
    blocks = re.findall(r"BEGIN:VTODO\n.*?END:VTODO\n", unfolded, flags=re.S)
    found = {}
    for block in blocks:
        uid = re.search(r"^UID:(.*)$", block, flags=re.M)
        assert uid is not None
        found[uid.group(1)] = block
    return found


def lines_of(block: str, *names: str) -> list[str]:
    return [line for line in block.split("\n") if line.split(":")[0].split(";")[0] in names]


def alarms_of(block: str) -> list[str]:
    return re.findall(r"BEGIN:VALARM\n.*?END:VALARM\n", block, flags=re.S)


async def alice_with_content(client: httpx.AsyncClient, dav_alice: DavAccount) -> int:
    """Alice's inbox: a client's object with unmapped properties, a parent and a subtask
    made in the API."""
    headers = dav_alice.account.headers
    base = await inbox_path(client, dav_alice)
    stored = await client.put(
        base + "milk.ics", content=VTODO.format(uid="milk-1", summary="Milk"), auth=dav_alice.auth
    )
    assert stored.status_code == 201, stored.text
    parent = await client.post(
        "/api/me/tasks",
        json={"title": "Party", "priority": "high", "due_date": "2027-01-02", "tags": ["fun"]},
        headers=headers,
    )
    assert parent.status_code == 201
    child = await client.post(
        "/api/me/tasks",
        json={"title": "Cake", "parent_id": parent.json()["id"]},
        headers=headers,
    )
    assert child.status_code == 201
    return await inbox_id(client, dav_alice.account)


async def test_a_list_exported(
    client: httpx.AsyncClient, dav_alice: DavAccount, bob: Account
) -> None:
    list_id = await alice_with_content(client, dav_alice)
    answer = await client.get(
        f"/api/me/lists/{list_id}/tasks.ics", headers=dav_alice.account.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    assert "attachment" in answer.headers["content-disposition"]
    calendar = Calendar.from_ical(answer.content)
    assert str(calendar["X-WR-CALNAME"]) == "Inbox"
    todos = {str(each["SUMMARY"]): each for each in calendar.walk("VTODO")}
    assert set(todos) == {"Milk", "Party", "Cake"}
    assert str(todos["Cake"]["RELATED-TO"]) == str(todos["Party"]["UID"])
    assert todos["Party"]["PRIORITY"] == 3
    assert todos["Party"].decoded("DUE").isoformat() == "2027-01-02"
    milk = vtodo_blocks(answer.text)["milk-1"]
    assert lines_of(milk, *UNMAPPED) == [
        "GEO:48.85;2.35",
        "URL:https://example.com/milk",
        "X-CLIENT-SECRET:keep me",
    ]
    assert len(alarms_of(milk)) == 2
    everything = await client.get("/api/me/tasks.ics", headers=dav_alice.account.headers)
    assert everything.status_code == 200
    assert len(Calendar.from_ical(everything.content).walk("VTODO")) == 3
    # Someone else's list: 404, as the API answers for any row one may not see.
    theirs = await client.get(f"/api/me/lists/{list_id}/tasks.ics", headers=bob.headers)
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "list_not_found"
    assert (await client.get(f"/api/me/lists/{list_id}/tasks.ics")).status_code == 401
    bad = await client.get("/api/me/lists/0x1/tasks.ics", headers=bob.headers)
    assert bad.status_code == 422
    bob_all = await client.get("/api/me/tasks.ics", headers=bob.headers)
    assert Calendar.from_ical(bob_all.content).walk("VTODO") == []


async def test_round_trip_keeps_mapped_and_unmapped(
    client: httpx.AsyncClient, dav_alice: DavAccount, bob: Account
) -> None:
    list_id = await alice_with_content(client, dav_alice)
    first = await client.get(
        f"/api/me/lists/{list_id}/tasks.ics", headers=dav_alice.account.headers
    )
    target = await inbox_id(client, bob)
    imported = await client.post(
        f"/api/me/lists/{target}/tasks.ics", content=first.content, headers={**ICS, **bob.headers}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {
        "dry_run": False,
        "created": 3,
        "skipped": 0,
        "failed": 0,
        "errors": [],
    }
    made = await titles(client, bob)
    assert made["Cake"]["parent_id"] == made["Party"]["id"]
    assert (made["Party"]["priority"], made["Party"]["due_date"], made["Party"]["tags"]) == (
        "high",
        "2027-01-02",
        ["fun"],
    )
    assert made["Milk"]["priority"] == "urgent"
    assert sorted(made["Milk"]["tags"]) == ["errands", "home"]
    assert made["Milk"]["remind_at"].startswith("2026-12-24T08:00:00")
    second = await client.get(f"/api/me/lists/{target}/tasks.ics", headers=bob.headers)
    before, after = vtodo_blocks(first.text), vtodo_blocks(second.text)
    assert set(before) == set(after)
    for uid, block in before.items():
        assert lines_of(after[uid], *UNMAPPED) == lines_of(block, *UNMAPPED), uid
        assert alarms_of(after[uid]) == alarms_of(block), uid
        for mapped in ("SUMMARY", "PRIORITY", "DUE", "CATEGORIES", "RELATED-TO", "STATUS"):
            assert lines_of(after[uid], mapped) == lines_of(block, mapped), (uid, mapped)
    # Again: every UID is there already, nothing is added twice.
    again = await client.post(
        f"/api/me/lists/{target}/tasks.ics", content=first.content, headers={**ICS, **bob.headers}
    )
    assert again.json()["created"] == 0
    assert again.json()["skipped"] == 3
    assert len(await titles(client, bob)) == 3


async def test_dry_run_and_per_item_problems(client: httpx.AsyncClient, alice: Account) -> None:
    target = await inbox_id(client, alice)
    long_uid = "u" * 300
    body = "\r\n".join(
        [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN",
            "BEGIN:VTODO", "UID:good-1", "SUMMARY:Good one", "END:VTODO",
            "BEGIN:VEVENT", "UID:event-1", "SUMMARY:A meeting", "DTSTART:20270101T100000Z",
            "END:VEVENT",
            "BEGIN:VTODO", "SUMMARY:No UID", "END:VTODO",
            "BEGIN:VTODO", f"UID:{long_uid}", "SUMMARY:Long UID", "END:VTODO",
            "BEGIN:VTODO", "UID:good-2", "SUMMARY:Good two", "RELATED-TO:good-1", "END:VTODO",
            "END:VCALENDAR", "",
        ]
    ).encode()  # fmt: skip
    path = f"/api/me/lists/{target}/tasks.ics"
    dry = await client.post(
        path, params={"dry_run": "true"}, content=body, headers={**ICS, **alice.headers}
    )
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["dry_run"], report["created"], report["failed"]) == (True, 2, 3)
    assert [(each["index"], each["code"]) for each in report["errors"]] == [
        (2, "not_a_task"),
        (3, "bad_calendar_object"),
        (4, "bad_calendar_object"),
    ]
    assert await titles(client, alice) == {}
    done = await client.post(path, content=body, headers={**ICS, **alice.headers})
    assert (done.json()["created"], done.json()["failed"]) == (2, 3)
    made = await titles(client, alice)
    assert set(made) == {"Good one", "Good two"}
    assert made["Good two"]["parent_id"] == made["Good one"]["id"]


async def test_children_before_their_parents_in_the_file(
    client: httpx.AsyncClient, alice: Account
) -> None:
    target = await inbox_id(client, alice)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN"]
    for uid, parent in (
        ("c", "b"),
        ("b", "a"),
        ("a", None),
        ("loop1", "loop2"),
        ("loop2", "loop1"),
    ):
        lines += ["BEGIN:VTODO", f"UID:{uid}", f"SUMMARY:{uid}"]
        lines += [f"RELATED-TO:{parent}"] if parent else []
        lines += ["END:VTODO"]
    body = ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()
    answer = await client.post(
        f"/api/me/lists/{target}/tasks.ics", content=body, headers={**ICS, **alice.headers}
    )
    assert answer.json()["created"] == 5, answer.text
    made = await titles(client, alice)
    assert made["c"]["parent_id"] == made["b"]["id"]
    assert made["b"]["parent_id"] == made["a"]["id"]
    loop = {made["loop1"]["parent_id"], made["loop2"]["parent_id"]}
    assert None in loop
    assert len(loop) == 2


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", JSON, 415, "not_icalendar"),
        (b"BEGIN:VCALENDAR\r\n", {}, 415, "not_icalendar"),
        (b"not a calendar at all", ICS, 400, "bad_ics"),
        (b"", ICS, 400, "bad_ics"),
        (b"BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n", ICS, 400, "bad_ics"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:x\r\n", ICS, 400, "bad_ics"),
        (b"\xff\xfe\x00garbage\x00", ICS, 400, "bad_ics"),
        (HUGE, ICS, 413, "body_too_large"),
    ],
)  # fmt: skip
async def test_hostile_files(
    client: httpx.AsyncClient,
    alice: Account,
    content: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    target = await inbox_id(client, alice)
    answer = await client.post(
        f"/api/me/lists/{target}/tasks.ics", content=content, headers={**headers, **alice.headers}
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert await titles(client, alice) == {}


async def test_too_many_tasks_and_many_relations(client: httpx.AsyncClient, alice: Account) -> None:
    target = await inbox_id(client, alice)
    path = f"/api/me/lists/{target}/tasks.ics"
    many = b"".join(
        b"BEGIN:VTODO\r\nUID:t%d\r\nEND:VTODO\r\n" % n for n in range(IMPORT_ITEMS_MAX + 1)
    )
    body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + many + b"END:VCALENDAR\r\n"
    answer = await client.post(path, content=body, headers={**ICS, **alice.headers})
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_many_tasks"
    relations = [f"RELATED-TO:missing-{n}" for n in range(1000)]
    hostile = todo("rel", "Related", *relations)
    answer = await client.post(path, content=hostile, headers={**ICS, **alice.headers})
    assert answer.json()["created"] == 1, answer.text
    assert (await titles(client, alice))["Related"]["parent_id"] is None


async def test_import_needs_an_editor_and_a_visible_list(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    target = await inbox_id(client, alice)
    path = f"/api/me/lists/{target}/tasks.ics"
    body = todo("x", "X")
    assert (await client.post(path, content=body, headers=ICS)).status_code == 401
    theirs = await client.post(path, content=body, headers={**ICS, **bob.headers})
    assert theirs.status_code == 404
    assert await titles(client, alice) == {}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_parallel_imports_of_one_file(client: httpx.AsyncClient, alice: Account) -> None:
    target = await inbox_id(client, alice)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN"]
    for n in range(5):
        lines += ["BEGIN:VTODO", f"UID:raced-{n}", f"SUMMARY:raced {n}"]
        lines += ["RELATED-TO:raced-0"] if n else []
        lines += ["END:VTODO"]
    body = ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/me/lists/{target}/tasks.ics", content=body, headers={**ICS, **alice.headers}
            )
            for _ in range(20)
        )
    )
    assert all(each.status_code == 200 for each in answers), [
        each.text[:300] for each in answers if each.status_code != 200
    ]
    assert sum(each.json()["created"] for each in answers) == 5
    assert all(each.json()["failed"] == 0 for each in answers)
    made = await titles(client, alice)
    assert sorted(made) == [f"raced {n}" for n in range(5)]
    assert {made[f"raced {n}"]["parent_id"] for n in range(1, 5)} == {made["raced 0"]["id"]}
