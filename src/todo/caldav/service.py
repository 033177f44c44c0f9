"""CalDAV's data: calendars are lists, objects are tasks, through the shared access layer.

Every look-up goes through lists.access (the caller's scope) and the tasks service; the
tables of this domain hold only what CalDAV adds: the client's names, UIDs and objects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import icalendar
from pydantic import ValidationError
from sqlalchemy import func, literal
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.caldav import ical
from todo.caldav.models import CalendarCollection, CalendarObject
from todo.core import events
from todo.core.errors import AppError, BadRequest, Conflict, Forbidden, NotFound
from todo.lists import access
from todo.lists import service as lists
from todo.lists.access import Role, Scope
from todo.lists.models import TaskList
from todo.lists.schemas import ListCreate, ListUpdate
from todo.tasks import service as tasks
from todo.tasks.models import Task
from todo.tasks.recurrence import next_due
from todo.tasks.schemas import TaskCreate, TaskUpdate

# The name a task made elsewhere is served under (its UID is ical.default_uid).
_DEFAULT_NAME = re.compile(r"task-([0-9]{1,19})\.ics")
_DEFAULT_UID = re.compile(r"todo-task-([0-9]{1,19})")
_ID_SEGMENT = re.compile(r"[0-9]{1,19}")
SYNC_PREFIX = "http://todo.invalid/ns/sync/"
_IN = 500


def default_name(task_id: int) -> str:
    return f"task-{task_id}.ics"


@dataclass(frozen=True)
class Calendar:
    found: TaskList
    segment: str
    role: Role

    @property
    def list_id(self) -> int:
        assert self.found.id is not None
        return self.found.id


@dataclass(frozen=True)
class Item:
    task: Task
    stored: CalendarObject | None
    # The UID of the task's parent, which its RELATED-TO names.
    parent_uid: str | None = None

    @property
    def name(self) -> str:
        assert self.task.id is not None
        return self.stored.href if self.stored else default_name(self.task.id)

    @property
    def uid(self) -> str:
        assert self.task.id is not None
        return self.stored.uid if self.stored else ical.default_uid(self.task.id)

    @property
    def etag(self) -> str:
        return f'"{self.task.id}-{self.task.version}"'

    def render(self, tz: ZoneInfo) -> bytes:
        return bytes(self.calendar(tz).to_ical())

    def calendar(self, tz: ZoneInfo) -> icalendar.Calendar:
        return ical.render_calendar(
            self.task,
            stored=self.stored.ical if self.stored else None,
            uid=self.uid,
            tz=tz,
            parent_uid=self.parent_uid,
            stored_parent_uid=self.stored.parent_uid if self.stored else None,
        )


def not_found() -> NotFound:
    return NotFound("No such calendar or calendar object.", code="dav_not_found")


async def _segments(session: AsyncSession, list_ids: Sequence[int]) -> dict[int, str]:
    if not list_ids:
        return {}
    rows = await session.exec(
        select(CalendarCollection).where(col(CalendarCollection.list_id).in_(sorted(list_ids)))
    )
    return {row.list_id: row.name for row in rows.all()}


async def calendars(session: AsyncSession, scope: Scope) -> list[Calendar]:
    """Every list the caller sees: theirs, then those shared with them."""
    own = list(await lists.list_lists(session, scope.user_id))
    shared = list(await access.shared_lists(session, scope))
    names = await _segments(session, [found.id for found in own + shared if found.id])
    made = []
    for found in own + shared:
        assert found.id is not None
        role = scope.role_on(found.user_id, found.id)
        if role is not None:
            made.append(Calendar(found, names.get(found.id, str(found.id)), role))
    return made


async def calendar(session: AsyncSession, scope: Scope, segment: str) -> Calendar:
    """The calendar at this path segment (a list id, or the name a client gave it); 404
    when the caller does not see it."""
    list_id: int | None = None
    named = (
        await session.exec(
            select(CalendarCollection).where(
                col(CalendarCollection.user_id) == scope.user_id,
                col(CalendarCollection.name) == segment,
            )
        )
    ).one_or_none()
    if named is not None:
        list_id = named.list_id
    elif _ID_SEGMENT.fullmatch(segment):
        list_id = int(segment)
    if list_id is None:
        raise not_found()
    try:
        found = await access.list_for(session, scope, list_id, Role.viewer)
    except NotFound:
        raise not_found() from None
    role = scope.role_on(found.user_id, list_id)
    assert role is not None
    names = await _segments(session, [list_id])
    return Calendar(found, names.get(list_id, str(list_id)), role)


async def _stored(
    session: AsyncSession, owner: str, task_ids: Sequence[int]
) -> dict[int, CalendarObject]:
    found: dict[int, CalendarObject] = {}
    ordered = sorted(set(task_ids))
    for start in range(0, len(ordered), _IN):
        rows = await session.exec(
            select(CalendarObject).where(
                col(CalendarObject.user_id) == owner,
                col(CalendarObject.task_id).in_(ordered[start : start + _IN]),
            )
        )
        found.update((row.task_id, row) for row in rows.all())
    return found


async def items(
    session: AsyncSession, scope: Scope, where: Calendar, *, ids: Sequence[int] | None = None
) -> list[Item]:
    found = await tasks.tasks_of_list(session, scope, where.list_id, ids=ids)
    return await _items_of(session, where.found.user_id, found)


async def _items_of(session: AsyncSession, owner: str, found: Sequence[Task]) -> list[Item]:
    stored = await _stored(session, owner, [task.id for task in found if task.id])
    parent_ids = {task.parent_id for task in found if task.parent_id is not None}
    parents = await _stored(session, owner, sorted(parent_ids - set(stored)))
    parents.update((task_id, row) for task_id, row in stored.items() if task_id in parent_ids)

    def uid_of(task_id: int | None) -> str | None:
        if task_id is None:
            return None
        return parents[task_id].uid if task_id in parents else ical.default_uid(task_id)

    return [
        Item(task, stored.get(task.id), uid_of(task.parent_id))
        for task in found
        if task.id is not None
    ]


async def _item(session: AsyncSession, owner: str, task: Task) -> Item:
    return (await _items_of(session, owner, [task]))[0]


async def item(session: AsyncSession, scope: Scope, where: Calendar, name: str) -> Item | None:
    """The object at this name in the calendar, None when there is none."""
    row = (
        await session.exec(
            select(CalendarObject).where(
                col(CalendarObject.user_id) == where.found.user_id,
                col(CalendarObject.href) == name,
            )
        )
    ).one_or_none()
    if row is not None:
        task_id = row.task_id
    else:
        match = _DEFAULT_NAME.fullmatch(name)
        if match is None:
            return None
        task_id = int(match.group(1))
    found = await items(session, scope, where, ids=[task_id])
    if not found or (row is None and found[0].stored is not None):
        return None
    return found[0]


async def items_named(
    session: AsyncSession, scope: Scope, where: Calendar, names: Sequence[str]
) -> dict[str, Item]:
    """The objects at these names (those that exist), as `item` finds each, in a few
    statements whatever the count: a client's first sync asks for thousands at once."""
    owner = where.found.user_id
    wanted = sorted(set(names))
    stored: dict[str, CalendarObject] = {}
    for start in range(0, len(wanted), _IN):
        rows = await session.exec(
            select(CalendarObject).where(
                col(CalendarObject.user_id) == owner,
                col(CalendarObject.href).in_(wanted[start : start + _IN]),
            )
        )
        stored.update((row.href, row) for row in rows.all())
    named: dict[int, list[str]] = {}
    for name in wanted:
        match = _DEFAULT_NAME.fullmatch(name)
        task_id = stored[name].task_id if name in stored else int(match.group(1)) if match else None
        if task_id is not None:
            named.setdefault(task_id, []).append(name)
    ids = sorted(named)
    found: dict[str, Item] = {}
    for start in range(0, len(ids), _IN):
        for each in await items(session, scope, where, ids=ids[start : start + _IN]):
            assert each.task.id is not None
            for name in named[each.task.id]:
                # A task a client named answers at that name only, as in `item`.
                if name in stored or each.stored is None:
                    found[name] = each
    return found


