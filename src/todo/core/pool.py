"""The connection pool with a line in front: connections go to requests in the order they asked.

SQLAlchemy's AsyncAdaptedQueuePool is not fair under load. A connection put back is taken by
whichever checkout runs next, often one that has just arrived; the waiter it was meant for
wakes to an empty queue and queues again at the back, with its own timeout still running. In
`make bench` (one worker, 32 connections) half the requests of each burst waited the whole
pool timeout and failed with 503 while later ones were served.

`FairPool` admits every checkout through a first-in first-out line with one place per
connection the pool may hold open (pool_size + max_overflow). A connection put back hands its
place to the oldest waiter directly, so the pool behind the line always has a connection
idle or room to open one, and never waits itself. The line is bounded twice: at most
`queue_limit` checkouts wait (beyond that a request is refused at once, 503 `server_busy`),
and none waits longer than the pool timeout (then `sqlalchemy.exc.TimeoutError`, answered
as before: 503 `database_unavailable`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_only

from todo.core.errors import ServiceUnavailable

log = logging.getLogger("todo")

# A refusal or a timeout is logged at most this often, with the count since the last line:
# under overload there can be thousands a second, and the access log has each of them.
_LOG_EVERY_S = 1.0


class Line:
    """Places handed out first come, first served; a place given back goes to the oldest waiter.

    A waiter that gives up (its timeout, or its request cancelled) leaves the line; one that
    was handed a place at the moment it gave up passes the place on, so none is lost.
    """

    def __init__(self, places: int, *, limit: int | None, timeout: float) -> None:
        self.limit = limit
        self.timeout = timeout
        self._free = places
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.waited = 0
        self.refused = 0
        self.timed_out = 0
        self._unlogged = 0
        self._logged_at = 0.0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def try_enter(self) -> bool:
        """Take a free place without waiting, unless someone is already waiting for one."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def enter(self) -> None:
        if self.try_enter():
            return
        if self.limit is not None and len(self._waiters) >= self.limit:
            self.refused += 1
            self._note(f"refused a request, {self.limit} already waiting")
            raise ServiceUnavailable(
                "The server has too many requests waiting for the database; retry in a moment.",
                code="server_busy",
            )
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                # Handed a place just as it gave up: the next waiter gets it instead.
                self.leave()
            else:
                self._waiters.remove(waiter)
            if isinstance(error, TimeoutError):
                self.timed_out += 1
                waited = f"{self.timeout:g} s"
                self._note(f"a request waited {waited} for a connection and gave up")
                raise PoolTimeout(f"no database connection after {waited} in line") from None
            raise
        self.waited += 1

    def leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _note(self, what: str) -> None:
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY_S:
            log.warning(
                "database line: %s (%d such since the last line; "
                "%d refused and %d timed out since start)",
                what,
                self._unlogged,
                self.refused,
                self.timed_out,
            )
            self._unlogged = 0
            self._logged_at = now


class FairPool(AsyncAdaptedQueuePool):
    """AsyncAdaptedQueuePool behind a `Line`: checkouts are served in the order they came.

    `queue_limit`: how many may wait (None: any number); a pool without a limit on its
    connections (max_overflow -1) needs no line.
    """

    # SQLAlchemy names a pool's logger after its class: keep it among SQLAlchemy's own
    # (quiet unless configured), not under "todo", whose INFO level the CLI prints.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.FairPool"

    def __init__(self, creator: Any, queue_limit: int | None = None, **kw: Any) -> None:
        super().__init__(creator, **kw)
        places = self.size() + self._max_overflow if self._max_overflow >= 0 else None
        self.line = (
            None if places is None else Line(places, limit=queue_limit, timeout=self._timeout)
        )

    def _do_get(self) -> ConnectionPoolEntry:
        line = self.line
        if line is None:
            return super()._do_get()
        if not line.try_enter():
            # In the async bridge's greenlet: the event loop goes on while this waits.
            await_only(line.enter())
        try:
            # Never waits: the line let in no more checkouts than the pool can serve.
            return super()._do_get()
        except BaseException:
            line.leave()
            raise

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            if self.line is not None:
                self.line.leave()

    def recreate(self) -> FairPool:
        pool = super().recreate()
        assert isinstance(pool, FairPool)
        if pool.line is not None and self.line is not None:
            pool.line.limit = self.line.limit
        return pool
