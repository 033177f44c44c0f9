"""Only a lost or unobtainable connection is "database unavailable" (503); every other
database error is a bug, answered 500 and logged with its traceback.

The errors are real ones, raised by real SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.types import Receive, Scope, Send

from tests.conftest import ADMIN_URL
from todo.core.handlers import is_database_unavailable
from todo.core.middleware import CatchAll

PG = "postgresql+asyncpg://" + ADMIN_URL.removeprefix("postgresql://")
CLOSED_PORT = "postgresql+asyncpg://postgres@127.0.0.1:1/postgres"


async def _error_of(engine: AsyncEngine, statement: str = "SELECT 1") -> BaseException:
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except Exception as error:
        return error
    finally:
        await engine.dispose()
    raise AssertionError(f"{statement!r} did not fail")


async def test_connection_loss_is_unavailable(tmp_path: Path) -> None:
    unreachable_file = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'todo.db'}"
    assert is_database_unavailable(await _error_of(create_async_engine(unreachable_file)))
    assert is_database_unavailable(await _error_of(create_async_engine(CLOSED_PORT)))
    killed = await _error_of(
        create_async_engine(PG), "SELECT pg_terminate_backend(pg_backend_pid())"
    )
    assert is_database_unavailable(killed)


async def test_other_database_errors_are_not(tmp_path: Path) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'todo.db'}"
    for engine, statement in (
        (create_async_engine(sqlite), "SELECT * FROM no_such_table"),
        (create_async_engine(sqlite), "SELEC 1"),
        (create_async_engine(PG), "SELECT * FROM no_such_table"),
        (create_async_engine(PG), "SET statement_timeout = 1; SELECT pg_sleep(1)"),
        (create_async_engine(PG), "SELECT 1/0"),
    ):
        error = await _error_of(engine, statement)
        assert not is_database_unavailable(error), f"{statement}: {error!r}"
    assert not is_database_unavailable(FileNotFoundError("templates/missing.html"))
    assert not is_database_unavailable(PermissionError("data/export"))


async def test_a_database_bug_is_a_logged_500_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'todo.db'}")

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT * FROM no_such_table"))

    transport = httpx.ASGITransport(app=CatchAll(broken))
    with caplog.at_level(logging.ERROR, logger="todo"):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/api/anything")
    await engine.dispose()
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    logged = [record for record in caplog.records if record.exc_info]
    assert logged, "the error was not logged with its traceback"
    assert "no_such_table" in str(logged[0].exc_info[1])  # type: ignore[index]
