"""Direct access to a benchmark database for what the load needs: who to act as, on what,
and scratch tasks for the write measurements (inserted before, deleted after)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench import dataset
from bench.seed import MARKER_EMAIL, TABLES, Target, sqlite_connect, sqlite_insert
from todo.accounts.service import WEB_SESSION_IDLE
from todo.tasks.query import TaskQuery, encode_cursor


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    inbox_id: int


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    # SQLite keeps UTC instants as naive text (see UTCDateTime).
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class Store:
    """A database by backend and address: an asyncpg DSN, or a SQLite file's path."""

    def __init__(self, backend: str, database: str) -> None:
        self.database = database
        self.pg = backend == "postgres"

    @classmethod
    def of(cls, target: Target) -> Store:
        return cls(target.backend, target.database)

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.pg:
            for n in range(1, len(params) + 1):
                sql = sql.replace("?", f"${n}", 1)
            connection = await asyncpg.connect(self.database)
            try:
                return [tuple(row) for row in await connection.fetch(sql, *params)]
            finally:
                await connection.close()
        return await asyncio.to_thread(self._sqlite_fetch, sql, params)

    def _sqlite_fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        connection = sqlite_connect(Path(self.database))
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    async def accounts(self, count: int) -> list[Account]:
        """The first `count` ordinary users (not the heavy one, not the marker)."""
        rows = await self.fetch(
            "SELECT users.id, users.email, lists.id FROM users "
            "JOIN lists ON lists.user_id = users.id AND lists.is_inbox "
            "WHERE users.email LIKE 'user%' ORDER BY users.email LIMIT ?",
            count,
        )
        return [Account(*row) for row in rows]

    async def account(self, email: str) -> Account | None:
        rows = await self.fetch(
            "SELECT users.id, users.email, lists.id FROM users "
            "JOIN lists ON lists.user_id = users.id AND lists.is_inbox WHERE users.email = ?",
            email,
        )
        return Account(*rows[0]) if rows else None

    async def seeded_max(self) -> int:
        rows = await self.fetch("SELECT name FROM users WHERE email = ?", MARKER_EMAIL)
        return int(rows[0][0].rpartition("max_task=")[2])

    async def sample_tasks(
        self, accounts: list[Account], per_user: int, seed_max: int
    ) -> list[tuple[Account, int]]:
        """A few seeded tasks of each account, for the reads of one task."""
        by_id = {a.id: a for a in accounts}
        found: list[tuple[Account, int]] = []
        for account in accounts:
            rows = await self.fetch(
                "SELECT id FROM tasks WHERE user_id = ? AND id <= ? ORDER BY id LIMIT ?",
                account.id,
                seed_max,
                per_user * 7,
            )
            found += [(by_id[account.id], row[0]) for row in rows[::7]]
        return found

    async def deep_cursor(self, account: Account, rows_before: int, page_size: int) -> str:
        """The cursor of the page that starts after `rows_before` tasks (default sort)."""
        rows = await self.fetch(
            "SELECT created_at, id FROM tasks WHERE user_id = ? "
            "ORDER BY created_at, id LIMIT 1 OFFSET ?",
            account.id,
            rows_before - 1,
        )
        created_at, task_id = rows[0]
        query = TaskQuery(sort="created", order="asc", limit=page_size)
        return encode_cursor(query, _instant(created_at), task_id)

    async def add_scratch(self, owners: list[Account], count: int) -> list[tuple[Account, int]]:
        """Fresh open tasks (version 1) spread over these accounts; (owner, task id) pairs."""
        if self.pg:
            connection = await asyncpg.connect(self.database)
            try:
                async with connection.transaction():
                    first = await connection.fetchval(
                        "SELECT nextval(pg_get_serial_sequence('tasks', 'id'))"
                    )
                    await connection.execute(
                        "SELECT setval(pg_get_serial_sequence('tasks', 'id'), $1)",
                        first + count - 1,
                    )
                rows = dataset.scratch_rows(
                    [(a.id, a.inbox_id) for a in owners], count, first, datetime.now(UTC)
                )
                await connection.copy_records_to_table(
                    "tasks", records=rows, columns=dataset.TASK_COLUMNS
                )
            finally:
                await connection.close()
        else:
            first = await asyncio.to_thread(self._sqlite_scratch, owners, count)
        return [(owners[n % len(owners)], first + n) for n in range(count)]

    def _sqlite_scratch(self, owners: list[Account], count: int) -> int:
        connection = sqlite_connect(Path(self.database))
        try:
            connection.execute("BEGIN IMMEDIATE")
            top = connection.execute(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0), "
                "(SELECT coalesce(max(id), 0) FROM tasks))"
            ).fetchone()[0]
            rows = dataset.scratch_rows(
                [(a.id, a.inbox_id) for a in owners], count, top + 1, datetime.now(UTC)
            )
            sqlite_insert(connection, "tasks", rows)
            connection.execute("COMMIT")
            return int(top) + 1
        except sqlite3.Error:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    async def web_sessions(self, accounts: list[Account]) -> dict[str, str]:
        """A web log-in for each account, as the web app's log-in makes them: cookie tokens."""
        now = datetime.now(UTC)
        tokens = {a.id: secrets.token_urlsafe(32) for a in accounts}
        rows = [
            (hashlib.sha256(token.encode()).hexdigest(), user, now, now + WEB_SESSION_IDLE, None)
            for user, token in tokens.items()
        ]
        if self.pg:
            connection = await asyncpg.connect(self.database)
            try:
                await connection.copy_records_to_table(
                    "web_sessions", records=rows, columns=TABLES["web_sessions"][1]
                )
            finally:
                await connection.close()
        else:
            await asyncio.to_thread(self._sqlite_insert, "web_sessions", rows)
        return tokens

    def _sqlite_insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        connection = sqlite_connect(Path(self.database))
        try:
            connection.execute("BEGIN IMMEDIATE")
            sqlite_insert(connection, table, rows)
            connection.execute("COMMIT")
        finally:
            connection.close()

    async def reset(self, seed_max: int, *, web: bool = False) -> int:
        """Delete every task the benchmark made (ids past the seed), and with `web` every web
        log-in; how many tasks there were."""
        if self.pg:
            connection = await asyncpg.connect(self.database)
            try:
                status = await connection.execute("DELETE FROM tasks WHERE id > $1", seed_max)
                if web:
                    await connection.execute("DELETE FROM web_sessions")
            finally:
                await connection.close()
            return int(status.split()[-1])
        return await asyncio.to_thread(self._sqlite_reset, seed_max, web)

    async def vacuum(self) -> None:
        """Clear the dead rows the scratch tasks left in the tables and indexes (PostgreSQL),
        so that the next run starts from the same state."""
        if self.pg:
            connection = await asyncpg.connect(self.database)
            try:
                await connection.execute("VACUUM (ANALYZE) tasks, task_tags, web_sessions")
            finally:
                await connection.close()

    def _sqlite_reset(self, seed_max: int, web: bool) -> int:
        connection = sqlite_connect(Path(self.database))
        try:
            if web:
                connection.execute("DELETE FROM web_sessions")
            return connection.execute("DELETE FROM tasks WHERE id > ?", (seed_max,)).rowcount
        finally:
            connection.close()
