"""Activity: who did what and when, read from the events every write records."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.activity.schemas import ActivityRead, Actor
from todo.core import events


@dataclass(frozen=True)
class ActivityPage:
    items: list[ActivityRead]
    # The `before` of the next (older) page, None on the last one.
    next_before: int | None


async def activity(
    session: AsyncSession,
    user_id: str,
    *,
    list_id: int | None = None,
    task_id: int | None = None,
    before: int | None,
    limit: int,
) -> ActivityPage:
    """A list's or a task's history, newest first, keyset-paged by event id."""
    found = list(
        await events.history(
            session,
            user_id,
            list_id=list_id,
            resource=("task", task_id) if task_id is not None else None,
            before=before,
            limit=limit,
        )
    )
    more = len(found) > limit
    found = found[:limit]
    names = await accounts.names(session, {row.actor_id for row in found})
    items = [
        ActivityRead(
            id=row.id or 0,
            actor=Actor(id=row.actor_id, name=names.get(row.actor_id)),
            action=row.action,
            resource=row.resource,
            resource_id=row.resource_id,
            changes=row.changes,
            created_at=row.created_at,
        )
        for row in found
    ]
    return ActivityPage(items=items, next_before=items[-1].id if more else None)
