"""Live streams: every committed event reaches the Server-Sent Events streams of everyone
who can see it (the owner and the members of a shared list), in whichever app process they
are open.

A notice says only "owner U has news" (the event id and the owner): a stream is woken by
the notices of its user and of the owners of the lists shared with them, and on waking
reads the new rows from the events table, so a notice lost on the way, or two notices
folded into one wake-up, loses nothing, and between wake-ups a stream holds no database
connection.

What a stream reads is asked again at every read (the access layer's scope, through the
`watch` its door passes): a list shared since is read from then on, a removed member reads
nothing more of it from their next read on; a change to a membership is also recorded on
the member it concerns, so they hear of their own removal.

Resuming without loss: event ids are in commit order per owner only (core/events.py), so
one `id > N` cursor over several owners could skip an event of one owner that drew a lower
id and committed after a higher one of another. A stream keeps a cursor per owner instead
(`Cursor`), and each message's SSE id carries the whole of it, compactly: the highest id,
then only the owners behind it (`N,owner:id,...`); with nothing shared that is the plain
event id. `Last-Event-ID` hands it back on reconnect. An owner whose lists became visible
during the disconnect is read from N on; one first seen by a running stream from its newest
event at that moment, which is exact per owner.

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
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, unquote

from fastapi.sse import ServerSentEvent
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

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
    # Whose notices wake it: the user and the owners of the lists shared with them.
    owners: frozenset[str] = frozenset()

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
        return len({id(each) for watching in self._subscribers.values() for each in watching})

    def subscribe(self, user_id: str) -> Subscription:
        subscription = Subscription(user_id)
        self.watch(subscription, {user_id})
        if self._listener is None and not self.closed:
            # Started by the first stream: a process that never streams holds no listener.
            self._listener = asyncio.create_task(self._listen(), name="todo-events-listener")
        return subscription

    def watch(self, subscription: Subscription, owners: set[str]) -> None:
        """Wake the stream on these owners' notices (and no others' any more)."""
        wanted = frozenset(owners)
        for owner in subscription.owners - wanted:
            self._drop(owner, subscription)
        for owner in wanted - subscription.owners:
            self._subscribers.setdefault(owner, set()).add(subscription)
        subscription.owners = wanted

    def unsubscribe(self, subscription: Subscription) -> None:
        for owner in subscription.owners:
            self._drop(owner, subscription)
        subscription.owners = frozenset()

    def _drop(self, owner: str, subscription: Subscription) -> None:
        watching = self._subscribers.get(owner)
        if watching is not None:
            watching.discard(subscription)
            if not watching:
                del self._subscribers[owner]

    def wake(self, user_id: str) -> None:
        for subscription in self._subscribers.get(user_id, ()):
            subscription.woken.set()

    def wake_all(self) -> None:
        for watching in self._subscribers.values():
            for subscription in watching:
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


def _message(row: events.Event, cursor: Cursor) -> ServerSentEvent:
    return ServerSentEvent(
        id=cursor.encode(),
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


def _reload(cursor: Cursor, reason: str) -> ServerSentEvent:
    return ServerSentEvent(id=cursor.encode(), event="reload", data={"reason": reason})


# A resume point names at most this many owners; and this long, it is refused.
CURSOR_OWNERS_MAX = 1000
CURSOR_CHARS_MAX = 64_000
_ID_MAX = 2**63 - 1


@dataclass
class Cursor:
    """Where a stream is, per owner: the id of the last event of each it has sent (or
    where it began to read them).

    Written into each message's id as `N` or `N,owner:id,owner:id...`: N is the highest of
    the cursors, and only the owners behind it are named (percent-encoded). A stream that
    sees only its user's own events thus has plain event ids, as before sharing. On resume,
    an owner not named is at N."""

    top: int
    behind: dict[str, int] = field(default_factory=dict)

    def of(self, owner: str) -> int:
        return self.behind.get(owner, self.top)

    def move(self, owner: str, to: int, owners: set[str]) -> None:
        """`owner` has been sent the event `to`; `owners` are all the stream reads."""
        if to > self.top:
            for other in owners:
                if other != owner:
                    self.behind.setdefault(other, self.top)
            self.top = to
        self.behind[owner] = to
        if to == self.top:
            del self.behind[owner]

    def keep_only(self, owners: set[str]) -> None:
        for gone in set(self.behind) - owners:
            del self.behind[gone]

    def lowest(self) -> int:
        return min([self.top, *self.behind.values()])

    def encode(self) -> str:
        named = ",".join(
            f"{quote(owner, safe='')}:{at}" for owner, at in sorted(self.behind.items())
        )
        return f"{self.top},{named}" if named else str(self.top)

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Raises ValueError, with the reason, for anything but a cursor this module wrote."""
        if len(text) > CURSOR_CHARS_MAX:
            raise ValueError("is too long")
        top, *named = text.split(",")
        if len(named) > CURSOR_OWNERS_MAX:
            raise ValueError(f"names more than {CURSOR_OWNERS_MAX} owners")
        cursor = cls(top=_event_id(top))
        for each in named:
            owner, colon, at = each.rpartition(":")
            if not colon or not owner:
                raise ValueError("must be an event id or a stream position")
            cursor.behind[unquote(owner)] = min(_event_id(at), cursor.top)
        return cursor


