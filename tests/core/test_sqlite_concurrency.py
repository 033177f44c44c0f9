"""Many writers at once on the embedded database must queue, never fail with 'locked'."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import Account

WRITERS = 12
WRITES_EACH = 8


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
async def test_concurrent_writers_lose_nothing(client: httpx.AsyncClient, alice: Account) -> None:
    async def writer(n: int) -> list[int]:
        statuses = []
        for i in range(WRITES_EACH):
            created = await client.post(
                "/api/me/tasks", headers=alice.headers, json={"title": f"w{n}-{i}"}
            )
            statuses.append(created.status_code)
            toggled = await client.patch(
                f"/api/me/tasks/{created.json()['id']}/complete", headers=alice.headers
            )
            statuses.append(toggled.status_code)
        return statuses

    results = await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    assert {status for statuses in results for status in statuses} == {200, 201}
    listed = await client.get("/api/me/tasks?limit=500&status=completed", headers=alice.headers)
    assert len(listed.json()) == WRITERS * WRITES_EACH
