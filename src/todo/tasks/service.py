"""Tasks: every query is scoped in SQL by what the caller may see (lists/access.py); each
write commits once. A task's user_id is its list's owner, whoever wrote it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, literal, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.core import events
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from todo.core.idempotency import BeforeCommit
from todo.core.ids import ID_MAX
from todo.core.ordering import KeyTooLong, key_between, spread, time_key
from todo.core.schemas import INSTANT_REASON, instant_in_range
from todo.lists import access
from todo.lists import service as lists
from todo.lists.access import Role, Scope
from todo.lists.models import TaskList
from todo.lists.schemas import DeleteMode
from todo.tags import service as tags
from todo.tags.models import Tag
from todo.tasks import quickadd
from todo.tasks.models import Task
from todo.tasks.query import (
    Page,
    RowPage,
    TaskQuery,
    ancestors,
    build,
    build_counts,
    build_rows,
    child_counts,
    in_trash,
    live,
    page_from,
    row_page_from,
    subtree,
    tag_names,
)
from todo.tasks.recurrence import describe_rule, next_due, shifted_by_gap
from todo.tasks.schemas import (
    PRIORITIES,
    PRIORITY_VALUE,
    PURGE_BATCH,
    SUBTASK_DEPTH,
    TAGS_MAX,
    TRASH_DAYS,
    ChildrenMode,
    TaskCreate,
    TaskUpdate,
)


@dataclass(frozen=True)
class Clock:
    """The owner's time zone and the moment of the request, for due dates and views."""

    tz: ZoneInfo
    now: datetime

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    @classmethod
    def of(cls, timezone: str) -> Clock:
        return cls(tz=ZoneInfo(timezone), now=utcnow())


def task_not_found(task_id: int) -> NotFound:
    return NotFound(f"Task {task_id} was not found.", code="task_not_found")


def _invalid(field: str, reason: str) -> Unprocessable:
    return Unprocessable(
        f"The request is not valid: {field}: {reason}.",
        errors=[{"field": field, "in": "body", "reason": reason}],
    )


# Built once: constructing the clauses and their cache key on every request cost about
# a twentieth of reading one task. A task in the trash is not found, like a missing one.
_ONE_TASK = select(Task).where(
    col(Task.user_id) == bindparam("user_id"),
    col(Task.id) == bindparam("task_id"),
    live(),
)
# The tags joined in: one statement, where the relationship's own loading takes two.
# Not on SQLite, whose planner materializes the nested join over all of task_tags.
_ONE_TASK_WITH_TAGS = _ONE_TASK.options(joinedload(Task.tags))  # type: ignore[arg-type]
# A caller with shared lists also sees the tasks of those lists (access.Scope.visible).
_ONE_VISIBLE_TASK = select(Task).where(
    (col(Task.user_id) == bindparam("user_id"))
    | col(Task.list_id).in_(bindparam("list_ids", expanding=True)),
    col(Task.id) == bindparam("task_id"),
    live(),
)
_ONE_VISIBLE_TASK_WITH_TAGS = _ONE_VISIBLE_TASK.options(
    joinedload(Task.tags)  # type: ignore[arg-type]
)


async def get_task(session: AsyncSession, scope: Scope, task_id: int) -> Task:
    """The task, when the caller sees it; 404 otherwise, whether it is missing or not theirs."""
    joined = session.get_bind().dialect.name == "postgresql"
    params: dict[str, Any] = {"user_id": scope.user_id, "task_id": task_id}
    if scope.shared:
        statement = _ONE_VISIBLE_TASK_WITH_TAGS if joined else _ONE_VISIBLE_TASK
        params["list_ids"] = sorted(scope.shared)
    else:
        statement = _ONE_TASK_WITH_TAGS if joined else _ONE_TASK
    result = await session.exec(statement, params=params)
    task = result.unique().one_or_none()
    if task is None:
        raise task_not_found(task_id)
    return task


async def task_for(session: AsyncSession, scope: Scope, task_id: int, need: Role) -> Task:
    """The task, when the caller sees it (404 otherwise) and their role on its list is at
    least `need` (403 otherwise); a write holds the caller's membership until the commit."""
    task = await get_task(session, scope, task_id)
    await access.confirm(session, scope, task.user_id, task.list_id, need)
    return task


async def list_tasks(session: AsyncSession, scope: Scope, query: TaskQuery) -> Page:
    dialect = session.get_bind().dialect.name
    rows = (await session.exec(build(query, scope, dialect))).all()
    return page_from([(row[0], row[1]) for row in rows], query)


async def list_task_rows(session: AsyncSession, scope: Scope, query: TaskQuery) -> RowPage:
    """The page `list_tasks` finds, as plain rows with tag names, for answers that only
    serialize it: a Task object per row (identity map, instance state, the model's own
    initialization) costs more than the query itself for a page of 50. Run on the session's
    connection, not through the ORM's execution path: column SELECTs need none of it, and
    it cost about a fifth of the request."""
    dialect = session.get_bind().dialect.name
    connection = await session.connection()
    rows: list[Any] = list((await connection.execute(build_rows(query, scope, dialect))).all())
    ids = [row.id for row in rows[: query.limit]]
    names: dict[int, list[str]] = {}
    counted: dict[int, tuple[int, int]] = {}
    if ids:
        for task_id, name in (await connection.execute(tag_names(scope, ids))).all():
            names.setdefault(task_id, []).append(name)
        owners = sorted({row.user_id for row in rows[: query.limit]})
        for parent_id, open_, total in (await connection.execute(child_counts(owners, ids))).all():
            counted[parent_id] = (int(open_), int(total))
    page = row_page_from(rows, names, query)
    assigned = {item["assignee_id"] for item in page.items if item["assignee_id"] is not None}
    if assigned:
        people = await accounts.names(session, assigned)
        for item in page.items:
            someone = item["assignee_id"]
            item["assignee"] = (
                {"id": someone, "name": people[someone]} if someone in people else None
            )
    for item in page.items:
        item["children_open"], item["children_total"] = counted.get(item["id"], (0, 0))
    return page


@dataclass(frozen=True)
class TreeRow:
    """A row of a list shown as a tree: its level (0 on top), the sibling above it (what
    indenting makes its parent) and its parent's parent (where outdenting takes it)."""

    task: Task
    depth: int
    previous_sibling: int | None
    grandparent: int | None


async def with_subtasks(
    session: AsyncSession, page: Sequence[Task], *, status: str = "all"
) -> list[TreeRow]:
    """The page's top-level tasks each followed by its live subtasks, all levels, in the
    list's own order: one query per level (SUBTASK_DEPTH - 1 at most)."""
    children: dict[int, list[Task]] = {}
    parents = [task for task in page if task.id is not None]
    owners = sorted({task.user_id for task in page})
    for _ in range(SUBTASK_DEPTH - 1):
        if not parents:
            break
        statement = (
            select(Task)
            .where(
                col(Task.user_id).in_(owners),
                col(Task.parent_id).in_([task.id for task in parents]),
                live(),
            )
            .order_by(col(Task.position), col(Task.id))
        )
        if status != "all":
            statement = statement.where(col(Task.completed).is_(status == "completed"))
        found = list((await session.exec(statement)).all())
        for child in found:
            assert child.parent_id is not None
            children.setdefault(child.parent_id, []).append(child)
        parents = found
    rows: list[TreeRow] = []

    def walk(siblings: Sequence[Task], depth: int, grandparent: int | None) -> None:
        previous: int | None = None
        for task in siblings:
            assert task.id is not None
            rows.append(TreeRow(task, depth, previous, grandparent))
            walk(children.get(task.id, []), depth + 1, task.parent_id)
            previous = task.id

    walk(page, 0, None)
    return rows


