"""CalDAV writes raced: twenty clients PUT the same new object, or change and delete the same
one, at once. No 5xx; one object, one task."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.caldav.conftest import DavAccount
from tests.caldav.test_protocol import inbox_path, todo

PARALLEL = 20


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_parallel_puts_and_deletes(client: httpx.AsyncClient, dav_alice: DavAccount) -> None:
    path = await inbox_path(client, dav_alice) + "raced.ics"
    created = await asyncio.gather(
        *(
            client.put(path, content=todo("raced", f"Raced {i}"), auth=dav_alice.auth)
            for i in range(PARALLEL)
        )
    )
    statuses = [answer.status_code for answer in created]
    assert all(status < 500 for status in statuses), [
        (a.status_code, a.text[:300]) for a in created if a.status_code >= 500
    ]
    assert statuses.count(201) == 1
    changed = await asyncio.gather(
        *(
            client.put(path, content=todo("raced", f"Changed {i}"), auth=dav_alice.auth)
            for i in range(PARALLEL)
        )
    )
    assert all(answer.status_code in (204, 409) for answer in changed), [a.text for a in changed]
    gone = await asyncio.gather(
        *(client.delete(path, auth=dav_alice.auth) for _ in range(PARALLEL))
    )
    assert all(answer.status_code in (204, 404, 409) for answer in gone), [a.text for a in gone]
    assert [answer.status_code for answer in gone].count(204) == 1
    tasks = (await client.get("/api/me/tasks", headers=dav_alice.account.headers)).json()
    assert [each for each in tasks if each["title"].startswith(("Raced", "Changed"))] == []


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_children_and_their_parent_written_at_once(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    base = await inbox_path(client, dav_alice)
    writes = [
        client.put(
            f"{base}kid{n}.ics", content=todo(f"kid{n}", f"kid {n}", "RELATED-TO:mom"),
            auth=dav_alice.auth,
        )
        for n in range(PARALLEL)
    ]  # fmt: skip
    writes.insert(
        PARALLEL // 2, client.put(f"{base}mom.ics", content=todo("mom", "Mom"), auth=dav_alice.auth)
    )
    answers = await asyncio.gather(*writes)
    assert [answer.status_code for answer in answers] == [201] * (PARALLEL + 1), [
        answer.text[:300] for answer in answers if answer.status_code != 201
    ]
    listed = (await client.get("/api/me/tasks", headers=dav_alice.account.headers)).json()
    mom = next(each["id"] for each in listed if each["title"] == "Mom")
    kids = [each for each in listed if each["title"].startswith("kid ")]
    assert len(kids) == PARALLEL
    # Each child is the parent's or, when it raced the parent's first write, still on top.
    assert {each["parent_id"] for each in kids} <= {mom, None}
    # The next write of a child left on top places it.
    for each in kids:
        if each["parent_id"] is None:
            name = each["title"].replace(" ", "")
            again = await client.put(
                f"{base}{name}.ics", content=todo(name, each["title"], "RELATED-TO:mom"),
                auth=dav_alice.auth,
            )  # fmt: skip
            assert again.status_code == 204, again.text
    listed = (await client.get("/api/me/tasks", headers=dav_alice.account.headers)).json()
    assert {each["parent_id"] for each in listed if each["title"].startswith("kid ")} == {mom}
