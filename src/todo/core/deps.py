"""Dependencies every domain uses: the database session of the request."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
