"""Tasks: every query is scoped in SQL by what the caller may see (lists/access.py); each
write commits once. A task's user_id is its list's owner, whoever wrote it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
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
    build,
    build_counts,
    build_rows,
    in_trash,
    live,
    page_from,
    row_page_from,
    tag_names,
)
from todo.tasks.recurrence import describe_rule, next_due, shifted_by_gap
from todo.tasks.schemas import (
    PRIORITIES,
    PRIORITY_VALUE,
    PURGE_BATCH,
    TAGS_MAX,
    TRASH_DAYS,
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


def _not_found(task_id: int) -> NotFound:
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
        raise _not_found(task_id)
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
    if ids:
        for task_id, name in (await connection.execute(tag_names(scope, ids))).all():
            names.setdefault(task_id, []).append(name)
    return row_page_from(rows, names, query)


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
    now = clock_.now
    task = Task(
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
        created_at=now,
        updated_at=now,
        **due,
    )
    session.add(task)
    await session.flush()
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


async def update_task(
    session: AsyncSession,
    task: Task,
    data: TaskUpdate,
    *,
    clock_: Clock,
    scope: Scope,
    if_match: int | None = None,
) -> Task:
    _check_version(task, if_match)
    async with _one_writer(session, task.id):
        return await _update(session, task, data, clock_=clock_, scope=scope)


async def _update(
    session: AsyncSession, task: Task, data: TaskUpdate, *, clock_: Clock, scope: Scope
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
        diff["completed"] = [task.completed, completing]
        await _set_state(session, task, completing, clock_)
    if not diff:
        return task
    return await _save(session, task, "updated", diff)


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
) -> Task:
    """Set the completion state; None toggles it."""
    _check_version(task, if_match)
    target = (not task.completed) if completed is None else completed
    if target == task.completed:
        return task
    task_id, user_id = task.id, task.user_id
    assert task_id is not None
    try:
        async with _one_writer(session, task_id):
            await _set_state(session, task, target, clock_)
            return await _save(
                session,
                task,
                "completed" if target else "uncompleted",
                {"completed": [not target, target]},
            )
    except Conflict:
        # Setting a state is idempotent: losing to a request that set the same state is
        # success. A toggle, or a write conditional on a version, did not happen.
        if completed is None or if_match is not None:
            raise
        current = await get_task(session, access.own(user_id), task_id)
        if current.completed != target:
            raise
        return current


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
    # The title stays in the history of a task that is gone.
    await _record(session, task, "deleted", {"title": [task.title, None]})
    await session.commit()


TRASH_SORT = "deleted"


def _check_row_id(task_id: int) -> None:
    # A web page's path takes any number; one past BIGINT would fail in the database.
    if not 1 <= task_id <= ID_MAX:
        raise _not_in_trash(task_id)


def _not_in_trash(task_id: int) -> NotFound:
    return NotFound(f"Task {task_id} is not in the trash.", code="task_not_found")


async def restore_task(session: AsyncSession, user_id: str, task_id: int, *, now: datetime) -> Task:
    """Bring a task back from the trash with its id, list, position and tags.

    One UPDATE that only matches a task still in the trash: of parallel restores (a double
    click on Undo) one brings it back and the others find nothing to restore, a 404. Its
    list is always there: deleting a list moves its trashed tasks to the Inbox with the
    others, or deletes them with it."""
    _check_row_id(task_id)
    result = await session.exec(
        update(Task)
        .where(col(Task.user_id) == user_id, col(Task.id) == task_id, in_trash(now))
        .values(deleted_at=None, updated_at=now, version=col(Task.version) + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        await session.rollback()
        raise _not_in_trash(task_id)
    restored = (
        await session.exec(
            _ONE_TASK.execution_options(populate_existing=True),
            params={"user_id": user_id, "task_id": task_id},
        )
    ).one()
    await _record(session, restored, "restored")
    await session.commit()
    return restored


async def list_trash(
    session: AsyncSession,
    user_id: str,
    *,
    now: datetime,
    limit: int,
    after: tuple[Any, int] | None = None,
) -> Page:
    """The trash, newest deletion first, paged by a keyset cursor like the task list."""
    query = TaskQuery(sort=TRASH_SORT, order="desc", limit=limit, after=after, now=now, trash=True)
    # One's own trash: a shared list's deleted tasks are in its owner's.
    return await list_tasks(session, access.own(user_id), query)


async def delete_forever(
    session: AsyncSession, user_id: str, task_id: int, *, now: datetime
) -> None:
    """Delete one task of the trash for good (its tag links go with it)."""
    _check_row_id(task_id)
    result = await session.exec(
        delete(Task).where(col(Task.user_id) == user_id, col(Task.id) == task_id, in_trash(now))
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
        return await _move(session, task, target=target, after_id=after_id)


async def _move(session: AsyncSession, task: Task, *, target: int, after_id: int | None) -> Task:
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
            raise _not_found(after_id)
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
        return await _move(session, task, target=target, after_id=after_id)
    try:
        position = key_between(before, after)
    except KeyTooLong:
        # Many moves between the same two neighbours used up the room: spread the list
        # out in this transaction and place the task again.
        await _respace(session, task.user_id, target, moving=task.id)
        return await _move(session, task, target=target, after_id=after_id)
    diff: events.Changes = {"position": [task.position, position]}
    if target != task.list_id:
        diff["list_id"] = [task.list_id, target]
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
    data = TaskCreate(
        title=parsed.title[:200],
        list_id=list_id,
        priority=parsed.priority or "none",
        tags=list(parsed.tags or tags),
        due_date=parsed.due_date if parsed.due_date or parsed.due_at else due_date,
        due_at=parsed.due_at,
        rrule=parsed.rrule,
    )
    return await create_task(session, scope, data, clock_=clock_, before_commit=before_commit)


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


async def hand_over(session: AsyncSession, found: TaskList, new_owner: str) -> None:
    """Give a shared list to one of its members, with all its tasks (their tags mapped by
    name onto the new owner's), in one transaction; the old owner stays on as an admin."""
    old_owner = found.user_id
    assert found.id is not None
    await lists.lock_for_delete(session, found)
    task_ids = list(
        (
            await session.exec(
                select(Task.id).where(col(Task.user_id) == old_owner, col(Task.list_id) == found.id)
            )
        ).all()
    )
    await access.hand_over_list(session, found, new_owner)
    await tags.hand_over_links(session, old_owner, new_owner, [i for i in task_ids if i])
    await session.exec(
        update(Task)
        .where(col(Task.user_id) == old_owner, col(Task.list_id) == found.id)
        .values(user_id=new_owner, version=col(Task.version) + 1, updated_at=utcnow())
    )
    await session.commit()


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
