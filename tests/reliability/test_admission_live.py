"""A real server with two database connections under more requests than it can serve at once:
they wait in line and are all answered, `/health` answers meanwhile, and beyond the line's
limit a request is refused at once with 503 and Retry-After (core/pool.py).

The connections are held by a lock on the users table (taken by the test), so every request
past the first two waits in the server's line for as long as the test decides.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.reliability.live import server_env, serving
from tests.reliability.test_faults import _established, _lock_waiters, _signed_in, pg_database

__all__ = ["pg_database"]  # the fixture, used by name below

WITHIN_S = 30
# A bound, not a measurement: /health must not wait for the database (it answers in
# milliseconds; make bench measures it under load).
HEALTH_BOUND_S = 2.0


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not await check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def _env(database: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return server_env(
        database,
        tmp_path,
        DB_POOL_SIZE="2",
        DB_MAX_OVERFLOW="0",
        DB_POOL_TIMEOUT=str(WITHIN_S),
        **extra,
    )


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_64_requests_on_two_connections_are_all_answered_and_health_meanwhile(
    backend: str, pg_database: str, tmp_path: Path
) -> None:
    with serving(_env(pg_database, tmp_path), tmp_path) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=WITHIN_S * 2, limits=limits
        ) as http:
            await _signed_in(http)
            blocker = await asyncpg.connect(pg_database)
            try:
                await blocker.execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                requests = [asyncio.create_task(http.get("/api/me/tasks")) for _ in range(64)]

                async def held_and_arrived() -> bool:
                    return await _lock_waiters(pg_database) >= 2 and _established(port) >= 64

                await _until(held_and_arrived)
                async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as probe:
                    started = time.monotonic()
                    health = await probe.get("/health")
                    answered_in = time.monotonic() - started
                assert not any(request.done() for request in requests)
            finally:
                await blocker.execute("ROLLBACK")
                await blocker.close()
            answers = await asyncio.gather(*requests)
    assert health.status_code == 200
    assert answered_in < HEALTH_BOUND_S, f"/health took {answered_in:.2f} s"
    assert [answer.status_code for answer in answers] == [200] * 64


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_beyond_the_line_limit_a_request_is_refused_at_once_with_retry_after(
    backend: str, pg_database: str, tmp_path: Path
) -> None:
    env = _env(pg_database, tmp_path, DB_QUEUE_LIMIT="4")
    with serving(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WITHIN_S * 2) as http:
            await _signed_in(http)
            blocker = await asyncpg.connect(pg_database)
            try:
                await blocker.execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                holders = [asyncio.create_task(http.get("/api/me/tasks")) for _ in range(2)]

                async def both_held() -> bool:
                    return await _lock_waiters(pg_database) >= 2

                await _until(both_held)
                more = [asyncio.create_task(http.get("/api/me/tasks")) for _ in range(10)]

                async def refused() -> bool:
                    return sum(request.done() for request in more) >= 6

                # Answered while the connections are still held: refused without waiting.
                await _until(refused)
                early = [request.result() for request in more if request.done()]
            finally:
                await blocker.execute("ROLLBACK")
                await blocker.close()
            served = await asyncio.gather(*holders, *(r for r in more if not r.done()))
            log = server.output()
    assert len(early) == 6
    for response in early:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == "server_busy"
    assert [response.status_code for response in served] == [200] * 6
    assert "database line: refused a request, 4 already waiting" in log
