"""Lists: every user has an Inbox, which always exists, and lists of their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.core import events
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound
from todo.core.ordering import KeyTooLong, key_between, spread
from todo.lists.models import NAME_INDEX, TaskList

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
    await _record(session, inbox, "created")
    return inbox


async def _record(
    session: AsyncSession,
    found: TaskList,
    action: events.Action,
    changes: events.Changes | None = None,
) -> None:
    """The list's event, last before the commit; lists have no version."""
    assert found.id is not None
    await events.record(
        session,
        user_id=found.user_id,
        actor_id=found.user_id,
        resource="list",
        resource_id=found.id,
        action=action,
        list_id=found.id,
        changes=changes,
    )


@accounts.account_created.connect
async def _give_inbox(session: AsyncSession, user_id: str) -> None:
    await add_inbox(session, user_id)


async def inbox(session: AsyncSession, user_id: str) -> TaskList:
    result = await session.exec(
        select(TaskList).where(col(TaskList.user_id) == user_id, col(TaskList.is_inbox))
    )
    found = result.one_or_none()
    return found if found is not None else await add_inbox(session, user_id)


def _name_taken(name: str) -> Conflict:
    return Conflict(f"You already have a list named “{name}”.", code="list_name_taken")


def _same_name(user_id: str, name: str) -> Any:
    # The database's lower(), as in the unique index, so this check and the index agree
    # (SQLite's lower() folds ASCII letters only).
    return (col(TaskList.user_id) == user_id) & (func.lower(col(TaskList.name)) == func.lower(name))


async def find_by_name(session: AsyncSession, user_id: str, name: str) -> TaskList | None:
    result = await session.exec(select(TaskList).where(_same_name(user_id, name)))
    return result.one_or_none()


async def lock_for_delete(session: AsyncSession, found: TaskList) -> None:
    """Hold the list (FOR UPDATE) before its tasks are moved out: writes into it that
    started earlier finish first, and later ones find it gone."""
    assert found.id is not None
    locked = await session.exec(
        select(col(TaskList.id))
        .where(col(TaskList.user_id) == found.user_id, col(TaskList.id) == found.id)
        .with_for_update()
    )
    if locked.one_or_none() is None:
        raise _not_found(found.id)


async def _flush_named(session: AsyncSession, found: TaskList, name: str) -> None:
    """Write a new or renamed list; a parallel request that took the name first is a 409."""
    try:
        # begin_nested() flushes what is already pending outside the savepoint: the name
        # changes inside it, so a unique violation rolls back only the savepoint and the
        # request's transaction stays usable (the web app renders its form again with it).
        async with session.begin_nested():
            found.name = name
            session.add(found)
    except IntegrityError as error:
        if NAME_INDEX not in str(error.orig):
            raise
        raise _name_taken(name) from None


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
    if await find_by_name(session, user_id, name) is not None:
        raise _name_taken(name)
    created = TaskList(
        user_id=user_id,
        name=name,
        color=color,
        position=await _position_last(session, user_id),
    )
    await _flush_named(session, created, name)
    await _record(session, created, "created", {"name": [None, name]})
    return created


async def find_or_add(session: AsyncSession, user_id: str, name: str) -> TaskList:
    """The user's list of this name, added at the end when there is none; the caller
    commits. Parallel callers with one new name all get the one list."""
    found = await find_by_name(session, user_id, name)
    if found is not None:
        return found
    try:
        return await add_list(session, user_id, name=name)
    except Conflict as error:
        if error.code != "list_name_taken":
            raise
    found = await find_by_name(session, user_id, name)
    if found is None:
        # Taken and deleted again in between: a clean refusal rather than a loop.
        raise _name_taken(name)
    return found


async def create_list(
    session: AsyncSession, user_id: str, *, name: str, color: str | None = None
) -> TaskList:
    created = await add_list(session, user_id, name=name, color=color)
    await session.commit()
    return created


async def _position_last(session: AsyncSession, user_id: str) -> str:
    try:
        return key_between(await _last_position(session, user_id), None)
    except KeyTooLong:
        await _respace(session, user_id, moving=None)
        return key_between(await _last_position(session, user_id), None)


async def _respace(session: AsyncSession, user_id: str, *, moving: int | None) -> None:
    """Renumber the user's lists (but the one being moved) in their order with short,
    evenly spaced keys, in the caller's transaction: a move that finds no room between
    two neighbours then succeeds instead of failing."""
    rows = (
        await session.exec(
            select(TaskList.id)
            .where(col(TaskList.user_id) == user_id, col(TaskList.id) != moving)
            .order_by(col(TaskList.position), col(TaskList.id))
        )
    ).all()
    now = utcnow()
    for list_id, key in zip(rows, spread(len(rows)), strict=True):
        await session.exec(
            update(TaskList)
            .where(col(TaskList.user_id) == user_id, col(TaskList.id) == list_id)
            .values(position=key, updated_at=now)
        )
    await session.flush()


async def _position_after(
    session: AsyncSession, user_id: str, after_id: int | None, *, moving: int
) -> str:
    try:
        return await _find_position_after(session, user_id, after_id, moving=moving)
    except KeyTooLong:
        await _respace(session, user_id, moving=moving)
        return await _find_position_after(session, user_id, after_id, moving=moving)


async def _find_position_after(
    session: AsyncSession, user_id: str, after_id: int | None, *, moving: int
) -> str:
    # The moving list's own key is left out: it is about to change, and after a respace
    # it no longer sorts among the others.
    positions = (
        await session.exec(
            select(TaskList.position, TaskList.id)
            .where(col(TaskList.user_id) == user_id, col(TaskList.id) != moving)
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
    new_name = changes.get("name")
    renaming = isinstance(new_name, str) and new_name != found.name
    if renaming:
        other = await find_by_name(session, found.user_id, str(new_name))
        if other is not None and other.id != found.id:
            raise _name_taken(str(new_name))
    diff: events.Changes = {
        name: [getattr(found, name), value]
        for name, value in changes.items()
        if getattr(found, name) != value
    }
    for name, value in changes.items():
        if not (renaming and name == "name"):
            setattr(found, name, value)
    found.updated_at = utcnow()
    if renaming:
        await _flush_named(session, found, str(new_name))
    moving = first or after_id is not None
    if moving:
        if after_id == found.id:
            raise Conflict("A list cannot be placed after itself.", code="bad_position")
        assert found.id is not None
        position = await _position_after(
            session, found.user_id, None if first else after_id, moving=found.id
        )
        diff["position"] = [found.position, position]
        found.position = position
    session.add(found)
    if diff:
        await _record(session, found, "updated" if set(diff) - {"position"} else "moved", diff)
    await session.commit()
    return found


async def remember_sort(session: AsyncSession, found: TaskList, sort: str) -> None:
    """Keep the order the owner chose to see the list in. A way of looking at the list, not
    a change to it: updated_at stays, so nothing syncs the list again for it."""
    if found.sort != sort:
        found.sort = sort
        session.add(found)
        await session.commit()


async def remove(session: AsyncSession, found: TaskList) -> None:
    """Delete a list (its remaining tasks go with it, ON DELETE CASCADE); the caller commits."""
    if found.is_inbox:
        raise Conflict("The Inbox cannot be deleted.", code="inbox_fixed")
    await session.delete(found)
    await session.flush()


async def lists_by_id(session: AsyncSession, user_id: str) -> dict[int, TaskList]:
    result = await session.exec(select(TaskList).where(col(TaskList.user_id) == user_id))
    return {found.id: found for found in result.all() if found.id is not None}