async def sync_mark(session: AsyncSession, where: Calendar) -> int:
    """The owner's newest event: every change to the list's tasks moves it on."""
    return await events.latest_id_of(session, where.found.user_id)


def sync_token(mark: int) -> str:
    return f"{SYNC_PREFIX}{mark}"


def token_mark(token: str) -> int | None:
    if not token.startswith(SYNC_PREFIX):
        return None
    digits = token.removeprefix(SYNC_PREFIX)
    return int(digits) if _ID_SEGMENT.fullmatch(digits) else None


@dataclass(frozen=True)
class Changes:
    mark: int
    changed: list[Item]
    gone: list[str]


async def changes_since(
    session: AsyncSession, scope: Scope, where: Calendar, mark: int
) -> Changes | None:
    """What changed in the calendar after `mark`: objects changed or added, and the names
    of those gone (deleted, moved away). None when the history no longer reaches `mark`."""
    now = await sync_mark(session, where)
    oldest = await events.oldest_id(session)
    if mark > now or (oldest is not None and mark < oldest - 1 and mark < now):
        return None
    touched: set[int] = set()
    after = mark
    while True:
        batch = await events.visible_after(
            session, [(where.found.user_id, after, None)], limit=1000
        )
        for event in batch:
            if event.resource != "task":
                continue
            moved_from = (event.changes or {}).get("list_id", [None])[0]
            if event.list_id == where.list_id or moved_from == where.list_id:
                touched.add(event.resource_id)
        if len(batch) < 1000:
            break
        after = batch[-1].id or after
    live = {each.task.id: each for each in await items(session, scope, where, ids=sorted(touched))}
    gone_ids = sorted(touched - set(live))
    stored = await _stored(session, where.found.user_id, gone_ids)
    gone = [
        stored[task_id].href if task_id in stored else default_name(task_id) for task_id in gone_ids
    ]
    return Changes(mark=now, changed=list(live.values()), gone=gone)


