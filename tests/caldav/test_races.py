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
