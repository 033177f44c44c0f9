"""Backup and restore: every user's data as one versioned JSON document, and back.

A backup is a copy of rows, so unlike the domains this module reads and writes the tables
directly (as the migrations do). Every column of every table that holds user data is
written, so a restore gives back the same ids, positions, versions and timestamps: ETags,
links and ordering survive the round trip. Web sessions and idempotency keys are
short-lived and are not part of a backup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Date, DateTime, Executable, Result, Table, insert, select, text
from sqlalchemy.sql.functions import count
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts.models import User
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound, Unprocessable
from todo.core.schemas import text_problem
from todo.lists.models import TaskList
from todo.tags.models import Tag, TaskTag
from todo.tasks.models import Task

FORMAT = "todo-export"
VERSION = 1


def _table(model: type[SQLModel]) -> Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


_USERS = _table(User)
# In the order a restore inserts them: each after the tables it refers to.
_OWNED: dict[str, Table] = {
    "lists": _table(TaskList),
    "tags": _table(Tag),
    "tasks": _table(Task),
    "task_tags": _table(TaskTag),
}
# Tables whose ids come from a sequence on PostgreSQL, which a restore must move past.
_SEQUENCED = ("lists", "tags", "tasks")
_SECRET_USER_COLUMNS = ("password_hash",)


class UserExport(BaseModel):
    user: dict[str, Any]
    lists: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    task_tags: list[dict[str, Any]]


class Export(BaseModel):
    """One or more users with everything they own, as `todo export` writes it."""

    format: Literal["todo-export"] = Field(description="Always todo-export")
    version: int = Field(description="Format version; this server writes and reads 1")
    exported_at: datetime
    users: list[UserExport]


@dataclass(frozen=True)
class Restored:
    users: int
    tasks: int


async def _execute(
    session: AsyncSession, statement: Executable, rows: list[dict[str, Any]] | None = None
) -> Result[Any]:
    # Core statements on the session's own connection: same transaction, rows as mappings.
    connection = await session.connection()
    return await connection.execute(statement, rows)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(table: Table, name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = table.c[name].type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


async def _rows(session: AsyncSession, table: Table, user_id: str) -> list[dict[str, Any]]:
    result = await _execute(
        session,
        select(table).where(table.c.user_id == user_id).order_by(*table.primary_key.columns),
    )
    return [{key: _encode(value) for key, value in row.items()} for row in result.mappings()]


async def _user_export(
    session: AsyncSession, user_row: dict[str, Any], *, include_password_hash: bool
) -> dict[str, Any]:
    user = {key: _encode(value) for key, value in user_row.items()}
    if not include_password_hash:
        for column in _SECRET_USER_COLUMNS:
            user[column] = None
    owned = {name: await _rows(session, table, user["id"]) for name, table in _OWNED.items()}
    return {"user": user, **owned}


def _document(users: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "users": users,
    }


async def export_user(
    session: AsyncSession, user_id: str, *, include_password_hash: bool = False
) -> dict[str, Any]:
    """One user's data in the backup format ("download my data").

    The password hash is left out unless asked for: a copy in someone's downloads folder
    should not be something to crack offline. An account restored without one logs in
    through a password reset or Better Auth.
    """
    found = (await _execute(session, select(_USERS).where(_USERS.c.id == user_id))).mappings()
    row = found.one_or_none()
    if row is None:
        raise NotFound("No such user.", code="user_not_found")
    export = await _user_export(session, dict(row), include_password_hash=include_password_hash)
    return _document([export])


async def export_all(session: AsyncSession) -> dict[str, Any]:
    """Every user's data, password hashes included: a full backup."""
    result = await _execute(session, select(_USERS).order_by(_USERS.c.created_at, _USERS.c.id))
    users = [dict(row) for row in result.mappings()]
    return _document(
        [await _user_export(session, row, include_password_hash=True) for row in users]
    )


def _invalid(reason: str) -> Unprocessable:
    return Unprocessable(f"This is not a backup this server can restore: {reason}.")


def _checked(table: Table, rows: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise _invalid(f"{where} must be a list of objects")
    known = set(table.c.keys())
    decoded = []
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise _invalid(f"{where} has unknown columns {sorted(unknown)}")
        for key, value in row.items():
            # The same rule as every other door: PostgreSQL cannot store NUL at all.
            problem = text_problem(value) if isinstance(value, str) else None
            if problem is not None:
                raise _invalid(f"{where}.{key} {problem}")
        decoded.append({key: _decode(table, key, value) for key, value in row.items()})
    return decoded


async def restore(session: AsyncSession, document: Any) -> Restored:
    """Restore a backup into an empty database, in one transaction; commits."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _invalid(f'the "format" is not "{FORMAT}"')
    if document.get("version") != VERSION:
        raise _invalid(f"version {document.get('version')!r} is not {VERSION}")
    users = document.get("users")
    if not isinstance(users, list) or not all(isinstance(entry, dict) for entry in users):
        raise _invalid('"users" must be a list of objects')
    existing = (await _execute(session, select(count()).select_from(_USERS))).scalar_one()
    if existing:
        raise Conflict(
            f"The database already holds {existing} account(s); restore into an empty "
            "database only (create a new one and run `todo db upgrade` on it).",
            code="database_not_empty",
        )
    user_rows = _checked(_USERS, [entry.get("user") for entry in users], "users")
    await _insert(session, _USERS, user_rows)
    tasks = 0
    for name, table in _OWNED.items():
        rows = [
            row
            for index, entry in enumerate(users)
            for row in _checked(table, entry.get(name, []), f"users[{index}].{name}")
        ]
        await _insert(session, table, rows)
        tasks += len(rows) if name == "tasks" else 0
    if session.get_bind().dialect.name == "postgresql":
        for name in _SEQUENCED:
            await _execute(
                session,
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {name}"
                ),
            )
    await session.commit()
    return Restored(users=len(user_rows), tasks=tasks)


async def _insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    # In slices: one statement per row would be slow, one for everything too large.
    for start in range(0, len(rows), 500):
        await _execute(session, insert(table), rows[start : start + 500])
