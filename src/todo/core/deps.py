"""Dependencies every domain uses: the database session of the request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.db import Database

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.session(write=request.method not in READ_METHODS) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]


async def write_aside(
    request: Request, session: AsyncSession, change: Callable[[AsyncSession], Awaitable[None]]
) -> None:
    """A small write (a last-used time) made while reading: in a reading request on a writer
    session of its own, in a writing one on the request's session, whose write lock on SQLite
    a second writer would wait for."""
    if request.method not in READ_METHODS:
        await change(session)
        return
    db: Database = request.app.state.db
    async with db.session(write=True) as writer:
        await change(writer)
