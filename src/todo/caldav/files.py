""".ics files: a list (or every list the caller sees) as one VCALENDAR, and a file read
into a list.

Both go through the CalDAV door's own objects: an export serves each task as a GET of
its object would (the client's stored VTODO with the mapped properties rewritten), and an
import stores each task as a PUT of a new object would, so what we do not map survives a
round trip through files as it does through CalDAV.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from uuid import uuid4

from icalendar import Calendar, Component
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.caldav import ical
from todo.caldav import service as dav
from todo.caldav.schemas import (
    ICS_MEDIA_TYPE,
    IMPORT_ERRORS_LISTED_MAX,
    IMPORT_ITEMS_MAX,
    ImportProblem,
    ImportReport,
)
from todo.core.errors import AppError, BadRequest, PayloadTooLarge, UnsupportedMediaType
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.tasks import service as tasks
from todo.tasks.schemas import TaskCreate

_TZID = re.compile(rb"TZID=\"?([^\";:]+)")


async def _calendar(session: AsyncSession, scope: Scope, list_id: int, need: Role) -> dav.Calendar:
    found = await access.list_for(session, scope, list_id, need)
    role = scope.role_on(found.user_id, list_id)
    assert role is not None
    return dav.Calendar(found, str(list_id), role)


def _new_calendar(name: str | None) -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", ical.PRODID)
    calendar.add("VERSION", "2.0")
    if name is not None:
        # Apple Calendar, Thunderbird and Google name a subscribed or imported file by it.
        calendar.add("X-WR-CALNAME", name)
    return calendar


async def export(
    session: AsyncSession, scope: Scope, *, list_id: int | None, clock_: tasks.Clock
) -> bytes:
    """One VCALENDAR of the list's live tasks (or of every list the caller sees), each
    VTODO as CalDAV serves it, and each time zone they name once."""
    if list_id is not None:
        wheres = [await _calendar(session, scope, list_id, Role.viewer)]
    else:
        wheres = await dav.calendars(session, scope)
    name = wheres[0].found.name if list_id is not None and wheres else None
    objects = [
        each.calendar(clock_.tz)
        for where in wheres
        for each in await dav.items(session, scope, where)
    ]
    return _merged(objects, name=name)


def _merged(objects: list[Calendar], *, name: str | None) -> bytes:
    calendar = _new_calendar(name)
    zones: dict[str, Component] = {}
    todos: list[Component] = []
    for one in objects:
        for component in one.subcomponents:
            if component.name == "VTIMEZONE":
                zones.setdefault(str(component.get("TZID", "")), component)
            else:
                todos.append(component)
    for zone in zones.values():
        calendar.add_component(zone)
    for todo in todos:
        calendar.add_component(todo)
    return bytes(calendar.to_ical())


@dataclass
class _Object:
    """One task of an imported file: its VTODOs (a recurring task's overrides share the
    UID) in a calendar of their own, with the time zones they name."""

    index: int
    uid: str | None
    body: bytes = b""
    parents: list[str] = field(default_factory=list)
    problem: ImportProblem | None = None


def _problem(index: int, uid: str | None, code: str, reason: str) -> ImportProblem:
    return ImportProblem(index=index, uid=uid, code=code, reason=reason)


def _split(body: bytes) -> list[_Object]:
    """The file's tasks, each as the body a CalDAV client would PUT; BadRequest when the
    file is no iCalendar at all."""
    if not body.strip():
        raise BadRequest("The file is empty.", code="bad_ics")
    try:
        calendars = Calendar.from_ical(body, multiple=True)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise BadRequest(f"The file is not iCalendar data: {error}", code="bad_ics") from None
    if not calendars or any(each.name != "VCALENDAR" for each in calendars):
        raise BadRequest("The file must hold VCALENDARs.", code="bad_ics")
    found: list[_Object] = []
    count = 0
    for calendar in calendars:
        zones = {
            str(each.get("TZID", "")): each
            for each in calendar.subcomponents
            if each.name == "VTIMEZONE"
        }
        # A recurring task's overrides share its UID: one task, where its first VTODO is.
        groups: dict[str, tuple[int, list[Component]]] = {}
        for component in calendar.subcomponents:
            if component.name == "VTIMEZONE":
                continue
            uid = str(component.get("UID", "")).strip() or None
            if component.name == "VTODO" and uid is not None and uid in groups:
                groups[uid][1].append(component)
                continue
            count += 1
            if count > IMPORT_ITEMS_MAX:
                raise PayloadTooLarge(
                    f"A file holds at most {IMPORT_ITEMS_MAX} tasks: import it in parts.",
                    code="too_many_tasks",
                )
            if component.name != "VTODO":
                reason = f"A {component.name} is not a task: only VTODOs are imported."
                found.append(
                    _Object(count, uid, problem=_problem(count, uid, "not_a_task", reason))
                )
            elif uid is None:
                reason = "The VTODO has no UID."
                found.append(
                    _Object(
                        count, None, problem=_problem(count, None, "bad_calendar_object", reason)
                    )
                )
            else:
                groups[uid] = (count, [component])
        for uid, (index, todos) in groups.items():
            found.append(_one_object(index, uid, todos, zones, calendar))
    found.sort(key=lambda each: each.index)
    return found


def _one_object(
    index: int,
    uid: str,
    todos: list[Component],
    zones: dict[str, Component],
    source: Calendar,
) -> _Object:
    calendar = Calendar()
    calendar.add("PRODID", source.get("PRODID", ical.PRODID))
    calendar.add("VERSION", "2.0")
    text = b"".join(todo.to_ical() for todo in todos)
    for tzid in dict.fromkeys(match.decode(errors="replace") for match in _TZID.findall(text)):
        if tzid in zones:
            calendar.add_component(zones[tzid])
    for todo in todos:
        calendar.add_component(todo)
    master = next((each for each in todos if "RECURRENCE-ID" not in each), todos[0])
    return _Object(index, uid, bytes(calendar.to_ical()), ical.parent_uids(master))


def _parents_first(objects: list[_Object]) -> list[_Object]:
    """Each task after the task of the file it names as parent, so that its RELATED-TO
    finds the parent made; otherwise in the file's order (a loop is cut where it closes)."""
    by_uid = {each.uid: each for each in objects if each.uid is not None}
    placed: set[int] = set()
    ordered: list[_Object] = []

    def place(each: _Object, trail: set[int]) -> None:
        if each.index in placed or each.index in trail:
            return
        trail.add(each.index)
        parent = next((by_uid[uid] for uid in each.parents if uid in by_uid), None)
        if parent is not None:
            place(parent, trail)
        placed.add(each.index)
        ordered.append(each)

    for each in objects:
        # At most a few levels: deeper chains are cut by the depth limit anyway.
        place(each, set())
    return ordered


