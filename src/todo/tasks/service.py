"""Tasks: every query is scoped by owner in SQL; each write commits once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound, PreconditionFailed
from todo.tasks.models import Task
from todo.tasks.query import Page, TaskQuery, keyset_condition, order_by, page_from
from todo.tasks.schemas import TaskCreate, TaskUpdate


def _not_found(task_id: int) -> NotFound:
    return NotFound(f"Task {task_id} was not found.", code="task_not_found")


async def get_task(session: AsyncSession, user_id: str, task_id: int) -> Task:
    result = await session.exec(
        select(Task).where(col(Task.user_id) == user_id, col(Task.id) == task_id)
    )
    task = result.one_or_none()
    if task is None:
        raise _not_found(task_id)
    return task


async def list_tasks(session: AsyncSession, user_id: str, query: TaskQuery) -> Page:
    statement = select(Task).where(col(Task.user_id) == user_id)
    if query.status != "all":
        statement = statement.where(col(Task.completed) == (query.status == "completed"))
    if query.after is not None:
        statement = statement.where(keyset_condition(query))
    statement = statement.order_by(*order_by(query)).limit(query.limit + 1)
    rows = list((await session.exec(statement)).all())
    return page_from(rows, query)


async def create_task(session: AsyncSession, user_id: str, data: TaskCreate) -> Task:
    now = utcnow()
    task = Task(
        user_id=user_id,
        title=data.title,
        description=data.description,
        completed=data.completed,
        completed_at=now if data.completed else None,
        due_date=data.due_date,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.commit()
    return task


def _check_version(task: Task, if_match: int | None) -> None:
    if if_match is not None and if_match != task.version:
        raise PreconditionFailed(
            f"Task {task.id} has changed (now version {task.version}); reload it and retry.",
            code="version_mismatch",
        )


def _apply(task: Task, changes: dict[str, Any]) -> bool:
    changed = False
    for name, value in changes.items():
        if getattr(task, name) != value:
            setattr(task, name, value)
            changed = True
    if "completed" in changes and changed:
        task.completed_at = utcnow() if task.completed else None
    return changed


async def _save(session: AsyncSession, task: Task) -> Task:
    task.updated_at = utcnow()
    session.add(task)
    try:
        await session.commit()
    except StaleDataError:
        await session.rollback()
        raise Conflict(
            f"Task {task.id} was changed by another request at the same time; reload and retry.",
            code="edit_conflict",
        ) from None
    return task


async def update_task(
    session: AsyncSession, task: Task, data: TaskUpdate, *, if_match: int | None = None
) -> Task:
    _check_version(task, if_match)
    if not _apply(task, data.model_dump(exclude_unset=True)):
        return task
    return await _save(session, task)


async def set_completed(
    session: AsyncSession, task: Task, completed: bool | None, *, if_match: int | None = None
) -> Task:
    """Set the completion state; None toggles it."""
    _check_version(task, if_match)
    target = (not task.completed) if completed is None else completed
    if not _apply(task, {"completed": target}):
        return task
    return await _save(session, task)


async def delete_task(session: AsyncSession, task: Task, *, if_match: int | None = None) -> None:
    _check_version(task, if_match)
    result = await session.exec(
        delete(Task).where(
            col(Task.user_id) == task.user_id,
            col(Task.id) == task.id,
            col(Task.version) == task.version,
        )
    )
    if result.rowcount == 0:
        await session.rollback()
        raise Conflict(
            f"Task {task.id} was changed by another request at the same time; reload and retry.",
            code="edit_conflict",
        )
    await session.commit()