def _validated(
    model: type[TaskCreate] | type[TaskUpdate], data: dict[str, object]
) -> TaskCreate | TaskUpdate:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadRequest(
            f"The task cannot be stored: {where}: {first['msg']}.", code="bad_calendar_object"
        ) from None


# Namespaces the UID locks among the other advisory locks of the database.
_UID_LOCK_SEED = 0x1C_0018


async def _lock_uid(session: AsyncSession, owner: str, uid: str) -> None:
    """Hold the owner's UID until the commit (PostgreSQL; SQLite has one writer): parallel
    first writes of one UID under different names (an import run twice at once) take
    turns, so the second sees the first and refuses, rather than both storing it."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.exec(
        select(
            func.pg_advisory_xact_lock(
                func.hashtextextended(literal(f"caldav-uid:{owner}:{uid}"), _UID_LOCK_SEED)
            )
        )
    )


async def _uid_taken(session: AsyncSession, owner: str, uid: str, name: str) -> bool:
    row = (
        await session.exec(
            select(CalendarObject.href).where(
                col(CalendarObject.user_id) == owner, col(CalendarObject.uid) == uid
            )
        )
    ).first()
    return row is not None and row != name


async def task_of_uid(session: AsyncSession, owner: str, uid: str) -> int | None:
    """The owner's task a UID names: a client's UID, or the one we serve a task under."""
    row = (
        await session.exec(
            select(CalendarObject.task_id).where(
                col(CalendarObject.user_id) == owner, col(CalendarObject.uid) == uid
            )
        )
    ).first()
    if row is not None:
        return row
    match = _DEFAULT_UID.fullmatch(uid)
    if match is None:
        return None
    task_id = int(match.group(1))
    # A task a client wrote is known by the client's UID only.
    return None if await _one_stored(session, owner, task_id) else task_id


async def resolve_parent(
    session: AsyncSession,
    scope: Scope,
    where: TaskList,
    uids: Sequence[str],
    *,
    task: Task | None,
) -> tuple[int | None, str | None]:
    """The first of the parent UIDs that names a task of the same list which may be the
    parent (depth, cycles), as (task id, UID); (None, None) when none does. A UID we cannot
    place is no error: the object keeps it and the task stays where it is in no tree."""
    assert where.id is not None
    for uid in uids:
        parent_id = await task_of_uid(session, where.user_id, uid)
        if parent_id is None or (task is not None and parent_id == task.id):
            continue
        refusal = await tasks.parent_refusal(session, scope, parent_id, list_id=where.id, task=task)
        if refusal is None:
            return parent_id, uid
    return None, None


def _due_of(task: Task) -> date | datetime | None:
    return task.due_at if task.due_at is not None else task.due_date


def _moved_forward(task: Task, incoming: ical.Fields, tz: ZoneInfo) -> bool:
    """Whether a client completed an occurrence by moving the task to the next one, open
    (Tasks.org and others): the due moved to exactly the occurrence after the current one."""
    current = _due_of(task)
    if task.completed or incoming.completed or not task.rrule or current is None:
        return False
    if incoming.rrule != task.rrule:
        return False
    wanted: date | datetime | None = incoming.due_at if incoming.due_at else incoming.due_date
    if wanted is None:
        return False
    following = next_due(
        task.rrule,
        series_start=current,
        current_due=current,
        completed_at=current if isinstance(current, datetime) else datetime.now(tz),
        occurrence=task.occurrence,
        mode="due",
        tz=tz,
    )
    return following is not None and following == wanted


async def put(
    session: AsyncSession,
    scope: Scope,
    where: Calendar,
    name: str,
    body: bytes,
    *,
    existing: Item | None,
    clock_: tasks.Clock,
) -> Item:
    """Store a client's object: a new task, or the task at that name changed. Commits."""
    try:
        _, todo = ical.parse(body)
    except ical.BadObject as error:
        raise BadRequest(str(error), code="bad_calendar_object") from None
    uid = str(todo.get("UID"))
    if len(uid) > 255:
        raise BadRequest("The UID is longer than 255 characters.", code="bad_calendar_object")
    incoming = ical.read(todo, clock_.tz)
    text = body.decode("utf-8", errors="replace")
    owner = where.found.user_id
    if existing is None:
        await _lock_uid(session, owner, uid)
        if await _uid_taken(session, owner, uid, name):
            raise Conflict(f"Another object already has the UID {uid}.", code="uid_conflict")
        named = ical.parent_uids(todo)
        parent_id, parent_uid = await resolve_parent(session, scope, where.found, named, task=None)
        data = _validated(
            TaskCreate,
            {**incoming.as_update(), "list_id": where.list_id, "parent_id": parent_id},
        )
        assert isinstance(data, TaskCreate)

        async def remember(task: Task) -> None:
            assert task.id is not None
            session.add(
                CalendarObject(
                    task_id=task.id,
                    user_id=owner,
                    href=name,
                    uid=uid,
                    ical=text,
                    parent_uid=parent_uid,
                    awaiting_parent=_awaiting(named, parent_uid),
                )
            )
            await session.flush()

        try:
            created = await tasks.create_task(
                session, scope, data, clock_=clock_, before_commit=remember
            )
        except IntegrityError:
            await session.rollback()
            raise Conflict(
                f"The name {name} is taken by another object of this account.",
                code="name_conflict",
            ) from None
        assert created.id is not None
        created_id, list_id = created.id, where.list_id
        if await _adopt(session, scope, list_id, owner, uid, created, clock_=clock_):
            # A rollback in there expired what this session had loaded.
            created = await tasks.task_for(session, scope, created_id, Role.viewer)
        return await _item(session, owner, created)
    # The client's object first, held to the commit: parallel writers of one object take
    # turns here, in one order (object, then task), rather than deadlock on the two rows.
    await session.exec(
        select(CalendarObject.task_id)
        .where(col(CalendarObject.task_id) == existing.task.id)
        .with_for_update()
    )
    task = await tasks.task_for(session, scope, existing.task.id or 0, Role.editor)
    if existing.uid != uid:
        raise Conflict("A calendar object keeps its UID.", code="uid_conflict")
    if _moved_forward(task, incoming, clock_.tz):
        task = await _complete_occurrence(session, scope, task, existing, clock_=clock_)
    row = await _one_stored(session, owner, task.id)
    if row is None:
        assert task.id is not None
        row = CalendarObject(task_id=task.id, user_id=owner, href=name, uid=uid, ical=text)
    named = ical.parent_uids(todo)
    parent_id, parent_uid = await resolve_parent(session, scope, where.found, named, task=task)
    row.ical, row.href, row.uid, row.parent_uid = text, name, uid, parent_uid
    row.awaiting_parent = _awaiting(named, parent_uid)
    session.add(row)
    data = _validated(TaskUpdate, {**incoming.as_update(), "parent_id": parent_id})
    assert isinstance(data, TaskUpdate)
    version = task.version
    try:
        updated = await tasks.update_task(
            session, task, data, clock_=clock_, scope=scope, if_match=task.version
        )
        if updated.version == version:
            updated = await tasks.touch_task(session, updated)
    except IntegrityError:
        # A parallel first write of the same object stored it first.
        await session.rollback()
        raise _written_meanwhile() from None
    return await _item(session, owner, updated)