async def _uid_in_use(session: AsyncSession, owner: str, uid: str) -> bool:
    task_id = await dav.task_of_uid(session, owner, uid)
    if task_id is None:
        return False
    return bool(await tasks.tasks_by_id(session, owner, [task_id]))


def _dry_check(each: _Object, clock_: tasks.Clock, list_id: int) -> ImportProblem | None:
    try:
        _, todo = ical.parse(each.body)
    except ical.BadObject as error:
        return _problem(each.index, each.uid, "bad_calendar_object", str(error))
    fields = ical.read(todo, clock_.tz)
    try:
        TaskCreate.model_validate({**fields.as_update(), "list_id": list_id})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return _problem(
            each.index,
            each.uid,
            "bad_calendar_object",
            f"The task cannot be stored: {where}: {first['msg']}.",
        )
    return None


async def import_file(
    session: AsyncSession,
    scope: Scope,
    list_id: int,
    body: bytes,
    *,
    media_type: str,
    clock_: tasks.Clock,
    dry_run: bool,
) -> ImportReport:
    """Each task of the file into the list, one transaction each: a bad object is reported
    and the others go in; a UID the account has already is skipped. Nothing is written
    when the file as a whole is no iCalendar (400) or holds too many tasks (413)."""
    where = await _calendar(session, scope, list_id, Role.editor)
    media = media_type.split(";")[0].strip().lower()
    if media != ICS_MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"Send the file as {ICS_MEDIA_TYPE}, not {media or 'no content type'}.",
            code="not_icalendar",
        )
    objects = _split(body)
    owner = where.found.user_id
    created = skipped = failed = 0
    problems: list[ImportProblem] = []

    def refuse(problem: ImportProblem) -> None:
        nonlocal failed
        failed += 1
        if len(problems) < IMPORT_ERRORS_LISTED_MAX:
            problems.append(problem)

    for each in _parents_first(objects):
        if each.problem is not None:
            refuse(each.problem)
            continue
        assert each.uid is not None
        if len(each.uid) > 255:
            too_long = "The UID is longer than 255 characters."
            refuse(_problem(each.index, each.uid[:255], "bad_calendar_object", too_long))
            continue
        if await _uid_in_use(session, owner, each.uid):
            skipped += 1
            continue
        if dry_run:
            problem = _dry_check(each, clock_, list_id)
            if problem is not None:
                refuse(problem)
            else:
                created += 1
            continue
        try:
            await dav.put(
                session, scope, where, f"{uuid4()}.ics", each.body, existing=None, clock_=clock_
            )
        except AppError as error:
            # Nothing of this object stays; the rollback expired the list read above.
            await session.rollback()
            where = await _calendar(session, scope, list_id, Role.editor)
            if error.code == "uid_conflict":
                # A parallel import of the same file stored it first.
                skipped += 1
            else:
                refuse(_problem(each.index, each.uid, error.code, error.detail))
            continue
        created += 1
    problems.sort(key=lambda problem: problem.index)
    return ImportReport(
        dry_run=dry_run, created=created, skipped=skipped, failed=failed, errors=problems
    )
