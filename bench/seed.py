"""Seed a benchmark database by bulk SQL, or reuse it when a complete seed is already there.

The schema comes from the migrations, as in production. Rows come from `bench.dataset`;
on SQLite every value goes through SQLAlchemy's own bind processors for its column, so
instants and dates are stored in the very text format the app writes. A marker user whose
name is the seed's label is written last: its presence means the seed is complete.

    python -m bench.seed --db postgres|sqlite [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bench import dataset
from bench.config import (
    FULL,
    PASSWORD,
    POSTGRES_ADMIN_URL,
    QUICK,
    SECRET,
    SEED_DIR,
    SMALL,
    SeedSpec,
)
from todo import migrations
from todo.accounts.models import User, WebSession
from todo.core.config import Settings, load_settings
from todo.core.security import Passwords
from todo.lists.models import TaskList
from todo.tags.models import Tag, TaskTag
from todo.tasks.models import Task

MARKER_EMAIL = "bench-seed-marker@bench.example.com"
BATCH = 20_000
TABLES: dict[str, tuple[Table, tuple[str, ...]]] = {
    "users": (User.__table__, dataset.USER_COLUMNS),  # type: ignore[attr-defined]
    "lists": (TaskList.__table__, dataset.LIST_COLUMNS),  # type: ignore[attr-defined]
    "tags": (Tag.__table__, dataset.TAG_COLUMNS),  # type: ignore[attr-defined]
    "tasks": (Task.__table__, dataset.TASK_COLUMNS),  # type: ignore[attr-defined]
    "task_tags": (TaskTag.__table__, dataset.TASK_TAG_COLUMNS),  # type: ignore[attr-defined]
    "web_sessions": (
        WebSession.__table__,  # type: ignore[attr-defined]
        ("id", "user_id", "created_at", "expires_at", "flash"),
    ),
}

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Target:
    """One benchmark database: where it is and how the app reaches it."""

    backend: str  # "postgres" or "sqlite"
    spec: SeedSpec

    @property
    def pg_name(self) -> str:
        return f"todo_bench_{self.spec.name}"

    @property
    def sqlite_path(self) -> Path:
        return SEED_DIR / f"{self.spec.name}.db"

    @property
    def url(self) -> str:
        """The DATABASE_URL handed to the server."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.pg_name}"

    @property
    def database(self) -> str:
        """An asyncpg DSN, or the SQLite file's path."""
        return self.dsn if self.backend == "postgres" else str(self.sqlite_path)

    @property
    def dsn(self) -> str:
        """What asyncpg.connect takes (PostgreSQL only)."""
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.pg_name}"

    def settings(self, **overrides: Any) -> Settings:
        return load_settings(
            database_url=self.url,
            data_dir=SEED_DIR,
            auth_secret=SECRET,
            app_env="production",
            **overrides,
        )


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()
        self._shown = -1.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._shown < 0.2 and self.done < self.total:
            return
        self._shown = now
        share = self.done / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        rate = self.done / max(now - self.started, 1e-9)
        sys.stderr.write(
            f"\r  {self.label} [{bar:<30}] {self.done:>9,}/{self.total:,} {rate:>8,.0f}/s"
        )
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def sqlite_converters(table: str) -> list[Callable[[Any], Any] | None]:
    """SQLAlchemy's bind processor of each seeded column, for the SQLite dialect."""
    sa_table, columns = TABLES[table]
    dialect = sqlite_dialect.dialect()
    return [sa_table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


def convert(rows: list[Row], converters: list[Callable[[Any], Any] | None]) -> list[Row]:
    active = [(i, f) for i, f in enumerate(converters) if f is not None]
    out = []
    for row in rows:
        values = list(row)
        for i, process in active:
            if values[i] is not None:
                values[i] = process(values[i])
        out.append(tuple(values))
    return out


def marker_rows(spec: SeedSpec, max_task_id: int, list_id: int) -> tuple[Row, Row]:
    now = dataset.EPOCH
    user_id = "00000000-0000-4000-8000-00000000beef"
    user = (user_id, MARKER_EMAIL, f"{spec.label} max_task={max_task_id}", "UTC", None, 0, None)
    inbox = (list_id, user_id, "Inbox", None, "i", True, now, now)
    return (*user, now, now), inbox


def parse_marker(name: str, spec: SeedSpec) -> int | None:
    """The last seeded task id, when the marker's label is this spec's."""
    head, _, tail = name.rpartition(" max_task=")
    return int(tail) if head == spec.label and tail.isdigit() else None


async def hash_password(settings: Settings | None = None) -> str:
    """One Argon2 hash with the server's parameters (the default settings), for every user."""
    settings = settings or load_settings(auth_secret=SECRET)
    passwords = await asyncio.to_thread(Passwords, settings)
    return await passwords.hash(PASSWORD)


# --- PostgreSQL -----------------------------------------------------------------------------


async def _pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def pg_seeded_max(target: Target) -> int | None:
    try:
        connection = await asyncpg.connect(target.dsn)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        name = await connection.fetchval("SELECT name FROM users WHERE email = $1", MARKER_EMAIL)
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()
    return parse_marker(name, target.spec) if name else None


async def seed_postgres(target: Target, *, quiet: bool = False) -> int:
    await _pg_admin(f'DROP DATABASE IF EXISTS "{target.pg_name}" WITH (FORCE)')
    await _pg_admin(f'CREATE DATABASE "{target.pg_name}"')
    await asyncio.to_thread(migrations.upgrade, target.settings())
    data = _dataset(target.spec)
    lists = await load_postgres(target.dsn, data, await hash_password(), quiet=quiet)
    user, inbox = marker_rows(target.spec, data.total_tasks, lists + 1)
    connection = await asyncpg.connect(target.dsn)
    try:
        await _pg_copy(connection, "users", [user])
        await _pg_copy(connection, "lists", [inbox])
        await _pg_sequences(connection)
    finally:
        await connection.close()
    return data.total_tasks


async def load_postgres(
    dsn: str, data: dataset.DataSet, password_hash: str, *, quiet: bool = False
) -> int:
    """COPY the data set into an empty, migrated database; the number of lists."""
    connection = await asyncpg.connect(dsn)
    try:
        # Bulk load: nothing to wait for on each COPY's WAL flush.
        await connection.execute("SET synchronous_commit = off")
        await _pg_copy(connection, "users", data.user_rows(password_hash))
        lists = data.list_rows()
        await _pg_copy(connection, "lists", lists)
        await _pg_copy(connection, "tags", data.tag_rows())
        progress = None if quiet else Progress("postgres tasks", data.total_tasks)
        rows = data.task_rows()
        restore = await _pg_drop_secondary(connection)
        pending: asyncio.Task[None] | None = None
        while batch := await asyncio.to_thread(_take, rows, BATCH):
            if pending is not None:
                await pending
            pending = asyncio.create_task(_pg_copy_tasks(connection, batch, progress))
        if pending is not None:
            await pending
        if not quiet:
            print(f"  postgres: rebuilding {len(restore)} indexes and foreign keys")
        await connection.execute("SET maintenance_work_mem = '256MB'")
        for statement in restore:
            await connection.execute(statement)
        await _pg_sequences(connection)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return len(lists)


async def _pg_sequences(connection: asyncpg.Connection) -> None:
    """Move each id sequence past the ids the COPY wrote, as inserts would have."""
    for table in ("lists", "tags", "tasks"):
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )


async def _pg_drop_secondary(connection: asyncpg.Connection) -> list[str]:
    """Drop the indexes and foreign keys of the task tables; the statements that restore them.

    A bulk load into bare tables and one sort per index afterwards is many times faster than
    maintaining eleven indexes row by row; the restored definitions are the migrations' own,
    read back from the catalog.
    """
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename IN ('tasks', 'task_tags') AND indexname NOT LIKE 'pk\\_%'"
    )
    keys = await connection.fetch(
        "SELECT conrelid::regclass::text AS tab, conname, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid IN ('tasks'::regclass, 'task_tags'::regclass)"
    )
    for key in keys:
        await connection.execute(f'ALTER TABLE {key["tab"]} DROP CONSTRAINT "{key["conname"]}"')
    for index in indexes:
        await connection.execute(f'DROP INDEX "{index["indexname"]}"')
    return [index["indexdef"] for index in indexes] + [
        f'ALTER TABLE {key["tab"]} ADD CONSTRAINT "{key["conname"]}" {key["def"]}' for key in keys
    ]


async def _pg_copy(connection: asyncpg.Connection, table: str, rows: list[Row]) -> None:
    if rows:
        await connection.copy_records_to_table(table, records=rows, columns=TABLES[table][1])


async def _pg_copy_tasks(
    connection: asyncpg.Connection,
    batch: list[tuple[Row, list[Row]]],
    progress: Progress | None,
) -> None:
    await _pg_copy(connection, "tasks", [task for task, _ in batch])
    await _pg_copy(connection, "task_tags", [link for _, links in batch for link in links])
    if progress is not None:
        progress.advance(len(batch))