async def progress_of(session: AsyncSession, shown: Sequence[Task]) -> dict[int, tuple[int, int]]:
    """(open, all) subtasks of each of these tasks that has any: one grouped query."""
    ids = [task.id for task in shown if task.id is not None]
    if not ids:
        return {}
    owners = sorted({task.user_id for task in shown})
    rows = (await session.exec(child_counts(owners, ids))).all()
    return {int(row[0]): (int(row[1]), int(row[2])) for row in rows}


async def place_of(session: AsyncSession, task: Task) -> TreeRow:
    """The row of one task drawn again on its own: its depth and its parent's parent (the
    sibling above it is not known without the rest of the list)."""
    if task.parent_id is None or task.id is None:
        return TreeRow(task, 0, None, None)
    chain = [int(i) for i in (await session.exec(ancestors(task.user_id, task.id))).all()]
    return TreeRow(task, len(chain) - 1, None, chain[2] if len(chain) > 2 else None)


async def subtasks_of(session: AsyncSession, task: Task) -> list[Task]:
    """The task's live subtasks (one level), in the list's order."""
    return list(
        (
            await session.exec(
                select(Task)
                .where(
                    col(Task.user_id) == task.user_id,
                    col(Task.parent_id) == task.id,
                    live(),
                )
                .order_by(col(Task.position), col(Task.id))
            )
        ).all()
    )


# Where a write leaves the subtask counts of the task it answers with, read inside its own
# transaction: read after the commit, they would cost the request a second one.
_CHILDREN_KEY = "todo_task_children"


async def children_of(session: AsyncSession, task: Task) -> tuple[int, int]:
    """How many of the task's subtasks are open, and how many it has (trash left out); what
    the last write of this task in the session already counted, if it did."""
    assert task.id is not None
    known: tuple[int, int] | None = session.info.get(_CHILDREN_KEY, {}).get(task.id)
    if known is not None:
        return known
    found = (await session.exec(child_counts([task.user_id], [task.id]))).first()
    if found is None:
        return 0, 0
    return int(found[1]), int(found[2])


async def _count_children_before_commit(session: AsyncSession, task: Task, *, new: bool) -> None:
    assert task.id is not None
    known: dict[int, tuple[int, int]] = session.info.setdefault(_CHILDREN_KEY, {})
    known.pop(task.id, None)
    known[task.id] = (0, 0) if new else await children_of(session, task)


async def _target_list(session: AsyncSession, scope: Scope, list_id: int | None) -> TaskList:
    """The list a task goes into (the caller's Inbox when none), where the caller may edit,
    held until the commit so that it cannot be deleted under the write (the Inbox is never
    deleted)."""
    if list_id is None:
        return await lists.inbox(session, scope.user_id)
    return await access.list_for(session, scope, list_id, Role.editor, lock=True)


def _other_owner() -> Conflict:
    return Conflict(
        "A task cannot move to a list of another owner: create it there instead.",
        code="list_of_another_owner",
    )


async def _same_owner_list(
    session: AsyncSession, scope: Scope, task: Task, list_id: int | None
) -> int:
    # user_id is the shard key and positions are per (owner, list): a task stays with its
    # owner. None is the Inbox of the task's owner, for whoever moves it.
    if list_id is None and task.user_id != scope.user_id:
        found = await lists.inbox(session, task.user_id)
    else:
        found = await _target_list(session, scope, list_id)
    if found.user_id != task.user_id:
        raise _other_owner()
    assert found.id is not None
    return found.id


# Namespaces the task-tree locks among the other advisory locks of the database.
_TREE_LOCK_SEED = 0x7E_0016


async def _lock_trees(session: AsyncSession, list_ids: set[int]) -> None:
    """Hold the trees of these lists until the commit (PostgreSQL; SQLite has one writer):
    re-parentings in a list take turns, so each checks depth and cycles against the trees
    the others committed, and parallel ones can never close a loop. Taken in id order, so
    two writes over the same two lists cannot deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for list_id in sorted(list_ids):
        await session.exec(
            select(
                func.pg_advisory_xact_lock(
                    func.hashtextextended(literal(f"task-tree:{list_id}"), _TREE_LOCK_SEED)
                )
            )
        )


def _bad_parent(reason: str) -> Unprocessable:
    return _invalid("parent_id", reason)


async def _subtree_ids(
    session: AsyncSession, task: Task, *, trashed_at: datetime | None = None
) -> list[tuple[int, int]]:
    assert task.id is not None
    rows = (await session.exec(subtree(task.user_id, task.id, trashed_at=trashed_at))).all()
    return [(int(row[0]), int(row[1])) for row in rows]


async def _check_parent(
    session: AsyncSession, scope: Scope, parent_id: int, *, list_id: int, task: Task | None
) -> None:
    """Refuse (422 on parent_id) a parent the caller cannot see, in another list or in the
    trash, one under `task` itself, or one that would make the tree deeper than allowed.
    Called with the list's tree held (_lock_trees), so it reads what others committed."""
    parent = (
        await session.exec(
            select(Task.user_id, Task.list_id, Task.deleted_at).where(
                scope.visible(col(Task.user_id), col(Task.list_id)), col(Task.id) == parent_id
            )
        )
    ).one_or_none()
    if parent is None:
        raise _bad_parent("not found")
    owner, parent_list, deleted_at = parent
    if deleted_at is not None:
        raise _bad_parent("is in the trash")
    if parent_list != list_id:
        raise _bad_parent("different list")
    chain = [int(i) for i in (await session.exec(ancestors(owner, parent_id))).all()]
    height = 1
    if task is not None:
        if task.id in chain:
            raise _bad_parent("would make a cycle")
        below = await _subtree_ids(session, task)
        height += max((depth for _, depth in below), default=0)
    if len(chain) + height > SUBTASK_DEPTH:
        raise _bad_parent(f"too deep: subtasks go at most {SUBTASK_DEPTH} levels deep")


async def parent_refusal(
    session: AsyncSession, scope: Scope, parent_id: int, *, list_id: int, task: Task | None
) -> str | None:
    """Why `parent_id` cannot be the parent of `task` (None for a new task) in the list, or
    None when it can: for doors that drop a parent they cannot place rather than refuse the
    write (CalDAV, .ics imports). It reads without the list's tree held: the write checks
    again under it, so a parallel re-parenting can still make the write refuse (422)."""
    try:
        await _check_parent(session, scope, parent_id, list_id=list_id, task=task)
    except Unprocessable as error:
        return str((error.errors or [{}])[0].get("reason", error.detail))
    return None


