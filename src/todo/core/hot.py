"""The hot path (DESIGN rule 12): a few statements run without SQLAlchemy's execution path.

A hot statement is built from the same tables with SQLAlchemy Core, once per dialect and
shape (which optional conditions it has), compiled to the driver's own SQL, and then run on
the session's driver connection (asyncpg; sqlite3 through aiosqlite) inside the session's
transaction. Its rows come back as the driver's records, for the caller to turn into JSON
bytes (`to_json`) without a model instance per row. What this skips, per request: building
the statement and its cache key, and SQLAlchemy's result processing per value.

One way to use it::

    ONE = Statement(lambda dialect, shape: select(...).where(t.c.id == bindparam("id")))
    rows = await fetch(session, ONE, {"id": 3})

Every value that differs between requests must be a named `bindparam` given in `params`;
a value baked into the statement (a constant) is sent as it was built.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json as _to_json
from sqlalchemy import ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

Build = Callable[[str, Any], ClauseElement]
# Shapes a statement keeps compiled, per dialect: those with shared lists in them vary with
# the caller's memberships, so the cache is bounded rather than one entry per shape ever seen.
SHAPES_KEPT = 512


# Who sees the hot statements as they run (the benchmark's SQL capture, tests that read a
# request's statements): SQLAlchemy's cursor events never see them. Empty in the app.
Observer = Callable[[str, Sequence[Any]], None]
_observers: list[Observer] = []


@contextmanager
def observed(observer: Observer) -> Iterator[None]:
    """Calls observer(sql, arguments) for every hot statement run while the block runs."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


# A named parameter has no value of its own: a request that leaves it out is a bug, never
# a reason to send the value of the request the statement was built for.
_REQUIRED: Any = object()


@dataclass(frozen=True)
class Compiled:
    """A statement in the driver's SQL, with what each positional parameter is."""

    sql: str
    names: tuple[str, ...]
    defaults: tuple[Any, ...]
    binders: tuple[Callable[[Any], Any] | None, ...]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, default, binder in zip(self.names, self.defaults, self.binders, strict=True):
            value = params.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"hot statement parameter {name!r} not given")
            values.append(value if binder is None or value is None else binder(value))
        return values


class Statement:
    """A hot statement: `build(dialect_name, shape)` makes it, the first time that shape is
    run on that dialect."""

    def __init__(self, build: Build) -> None:
        self._build = build
        self._compiled: OrderedDict[tuple[str, Hashable], Compiled] = OrderedDict()

    def compiled(self, dialect: Dialect, shape: Hashable = ()) -> Compiled:
        key = (dialect.name, shape)
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        found = _compile(self._build(dialect.name, shape), dialect)
        self._compiled[key] = found
        if len(self._compiled) > SHAPES_KEPT:
            self._compiled.popitem(last=False)
        return found


def _compile(statement: ClauseElement, dialect: Dialect) -> Compiled:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[name] for name in names]
    return Compiled(
        sql=compiled.string,
        names=names,
        # Anonymous (unique) parameters are the statement's constants.
        defaults=tuple(bind.effective_value if bind.unique else _REQUIRED for bind in binds),
        binders=tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds),
    )


async def fetch(
    session: AsyncSession, statement: Statement, params: Mapping[str, Any], shape: Hashable = ()
) -> Sequence[Sequence[Any]]:
    """The rows of a hot statement, run on the session's connection in its transaction:
    asyncpg Records or sqlite3 tuples, in the statement's column order."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    dialect = connection.dialect
    compiled = statement.compiled(dialect, shape)
    arguments = compiled.arguments(params)
    adapted: Any = raw.dbapi_connection
    driver: Any = raw.driver_connection
    for observer in _observers:
        observer(compiled.sql, arguments)
    try:
        if dialect.name == "postgresql":
            # SQLAlchemy's adapter opens its transaction lazily, at its first statement.
            if adapted._transaction is None and not adapted.autocommit:
                await adapted._start_transaction()
            rows: Sequence[Sequence[Any]] = await driver.fetch(compiled.sql, *arguments)
            return rows
        return list(await driver.execute_fetchall(compiled.sql, arguments))
    except Exception as error:
        raise _translated(error, compiled, arguments, dialect, adapted, raw) from error


def _translated(
    error: Exception,
    compiled: Compiled,
    arguments: list[Any],
    dialect: Dialect,
    adapted: Any,
    raw: Any,
) -> Exception:
    """The driver's error as SQLAlchemy would raise it, so that the handlers that tell a
    lost database (503) from a bug (500) see the same error either way."""
    try:
        adapted._handle_exception(error)
    except Exception as dbapi_error:
        error = dbapi_error
    if not isinstance(error, dialect.loaded_dbapi.Error):
        return error
    disconnected = dialect.is_disconnect(error, raw, None)
    if disconnected:
        raw.invalidate(error)
    return DBAPIError.instance(
        compiled.sql,
        arguments,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=disconnected,
        dialect=dialect,
    )


class _JSONList(TypeDecorator[list[Any]]):
    """A list sent to SQLite as one JSON text, which json_each() reads back as rows."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value)


def any_of(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """`column IN (the list given as parameter `name`)`, one parameter whatever the list's
    length, so that the statement compiles once: an array on PostgreSQL, JSON on SQLite."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    items = func.json_each(bindparam(name, type_=_JSONList())).table_valued("value")
    return column.in_(select(items.c.value))  # type: ignore[no-any-return]


def to_json(value: Any) -> bytes:
    """JSON bytes as the response models write them: instants in UTC with `Z`, fractions
    of a second only when there are any, dates as YYYY-MM-DD."""
    return _to_json(value)
