"""core/hot.py on both databases: a hot statement runs inside the session's transaction,
its errors are SQLAlchemy's (so a lost database is still a 503, a bug a 500), and a named
parameter left out is an error, never another request's value."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, column, func, insert, select, table
from sqlalchemy.exc import DBAPIError

from tests.conftest import Account
from todo.core import hot
from todo.core.db import Database
from todo.core.handlers import is_database_unavailable
from todo.tags.models import Tag

_TAGS = Tag.__table__  # type: ignore[attr-defined]
_NAMED = hot.Statement(
    lambda _d, _s: select(_TAGS.c.name).where(
        _TAGS.c.user_id == bindparam("user_id"), _TAGS.c.key == bindparam("key")
    )
)


async def test_a_hot_read_sees_the_transactions_own_unwritten_rows(
    app: FastAPI, alice: Account
) -> None:
    db: Database = app.state.db
    async with db.session(write=True) as session:
        await session.exec(
            insert(_TAGS).values(user_id=alice.id, name="Pending", key="pending")  # type: ignore[call-overload]
        )
        rows = await hot.fetch(session, _NAMED, {"user_id": alice.id, "key": "pending"})
        assert [tuple(row) for row in rows] == [("Pending",)]
        await session.rollback()
    async with db.session(write=False) as session:
        assert not await hot.fetch(session, _NAMED, {"user_id": alice.id, "key": "pending"})


async def test_a_hot_read_first_opens_the_writes_transaction(app: FastAPI) -> None:
    """On PostgreSQL SQLAlchemy's adapter begins at its first statement: a hot statement
    that comes first begins it, so the ORM's statements after it share its snapshot."""
    if app.state.db.is_sqlite:
        pytest.skip("SQLite's transaction begins with the session's connection")
    db: Database = app.state.db
    clock = hot.Statement(lambda _d, _s: select(func.now()))
    async with db.session(write=True) as session:
        first = (await hot.fetch(session, clock, {}))[0][0]
        later = (await session.exec(select(func.now()))).one()[0]
        # now() is the transaction's start: one transaction gives one instant.
        assert later == first
        await session.rollback()


async def test_errors_are_sqlalchemys_and_only_a_lost_connection_is_unavailable(
    app: FastAPI,
) -> None:
    db: Database = app.state.db
    broken = hot.Statement(lambda _d, _s: select(table("no_such_table", column("x"))))
    async with db.session(write=False) as session:
        with pytest.raises(DBAPIError) as raised:
            await hot.fetch(session, broken, {})
    assert not is_database_unavailable(raised.value)
    if db.is_sqlite:
        return
    killer = hot.Statement(lambda _d, _s: select(func.pg_terminate_backend(func.pg_backend_pid())))
    async with db.session(write=False) as session:
        with pytest.raises(DBAPIError) as lost:
            await hot.fetch(session, killer, {})
    assert is_database_unavailable(lost.value)
    # The pool hands out a working connection afterwards.
    async with db.session(write=False) as session:
        assert not await hot.fetch(session, _NAMED, {"user_id": "nobody", "key": "x"})


async def test_a_named_parameter_left_out_is_an_error(app: FastAPI, alice: Account) -> None:
    db: Database = app.state.db
    async with db.session(write=False) as session:
        assert not await hot.fetch(session, _NAMED, {"user_id": alice.id, "key": "none"})
        with pytest.raises(KeyError, match="key"):
            await hot.fetch(session, _NAMED, {"user_id": alice.id})


async def test_an_observer_sees_each_hot_statement_with_its_arguments(
    app: FastAPI, alice: Account
) -> None:
    """The benchmark's SQL capture (bench/floor.py) replays what a request ran: the hot
    statements, which SQLAlchemy's cursor events never see, reach it through hot.observed."""
    db: Database = app.state.db
    seen: list[tuple[str, list[object]]] = []
    async with db.session(write=False) as session:
        with hot.observed(lambda sql, arguments: seen.append((sql, list(arguments)))):
            await hot.fetch(session, _NAMED, {"user_id": alice.id, "key": "home"})
        await hot.fetch(session, _NAMED, {"user_id": alice.id, "key": "after"})
    assert len(seen) == 1
    sql, arguments = seen[0]
    assert "FROM tags" in sql
    assert arguments == [alice.id, "home"]
