"""RELATED-TO and parent_id: subtasks through CalDAV, both ways, and what is kept unmapped."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.caldav.conftest import DavAccount
from tests.caldav.test_client import connect, off_loop
from tests.caldav.test_protocol import inbox_path, todo

pytestmark = pytest.mark.timeout(120)


async def api_tasks(client: httpx.AsyncClient, who: DavAccount) -> dict[str, dict[str, Any]]:
    listed = (await client.get("/api/me/tasks", headers=who.account.headers)).json()
    return {each["title"]: each for each in listed}


async def test_a_parent_and_child_made_by_the_client_nest_in_the_api(
    live_url: str, dav_alice: DavAccount, client: httpx.AsyncClient
) -> None:
    def work() -> None:
        with connect(live_url, dav_alice) as dav:
            inbox = dav.principal().calendars()[0]
            inbox.save_todo(todo("trip", "Plan the trip").decode())
            inbox.save_todo(todo("tickets", "Buy tickets", "RELATED-TO:trip").decode())
            inbox.save_todo(
                todo("seats", "Pick seats", "RELATED-TO;RELTYPE=PARENT:tickets").decode()
            )

    await off_loop(work)
    found = await api_tasks(client, dav_alice)
    assert found["Buy tickets"]["parent_id"] == found["Plan the trip"]["id"]
    assert found["Pick seats"]["parent_id"] == found["Buy tickets"]["id"]
    assert found["Plan the trip"]["parent_id"] is None
    children = await client.get(
        f"/api/me/tasks?parent={found['Plan the trip']['id']}", headers=dav_alice.account.headers
    )
    assert [each["title"] for each in children.json()] == ["Buy tickets"]


async def test_a_subtask_made_in_the_api_shows_related_to_to_the_client(
    live_url: str, dav_alice: DavAccount, client: httpx.AsyncClient
) -> None:
    headers = dav_alice.account.headers
    parent = (await client.post("/api/me/tasks", json={"title": "Move"}, headers=headers)).json()
    child = (
        await client.post(
            "/api/me/tasks", json={"title": "Pack", "parent_id": parent["id"]}, headers=headers
        )
    ).json()

    def work() -> dict[str, Any]:
        with connect(live_url, dav_alice) as dav:
            inbox = dav.principal().calendars()[0]
            by_summary = {
                str(each.icalendar_component["SUMMARY"]): each.icalendar_component
                for each in inbox.todos()
            }
            packed = by_summary["Pack"]
            related = packed["RELATED-TO"]
            return {
                "related": str(related),
                "reltype": related.params.get("RELTYPE"),
                "parent_uid": str(by_summary["Move"]["UID"]),
                "parent_has_relation": "RELATED-TO" in by_summary["Move"],
            }

    seen = await off_loop(work)
    assert seen["related"] == seen["parent_uid"]
    assert seen["reltype"] == "PARENT"
    assert seen["parent_has_relation"] is False
    assert child["parent_id"] == parent["id"]


async def test_removing_related_to_clears_the_parent_and_other_reltypes_stay_unmapped(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    base = await inbox_path(client, dav_alice)
    auth = dav_alice.auth
    assert (await client.put(base + "p.ics", content=todo("p", "Parent"), auth=auth)).is_success
    child = todo("c", "Child", "RELATED-TO;RELTYPE=PARENT:p", "RELATED-TO;RELTYPE=SIBLING:x")
    assert (await client.put(base + "c.ics", content=child, auth=auth)).is_success
    found = await api_tasks(client, dav_alice)
    assert found["Child"]["parent_id"] == found["Parent"]["id"]
    # An edit elsewhere keeps the client's relation as it came.
    await client.put(
        f"/api/me/tasks/{found['Child']['id']}",
        json={"title": "Child renamed"},
        headers=dav_alice.account.headers,
    )
    served = (await client.get(base + "c.ics", auth=auth)).text
    assert "RELATED-TO;RELTYPE=PARENT:p" in served
    assert "RELATED-TO;RELTYPE=SIBLING:x" in served
    only_sibling = todo("c", "Child", "RELATED-TO;RELTYPE=SIBLING:x")
    assert (await client.put(base + "c.ics", content=only_sibling, auth=auth)).is_success
    found = await api_tasks(client, dav_alice)
    assert found["Child"]["parent_id"] is None
    served = (await client.get(base + "c.ics", auth=auth)).text
    assert "RELATED-TO;RELTYPE=SIBLING:x" in served
    assert "RELTYPE=PARENT" not in served
    child_only = todo("k", "Kid", "RELATED-TO;RELTYPE=CHILD:p")
    assert (await client.put(base + "k.ics", content=child_only, auth=auth)).is_success
    found = await api_tasks(client, dav_alice)
    assert found["Kid"]["parent_id"] is None
    assert found["Parent"]["parent_id"] is None


async def test_a_parent_changed_in_the_api_replaces_only_that_relation(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    base = await inbox_path(client, dav_alice)
    auth, headers = dav_alice.auth, dav_alice.account.headers
    for uid in ("a", "b"):
        assert (await client.put(f"{base}{uid}.ics", content=todo(uid, uid), auth=auth)).is_success
    body = todo("c", "c", "RELATED-TO:a", "RELATED-TO;RELTYPE=SIBLING:b")
    assert (await client.put(base + "c.ics", content=body, auth=auth)).is_success
    found = await api_tasks(client, dav_alice)
    moved = await client.put(
        f"/api/me/tasks/{found['c']['id']}", json={"parent_id": found["b"]["id"]}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    served = (await client.get(base + "c.ics", auth=auth)).text
    assert "RELATED-TO;RELTYPE=PARENT:b" in served
    assert "RELATED-TO;RELTYPE=SIBLING:b" in served
    assert "RELATED-TO:a" not in served
    cleared = await client.put(
        f"/api/me/tasks/{found['c']['id']}", json={"parent_id": None}, headers=headers
    )
    assert cleared.status_code == 200
    served = (await client.get(base + "c.ics", auth=auth)).text
    assert "RELTYPE=PARENT" not in served
    assert "RELATED-TO;RELTYPE=SIBLING:b" in served


async def test_parents_that_cannot_be_placed_are_kept_and_set_nothing(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    auth, headers = dav_alice.auth, dav_alice.account.headers
    base = await inbox_path(client, dav_alice)
    other = (await client.post("/api/me/lists", json={"name": "Other"}, headers=headers)).json()
    elsewhere = f"/dav/calendars/{dav_alice.account.id}/{other['id']}/"
    far = await client.put(elsewhere + "far.ics", content=todo("far", "Far"), auth=auth)
    assert far.is_success
    unknown = todo("u1", "Unknown parent", "RELATED-TO:nobody-has-this")
    cross = todo("u2", "Other list parent", "RELATED-TO:far")
    selfish = todo("u3", "Own parent", "RELATED-TO:u3")
    for name, body in (("u1.ics", unknown), ("u2.ics", cross), ("u3.ics", selfish)):
        answer = await client.put(base + name, content=body, auth=auth)
        assert answer.status_code == 201, answer.text
    found = await api_tasks(client, dav_alice)
    for title in ("Unknown parent", "Other list parent", "Own parent"):
        assert found[title]["parent_id"] is None, title
    assert "RELATED-TO:nobody-has-this" in (await client.get(base + "u1.ics", auth=auth)).text
    assert "RELATED-TO:far" in (await client.get(base + "u2.ics", auth=auth)).text
    # Too deep: a chain of four is the limit, the fifth stays on top, its relation kept.
    previous = None
    for level in range(5):
        extra = [f"RELATED-TO:d{previous}"] if previous is not None else []
        answer = await client.put(
            f"{base}d{level}.ics", content=todo(f"d{level}", f"depth {level}", *extra), auth=auth
        )
        assert answer.status_code == 201, answer.text
        previous = level
    found = await api_tasks(client, dav_alice)
    assert found["depth 3"]["parent_id"] == found["depth 2"]["id"]
    assert found["depth 4"]["parent_id"] is None
    assert "RELATED-TO:d3" in (await client.get(base + "d4.ics", auth=auth)).text


async def test_a_thousand_related_to_is_no_500(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    base = await inbox_path(client, dav_alice)
    auth = dav_alice.auth
    assert (await client.put(base + "p.ics", content=todo("p", "Parent"), auth=auth)).is_success
    many = [f"RELATED-TO:missing-{n}" for n in range(1000)] + ["RELATED-TO:p"]
    answer = await client.put(base + "m.ics", content=todo("m", "Many", *many), auth=auth)
    assert answer.status_code == 201, answer.text
    found = await api_tasks(client, dav_alice)
    # Only the first few parent UIDs are looked up: the thousand-and-first is not.
    assert found["Many"]["parent_id"] is None
    served = (await client.get(base + "m.ics", auth=auth)).text
    assert served.count("RELATED-TO") == 1001
    hostile = todo("h", "Hostile", "RELATED-TO;RELTYPE=PARENT:", "RELATED-TO;RELTYPE=\x01:p")
    answer = await client.put(base + "h.ics", content=hostile, auth=auth)
    assert answer.status_code in (201, 400), answer.text


async def test_parallel_children_of_one_parent(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    base = await inbox_path(client, dav_alice)
    auth = dav_alice.auth
    assert (await client.put(base + "p.ics", content=todo("p", "Parent"), auth=auth)).is_success
    answers = await asyncio.gather(
        *(
            client.put(
                f"{base}c{n}.ics", content=todo(f"c{n}", f"child {n}", "RELATED-TO:p"), auth=auth
            )
            for n in range(20)
        )
    )
    assert [each.status_code for each in answers] == [201] * 20
    found = await api_tasks(client, dav_alice)
    assert found["Parent"]["children_total"] == 20
    kids = [each for title, each in found.items() if title.startswith("child ")]
    assert len(kids) == 20
    assert {each["parent_id"] for each in kids} == {found["Parent"]["id"]}


async def test_a_child_written_before_its_parent_is_adopted(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    base = await inbox_path(client, dav_alice)
    auth = dav_alice.auth
    kids = []
    for n in range(3):
        answer = await client.put(
            f"{base}early{n}.ics", content=todo(f"early{n}", f"early {n}", "RELATED-TO:late"),
            auth=auth,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        kids.append(answer.headers["etag"])
    found = await api_tasks(client, dav_alice)
    assert found["early 0"]["parent_id"] is None
    late = await client.put(base + "late.ics", content=todo("late", "Late parent"), auth=auth)
    assert late.status_code == 201, late.text
    found = await api_tasks(client, dav_alice)
    assert {found[f"early {n}"]["parent_id"] for n in range(3)} == {found["Late parent"]["id"]}
    for n in range(3):
        served = await client.get(f"{base}early{n}.ics", auth=auth)
        # A new version, so that syncing clients fetch it; the relation as the client wrote it.
        assert served.headers["etag"] != kids[n]
        assert "RELATED-TO:late" in served.text
        assert served.text.count("RELATED-TO") == 1
    # Adopted once: another object with a relation to it now nests at once.
    more = await client.put(base + "m.ics", content=todo("m", "More", "RELATED-TO:late"), auth=auth)
    assert more.status_code == 201
    assert (await api_tasks(client, dav_alice))["More"]["parent_id"] == found["Late parent"]["id"]
