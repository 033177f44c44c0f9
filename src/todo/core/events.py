"""Events: one row per change to a task, list or tag, written in the writer's transaction.

Every write of the domain services calls `record()` just before its one commit, so a change
and its event commit together and a rollback leaves neither. The rows serve the activity
pages (who did what, with old and new values) and the live streams (`core/live.py`): the id
is the Server-Sent Events id and the resume point.

Core knows no domain: the services say what changed in plain values. Every event carries the
owner (`user_id`, first in every index) and the list it belongs to, so "what a user may see"
is one condition on these columns once lists are shared.

Ids are in commit order for each owner, which is what lets a stream that has read an
owner's events up to id N ask for `id > N` without losing an event committed late: SQLite
has one writer at a time, and on PostgreSQL the insert first takes a transaction lock on
the owner (released by the commit right after it), so an owner's next event cannot draw its
id before the last commits. Across owners there is no such order (two owners' writers draw
ids and commit in any order), so a stream that reads several owners (lists shared with its
user) keeps one cursor per owner (`core/live.py`).

A change to a membership is recorded twice: on the list's owner (the list's activity, and
what the other members see) and on the member it concerns (`user_id` the member's), whose
stream thus hears of it even when the change took the list out of their sight.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    or_,
    update,
)
from sqlalchemy.orm import Session
from sqlmodel import Column, Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.db import UTCDateTime, utcnow

Resource = Literal["task", "list", "tag", "member", "comment"]
Action = Literal[
    "created",
    "updated",
    "completed",
    "uncompleted",
    "moved",
    "deleted",
    "restored",
    "merged",
    "added",
    "removed",
]
Changes = dict[str, list[Any]]

# The PostgreSQL channel every app process listens on (one connection per process).
CHANNEL = "todo_events"
# Where a session finds how its commits fan out (see Fanout); set by Database(info=...).
FANOUT_KEY = "todo_events_fanout"
_PENDING_KEY = "todo_events_pending"
# Namespaces the owner locks among other advisory locks of the same database.
_LOCK_SEED = 0x7E_0012

_ID = BigInteger().with_variant(Integer, "sqlite")


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_user_id_id", "user_id", "id"),
        Index("ix_events_user_id_list_id_id", "user_id", "list_id", "id"),
        Index(
            "ix_events_user_id_resource_resource_id_id",
            "user_id",
            "resource",
            "resource_id",
            "id",
        ),
        # Ids only grow: a stream's resume point must never be handed out again.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    # The owner of the resource: whose data changed.
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    # No foreign key: a list's history, its deletion included, outlives the list.
    list_id: int | None = Field(default=None, sa_column=Column(_ID, nullable=True))
    # Who did it; no foreign key, so a member's past changes stay when they leave.
    actor_id: str = Field(max_length=64)
    resource: str = Field(max_length=20)
    resource_id: int = Field(sa_column=Column(_ID, nullable=False))
    # The resource's version after the change, where the resource has one.
    version: int | None = Field(default=None)
    action: str = Field(max_length=20)
    # {field: [old, new]} for the fields a change touched.
    changes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Fanout:
    """How the commits of a Database's sessions reach the live streams of every process.

    `notify_postgres`: the insert itself calls pg_notify, which PostgreSQL delivers to every
    listener when the transaction commits (and never when it rolls back). Otherwise the
    events a session recorded are handed to `published` after its commit: this process's
    streams are woken (SQLite) or the news goes out through Redis."""

    notify_postgres: bool = True
    published: Callable[[list[tuple[int, str]]], None] | None = None


_DEFAULT_FANOUT = Fanout()
_TABLE = Event.__table__  # type: ignore[attr-defined]
_VALUES = (
    "user_id",
    "list_id",
    "actor_id",
    "resource",
    "resource_id",
    "version",
    "action",
    "changes",
    "created_at",
)


def _postgres_insert(*, notify: bool) -> Any:
    # INSERT ... SELECT from the lock: the lock is taken before the row's id is drawn.
    turn = select(
        func.pg_advisory_xact_lock(
            func.hashtextextended(bindparam("user_id", type_=String), literal(_LOCK_SEED))
        ).label("turn")
    ).subquery("turn")
    rows = select(*(bindparam(name, type_=_TABLE.c[name].type) for name in _VALUES)).select_from(
        turn
    )
    inserted = insert(_TABLE).from_select(list(_VALUES), rows).returning(_TABLE.c.id)
    if not notify:
        return inserted
    # One statement all the same: the notice (event id and owner) leaves on commit.
    written = inserted.returning(_TABLE.c.user_id).cte("written")
    return select(
        written.c.id,
        func.pg_notify(CHANNEL, cast(written.c.id, String) + " " + written.c.user_id).label(
            "notified"
        ),
    )


# Built once: the statement's structure is the compiled-statement cache's key.
_INSERT_NOTIFY = _postgres_insert(notify=True)
_INSERT_LOCKED = _postgres_insert(notify=False)
_INSERT_PLAIN = insert(_TABLE).returning(_TABLE.c.id)


ACTOR_KEY = "todo.events.actor_id"


def acting_for(session: AsyncSession, user_id: str) -> None:
    """Say whose the session's writes are: each door does it once per request, when it reads
    the caller's scope. A member's change to a task of a shared list (whose row is the
    owner's) is then the member's in the history."""
    session.info[ACTOR_KEY] = user_id


async def record(
    session: AsyncSession,
    *,
    user_id: str,
    actor_id: str,
    resource: Resource,
    resource_id: int,
    action: Action,
    list_id: int | None = None,
    version: int | None = None,
    changes: Changes | None = None,
) -> None:
    """Write one event into the session's transaction; the caller commits. One statement,
    no read: the caller passes the old values it already holds.

    Call it last, right before the commit: it flushes the pending changes first, so that
    between the owner's lock (PostgreSQL) and the commit no statement can wait for a row
    that another writer of the same owner holds while it waits for this lock."""
    await session.flush()
    fanout: Fanout = session.info.get(FANOUT_KEY, _DEFAULT_FANOUT)
    params = {
        "user_id": user_id,
        "list_id": list_id,
        # The caller's actor_id is the owner's: the one who acts, when a door said who.
        "actor_id": session.info.get(ACTOR_KEY, actor_id),
        "resource": resource,
        "resource_id": resource_id,
        "version": version,
        "action": action,
        "changes": changes,
        "created_at": utcnow(),
    }
    if session.get_bind().dialect.name == "postgresql":
        statement = _INSERT_NOTIFY if fanout.notify_postgres else _INSERT_LOCKED
    else:
        statement = _INSERT_PLAIN
    event_id = (await session.exec(statement, params=params)).one()[0]
    if not (fanout.notify_postgres and session.get_bind().dialect.name == "postgresql"):
        session.info.setdefault(_PENDING_KEY, []).append((event_id, user_id))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    fanout: Fanout | None = session.info.get(FANOUT_KEY)
    if pending and fanout is not None and fanout.published is not None:
        fanout.published(pending)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def encode(value: Any) -> Any:
    """A value as an event's `changes` hold it: JSON types, instants and days as ISO 8601."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [encode(each) for each in value]
    return value


def change(old: Any, new: Any) -> list[Any]:
    return [encode(old), encode(new)]


async def latest_id(session: AsyncSession) -> int:
    """The newest event id (0 when there is none): where a fresh stream starts."""
    found = (await session.exec(select(func.max(col(Event.id))))).one()
    return int(found or 0)


async def oldest_id(session: AsyncSession) -> int | None:
    found = (await session.exec(select(func.min(col(Event.id))))).one()
    return None if found is None else int(found)


async def latest_of(session: AsyncSession, owners: Collection[str]) -> dict[str, int]:
    """Each owner's newest event id (0 when they have none): where a stream starts to read an
    owner's events. Exact, unlike the table's newest id: an owner's event that commits later
    draws its id after this one committed (see the module's docstring)."""
    if not owners:
        return {}
    rows = (
        await session.exec(
            select(Event.user_id, func.max(col(Event.id)))
            .where(col(Event.user_id).in_(sorted(owners)))
            .group_by(col(Event.user_id))
        )
    ).all()
    found = {owner: int(newest or 0) for owner, newest in rows}
    return {owner: found.get(owner, 0) for owner in owners}


# Whose events to read: owner, the id after which to read, and the owner's lists the reader
# sees (None: all of the owner's events, the reader's own).
Watched = tuple[str, int, "frozenset[int] | None"]


async def visible_after(
    session: AsyncSession, watched: Sequence[Watched], *, limit: int
) -> Sequence[Event]:
    """The events of several owners, each newer than its own cursor and in the lists the
    reader sees, oldest first. Each owner's part is answered by the indexes with user_id
    first."""
    conditions = []
    for owner, after, list_ids in watched:
        if list_ids is not None and not list_ids:
            continue
        condition = and_(col(Event.user_id) == owner, col(Event.id) > after)
        if list_ids is not None:
            condition = and_(condition, col(Event.list_id).in_(sorted(list_ids)))
        conditions.append(condition)
    if not conditions:
        return []
    result = await session.exec(
        select(Event).where(or_(*conditions)).order_by(col(Event.id)).limit(limit)
    )
    return result.all()


async def users_after(session: AsyncSession, after: int) -> tuple[int, set[str]]:
    """The newest event id and whose events came after `after` (for processes that cannot
    be notified: other writers of a SQLite file)."""
    rows = (await session.exec(select(Event.id, Event.user_id).where(col(Event.id) > after))).all()
    if not rows:
        return after, set()
    return max(row[0] or 0 for row in rows), {row[1] for row in rows}


async def history(
    session: AsyncSession,
    user_id: str,
    *,
    list_id: int | None = None,
    resource: tuple[Resource, int] | None = None,
    before: int | None = None,
    limit: int,
) -> Sequence[Event]:
    """A list's or a resource's events, newest first, from before the event `before`;
    one more than `limit` when there are more."""
    query = select(Event).where(col(Event.user_id) == user_id)
    if list_id is not None:
        query = query.where(col(Event.list_id) == list_id)
    if resource is not None:
        query = query.where(
            col(Event.resource) == resource[0], col(Event.resource_id) == resource[1]
        )
    if before is not None:
        query = query.where(col(Event.id) < before)
    result = await session.exec(query.order_by(col(Event.id).desc()).limit(limit + 1))
    return result.all()


async def hand_over(
    session: AsyncSession, old_owner: str, new_owner: str, list_id: int, task_ids: Sequence[int]
) -> None:
    """A list changed owner: the history of its tasks and their comments is filed under the
    new owner, where the tasks' and the list's activity is read. Ids stay as they are, so
    no stream gets an event twice or misses one. The list's own and its members' events
    stay: a membership's are recorded on the member too, and moving the owner's copy would
    show the new owner's twice. The caller commits."""
    moved = and_(col(Event.resource) == "comment", col(Event.list_id) == list_id)
    if task_ids:
        moved = or_(
            moved, and_(col(Event.resource) == "task", col(Event.resource_id).in_(task_ids))
        )
    await session.exec(
        update(Event).where(col(Event.user_id) == old_owner, moved).values(user_id=new_owner)
    )


async def prune_events(session: AsyncSession, before: datetime) -> int:
    """Delete the events recorded before `before` and commit; how many went.

    By id, not by a scan of created_at: ids grow with time, so the first event at or after
    `before` in id order marks the cut, found by walking the primary key from its start
    (through the rows that go anyway), and no index on created_at has to be kept up."""
    first_kept = (
        await session.exec(
            select(Event.id).where(col(Event.created_at) >= before).order_by(col(Event.id)).limit(1)
        )
    ).first()
    condition = col(Event.created_at) < before if first_kept is None else col(Event.id) < first_kept
    result = await session.exec(delete(Event).where(condition))
    await session.commit()
    return int(result.rowcount or 0)


async def latest_id_of(session: AsyncSession, user_id: str) -> int:
    """The newest event id of an owner's data (0 when none): a change mark for all of it."""
    found = (
        await session.exec(select(func.max(col(Event.id))).where(col(Event.user_id) == user_id))
    ).one()
    return int(found or 0)
