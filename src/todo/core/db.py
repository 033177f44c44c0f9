"""Database engine, sessions and the column types shared by every domain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.config import DatabaseTarget, Settings
from todo.core.pool import FairPool

# Constraint names must be deterministic for Alembic to drop and recreate them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "todo_write"
_WRITE_TURN = "todo_write_turn"
SQLITE_BUSY_TIMEOUT_S = 30
log = logging.getLogger("todo")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: timestamptz on PostgreSQL; on SQLite, stored in UTC and read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def create_engine(settings: Settings, *, for_migrations: bool = False) -> AsyncEngine:
    target = settings.database
    if target.is_sqlite:
        return _sqlite_engine(target, settings, foreign_keys=not for_migrations)
    engine = create_async_engine(
        target.url,
        connect_args={"timeout": 5, **target.connect_args},
        **_pool_options(settings),
        # Neon suspends idle computes after five minutes; recycle before that.
        pool_recycle=240,
    )
    event.listen(engine.sync_engine, "checkout", _replace_if_closed)
    return engine


def _pool_options(settings: Settings) -> dict[str, Any]:
    # Requests wait for a connection in the order they asked (core/pool.py).
    return {
        "poolclass": FairPool,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "queue_limit": settings.db_queue_limit,
    }


def _replace_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no connection that the server has closed (a restart, an idle timeout).

    Instead of pool_pre_ping, which with asyncpg costs three round trips on every checkout
    (BEGIN, a ping, ROLLBACK): a connection closed by the server is already known closed
    here, since the event loop reads its end of stream while the connection sits in the
    pool. The pool then discards it and connects anew.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _sqlite_engine(
    target: DatabaseTarget, settings: Settings, *, foreign_keys: bool
) -> AsyncEngine:
    path = target.sqlite_path
    # An in-memory database lives in its one connection (SQLAlchemy's StaticPool).
    pool = _pool_options(settings) if path is not None else {}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        target.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **pool
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below instead of the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Off only for migrations: rebuilding a table (DROP, then rename a copy) would
        # otherwise cascade the DROP's implicit DELETE into every referencing table.
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    # The writers of this process take turns here, queued in order and woken at once,
    # instead of meeting in SQLite's busy handler, which polls with sleeps of up to 100 ms
    # and starves unlucky writers (make bench: seconds of p99 on writes). Writers of other
    # processes still meet in SQLite, at most one per process.
    turns = asyncio.Lock()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock:
        # SQLite fails it at once with "database is locked". Writers take the lock
        # up front (after their process's turn); readers stay lock-free in WAL.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        if immediate and not connection.connection.info.get(_WRITE_TURN):
            # Inside the async bridge's greenlet, so the event loop waits, not the thread.
            # Bounded: should a turn ever leak, writers fall back to the busy timeout
            # rather than wait forever.
            try:
                await_only(asyncio.wait_for(turns.acquire(), SQLITE_BUSY_TIMEOUT_S))
            except TimeoutError:
                log.warning(
                    "no SQLite write turn in %d s; waiting in SQLite", SQLITE_BUSY_TIMEOUT_S
                )
            else:
                connection.connection.info[_WRITE_TURN] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # Back in the pool: committed or rolled back, whichever way the session ended.
        if record.info.pop(_WRITE_TURN, False):
            turns.release()

    return engine


async def end_reads(session: AsyncSession) -> None:
    """End a transaction that has only read, before slow work such as a password hash.

    On SQLite a write request's transaction holds the database's one write lock from its
    first statement (BEGIN IMMEDIATE): hashing inside it would stall every writer of every
    process for the whole hash. Loaded objects stay usable (expire_on_commit=False).
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_reads() would commit pending changes")
    await session.commit()


class Database:
    """The engine and the two session factories of one application instance."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.is_sqlite = settings.database.is_sqlite
        # PostgreSQL reads run in autocommit: at READ COMMITTED each statement takes its own
        # snapshot inside a transaction as well, so BEGIN and ROLLBACK around the reads of a
        # request only cost two round trips. (SQLite readers keep their snapshot transaction.)
        reader = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._reader = async_sessionmaker(reader, class_=AsyncSession, expire_on_commit=False)
        self._writer = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}),
            class_=AsyncSession,
            expire_on_commit=False,
        )

    def session(self, *, write: bool) -> AsyncSession:
        return (self._writer if write else self._reader)()

    async def sessions(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        async with self.session(write=write) as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