def _take(rows: Iterator[tuple[Row, list[Row]]], n: int) -> list[tuple[Row, list[Row]]]:
    return list(islice(rows, n))


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def sqlite_seeded_max(target: Target) -> int | None:
    if not target.sqlite_path.exists():
        return None
    connection = sqlite3.connect(target.sqlite_path)
    try:
        row = connection.execute(
            "SELECT name FROM users WHERE email = ?", (MARKER_EMAIL,)
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        connection.close()
    return parse_marker(row[0], target.spec) if row else None


def sqlite_insert(connection: sqlite3.Connection, table: str, rows: list[Row]) -> None:
    columns = TABLES[table][1]
    marks = ", ".join("?" * len(columns))
    connection.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        convert(rows, sqlite_converters(table)),
    )


def _sqlite_drop_secondary(connection: sqlite3.Connection) -> list[str]:
    """Drop the task tables' indexes and the search index's insert trigger; what restores them.

    The full-text index is then rebuilt in one pass ('rebuild', as the migration does).
    """
    found = connection.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND ("
        "(type = 'index' AND tbl_name IN ('tasks', 'task_tags')) "
        "OR (type = 'trigger' AND name = 'tasks_fts_insert'))"
    ).fetchall()
    for kind, name, _ in found:
        connection.execute(f'DROP {kind.upper()} "{name}"')
    return [sql for _, _, sql in found]


def seed_sqlite(target: Target, password_hash: str, *, quiet: bool = False) -> int:
    path = target.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    migrations.upgrade(target.settings())
    data = _dataset(target.spec)
    lists = load_sqlite(path, data, password_hash, quiet=quiet)
    user, inbox = marker_rows(target.spec, data.total_tasks, lists + 1)
    connection = sqlite_connect(path)
    try:
        sqlite_insert(connection, "users", [user])
        sqlite_insert(connection, "lists", [inbox])
    finally:
        connection.close()
    return data.total_tasks


def load_sqlite(
    path: Path, data: dataset.DataSet, password_hash: str, *, quiet: bool = False
) -> int:
    """Insert the data set into an empty, migrated database file; the number of lists."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # A throwaway load: a crash midway leaves no marker, and the next run starts over.
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        connection.execute("BEGIN")
        sqlite_insert(connection, "users", data.user_rows(password_hash))
        lists = data.list_rows()
        sqlite_insert(connection, "lists", lists)
        sqlite_insert(connection, "tags", data.tag_rows())
        progress = None if quiet else Progress("sqlite tasks", data.total_tasks)
        rows = data.task_rows()
        restore = _sqlite_drop_secondary(connection)
        while batch := _take(rows, BATCH):
            sqlite_insert(connection, "tasks", [task for task, _ in batch])
            sqlite_insert(connection, "task_tags", [link for _, links in batch for link in links])
            if progress is not None:
                progress.advance(len(batch))
        if not quiet:
            print(f"  sqlite: rebuilding the search index and {len(restore)} others")
        connection.execute("INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild')")
        for statement in restore:
            connection.execute(statement)
        # No ANALYZE: the app never runs one, and statistics would change SQLite's plans.
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return len(lists)


# --- both -----------------------------------------------------------------------------------


def _dataset(spec: SeedSpec) -> dataset.DataSet:
    return dataset.DataSet(
        users=spec.users, tasks_per_user=spec.tasks_per_user, heavy_tasks=spec.heavy_tasks
    )


async def ensure(target: Target, *, quiet: bool = False) -> int:
    """Seed the target unless a complete seed of its spec is there; the last seeded task id."""
    if target.backend == "postgres":
        found = await pg_seeded_max(target)
    else:
        found = await asyncio.to_thread(sqlite_seeded_max, target)
    if found is not None:
        # Migrations added since the seed was made apply to it as they would in production.
        await asyncio.to_thread(migrations.upgrade, target.settings())
        if not quiet:
            print(f"  {target.backend} {target.spec.name}: seed reused ({found:,} tasks)")
        return found
    started = time.monotonic()
    if not quiet:
        print(f"  {target.backend} {target.spec.name}: seeding {target.spec.label}")
    if target.backend == "postgres":
        seeded = await seed_postgres(target, quiet=quiet)
    else:
        password_hash = await hash_password()
        seeded = await asyncio.to_thread(seed_sqlite, target, password_hash, quiet=quiet)
    if not quiet:
        took = time.monotonic() - started
        print(f"  {target.backend} {target.spec.name}: seeded in {took:.0f} s")
    return seeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument("--small", action="store_true", help="the 1,000-task scale reference")
    args = parser.parse_args()
    spec = SMALL if args.small else QUICK if args.quick else FULL
    asyncio.run(ensure(Target(args.db, spec)))


if __name__ == "__main__":
    main()
