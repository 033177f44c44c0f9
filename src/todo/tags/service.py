"""Tags: free labels, unique per user regardless of case; a rename shows everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, update
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.errors import NotFound
from todo.core.ids import ID_MAX
from todo.tags.models import Tag, TaskTag


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


async def resolve(session: AsyncSession, user_id: str, names: Sequence[str]) -> list[Tag]:
    """The tags with these names, created when missing; the caller commits."""
    if not names:
        return []
    keys = {name.lower(): name for name in names}
    result = await session.exec(
        select(Tag).where(col(Tag.user_id) == user_id, col(Tag.key).in_(keys))
    )
    found = {tag.key: tag for tag in result.all()}
    for key, name in keys.items():
        if key not in found:
            tag = Tag(user_id=user_id, name=name, key=key)
            session.add(tag)
            found[key] = tag
    await session.flush()
    return [found[key] for key in keys]


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


async def list_tags(session: AsyncSession, user_id: str) -> list[tuple[Tag, int]]:
    """The user's tags by name, each with the number of tasks carrying it."""
    usage = (
        select(col(TaskTag.tag_id), count().label("n"))
        .where(col(TaskTag.user_id) == user_id)
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


async def rename(session: AsyncSession, tag: Tag, name: str) -> Tag:
    """Rename a tag; renaming onto another existing tag merges the two."""
    key = name.lower()
    result = await session.exec(
        select(Tag).where(
            col(Tag.user_id) == tag.user_id, col(Tag.key) == key, col(Tag.id) != tag.id
        )
    )
    target = result.one_or_none()
    if target is None:
        tag.name, tag.key = name, key
        session.add(tag)
        await session.commit()
        return tag
    already = select(col(TaskTag.task_id)).where(col(TaskTag.tag_id) == target.id)
    await session.exec(
        update(TaskTag)
        .where(col(TaskTag.tag_id) == tag.id, col(TaskTag.task_id).not_in(already))
        .values(tag_id=target.id)
    )
    await session.delete(tag)
    target.name = name
    session.add(target)
    await session.commit()
    return target


async def delete_tag(session: AsyncSession, tag: Tag) -> None:
    await session.delete(tag)
    await session.commit()
