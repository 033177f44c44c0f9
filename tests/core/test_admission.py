"""Requests wait for a database connection in the order they asked (core/pool.py).

On both databases, with a pool of two connections: a connection put back goes to the
oldest waiter even when a newer checkout is ready to run first (which SQLAlchemy's own
queue pool lets take it), 64 requests held in line are served in the order they came, and
a waiter that gives up passes on a place it was handed. The live server's bounds are in
tests/reliability/test_admission_live.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import Receive, Scope, Send

from tests.conftest import SignUp
from tests.security.support import bearer, running
from todo.core.config import Settings
from todo.core.db import create_engine
from todo.core.pool import FairPool, Line

SEQUENCE = contextvars.ContextVar[int | None]("SEQUENCE", default=None)
WITHIN_S = 30


def _line(engine: AsyncEngine) -> Line:
    pool = engine.sync_engine.pool
    assert isinstance(pool, FairPool)
    assert pool.line is not None
    return pool.line


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


async def test_a_connection_put_back_goes_to_the_oldest_waiter(settings: Settings) -> None:
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    served: list[str] = []
    late: list[asyncio.Task[None]] = []

    async def checkout(name: str) -> None:
        async with engine.connect() as connection:
            served.append(name)
            await connection.execute(text("SELECT 1"))

    def arrive_now(*_: Any) -> None:
        # Scheduled before the put-back wakes the waiter, so it runs first: a checkout that
        # arrives at the very moment a connection comes back.
        if not late:
            late.append(asyncio.get_running_loop().create_task(checkout("newcomer")))

    try:
        holder = await engine.connect()
        waiter = asyncio.create_task(checkout("waiter"))
        await _until(lambda: _line(engine).waiting == 1)
        event.listen(engine.sync_engine.pool, "checkin", arrive_now)
        await holder.close()
        await asyncio.wait_for(asyncio.gather(waiter, *late), WITHIN_S)
    finally:
        await engine.dispose()
    assert served == ["waiter", "newcomer"]


def _numbered(app: FastAPI) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The app, with each request's number (header x-seq) in a context variable."""

    async def numbered(scope: Scope, receive: Receive, send: Send) -> None:
        raw = dict(scope.get("headers", [])).get(b"x-seq")
        SEQUENCE.set(int(raw) if raw is not None else None)
        await app(scope, receive, send)

    return numbered


async def test_requests_held_in_line_are_served_in_the_order_they_came(
    settings: Settings, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    async with running(settings, db_pool_size=2, db_max_overflow=0) as app:
        engine: AsyncEngine = app.state.db.engine
        line = _line(engine)
        admitted: list[int] = []

        def on_checkout(*_: Any) -> None:
            number = SEQUENCE.get()
            if number is not None:
                admitted.append(number)

        event.listen(engine.sync_engine.pool, "checkout", on_checkout)
        transport = httpx.ASGITransport(app=_numbered(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:

            async def get(number: int) -> httpx.Response:
                headers = {**bearer(account.token), "x-seq": str(number)}
                return await http.get("/api/me/tasks", headers=headers)

            newcomers: list[asyncio.Task[httpx.Response]] = []

            def newcomer(*_: Any) -> None:
                # Each connection put back meets a request arriving at that very moment.
                if len(newcomers) < 16:
                    loop = asyncio.get_running_loop()
                    newcomers.append(loop.create_task(get(1000 + len(newcomers))))

            held: list[AsyncConnection] = [await engine.connect() for _ in range(2)]
            queued = []
            for number in range(64):
                queued.append(asyncio.create_task(get(number)))
                await _until(lambda: line.waiting == len(queued))
            event.listen(engine.sync_engine.pool, "checkin", newcomer)
            for connection in held:
                await connection.close()
            answers = await asyncio.wait_for(asyncio.gather(*queued), WITHIN_S)
            await _until(lambda: len(newcomers) == 16)
            late = await asyncio.wait_for(asyncio.gather(*newcomers), WITHIN_S)
    assert [answer.status_code for answer in [*answers, *late]] == [200] * 80
    assert admitted[:64] == list(range(64))
    assert sorted(admitted[64:]) == list(range(1000, 1016))
    assert line.waited >= 64
    assert (line.refused, line.timed_out) == (0, 0)


async def test_a_waiter_that_gives_up_passes_on_the_place_it_was_handed() -> None:
    line = Line(1, limit=None, timeout=WITHIN_S)
    await line.enter()
    first = asyncio.create_task(line.enter())
    second = asyncio.create_task(line.enter())
    await _until(lambda: line.waiting == 2)
    line.leave()  # the place goes to `first`...
    first.cancel()  # ...which gives up before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, WITHIN_S)
    assert not line.try_enter(), "the place went to `second`, and only to it"
    line.leave()
    assert line.try_enter()


async def test_a_full_line_refuses_at_once_and_a_long_wait_times_out() -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from todo.core.errors import ServiceUnavailable

    line = Line(1, limit=1, timeout=0.2)
    await line.enter()
    waiting = asyncio.create_task(line.enter())
    await _until(lambda: line.waiting == 1)
    with pytest.raises(ServiceUnavailable) as refused:
        await line.enter()
    assert refused.value.code == "server_busy"
    assert refused.value.headers == {"Retry-After": "1"}
    with pytest.raises(PoolTimeout):
        await waiting
    assert (line.refused, line.timed_out, line.waiting) == (1, 1, 0)
    line.leave()
    assert line.try_enter()


async def test_the_line_keeps_its_limit_when_the_pool_is_recreated(settings: Settings) -> None:
    engine = create_engine(settings.model_copy(update={"db_queue_limit": 7}))
    await engine.dispose()  # SQLAlchemy replaces the pool with pool.recreate()
    try:
        assert _line(engine).limit == 7
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
