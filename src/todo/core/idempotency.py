"""Idempotency keys: a client that retries a create with the same `Idempotency-Key` gets the
first answer again instead of a second resource.

The key's record is written in the same transaction as the resource it describes, so either
both exist or neither does; a concurrent duplicate loses on the primary key and replays the
winner's answer. Records expire after 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Header, Response
from sqlalchemy import Index, Text, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Column, Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.db import UTCDateTime, utcnow
from todo.core.errors import Unprocessable
from todo.core.jobs import JobQueue, job

KEY_TTL = timedelta(hours=24)
KEY_MAX_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("location", "etag")

T = TypeVar("T")
BeforeCommit = Callable[[T], Awaitable[None]]


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_user_id_created_at", "user_id", "created_at"),)

    user_id: str = Field(
        foreign_key="users.id", ondelete="CASCADE", primary_key=True, max_length=64
    )
    key: str = Field(primary_key=True, max_length=KEY_MAX_LENGTH)
    # SHA-256 of the operation and the request body: the same key with another body is refused.
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    headers: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_MAX_LENGTH,
        pattern=r"^[!-~]+$",
        description="A unique value per intended create (a UUID, say): a retry with the same "
        "key and body returns the first result and creates nothing; keys last 24 hours.",
    ),
]


def fingerprint(operation: str, payload: Any) -> str:
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _reused() -> Unprocessable:
    return Unprocessable(
        "This Idempotency-Key was already used with another request; use a new key.",
        code="idempotency_key_reused",
        errors=[{"field": "Idempotency-Key", "in": "header", "reason": "was used before"}],
    )


async def _stored(
    session: AsyncSession, user_id: str, key: str, request_fingerprint: str, now: datetime
) -> Response | None:
    found = (
        await session.exec(
            select(IdempotencyKey).where(
                col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key
            )
        )
    ).one_or_none()
    if found is None:
        return None
    if found.created_at <= now - KEY_TTL:
        await session.delete(found)
        await session.flush()
        return None
    if found.fingerprint != request_fingerprint:
        raise _reused()
    headers = {**json.loads(found.headers), REPLAYED_HEADER: "true"}
    return Response(
        content=found.body,
        status_code=found.status_code,
        headers=headers,
        media_type="application/json",
    )


async def _remember(
    session: AsyncSession, user_id: str, key: str, request_fingerprint: str, response: Response
) -> None:
    now = utcnow()
    # Expired keys of this user go while we are here; the index makes it a short range scan.
    await session.exec(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.created_at) <= now - KEY_TTL
        )
    )
    kept = {name: value for name, value in response.headers.items() if name in _KEPT_HEADERS}
    session.add(
        IdempotencyKey(
            user_id=user_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=response.status_code,
            body=bytes(response.body).decode(),
            headers=json.dumps(kept),
            created_at=now,
        )
    )


async def run_once(
    session: AsyncSession,
    *,
    user_id: str,
    key: str | None,
    request_fingerprint: str,
    create: Callable[[BeforeCommit[T] | None], Awaitable[T]],
    respond: Callable[[T], Awaitable[Response]],
) -> Response:
    """Run `create` at most once per key; `create` calls the hook it is given before it commits.

    `respond` renders the created resource; its answer is what a retry gets back.
    """
    if key is None:
        return await respond(await create(None))
    now = utcnow()
    replay = await _stored(session, user_id, key, request_fingerprint, now)
    if replay is not None:
        return replay

    async def before_commit(created: T) -> None:
        await _remember(session, user_id, key, request_fingerprint, await respond(created))

    try:
        created = await create(before_commit)
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        await session.rollback()
        replay = await _stored(session, user_id, key, request_fingerprint, now)
        if replay is None:
            raise
        return replay
    return await respond(created)


@job(every="17 * * * *")
async def expire_keys(queue: JobQueue, *, timestamp: int) -> None:
    """Hourly: keys past their 24 hours, of every user (each user's own writes also drop
    theirs, but a user who stops writing would keep them for ever)."""
    async with queue.db.session(write=True) as session:
        await session.exec(
            delete(IdempotencyKey).where(col(IdempotencyKey.created_at) <= utcnow() - KEY_TTL)
        )
        await session.commit()
