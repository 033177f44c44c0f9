"""Lists: every user has an Inbox, which always exists, and lists of their own."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound
from todo.core.ids import ID_MAX
from todo.core.ordering import key_between
from todo.lists.models import TaskList

INBOX_NAME = "Inbox"
LISTS_MAX = 500


def _not_found(list_id: int) -> NotFound:
    return NotFound(f"List {list_id} was not found.", code="list_not_found")


async def add_inbox(session: AsyncSession, user_id: str) -> TaskList:
    """Create the Inbox of a new user; the caller commits."""
    inbox = TaskList(
        user_id=user_id, name=INBOX_NAME, position=key_between(None, None), is_inbox=True
    )
    session.add(inbox)
    await session.flush()
    return inbox


async def inbox(session: AsyncSession, user_id: str) -> TaskList:
    result = await session.exec(
        select(TaskList).where(col(TaskList.user_id) == user_id, col(TaskList.is_inbox))
    )
    found = result.one_or_none()
    return found if found is not None else await add_inbox(session, user_id)


async def get_list(session: AsyncSession, user_id: str, list_id: int) -> TaskList:
    if not 1 <= list_id <= ID_MAX:
        raise _not_found(list_id)
    result = await session.exec(
        select(TaskList).where(col(TaskList.user_id) == user_id, col(TaskList.id) == list_id)
    )
    found = result.one_or_none()
    if found is None:
        raise _not_found(list_id)
    return found


async def find_by_name(session: AsyncSession, user_id: str, name: str) -> TaskList | None:
    result = await session.exec(
        select(TaskList)
        .where(col(TaskList.user_id) == user_id)
        .order_by(col(TaskList.position), col(TaskList.id))
    )
    wanted = name.casefold()
    return next((found for found in result.all() if found.name.casefold() == wanted), None)


async def list_lists(session: AsyncSession, user_id: str) -> Sequence[TaskList]:
    """Every list of the user: the Inbox first, then in their order."""
    result = await session.exec(
        select(TaskList)
        .where(col(TaskList.user_id) == user_id)
        .order_by(col(TaskList.is_inbox).desc(), col(TaskList.position), col(TaskList.id))
    )
    return result.all()


async def _last_position(session: AsyncSession, user_id: str) -> str | None:
    result = await session.exec(
        select(TaskList.position)
        .where(col(TaskList.user_id) == user_id)
        .order_by(col(TaskList.position).desc())
        .limit(1)
    )
    return result.first()


async def add_list(
    session: AsyncSession, user_id: str, *, name: str, color: str | None = None
) -> TaskList:
    """Add a list at the end; the caller commits."""
    existing = await session.exec(
        select(count()).select_from(TaskList).where(col(TaskList.user_id) == user_id)
    )
    if existing.one() >= LISTS_MAX:
        raise Conflict(f"A user can have at most {LISTS_MAX} lists.", code="too_many_lists")
    created = TaskList(
        user_id=user_id,
        name=name,
        color=color,
        position=key_between(await _last_position(session, user_id), None),
    )
    session.add(created)
    await session.flush()
    return created


async def create_list(
    session: AsyncSession, user_id: str, *, name: str, color: str | None = None
) -> TaskList:
    created = await add_list(session, user_id, name=name, color=color)
    await session.commit()
    return created


async def _position_after(session: AsyncSession, user_id: str, after_id: int | None) -> str:
    positions = (
        await session.exec(
            select(TaskList.position, TaskList.id)
            .where(col(TaskList.user_id) == user_id)
            .order_by(col(TaskList.position), col(TaskList.id))
        )
    ).all()
    if after_id is None:
        return key_between(None, positions[0][0] if positions else None)
    index = next((i for i, (_, found) in enumerate(positions) if found == after_id), None)
    if index is None:
        raise _not_found(after_id)
    before = positions[index][0]
    following = next((p for p, _ in positions[index + 1 :] if p > before), None)
    return key_between(before, following)


async def update_list(
    session: AsyncSession,
    found: TaskList,
    *,
    changes: dict[str, object],
    after_id: int | None = None,
    first: bool = False,
) -> TaskList:
    if "name" in changes and found.is_inbox and changes["name"] != found.name:
        raise Conflict("The Inbox cannot be renamed.", code="inbox_fixed")
    for name, value in changes.items():
        setattr(found, name, value)
    if first or after_id is not None:
        if after_id == found.id:
            raise Conflict("A list cannot be placed after itself.", code="bad_position")
        found.position = await _position_after(session, found.user_id, None if first else after_id)
    found.updated_at = utcnow()
    session.add(found)
    await session.commit()
    return found


async def remove(session: AsyncSession, found: TaskList) -> None:
    """Delete a list (its remaining tasks go with it, ON DELETE CASCADE); the caller commits."""
    if found.is_inbox:
        raise Conflict("The Inbox cannot be deleted.", code="inbox_fixed")
    await session.delete(found)
    await session.flush()


async def lists_by_id(session: AsyncSession, user_id: str) -> dict[int, TaskList]:
    result = await session.exec(select(TaskList).where(col(TaskList.user_id) == user_id))
    return {found.id: found for found in result.all() if found.id is not None}