def _awaiting(named: Sequence[str], parent_uid: str | None) -> str | None:
    """The parent UID to wait for: the first one named, when none could be placed."""
    return named[0] if named and parent_uid is None and len(named[0]) <= 255 else None


# Children adopted by one parent's first write; more wait for the child's next write.
_ADOPTED_MAX = 100


async def _adopt(
    session: AsyncSession,
    scope: Scope,
    list_id: int,
    owner: str,
    uid: str,
    parent: Task,
    *,
    clock_: tasks.Clock,
) -> bool:
    """The objects written before their parent (a client syncs in its own order) become
    subtasks of the task that now has the UID they name, each in a write of its own (a
    new version, an event: every client sees it). One that cannot be placed is left.
    True when a write was rolled back."""
    assert parent.id is not None
    rolled_back = False
    parent_id = parent.id
    waiting = (
        await session.exec(
            select(CalendarObject.task_id)
            .where(
                col(CalendarObject.user_id) == owner,
                col(CalendarObject.awaiting_parent) == uid,
            )
            .order_by(col(CalendarObject.task_id))
            .limit(_ADOPTED_MAX)
        )
    ).all()
    for child_id in waiting:
        try:
            child = await tasks.task_for(session, scope, child_id, Role.editor)
        except (NotFound, Forbidden):
            continue
        if child.list_id != list_id or child.parent_id is not None:
            continue
        refusal = await tasks.parent_refusal(session, scope, parent_id, list_id=list_id, task=child)
        row = await _one_stored(session, owner, child_id)
        if refusal is not None or row is None:
            continue
        row.parent_uid, row.awaiting_parent = uid, None
        session.add(row)
        try:
            await tasks.update_task(
                session,
                child,
                TaskUpdate.model_validate({"parent_id": parent_id}),
                clock_=clock_,
                scope=scope,
                if_match=child.version,
            )
        except AppError:
            # Changed meanwhile: the child's own next write places it.
            await session.rollback()
            rolled_back = True
    return rolled_back


