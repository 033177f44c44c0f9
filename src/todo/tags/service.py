"""Tags: free labels, unique per user regardless of case; a rename shows everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core import events
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound
from todo.core.ids import ID_MAX
from todo.tags.models import Tag, TaskTag


async def _record(
    session: AsyncSession, tag: Tag, action: events.Action, changes: events.Changes
) -> None:
    """The tag's event, last before the commit. A tag belongs to no list."""
    assert tag.id is not None
    await events.record(
        session,
        user_id=tag.user_id,
        actor_id=tag.user_id,
        resource="tag",
        resource_id=tag.id,
        action=action,
        changes=changes,
    )


def _not_found(tag_id: int) -> NotFound:
    return NotFound(f"Tag {tag_id} was not found.", code="tag_not_found")


async def get_tag(session: AsyncSession, user_id: str, tag_id: int) -> Tag:
    if not 1 <= tag_id <= ID_MAX:
        raise _not_found(tag_id)
    result = await session.exec(
        select(Tag).where(col(Tag.user_id) == user_id, col(Tag.id) == tag_id)
    )
    found = result.one_or_none()
    if found is None:
        raise _not_found(tag_id)
    return found


# A tag deleted between our insert and our lock is inserted again; twice in a row is a
# user deleting tags as fast as they are made, answered with a 409.
_RESOLVE_ATTEMPTS = 3


async def resolve(session: AsyncSession, user_id: str, names: Sequence[str]) -> list[Tag]:
    """The tags with these names, created when missing; the caller commits.

    Parallel requests with one new name all get the one tag: the insert skips names that
    exist (waiting, on PostgreSQL, for a parallel insert of the same name to commit), and
    the tags are then held (FOR KEY SHARE) so that they cannot be deleted before the
    links to them are written."""
    if not names:
        return []
    keys = {name.lower(): name for name in names}
    dialect = session.get_bind().dialect.name
    statement = postgresql_insert(Tag) if dialect == "postgresql" else sqlite_insert(Tag)
    for _ in range(_RESOLVE_ATTEMPTS):
        result = await session.exec(
            select(Tag)
            .where(col(Tag.user_id) == user_id, col(Tag.key).in_(keys))
            .with_for_update(key_share=True)
        )
        found = {tag.key: tag for tag in result.all()}
        # In key order: two requests inserting the same new names in opposite orders
        # would otherwise each wait for the other's uncommitted row (a deadlock).
        missing = [
            {"user_id": user_id, "name": keys[key], "key": key, "created_at": utcnow()}
            for key in sorted(keys.keys() - found.keys())
        ]
        if not missing:
            return [found[key] for key in keys]
        await session.exec(
            statement.on_conflict_do_nothing(index_elements=["user_id", "key"]),
            params=missing,
        )
    raise Conflict(
        "These tags were deleted while the task was saved; try again.", code="tag_conflict"
    )


async def set_task_tags(
    session: AsyncSession, user_id: str, task_id: int, names: Sequence[str], *, new: bool = False
) -> list[Tag]:
    """Make the task's tags exactly these, and return them; the caller commits. A `new`
    task has no tag links yet, so there is nothing to delete first."""
    tags = await resolve(session, user_id, names)
    if not new:
        await session.exec(
            delete(TaskTag).where(col(TaskTag.user_id) == user_id, col(TaskTag.task_id) == task_id)
        )
    if tags:
        await session.exec(
            insert(TaskTag),
            params=[{"task_id": task_id, "tag_id": tag.id, "user_id": user_id} for tag in tags],
        )
    return tags


async def list_tags(
    session: AsyncSession, user_id: str, *, uncounted: Select[Any]
) -> list[tuple[Tag, int]]:
    """The user's tags by name, each with the number of tasks carrying it, leaving out the
    tasks whose ids `uncounted` selects (the tasks domain passes its trash: tags know
    nothing of tasks, so the caller says which links do not count)."""
    usage = (
        select(col(TaskTag.tag_id), count().label("n"))
        .where(col(TaskTag.user_id) == user_id, col(TaskTag.task_id).not_in(uncounted))
        .group_by(col(TaskTag.tag_id))
        .subquery()
    )
    result = await session.exec(
        select(Tag, usage.c.n)
        .outerjoin(usage, usage.c.tag_id == col(Tag.id))
        .where(col(Tag.user_id) == user_id)
        .order_by(col(Tag.key))
    )
    return [(tag, n or 0) for tag, n in result.all()]