def _event_id(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,19}", text) is None or not 1 <= int(text) <= _ID_MAX:
        raise ValueError("must be an event id or a stream position")
    return int(text)


# What the user sees: per owner, the ids of the lists of theirs shared with the user, None
# for the user's own (all their events, membership changes made to them included).
Visible = Mapping[str, "frozenset[int] | None"]
Watch = Callable[[AsyncSession], Awaitable[Visible]]
StillAllowed = Callable[[], Awaitable[bool]]


def _theirs_about_me(row: events.Event, user_id: str) -> bool:
    """An owner's record of a change to the user's own membership: the user has their own
    copy of it (which reaches them also once they can no longer see the list)."""
    if row.resource != "member" or row.user_id == user_id:
        return False
    member = (row.changes or {}).get("member") or [None]
    return bool(member[-1] == user_id)


async def stream(
    db: Database,
    hub: Hub,
    user_id: str,
    *,
    watch: Watch,
    last_event_id: str | None,
    still_allowed: StillAllowed | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every event the user can see as Server-Sent Events, from after `last_event_id` (a
    `Cursor`) or from now.

    What the user sees is asked again (`watch`) at every read: a list shared since is read
    from then on, a removed member reads nothing more of it. A resume point the table no
    longer covers (pruned) or never had gets a `reload` event: the client has missed changes
    and reads everything again. `still_allowed` is asked every RECHECK_SECONDS: the
    credentials the stream was opened with may have ended since; then the stream ends (and
    the client's reconnect is refused)."""
    subscription = hub.subscribe(user_id)
    try:
        resumed = Cursor.parse(last_event_id) if last_event_id is not None else None
        async with db.session(write=False) as session:
            visible = await watch(session)
            latest = await events.latest_id(session)
            oldest = await events.oldest_id(session)
            starts = await events.latest_of(session, set(visible))
        cursor = _fresh(starts)
        if resumed is not None:
            if resumed.top > latest:
                yield _reload(cursor, "unknown_resume_point")
            elif oldest is not None and resumed.lowest() < oldest - 1:
                yield _reload(cursor, "resume_point_expired")
            else:
                cursor = resumed
        # The first thing said: from here on nothing for this user is missed.
        yield ServerSentEvent(comment="live", retry=RETRY_MILLISECONDS)
        checked = time.monotonic()
        reading = set(visible)
        while not hub.closed:
            if still_allowed is not None and time.monotonic() - checked >= RECHECK_SECONDS:
                if not await still_allowed():
                    return
                checked = time.monotonic()
            subscription.woken.clear()
            async with db.session(write=False) as session:
                visible = await watch(session)
                owners = set(visible)
                hub.watch(subscription, owners)
                new = owners - reading
                if new:
                    # Newly visible: from its owner's newest event on (exact, see latest_of).
                    for owner, at in (await events.latest_of(session, new)).items():
                        cursor.move(owner, at, owners)
                cursor.keep_only(owners)
                reading = owners
                rows = await events.visible_after(
                    session,
                    [(owner, cursor.of(owner), lists) for owner, lists in visible.items()],
                    limit=_PAGE,
                )
            for row in rows:
                assert row.id is not None
                cursor.move(row.user_id, row.id, owners)
                if not _theirs_about_me(row, user_id):
                    yield _message(row, cursor)
            if len(rows) < _PAGE:
                await subscription.wait_at_most(min(CATCH_UP_SECONDS, RECHECK_SECONDS))
    finally:
        hub.unsubscribe(subscription)


def _fresh(starts: Mapping[str, int]) -> Cursor:
    cursor = Cursor(top=max(starts.values(), default=0))
    owners = set(starts)
    for owner, at in starts.items():
        cursor.move(owner, at, owners)
    return cursor