def _written_meanwhile() -> Conflict:
    return Conflict(
        "The object was written by another request at the same time; fetch it and retry.",
        code="edit_conflict",
    )


async def _complete_occurrence(
    session: AsyncSession, scope: Scope, task: Task, existing: Item, *, clock_: tasks.Clock
) -> Task:
    """Complete the occurrence the client left and hand its name and UID to the next one,
    which the client now holds: one occurrence done, one open, none doubled."""
    assert task.id is not None
    series, occurrence, owner = task.series_id, task.occurrence, task.user_id
    completed_id = task.id
    done = await tasks.set_completed(session, task, True, clock_=clock_, if_match=task.version)
    successor = await tasks.next_in_series(session, owner, series, occurrence)
    if successor is None:
        return done
    stored = await _one_stored(session, owner, completed_id)
    if stored is not None:
        await session.delete(stored)
        await session.flush()
    assert successor.id is not None
    session.add(
        CalendarObject(
            task_id=successor.id,
            user_id=owner,
            href=existing.name,
            uid=existing.uid,
            ical=stored.ical if stored else "",
            parent_uid=stored.parent_uid if stored else None,
        )
    )
    await session.flush()
    return await tasks.task_for(session, scope, successor.id, Role.editor)


async def _one_stored(
    session: AsyncSession, owner: str, task_id: int | None
) -> CalendarObject | None:
    if task_id is None:
        return None
    return (await _stored(session, owner, [task_id])).get(task_id)