async def _lock_pair(
    session: AsyncSession, user_id: str, tag_id: int, key: str
) -> tuple[Tag | None, Tag | None]:
    """The tag being renamed and the one already holding the new name, locked FOR UPDATE
    in one statement in id order, so two renames onto each other cannot deadlock."""
    result = await session.exec(
        select(Tag)
        .where(col(Tag.user_id) == user_id, (col(Tag.id) == tag_id) | (col(Tag.key) == key))
        .order_by(col(Tag.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = result.all()
    return (
        next((row for row in rows if row.id == tag_id), None),
        next((row for row in rows if row.id != tag_id), None),
    )


async def rename(session: AsyncSession, tag: Tag, name: str) -> Tag:
    """Rename a tag; renaming onto another existing tag merges the two."""
    # Read up front: a rolled-back savepoint expires the object.
    user_id, tag_id, key = tag.user_id, tag.id, name.lower()
    assert tag_id is not None
    for _ in range(2):
        source, target = await _lock_pair(session, user_id, tag_id, key)
        if source is None:
            raise _not_found(tag_id)
        if target is not None:
            return await _merge(session, source, target, name)
        old_name = source.name
        try:
            # A parallel rename onto the same new name may commit first: then merge.
            async with session.begin_nested():
                source.name, source.key = name, key
                session.add(source)
        except IntegrityError:
            continue
        if old_name != name:
            await _record(session, source, "updated", {"name": [old_name, name]})
        await session.commit()
        return source
    raise Conflict(f"Tag {tag_id} was changed at the same time; retry.", code="edit_conflict")


async def _merge(session: AsyncSession, tag: Tag, target: Tag, name: str) -> Tag:
    already = select(col(TaskTag.task_id)).where(col(TaskTag.tag_id) == target.id)
    await session.exec(
        update(TaskTag)
        .where(col(TaskTag.tag_id) == tag.id, col(TaskTag.task_id).not_in(already))
        .values(tag_id=target.id)
    )
    merged: events.Changes = {"name": [tag.name, name], "id": [tag.id, target.id]}
    await session.delete(tag)
    target.name = name
    session.add(target)
    # On the tag that went: its id is what clients hold; `id` says where its tasks are now.
    await _record(session, tag, "merged", merged)
    await session.commit()
    return target


async def delete_tag(session: AsyncSession, tag: Tag) -> None:
    # By statement, so that a parallel delete that won is a 404 here, not a silent 204.
    result = await session.exec(
        delete(Tag).where(col(Tag.user_id) == tag.user_id, col(Tag.id) == tag.id)
    )
    if result.rowcount == 0:
        raise _not_found(tag.id or 0)
    await _record(session, tag, "deleted", {"name": [tag.name, None]})
    await session.commit()


async def hand_over_links(
    session: AsyncSession, old_owner: str, new_owner: str, task_ids: Sequence[int]
) -> None:
    """Tasks change owner: their tags become the new owner's tags of the same names
    (created when missing); the old owner's tags stay, with fewer tasks. The caller commits."""
    if not task_ids:
        return
    links = (
        await session.exec(
            select(col(TaskTag.task_id), col(Tag.name))
            .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
            .where(col(TaskTag.user_id) == old_owner, col(TaskTag.task_id).in_(task_ids))
        )
    ).all()
    if not links:
        return
    await session.exec(
        delete(TaskTag).where(col(TaskTag.user_id) == old_owner, col(TaskTag.task_id).in_(task_ids))
    )
    resolved = {tag.key: tag for tag in await resolve(session, new_owner, [n for _, n in links])}
    await session.exec(
        insert(TaskTag),
        params=[
            {"task_id": task_id, "tag_id": resolved[name.lower()].id, "user_id": new_owner}
            for task_id, name in links
        ],
    )
