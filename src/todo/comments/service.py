"""Comments: read by every member of the task's list, written by editors and above.

The task is found through the access layer first (tasks.task_for), and a comment is then
looked up under that task and its owner in SQL: a comment id of another task, or of a task
the caller cannot see, is the same 404 as a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.comments.models import Comment
from todo.comments.schemas import Author, CommentRead
from todo.core import events
from todo.core.db import utcnow
from todo.core.errors import Forbidden, NotFound
from todo.core.ids import ID_MAX
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.tasks.models import Task


@dataclass(frozen=True)
class CommentPage:
    items: list[CommentRead]
    # The `after` of the next page, None on the last one.
    next_after: int | None


def _not_found(comment_id: int) -> NotFound:
    return NotFound(f"Comment {comment_id} was not found.", code="comment_not_found")


def _not_author() -> Forbidden:
    return Forbidden("Only the author may change this comment.", code="not_author")


async def _read(session: AsyncSession, rows: list[Comment]) -> list[CommentRead]:
    names = await accounts.names(session, {r.author_id for r in rows if r.author_id})
    return [
        CommentRead(
            id=row.id or 0,
            task_id=row.task_id,
            author_id=row.author_id,
            author=Author(id=row.author_id, name=names[row.author_id])
            if row.author_id in names and row.author_id is not None
            else None,
            body=row.body,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


async def comments(
    session: AsyncSession, task: Task, *, after: int | None, limit: int
) -> CommentPage:
    """The task's comments, oldest first, keyset-paged by id."""
    query = select(Comment).where(col(Comment.user_id) == task.user_id, Comment.task_id == task.id)
    if after is not None:
        query = query.where(col(Comment.id) > after)
    rows = list((await session.exec(query.order_by(col(Comment.id)).limit(limit + 1))).all())
    more = len(rows) > limit
    items = await _read(session, rows[:limit])
    return CommentPage(items=items, next_after=items[-1].id if more else None)


async def _record(
    session: AsyncSession,
    task: Task,
    comment: Comment,
    action: events.Action,
    changes: events.Changes,
) -> None:
    assert comment.id is not None
    await events.record(
        session,
        user_id=task.user_id,
        actor_id=task.user_id,
        resource="comment",
        resource_id=comment.id,
        action=action,
        list_id=task.list_id,
        changes=changes,
    )


async def add(session: AsyncSession, scope: Scope, task: Task, body: str) -> CommentRead:
    """The caller's comment on a task they may edit (the route's dependency checked it)."""
    assert task.id is not None
    now = utcnow()
    comment = Comment(
        user_id=task.user_id,
        task_id=task.id,
        author_id=scope.user_id,
        body=body,
        created_at=now,
        updated_at=now,
    )
    session.add(comment)
    await session.flush()
    await _record(session, task, comment, "created", {"task_id": [None, task.id]})
    (read,) = await _read(session, [comment])
    await session.commit()
    return read


async def _comment(
    session: AsyncSession, task: Task, comment_id: int, *, for_update: bool = True
) -> Comment:
    if not 1 <= comment_id <= ID_MAX:
        raise _not_found(comment_id)
    query = select(Comment).where(
        col(Comment.user_id) == task.user_id,
        col(Comment.task_id) == task.id,
        col(Comment.id) == comment_id,
    )
    found = (await session.exec(query.with_for_update() if for_update else query)).one_or_none()
    if found is None:
        raise _not_found(comment_id)
    return found


async def comment(session: AsyncSession, task: Task, comment_id: int) -> CommentRead:
    """One comment of a task the caller sees."""
    (read,) = await _read(session, [await _comment(session, task, comment_id, for_update=False)])
    return read


async def editable(session: AsyncSession, scope: Scope, task: Task, comment_id: int) -> CommentRead:
    """The caller's own comment, to draw its edit form: what `edit` would refuse is refused
    here already (a viewer, someone else's comment)."""
    access.check_role(scope.role_on(task.user_id, task.list_id) or Role.viewer, Role.editor)
    read = await comment(session, task, comment_id)
    if read.author_id != scope.user_id:
        raise _not_author()
    return read


async def edit(
    session: AsyncSession, scope: Scope, task: Task, comment_id: int, body: str
) -> CommentRead:
    """A new text for the caller's own comment."""
    comment = await _comment(session, task, comment_id)
    if comment.author_id != scope.user_id:
        raise _not_author()
    old = comment.body
    if old != body:
        comment.body = body
        comment.updated_at = utcnow()
        session.add(comment)
        await _record(session, task, comment, "updated", {"body": [old, body]})
    (read,) = await _read(session, [comment])
    await session.commit()
    return read


async def remove(session: AsyncSession, scope: Scope, task: Task, comment_id: int) -> None:
    """The author deletes their comment; the list's admins and its owner delete any."""
    comment = await _comment(session, task, comment_id)
    if comment.author_id != scope.user_id:
        # The role as held for this write (re-read, not the request's first view of it).
        role = await access.confirm(session, scope, task.user_id, task.list_id, Role.editor)
        if role < Role.admin:
            raise _not_author()
    result = await session.exec(delete(Comment).where(col(Comment.id) == comment_id))
    if not result.rowcount:
        raise _not_found(comment_id)
    await _record(session, task, comment, "deleted", {"task_id": [task.id, None]})
    await session.commit()


async def hand_over(
    session: AsyncSession, old_owner: str, new_owner: str, task_ids: Sequence[int]
) -> None:
    """Tasks changed owner: their comments are stored under the new one (the shard key,
    and what a task's comments are looked up by). The caller commits."""
    if task_ids:
        await session.exec(
            update(Comment)
            .where(col(Comment.user_id) == old_owner, col(Comment.task_id).in_(task_ids))
            .values(user_id=new_owner)
        )