async def delete(
    session: AsyncSession, scope: Scope, existing: Item, *, if_match: int | None
) -> None:
    """To the trash, as the web app's delete: restorable, and the sync reports it gone."""
    task = await tasks.task_for(session, scope, existing.task.id or 0, Role.editor)
    await tasks.delete_task(session, task, if_match=if_match)


async def make_calendar(
    session: AsyncSession, user_id: str, segment: str, *, name: str | None, color: str | None
) -> None:
    """A new list, served at the segment the client chose; commits."""
    if _ID_SEGMENT.fullmatch(segment) or len(segment) > 255:
        raise Conflict(
            "Choose another name for the calendar: digits alone name lists by id.",
            code="calendar_name",
        )
    taken = (
        await session.exec(
            select(CalendarCollection).where(
                col(CalendarCollection.user_id) == user_id, col(CalendarCollection.name) == segment
            )
        )
    ).one_or_none()
    if taken is not None:
        raise Conflict("A calendar already exists at this address.", code="calendar_exists")
    try:
        data = ListCreate.model_validate({"name": name or segment, "color": color})
    except ValidationError as error:
        raise BadRequest(
            f"The calendar cannot be made: {error.errors()[0]['msg']}.", code="bad_calendar"
        ) from None
    created = await lists.add_list(session, user_id, name=data.name, color=data.color)
    assert created.id is not None
    session.add(CalendarCollection(list_id=created.id, user_id=user_id, name=segment))
    await session.commit()


async def change_calendar(
    session: AsyncSession, scope: Scope, where: Calendar, changes: dict[str, str | None]
) -> None:
    """Rename or recolor a list (admins and the owner); commits."""
    found = await access.list_for(session, scope, where.list_id, Role.admin, lock=True)
    try:
        data = ListUpdate.model_validate(changes)
    except ValidationError as error:
        raise BadRequest(
            f"The calendar cannot be changed: {error.errors()[0]['msg']}.", code="bad_calendar"
        ) from None
    await lists.update_list(
        session, found, changes=data.model_dump(exclude_unset=True, exclude={"after_id", "first"})
    )


async def delete_calendar(session: AsyncSession, scope: Scope, where: Calendar) -> None:
    found = await access.list_for(session, scope, where.list_id, Role.admin, lock=True)
    if found.is_inbox or found.user_id != scope.user_id:
        raise Conflict("Only its owner deletes a list, and the Inbox stays.", code="calendar_kept")
    await tasks.delete_list(session, found, tasks="delete")
