"""Live streams: every committed event reaches the Server-Sent Events streams of its user,
in whichever app process they are open.

A notice says only "user U has news" (the event id and the owner): on waking, each stream
reads its user's new rows from the events table (`id` greater than the last it sent), so a
notice lost on the way, or two notices folded into one wake-up, loses nothing, and between
wake-ups a stream holds no database connection.

How notices travel, one listener per process, never one per stream:
- PostgreSQL: the event's insert calls pg_notify, delivered on commit to the process's one
  LISTEN connection (outside the pool);
- Redis, when REDIS_URL is set: published after the commit, received on one subscription;
- SQLite: handed to this process's streams after the commit, and a light poll of the table
  (only while streams are open) brings the writes of other processes of the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fastapi.sse import ServerSentEvent
from sqlalchemy.engine import make_url

from todo.core import events
from todo.core.config import Settings
from todo.core.db import Database

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("todo")

# A stream reads the table at least this often even when no notice came, and the client
# hears a keep-alive comment about as often (FastAPI sends one after 15 s of silence).
CATCH_UP_SECONDS = 15.0
# How often a stream asks again whether its caller may still listen: a log-out everywhere,
# a password change or a deleted account ends open streams within this much.
RECHECK_SECONDS = 15.0
# Other processes' writes to a SQLite file are seen within this much.
SQLITE_POLL_SECONDS = 0.5
# After a lost listener connection, wait this long (doubling, at most 30 s) to reconnect.
RECONNECT_SECONDS = 0.5
# What EventSource waits before reconnecting (milliseconds).
RETRY_MILLISECONDS = 2000
_PAGE = 200

Mode = Literal["postgres", "redis", "local"]


@dataclass(eq=False)
class Subscription:
    user_id: str
    woken: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_at_most(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), seconds)


class Hub:
    """The streams open in this process, by user, and the one listener that wakes them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.mode: Mode = (
            "redis"
            if settings.redis_url is not None
            else "local"
            if settings.database.is_sqlite
            else "postgres"
        )
        self._subscribers: dict[str, set[Subscription]] = {}
        self._db: Database | None = None
        self._listener: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._publisher: Redis | None = None
        self._channel = f"{settings.redis_key_prefix}events"
        self.closed = False

    def session_info(self) -> dict[str, Any]:
        """What the Database puts in every session: how its commits fan out."""
        return {
            events.FANOUT_KEY: events.Fanout(
                notify_postgres=self.mode == "postgres", published=self._published
            )
        }

    def attach(self, db: Database) -> None:
        self._db = db

    @property
    def streams(self) -> int:
        return sum(len(each) for each in self._subscribers.values())

    def subscribe(self, user_id: str) -> Subscription:
        subscription = Subscription(user_id)
        self._subscribers.setdefault(user_id, set()).add(subscription)
        if self._listener is None and not self.closed:
            # Started by the first stream: a process that never streams holds no listener.
            self._listener = asyncio.create_task(self._listen(), name="todo-events-listener")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        mine = self._subscribers.get(subscription.user_id)
        if mine is not None:
            mine.discard(subscription)
            if not mine:
                del self._subscribers[subscription.user_id]

    def wake(self, user_id: str) -> None:
        for subscription in self._subscribers.get(user_id, ()):
            subscription.woken.set()

    def wake_all(self) -> None:
        for mine in self._subscribers.values():
            for subscription in mine:
                subscription.woken.set()

    def _published(self, pending: list[tuple[int, str]]) -> None:
        """After a commit of this process (SQLite, Redis): pass the news on."""
        if self.mode == "local":
            for _, user_id in pending:
                self.wake(user_id)
            return
        if self.mode == "redis" and not self.closed:
            # Called inside the commit (a sync hook on the event loop's thread): the
            # publish runs as a task of its own; the commit is not held up for Redis.
            task = asyncio.get_running_loop().create_task(self._publish(pending))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _publish(self, pending: list[tuple[int, str]]) -> None:
        from redis.exceptions import RedisError

        if self._publisher is None:
            self._publisher = self._redis()
        try:
            for event_id, user_id in pending:
                await self._publisher.publish(self._channel, f"{event_id} {user_id}")
        except (RedisError, OSError) as error:
            # The streams still read the table on their next catch-up.
            log.warning("could not publish an event notice to Redis: %s", error)

    def _redis(self) -> Redis:
        from redis.asyncio import Redis

        assert self._settings.redis_url is not None
        return Redis.from_url(self._settings.redis_url.get_secret_value(), socket_connect_timeout=2)

    def _notice(self, payload: str) -> None:
        _, _, user_id = payload.partition(" ")
        self.wake(user_id)

    async def _listen(self) -> None:
        listen = {
            "postgres": self._listen_postgres,
            "redis": self._listen_redis,
            "local": self._poll_sqlite,
        }[self.mode]
        delay = RECONNECT_SECONDS
        while not self.closed:
            try:
                await listen()
                delay = RECONNECT_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: reconnect and go on
                log.warning("event listener lost (%s); reconnecting in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _listen_postgres(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        target = self._settings.database
        dsn = make_url(target.url).set(drivername="postgresql", query={})
        options = {
            key: value
            for key, value in target.connect_args.items()
            if key in ("ssl", "timeout", "server_settings")
        }
        connection: Any = await asyncpg.connect(
            dsn.render_as_string(hide_password=False), **options
        )
        lost = asyncio.Event()

        def on_notice(_connection: object, _pid: int, _channel: str, payload: str) -> None:
            self._notice(payload)

        def on_lost(_connection: object) -> None:
            lost.set()

        connection.add_termination_listener(on_lost)
        try:
            await connection.add_listener(events.CHANNEL, on_notice)
            # Whatever was committed while nobody listened is in the table: read it now.
            self.wake_all()
            await lost.wait()
            raise ConnectionError("the listening connection was closed")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.close(timeout=2))

    async def _listen_redis(self) -> None:
        client = self._redis()
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(self._channel)
                self.wake_all()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message.get("data")
                        self._notice(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            await client.aclose()

    async def _poll_sqlite(self) -> None:
        assert self._db is not None
        async with self._db.session(write=False) as session:
            seen = await events.latest_id(session)
        while not self.closed:
            await asyncio.sleep(SQLITE_POLL_SECONDS)
            if not self._subscribers:
                continue
            async with self._db.session(write=False) as session:
                seen, users = await events.users_after(session, seen)
            for user_id in users:
                self.wake(user_id)

    async def aclose(self) -> None:
        self.closed = True
        self.wake_all()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for task in list(self._sending):
            with contextlib.suppress(Exception):
                await task
        if self._publisher is not None:
            await self._publisher.aclose()


def _message(row: events.Event) -> ServerSentEvent:
    return ServerSentEvent(
        id=str(row.id),
        event=f"{row.resource}.{row.action}",
        data={
            "resource": row.resource,
            "resource_id": row.resource_id,
            "list_id": row.list_id,
            "version": row.version,
            "action": row.action,
            "actor_id": row.actor_id,
        },
    )


def _reload(latest: int, reason: str) -> ServerSentEvent:
    return ServerSentEvent(id=str(latest), event="reload", data={"reason": reason})


StillAllowed = Callable[[], Awaitable[bool]]


async def stream(
    db: Database,
    hub: Hub,
    user_id: str,
    *,
    last_event_id: int | None,
    still_allowed: StillAllowed | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The user's events as Server-Sent Events, from after `last_event_id` (or from now).

    A resume point the table no longer covers (pruned) or never had gets a `reload` event:
    the client has missed changes and reads everything again. `still_allowed` is asked
    every RECHECK_SECONDS: the credentials the stream was opened with may have ended since;
    then the stream ends (and the client's reconnect is refused)."""
    subscription = hub.subscribe(user_id)
    try:
        async with db.session(write=False) as session:
            latest = await events.latest_id(session)
            oldest = await events.oldest_id(session)
        last = latest
        if last_event_id is not None:
            if last_event_id > latest:
                yield _reload(latest, "unknown_resume_point")
            elif oldest is not None and last_event_id < oldest - 1:
                yield _reload(latest, "resume_point_expired")
            else:
                last = last_event_id
        # The first thing said: from here on nothing for this user is missed.
        yield ServerSentEvent(comment="live", retry=RETRY_MILLISECONDS)
        checked = time.monotonic()
        while not hub.closed:
            if still_allowed is not None and time.monotonic() - checked >= RECHECK_SECONDS:
                if not await still_allowed():
                    return
                checked = time.monotonic()
            subscription.woken.clear()
            async with db.session(write=False) as session:
                rows = await events.events_after(session, user_id, last, limit=_PAGE)
            for row in rows:
                assert row.id is not None
                last = row.id
                yield _message(row)
            if len(rows) < _PAGE:
                await subscription.wait_at_most(min(CATCH_UP_SECONDS, RECHECK_SECONDS))
    finally:
        hub.unsubscribe(subscription)