async def _move_subtree(session: AsyncSession, task: Task, target: int) -> None:
    """Take the task's live subtasks, all levels, along to the list `target`."""
    below = [task_id for task_id, _ in await _subtree_ids(session, task)]
    if not below:
        return
    await session.exec(
        update(Task)
        .where(col(Task.user_id) == task.user_id, col(Task.id).in_(below))
        .values(list_id=target, version=col(Task.version) + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


_OUTSIDE_THE_CALENDAR = "falls outside the years 1 to 9999 in the account's time zone"


def _local_day(moment: datetime, tz: ZoneInfo, field: str) -> date:
    try:
        return moment.astimezone(tz).date()
    except OverflowError:  # 9999-12-31T23:00Z is already the year 10000 in Berlin
        raise _invalid(field, _OUTSIDE_THE_CALENDAR) from None


def _due_fields(due_date: date | None, due_at: datetime | None, clock_: Clock) -> dict[str, Any]:
    if due_at is not None:
        return {"due_at": due_at, "due_date": _local_day(due_at, clock_.tz, "due_at")}
    return {"due_at": None, "due_date": due_date}


async def create_task(
    session: AsyncSession,
    scope: Scope,
    data: TaskCreate,
    *,
    clock_: Clock,
    before_commit: BeforeCommit[Task] | None = None,
) -> Task:
    """Create a task; `before_commit` sees it complete and may add rows to the same commit."""
    found = await _target_list(session, scope, data.list_id)
    assert found.id is not None
    target, user_id = found.id, found.user_id
    due = _due_fields(data.due_date, data.due_at, clock_)
    if data.rrule and due["due_date"] is None:
        raise _invalid("rrule", "a recurring task needs a due date or due time")
    assignee = await _assignee(session, found, data.assignee_id)
    if data.parent_id is not None:
        await _lock_trees(session, {target})
        await _check_parent(session, scope, data.parent_id, list_id=target, task=None)
    now = clock_.now
    task = Task(
        parent_id=data.parent_id,
        user_id=user_id,
        list_id=target,
        position=time_key(),
        title=data.title,
        description=data.description,
        priority=PRIORITY_VALUE[data.priority],
        remind_at=data.remind_at,
        rrule=data.rrule,
        recurrence_mode=data.recurrence_mode,
        series_id=str(uuid4()) if data.rrule else None,
        assignee_id=data.assignee_id,
        created_at=now,
        updated_at=now,
        **due,
    )
    session.add(task)
    await session.flush()
    set_committed_value(task, "assignee", assignee)
    assert task.id is not None
    # The answer shows the tags (and recurrence reads them): the ones just linked are
    # the task's, so they are set on it rather than read back.
    linked = await tags.set_task_tags(session, user_id, task.id, data.tags, new=True)
    set_committed_value(task, "tags", linked)
    if data.completed:
        await _complete(session, task, clock_)
    # Before the idempotency record: see events.record() on what may follow the event.
    await _record(session, task, "created")
    if before_commit is not None:
        await session.flush()
        await before_commit(task)
    await session.flush()
    await _count_children_before_commit(session, task, new=True)
    await session.commit()
    return task


async def _record(
    session: AsyncSession,
    task: Task,
    action: events.Action,
    changes: events.Changes | None = None,
) -> None:
    """The task's event, last before the commit. Its actor is whoever the request acts for
    (events.acting_for), the owner when nobody said. A deleted task has no version any more."""
    assert task.id is not None
    await events.record(
        session,
        user_id=task.user_id,
        actor_id=task.user_id,
        resource="task",
        resource_id=task.id,
        action=action,
        list_id=task.list_id,
        version=None if action == "deleted" else task.version,
        changes=changes,
    )


def _check_version(task: Task, if_match: int | None) -> None:
    if if_match is not None and if_match != task.version:
        raise PreconditionFailed(
            f"Task {task.id} has changed (now version {task.version}); reload it and retry.",
            code="version_mismatch",
        )


def _edit_conflict(task_id: int | None) -> Conflict:
    return Conflict(
        f"Task {task_id} was changed by another request at the same time; reload and retry.",
        code="edit_conflict",
    )


@asynccontextmanager
async def _one_writer(session: AsyncSession, task_id: int | None) -> AsyncIterator[None]:
    """Turn a lost version check into a 409, wherever in the write it shows: an autoflush
    before a query (completing a recurring task reads its series) writes the row too."""
    try:
        yield
    except StaleDataError:
        await session.rollback()
        raise _edit_conflict(task_id) from None


async def _save(
    session: AsyncSession, task: Task, action: events.Action, changes: events.Changes
) -> Task:
    # Read before the commit: after a rollback the object is expired, and loading it
    # again would be I/O outside the async bridge.
    task_id = task.id
    task.updated_at = utcnow()
    session.add(task)
    async with _one_writer(session, task_id):
        # Flushed first, so the event carries the version the write gave the task.
        await session.flush()
        await _record(session, task, action, changes)
        await _count_children_before_commit(session, task, new=False)
        await session.commit()
    return task


async def _complete(session: AsyncSession, task: Task, clock_: Clock) -> None:
    """Mark done; a recurring task gets its next occurrence, once per occurrence."""
    task.completed = True
    task.completed_at = clock_.now
    if task.rrule and task.series_id and task.due_date is not None:
        await _spawn_next(session, task, clock_)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


async def _previous_due(session: AsyncSession, task: Task) -> datetime | None:
    """The timed due of the series' latest occurrence before `task`, if one is left."""
    result = await session.exec(
        select(Task.due_at)
        .where(
            col(Task.user_id) == task.user_id,
            col(Task.series_id) == task.series_id,
            col(Task.occurrence) < task.occurrence,
            live(),
        )
        .order_by(col(Task.occurrence).desc())
        .limit(1)
    )
    return result.first()


async def _spawn_next(session: AsyncSession, task: Task, clock_: Clock) -> None:
    assert task.rrule is not None
    assert task.due_date is not None
    later = await session.exec(
        select(count())
        .select_from(Task)
        .where(
            col(Task.user_id) == task.user_id,
            col(Task.series_id) == task.series_id,
            col(Task.occurrence) > task.occurrence,
            # A next occurrence in the trash is gone as far as its owner can see: completing
            # this one again makes a new one.
            live(),
        )
    )
    if later.one():
        return
    current: date | datetime = task.due_at if task.due_at is not None else task.due_date
    previous = None
    if task.due_at is not None and shifted_by_gap(task.due_at, clock_.tz):
        previous = await _previous_due(session, task)
    following = next_due(
        task.rrule,
        series_start=current,
        current_due=current,
        completed_at=clock_.now,
        occurrence=task.occurrence,
        mode="completion" if task.recurrence_mode == "completion" else "due",
        tz=clock_.tz,
        previous_due=previous,
    )
    # An occurrence past the instants the API accepts would be one its owner could not send
    # back: the series ends there, as at the end of the calendar.
    if following is None or (
        isinstance(following, datetime) and instant_in_range(following) is None
    ):
        return
    if isinstance(following, datetime):
        due = _due_fields(None, following, clock_)
        start_old = current
        start_new: datetime = following
    else:
        due = _due_fields(following, None, clock_)
        start_old = _local_midnight(task.due_date, clock_.tz)
        start_new = _local_midnight(following, clock_.tz)
    assert isinstance(start_old, datetime)
    remind_at = None
    if task.remind_at is not None:
        try:
            remind_at = instant_in_range(start_new + (task.remind_at - start_old))
        except OverflowError:  # a reminder after the year 9999 cannot be kept
            remind_at = None
    successor = Task(
        user_id=task.user_id,
        list_id=task.list_id,
        position=time_key(),
        title=task.title,
        description=task.description,
        priority=task.priority,
        remind_at=remind_at,
        rrule=task.rrule,
        recurrence_mode=task.recurrence_mode,
        series_id=task.series_id,
        occurrence=task.occurrence + 1,
        created_at=clock_.now,
        updated_at=clock_.now,
        **due,
    )
    session.add(successor)
    await session.flush()
    assert successor.id is not None
    names = [tag.name for tag in task.tags]
    if names:
        await tags.set_task_tags(session, task.user_id, successor.id, names, new=True)
    await _record(session, successor, "created")
    await _copy_subtree(session, task, successor, clock_)


async def _copy_subtree(session: AsyncSession, task: Task, successor: Task, clock_: Clock) -> None:
    """A recurring task's next occurrence gets its subtasks back, open: copies of the live
    ones, all levels, with their titles, descriptions, priorities and tags (no dates: those
    belonged to the occurrence done)."""
    below = await _subtree_ids(session, task)
    if not below:
        return
    assert task.id is not None
    assert successor.id is not None
    originals = {
        each.id: each
        for each in (
            await session.exec(
                select(Task).where(
                    col(Task.user_id) == task.user_id,
                    col(Task.id).in_([i for i, _ in below]),
                )
            )
        ).all()
    }
    copied: dict[int, int] = {task.id: successor.id}
    for child_id, _ in below:  # by depth: a parent is copied before its children
        original = originals[child_id]
        assert original.parent_id is not None
        copy = Task(
            user_id=original.user_id,
            list_id=successor.list_id,
            parent_id=copied[original.parent_id],
            position=original.position,
            title=original.title,
            description=original.description,
            priority=original.priority,
            created_at=clock_.now,
            updated_at=clock_.now,
        )
        session.add(copy)
        await session.flush()
        assert copy.id is not None
        copied[child_id] = copy.id
        names = [tag.name for tag in original.tags]
        if names:
            await tags.set_task_tags(session, copy.user_id, copy.id, names, new=True)
        await _record(session, copy, "created")


async def update_task(
    session: AsyncSession,
    task: Task,
    data: TaskUpdate,
    *,
    clock_: Clock,
    scope: Scope,
    if_match: int | None = None,
    children: ChildrenMode | None = None,
) -> Task:
    """Change the fields sent. Completing a task with open subtasks needs `children`
    (see set_completed)."""
    _check_version(task, if_match)
    async with _one_writer(session, task.id):
        return await _update(session, task, data, clock_=clock_, scope=scope, children=children)


async def reschedule(
    session: AsyncSession,
    task: Task,
    day: date,
    *,
    clock_: Clock,
    scope: Scope,
    if_match: int | None = None,
) -> Task:
    """Move the task to another day, at the time of day it had on the caller's clock when
    it has one: the calendar's drag. One occurrence of a series moves alone, as an edit of
    its due date does; the reminder stays where it was set."""
    if task.due_at is None:
        data = TaskUpdate(due_date=day)
    else:
        wall = task.due_at.astimezone(clock_.tz).time()
        moment = datetime.combine(day, wall, tzinfo=clock_.tz)
        if instant_in_range(moment) is None:
            raise _invalid("date", INSTANT_REASON)
        data = TaskUpdate(due_at=moment)
    return await update_task(session, task, data, clock_=clock_, scope=scope, if_match=if_match)


async def _regraft(
    session: AsyncSession, scope: Scope, task: Task, changes: dict[str, Any]
) -> None:
    """Check a new parent, and take the subtree along to a new list: a subtask moved to
    another list on its own becomes a top-level task there."""
    target = changes.get("list_id", task.list_id)
    moving = target != task.list_id
    if "parent_id" not in changes and not moving:
        return
    await _lock_trees(session, {task.list_id, target})
    if changes.get("parent_id") is not None:
        await _check_parent(session, scope, changes["parent_id"], list_id=target, task=task)
    elif moving and "parent_id" not in changes:
        changes["parent_id"] = None
    if moving:
        await _move_subtree(session, task, target)


async def _update(
    session: AsyncSession,
    task: Task,
    data: TaskUpdate,
    *,
    clock_: Clock,
    scope: Scope,
    children: ChildrenMode | None = None,
) -> Task:
    changes = data.model_dump(exclude_unset=True)
    # What the event says changed, old and new, from the values in hand.
    diff: events.Changes = {}
    if "tags" in changes:
        assert task.id is not None
        wanted = changes.pop("tags")
        if sorted(t.lower() for t in wanted) != sorted(t.key for t in task.tags):
            old_names = [tag.name for tag in task.tags]
            # Set on the task, not read back: the answer and a next occurrence show them.
            linked = await tags.set_task_tags(session, task.user_id, task.id, wanted)
            set_committed_value(task, "tags", linked)
            diff["tags"] = events.change(old_names, [tag.name for tag in linked])
    if "list_id" in changes:
        changes["list_id"] = await _same_owner_list(session, scope, task, changes["list_id"])
    await _assign(session, task, changes, diff)
    await _regraft(session, scope, task, changes)
    if "priority" in changes:
        changes["priority"] = PRIORITY_VALUE[changes["priority"]]
    if "due_at" in changes or "due_date" in changes:
        # A client echoing a timed task sends both; then due_at decides and the day follows.
        due_at = changes.get("due_at", task.due_at if "due_date" not in changes else None)
        changes.update(_due_fields(changes.get("due_date"), due_at, clock_))
    if "remind_at" in changes and changes["remind_at"] != task.remind_at:
        changes["reminder_dismissed"] = False
    completing = changes.pop("completed", None)
    for name, value in changes.items():
        old = getattr(task, name)
        if old != value:
            setattr(task, name, value)
            diff[name] = _change(name, old, value)
    if task.rrule and task.due_date is None:
        raise _invalid("rrule", "a recurring task needs a due date or due time")
    if task.rrule and task.series_id is None:
        task.series_id = str(uuid4())
    if completing is not None and completing != task.completed:
        if completing:
            await _settle_children(session, task, children, clock_)
        diff["completed"] = [task.completed, completing]
        await _set_state(session, task, completing, clock_)
    if not diff:
        return task
    return await _save(session, task, "updated", diff)


def _not_member() -> Unprocessable:
    return _invalid("assignee_id", "not a member of this list")


async def _assignee(session: AsyncSession, found: TaskList, user_id: str | None) -> User | None:
    """The account a task of this list may be assigned to: its owner or a member (422
    otherwise, whether or not such an account exists)."""
    if user_id is None:
        return None
    assert found.id is not None
    if user_id != found.user_id and await access.member(session, found.id, user_id) is None:
        raise _not_member()
    user = await accounts.get_user(session, user_id)
    if user is None:
        raise _not_member()
    return user


async def _assign(
    session: AsyncSession, task: Task, changes: dict[str, Any], diff: events.Changes
) -> None:
    """Apply an assignee change, or a move's: a task moved to a list where its assignee is
    not a member loses the assignee (the answer then shows null). Consumes `assignee_id`
    from `changes`; the old and new values go into `diff`."""
    target = changes.get("list_id", task.list_id)
    asked = "assignee_id" in changes
    wanted = changes.pop("assignee_id") if asked else task.assignee_id
    if wanted is not None and not asked and target == task.list_id:
        return
    user: User | None = None
    if wanted is not None:
        found = await session.get(TaskList, target)
        assert found is not None
        try:
            user = await _assignee(session, found, wanted)
        except Unprocessable:
            if asked:
                raise
    new = None if user is None else user.id
    if new != task.assignee_id:
        diff["assignee_id"] = [task.assignee_id, new]
        task.assignee_id = new
        set_committed_value(task, "assignee", user)


async def unassign_member(session: AsyncSession, list_id: int, user_id: str) -> None:
    """Clear a removed member's assignments in a list, in the removal's transaction (the
    caller commits); each cleared task records the change."""
    found = (
        await session.exec(
            select(Task)
            .where(col(Task.list_id) == list_id, col(Task.assignee_id) == user_id)
            .with_for_update()
        )
    ).all()
    for task in found:
        task.assignee_id = None
        task.updated_at = utcnow()
        set_committed_value(task, "assignee", None)
        session.add(task)
    await session.flush()
    for task in found:
        await _record(session, task, "updated", {"assignee_id": [user_id, None]})


def _change(name: str, old: Any, new: Any) -> list[Any]:
    # Priorities as the API names them, not as they are stored.
    if name == "priority":
        return [PRIORITIES[old], PRIORITIES[new]]
    return events.change(old, new)


async def _set_state(session: AsyncSession, task: Task, completed: bool, clock_: Clock) -> None:
    if completed:
        await _complete(session, task, clock_)
    else:
        task.completed = False
        task.completed_at = None


async def set_completed(
    session: AsyncSession,
    task: Task,
    completed: bool | None,
    *,
    clock_: Clock,
    if_match: int | None = None,
    children: ChildrenMode | None = None,
) -> Task:
    """Set the completion state; None toggles it. Completing a task with open subtasks
    needs `children`: "complete" completes them (all levels) in the same write, "keep"
    leaves them open; without it the completion is refused, 409 open_children, so that a
    client asks its user."""
    _check_version(task, if_match)
    target = (not task.completed) if completed is None else completed
    if target == task.completed:
        return task
    task_id, user_id = task.id, task.user_id
    assert task_id is not None
    try:
        async with _one_writer(session, task_id):
            if target:
                await _settle_children(session, task, children, clock_)
            await _set_state(session, task, target, clock_)
            return await _save(
                session,
                task,
                "completed" if target else "uncompleted",
                {"completed": [not target, target]},
            )
    except Conflict as error:
        if error.code == "open_children":
            raise
        # Setting a state is idempotent: losing to a request that set the same state is
        # success. A toggle, or a write conditional on a version, did not happen.
        if completed is None or if_match is not None:
            raise
        current = await get_task(session, access.own(user_id), task_id)
        if current.completed != target:
            raise
        return current


def open_children(task_id: int | None, count_: int) -> Conflict:
    return Conflict(
        f"Task {task_id} has {count_} open subtask{'s' if count_ != 1 else ''}: say "
        "children=complete to complete them too, or children=keep to leave them open.",
        code="open_children",
        errors=[
            {
                "field": "children",
                "in": "query",
                "reason": "required: the task has open subtasks",
                "open_children": count_,
            }
        ],
    )


async def _settle_children(
    session: AsyncSession, task: Task, mode: ChildrenMode | None, clock_: Clock
) -> None:
    """Before a task is completed: its open subtasks are refused, kept or completed. The
    task's own pending changes are not flushed by these reads: it is written once, with
    one new version."""
    if mode == "keep":
        return
    with session.no_autoflush:
        await _settle_open_children(session, task, mode, clock_)


async def _settle_open_children(
    session: AsyncSession, task: Task, mode: ChildrenMode | None, clock_: Clock
) -> None:
    open_, _ = await children_of(session, task)
    if not open_:
        return
    if mode is None:
        raise open_children(task.id, open_)
    below = [task_id for task_id, _ in await _subtree_ids(session, task)]
    # Completed as they are: a recurring subtask makes no next occurrence of its own here
    # (a recurring parent's next occurrence brings its subtasks back).
    still_open = (
        await session.exec(
            select(Task.id, Task.version, Task.list_id).where(
                col(Task.user_id) == task.user_id,
                col(Task.id).in_(below),
                col(Task.completed).is_(False),
            )
        )
    ).all()
    if not still_open:
        return
    await session.exec(
        update(Task)
        .where(col(Task.user_id) == task.user_id, col(Task.id).in_([r[0] for r in still_open]))
        .values(
            completed=True,
            completed_at=clock_.now,
            updated_at=clock_.now,
            version=col(Task.version) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    for child_id, version, list_id in still_open:
        await _record_other(
            session,
            task.user_id,
            child_id,
            list_id,
            "completed",
            version + 1,
            {"completed": [False, True]},
        )


async def _record_other(
    session: AsyncSession,
    user_id: str,
    task_id: int | None,
    list_id: int,
    action: events.Action,
    version: int | None,
    changes: events.Changes | None,
) -> None:
    """The event of a subtask a write to its parent changed along with it."""
    assert task_id is not None
    await events.record(
        session,
        user_id=user_id,
        actor_id=user_id,
        resource="task",
        resource_id=task_id,
        action=action,
        list_id=list_id,
        version=version,
        changes=changes,
    )


async def delete_task(session: AsyncSession, task: Task, *, if_match: int | None = None) -> None:
    """Move a task to the trash: one conditional UPDATE, so of parallel deletes (or a delete
    racing an edit) exactly one wins and the others are a 409."""
    _check_version(task, if_match)
    now = utcnow()
    result = await session.exec(
        update(Task)
        .where(
            col(Task.user_id) == task.user_id,
            col(Task.id) == task.id,
            col(Task.version) == task.version,
            live(),
        )
        .values(deleted_at=now, updated_at=now, version=col(Task.version) + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        task_id = task.id
        await session.rollback()
        raise _edit_conflict(task_id)
    # Its subtasks, all levels, go with it at the same moment: restoring it brings back
    # those, and not the ones deleted before on their own.
    await _trash_subtree(session, task, now)
    # The title stays in the history of a task that is gone.
    await _record(session, task, "deleted", {"title": [task.title, None]})
    await session.commit()


async def _trash_subtree(session: AsyncSession, task: Task, now: datetime) -> None:
    below = [task_id for task_id, _ in await _subtree_ids(session, task)]
    if not below:
        return
    rows = (
        await session.exec(
            select(Task.id, Task.list_id, Task.title).where(
                col(Task.user_id) == task.user_id, col(Task.id).in_(below)
            )
        )
    ).all()
    await session.exec(
        update(Task)
        .where(col(Task.user_id) == task.user_id, col(Task.id).in_(below), live())
        .values(deleted_at=now, updated_at=now, version=col(Task.version) + 1)
        .execution_options(synchronize_session=False)
    )
    for child_id, list_id, title in rows:
        await _record_other(
            session, task.user_id, child_id, list_id, "deleted", None, {"title": [title, None]}
        )


TRASH_SORT = "deleted"


def _check_row_id(task_id: int) -> None:
    # A web page's path takes any number; one past BIGINT would fail in the database.
    if not 1 <= task_id <= ID_MAX:
        raise _not_in_trash(task_id)


def _not_in_trash(task_id: int) -> NotFound:
    return NotFound(f"Task {task_id} is not in the trash.", code="task_not_found")


def trash_scope(scope: Scope) -> Scope:
    """Whose deleted tasks the caller sees in the trash and may restore: their own, and
    those of the lists shared with them as an editor or more (who may delete them too)."""
    shared = {list_id: role for list_id, role in scope.shared.items() if role >= Role.editor}
    owners = {list_id: scope.owners[list_id] for list_id in shared if list_id in scope.owners}
    return Scope(user_id=scope.user_id, shared=shared, owners=owners)


async def _trashed_owner(session: AsyncSession, scope: Scope, task_id: int, now: datetime) -> str:
    """The owner of a task in the caller's trash (404 when it is in none they see); for a
    shared list's task the member's row is held until the commit (access.confirm)."""
    _check_row_id(task_id)
    found = (
        await session.exec(
            select(Task.user_id, Task.list_id).where(
                trash_scope(scope).visible(col(Task.user_id), col(Task.list_id)),
                col(Task.id) == task_id,
                in_trash(now),
            )
        )
    ).one_or_none()
    if found is None:
        raise _not_in_trash(task_id)
    owner, list_id = found
    await access.confirm(session, scope, owner, list_id, Role.editor)
    return owner


async def restore_task(session: AsyncSession, scope: Scope, task_id: int, *, now: datetime) -> Task:
    """Bring a task back from the trash with its id, list, position and tags.

    One UPDATE that only matches a task still in the trash: of parallel restores (a double
    click on Undo) one brings it back and the others find nothing to restore, a 404. Its
    list is always there: deleting a list moves its trashed tasks to the Inbox with the
    others, or deletes them with it."""
    user_id = await _trashed_owner(session, scope, task_id, now)
    trashed_at = (
        await session.exec(
            select(Task.deleted_at).where(
                col(Task.user_id) == user_id, col(Task.id) == task_id, in_trash(now)
            )
        )
    ).first()
    result = await session.exec(
        update(Task)
        .where(col(Task.user_id) == user_id, col(Task.id) == task_id, in_trash(now))
        .values(deleted_at=None, updated_at=now, version=col(Task.version) + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0 or trashed_at is None:
        await session.rollback()
        raise _not_in_trash(task_id)
    restored = (
        await session.exec(
            _ONE_TASK.execution_options(populate_existing=True),
            params={"user_id": user_id, "task_id": task_id},
        )
    ).one()
    # A subtask whose parent is not back (still in the trash, or gone) comes back on top.
    if restored.parent_id is not None:
        parent_live = (
            await session.exec(
                select(Task.id).where(
                    col(Task.user_id) == user_id, col(Task.id) == restored.parent_id, live()
                )
            )
        ).first()
        if parent_live is None:
            restored.parent_id = None
            session.add(restored)
            await session.flush()
    # The subtasks that went to the trash with it come back with it.
    below = await _subtree_ids(session, restored, trashed_at=trashed_at)
    if below:
        ids = [child_id for child_id, _ in below]
        await session.exec(
            update(Task)
            .where(col(Task.user_id) == user_id, col(Task.id).in_(ids))
            .values(deleted_at=None, updated_at=now, version=col(Task.version) + 1)
            .execution_options(synchronize_session=False)
        )
        rows = (
            await session.exec(
                select(Task.id, Task.list_id, Task.version).where(
                    col(Task.user_id) == user_id, col(Task.id).in_(ids)
                )
            )
        ).all()
        for child_id, list_id, version in rows:
            await _record_other(session, user_id, child_id, list_id, "restored", version, None)
    await _record(session, restored, "restored")
    await session.commit()
    return restored


async def list_trash(
    session: AsyncSession,
    scope: Scope,
    *,
    now: datetime,
    limit: int,
    after: tuple[Any, int] | None = None,
) -> Page:
    """The trash, newest deletion first, paged by a keyset cursor like the task list."""
    query = TaskQuery(sort=TRASH_SORT, order="desc", limit=limit, after=after, now=now, trash=True)
    return await list_tasks(session, trash_scope(scope), query)


async def delete_forever(
    session: AsyncSession, scope: Scope, task_id: int, *, now: datetime
) -> None:
    """Delete one task of the trash for good (its tag links go with it), and the subtasks
    that went to the trash with it."""
    user_id = await _trashed_owner(session, scope, task_id, now)
    found = (
        await session.exec(
            select(Task).where(col(Task.user_id) == user_id, col(Task.id) == task_id, in_trash(now))
        )
    ).first()
    below = (
        []
        if found is None or found.deleted_at is None
        else [i for i, _ in await _subtree_ids(session, found, trashed_at=found.deleted_at)]
    )
    result = await session.exec(
        delete(Task).where(
            col(Task.user_id) == user_id,
            col(Task.id).in_([task_id, *below]),
            in_trash(now),
        )
    )
    if result.rowcount == 0:
        await session.rollback()
        raise _not_in_trash(task_id)
    await session.commit()


async def empty_trash(session: AsyncSession, user_id: str) -> int:
    """Delete every task of the user's trash for good; how many there were."""
    result = await session.exec(
        delete(Task).where(col(Task.user_id) == user_id, col(Task.deleted_at).is_not(None))
    )
    await session.commit()
    return int(result.rowcount)


async def purge_trash(session: AsyncSession, now: datetime, *, batch: int = PURGE_BATCH) -> int:
    """Delete for good up to `batch` tasks of every user that have been in the trash longer
    than TRASH_DAYS at `now`; how many. Call it again while it returns `batch`: each call is
    one short transaction. The tasks are already out of their owners' view (in_trash)."""
    cutoff = now - timedelta(days=TRASH_DAYS)
    expired = (
        select(Task.id)
        .where(col(Task.deleted_at).is_not(None), col(Task.deleted_at) <= cutoff)
        .order_by(col(Task.deleted_at), col(Task.id))
        .limit(batch)
    )
    result = await session.exec(delete(Task).where(col(Task.id).in_(expired.scalar_subquery())))
    await session.commit()
    return int(result.rowcount)


async def move_task(
    session: AsyncSession,
    task: Task,
    *,
    scope: Scope,
    list_id: int | None,
    after_id: int | None,
    if_match: int | None = None,
) -> Task:
    """Place a task right after another one of the same list (first when none)."""
    _check_version(task, if_match)
    target = await _same_owner_list(session, scope, task, list_id) if list_id else task.list_id
    async with _one_writer(session, task.id):
        detached_from = None
        if target != task.list_id:
            changes: dict[str, Any] = {"list_id": target}
            await _regraft(session, scope, task, changes)
            if task.parent_id is not None:
                detached_from, task.parent_id = task.parent_id, None
        return await _move(
            session, task, target=target, after_id=after_id, detached_from=detached_from
        )


async def _move(
    session: AsyncSession,
    task: Task,
    *,
    target: int,
    after_id: int | None,
    detached_from: int | None = None,
) -> Task:
    if after_id == task.id:
        raise _invalid("after_id", "a task cannot be placed after itself")
    # Trashed tasks are no neighbours: a task is placed between the ones its owner sees.
    in_list = select(Task.position, Task.id).where(
        col(Task.user_id) == task.user_id,
        col(Task.list_id) == target,
        col(Task.id) != task.id,
        live(),
    )
    before: str | None = None
    if after_id is not None:
        anchor = (await session.exec(in_list.where(col(Task.id) == after_id))).one_or_none()
        if anchor is None:
            raise task_not_found(after_id)
        before = anchor[0]
        following = in_list.where(
            (col(Task.position) > before)
            | ((col(Task.position) == before) & (col(Task.id) > after_id))
        )
    else:
        following = in_list
    nxt = (
        await session.exec(following.order_by(col(Task.position), col(Task.id)).limit(1))
    ).one_or_none()
    after = nxt[0] if nxt is not None else None
    if before is not None and after is not None and before >= after:
        # Two rows share a key (concurrent appends): spread the list out once.
        await _respace(session, task.user_id, target, moving=task.id)
        return await _move(
            session, task, target=target, after_id=after_id, detached_from=detached_from
        )
    try:
        position = key_between(before, after)
    except KeyTooLong:
        # Many moves between the same two neighbours used up the room: spread the list
        # out in this transaction and place the task again.
        await _respace(session, task.user_id, target, moving=task.id)
        return await _move(
            session, task, target=target, after_id=after_id, detached_from=detached_from
        )
    diff: events.Changes = {"position": [task.position, position]}
    if target != task.list_id:
        diff["list_id"] = [task.list_id, target]
        await _assign(session, task, {"list_id": target}, diff)
        if detached_from is not None:
            diff["parent_id"] = [detached_from, None]
    task.list_id = target
    task.position = position
    return await _save(session, task, "moved", diff)


async def _respace(
    session: AsyncSession, user_id: str, list_id: int, *, moving: int | None
) -> None:
    # Trashed tasks are respaced with the others, on purpose: each keeps its place between
    # the same neighbours, so a restore puts it back where it was.
    rows = (
        await session.exec(
            select(Task.id)
            .where(
                col(Task.user_id) == user_id, col(Task.list_id) == list_id, col(Task.id) != moving
            )
            .order_by(col(Task.position), col(Task.id))
        )
    ).all()
    for task_id, key in zip(rows, spread(len(rows)), strict=True):
        await session.exec(
            update(Task)
            .where(col(Task.user_id) == user_id, col(Task.id) == task_id)
            .values(position=key, version=col(Task.version) + 1)
        )
    await session.flush()


async def due_reminders(session: AsyncSession, user_id: str, *, now: datetime) -> Sequence[Task]:
    result = await session.exec(
        select(Task)
        .where(
            col(Task.user_id) == user_id,
            col(Task.remind_at) <= now,
            col(Task.reminder_dismissed).is_(False),
            col(Task.completed).is_(False),
            live(),
        )
        .order_by(col(Task.remind_at), col(Task.id))
        .limit(100)
    )
    return result.all()


async def open_due_by(
    session: AsyncSession, user_id: str, day: date, *, limit: int = 50
) -> Sequence[Task]:
    """Open tasks due on `day` or before (overdue), oldest due first: the daily digest."""
    result = await session.exec(
        select(Task)
        .where(
            col(Task.user_id) == user_id,
            col(Task.completed).is_(False),
            col(Task.due_date) <= day,
        )
        .order_by(col(Task.due_date), col(Task.due_at), col(Task.id))
        .limit(limit)
    )
    return result.all()


async def dismiss_reminder(session: AsyncSession, task: Task) -> Task:
    if task.reminder_dismissed:
        return task
    task.reminder_dismissed = True
    return await _save(session, task, "updated", {"reminder_dismissed": [False, True]})


@dataclass(frozen=True)
class Preview:
    parsed: quickadd.QuickAdd
    recurrence: str | None


def preview(text: str, *, clock_: Clock) -> Preview:
    try:
        parsed = quickadd.parse(text, now=clock_.now, tz=clock_.tz)
    except ValueError as error:
        raise _invalid("text", str(error)) from None
    except OverflowError:
        # A wall time on the first or last day Python knows, past its end once in UTC.
        raise _invalid("text", f"the due time {INSTANT_REASON}") from None
    if parsed.due_at is not None and instant_in_range(parsed.due_at) is None:
        raise _invalid("text", f"the due time {INSTANT_REASON}")
    if len(parsed.tags) > TAGS_MAX:
        raise _invalid("text", f"a task can have at most {TAGS_MAX} tags")
    return Preview(parsed=parsed, recurrence=describe_rule(parsed.rrule) if parsed.rrule else None)


async def quick_add(
    session: AsyncSession,
    scope: Scope,
    text: str,
    *,
    clock_: Clock,
    list_id: int | None = None,
    tags: Sequence[str] = (),
    due_date: date | None = None,
    parent_id: int | None = None,
    before_commit: BeforeCommit[Task] | None = None,
) -> Task:
    """Create a task from one line of natural language (see quickadd.py).

    list_id, tags and due_date are what the task gets where the line says nothing of its
    own: a +List, a #tag or a date in the text wins."""
    parsed = preview(text, clock_=clock_).parsed
    if not parsed.title:
        raise _invalid("text", "there is no title left once the date and markers are taken out")
    if parsed.list_name:
        # +Name is one of the caller's own lists (created when missing), as before sharing.
        list_id = (await lists.find_or_add(session, scope.user_id, parsed.list_name)).id
    title, assignee_id = await _mentioned(session, scope, list_id, parsed.title)
    if not title:
        raise _invalid("text", "there is no title left once the date and markers are taken out")
    data = TaskCreate(
        assignee_id=assignee_id,
        title=title[:200],
        list_id=list_id,
        priority=parsed.priority or "none",
        tags=list(parsed.tags or tags),
        due_date=parsed.due_date if parsed.due_date or parsed.due_at else due_date,
        due_at=parsed.due_at,
        rrule=parsed.rrule,
        parent_id=parent_id,
    )
    return await create_task(session, scope, data, clock_=clock_, before_commit=before_commit)


_MENTION = re.compile(r"(?<!\S)@([^\s@]+)")


async def _mentioned(
    session: AsyncSession, scope: Scope, list_id: int | None, title: str
) -> tuple[str, str | None]:
    """Quick add's @name: the first one that names exactly one person of the target list (by
    name, first name or the part of the email before the @, in any case) assigns the task to
    them and leaves the title; one that names nobody stays in the title as written."""
    mentions = list(_MENTION.finditer(title))
    if not mentions:
        return title, None
    found = await _target_list(session, scope, list_id)
    assert found.id is not None
    people = await accounts.users_by_id(
        session,
        [found.user_id, *(row.user_id for row in await access.members_of(session, found.id))],
    )
    for mention in mentions:
        wanted = mention.group(1).lower()
        matching = [
            person
            for person in people.values()
            if wanted
            in {
                person.name.lower(),
                person.name.lower().replace(" ", ""),
                (person.name.split() or [""])[0].lower(),
                person.email.split("@")[0].lower(),
            }
        ]
        if len(matching) == 1:
            rest = title[: mention.start()] + title[mention.end() :]
            return " ".join(rest.split()), matching[0].id
    return title, None


async def lists_with_counts(session: AsyncSession, scope: Scope) -> list[tuple[TaskList, int]]:
    """Every list the caller sees with its number of open tasks: their own (the Inbox
    first, in their order), then those shared with them, by name."""
    found = [
        *await lists.list_lists(session, scope.user_id),
        *await access.shared_lists(session, scope),
    ]
    counts = dict(
        (
            await session.exec(
                select(col(Task.list_id), count())
                .where(
                    scope.visible(col(Task.user_id), col(Task.list_id)),
                    col(Task.completed).is_(False),
                    live(),
                )
                .group_by(col(Task.list_id))
            )
        ).all()
    )
    return [(each, counts.get(each.id or 0, 0)) for each in found]


async def delete_list(session: AsyncSession, found: TaskList, *, tasks: DeleteMode) -> None:
    """Delete a list; its tasks move to the Inbox or are deleted with it. Its tasks in the
    trash go the same way: moved, they can still be restored (into the Inbox)."""
    if not found.is_inbox:
        # Before the tasks are moved out: a task written into the list after the move and
        # before the DELETE would go with the list (ON DELETE CASCADE).
        await lists.lock_for_delete(session, found)
    if tasks == "move" and not found.is_inbox:
        inbox = await lists.inbox(session, found.user_id)
        await session.exec(
            update(Task)
            .where(col(Task.user_id) == found.user_id, col(Task.list_id) == found.id)
            .values(list_id=inbox.id, version=col(Task.version) + 1, updated_at=utcnow())
        )
    list_id, name = found.id, found.name
    assert list_id is not None
    await lists.remove(session, found)
    await events.record(
        session,
        user_id=found.user_id,
        actor_id=found.user_id,
        resource="list",
        resource_id=list_id,
        action="deleted",
        list_id=list_id,
        changes={"name": [name, None], "tasks": [None, tasks]},
    )
    await session.commit()


@accounts.timezone_changed.connect
async def retime_due_dates(session: AsyncSession, user_id: str, tz: ZoneInfo) -> None:
    """After a time zone change, re-derive the calendar day of every timed due; no commit.
    Trashed tasks too: restored, they show on the right day in the new zone."""
    timed = (
        await session.exec(
            select(Task.id, Task.due_at).where(
                col(Task.user_id) == user_id, col(Task.due_at).is_not(None)
            )
        )
    ).all()
    for task_id, due_at in timed:
        assert due_at is not None
        await session.exec(
            update(Task)
            .where(col(Task.user_id) == user_id, col(Task.id) == task_id)
            .values(due_date=_local_day(due_at, tz, "timezone"), version=col(Task.version) + 1)
        )


@dataclass(frozen=True)
class TaskCounts:
    open: int
    completed: int


async def count_matching(session: AsyncSession, scope: Scope, query: TaskQuery) -> TaskCounts:
    """How many open and completed tasks a view's query finds, whatever its status filter."""
    dialect = session.get_bind().dialect.name
    found: dict[bool, int] = dict((await session.exec(build_counts(query, scope, dialect))).all())
    return TaskCounts(open=found.get(False, 0), completed=found.get(True, 0))


async def count_tasks(session: AsyncSession, scope: Scope) -> TaskCounts:
    """How many open and completed tasks the caller sees."""
    result = await session.exec(
        select(col(Task.completed), count())
        .where(scope.visible(col(Task.user_id), col(Task.list_id)), live())
        .group_by(col(Task.completed))
    )
    found = dict(result.all())
    return TaskCounts(open=found.get(False, 0), completed=found.get(True, 0))


async def tags_with_counts(session: AsyncSession, user_id: str) -> list[tuple[Tag, int]]:
    """The user's tags, each with the number of tasks carrying it, trashed ones left out
    (tags cannot see tasks, so tasks names the ones not to count)."""
    trashed = select(col(Task.id)).where(
        col(Task.user_id) == user_id, col(Task.deleted_at).is_not(None)
    )
    return await tags.list_tags(session, user_id, uncounted=trashed)


async def hand_over(session: AsyncSession, found: TaskList, new_owner: str) -> list[int]:
    """Give a shared list to one of its members, with all its tasks (their tags mapped by
    name onto the new owner's); the old owner stays on as an admin. Returns the ids of the
    tasks handed over, for what else is stored under their owner; the caller commits."""
    old_owner = found.user_id
    assert found.id is not None
    await lists.lock_for_delete(session, found)
    task_ids = [
        task_id
        for task_id in (
            await session.exec(
                select(Task.id).where(col(Task.user_id) == old_owner, col(Task.list_id) == found.id)
            )
        ).all()
        if task_id is not None
    ]
    await access.hand_over_list(session, found, new_owner)
    await tags.hand_over_links(session, old_owner, new_owner, task_ids)
    await session.exec(
        update(Task)
        .where(col(Task.user_id) == old_owner, col(Task.list_id) == found.id)
        .values(user_id=new_owner, version=col(Task.version) + 1, updated_at=utcnow())
    )
    return task_ids


async def tasks_of_list(
    session: AsyncSession, scope: Scope, list_id: int, *, ids: Sequence[int] | None = None
) -> Sequence[Task]:
    """Every live task of a list the caller sees (or those of `ids` in it), oldest first:
    a calendar's whole content, as CalDAV reads it. The caller checked the list."""
    query = select(Task).where(
        scope.visible(col(Task.user_id), col(Task.list_id)), col(Task.list_id) == list_id, live()
    )
    if ids is not None:
        query = query.where(col(Task.id).in_(sorted(set(ids))))
    result = await session.exec(query.order_by(col(Task.id)))
    return result.all()


async def tasks_by_id(session: AsyncSession, owner: str, ids: Sequence[int]) -> dict[int, Task]:
    """An owner's tasks by id, those in the trash included (a sync reports them gone)."""
    if not ids:
        return {}
    result = await session.exec(
        select(Task).where(col(Task.user_id) == owner, col(Task.id).in_(sorted(set(ids))))
    )
    return {task.id: task for task in result.all() if task.id is not None}


async def touch_task(session: AsyncSession, task: Task) -> Task:
    """A change to the task that none of its fields show (a CalDAV client's own property):
    a new version and an event, so that every client sees it changed; commits."""
    return await _save(session, task, "updated", {})


async def next_in_series(
    session: AsyncSession, owner: str, series_id: str | None, occurrence: int
) -> Task | None:
    """The live occurrence right after `occurrence` of a series, if there is one."""
    if series_id is None:
        return None
    result = await session.exec(
        select(Task)
        .where(
            col(Task.user_id) == owner,
            col(Task.series_id) == series_id,
            col(Task.occurrence) > occurrence,
            live(),
        )
        .order_by(col(Task.occurrence))
        .limit(1)
    )
    return result.first()
