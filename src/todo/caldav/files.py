""".ics files: a list (or every list the caller sees) as one VCALENDAR, and a file read
into a list.

Both go through the CalDAV door's own objects: an export serves each task as a GET of
its object would (the client's stored VTODO with the mapped properties rewritten), and an
import stores each task as a PUT of a new object would, so what we do not map survives a
round trip through files as it does through CalDAV.
"""

from __future__ import annotations

from uuid import uuid4

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.caldav import ical, icsfile
from todo.caldav import service as dav
from todo.caldav.schemas import (
    ICS_MEDIA_TYPE,
    IMPORT_ERRORS_LISTED_MAX,
    ImportProblem,
    ImportReport,
)
from todo.core.errors import AppError, UnsupportedMediaType
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.tasks import service as tasks
from todo.tasks.schemas import TaskCreate


async def _calendar(session: AsyncSession, scope: Scope, list_id: int, need: Role) -> dav.Calendar:
    found = await access.list_for(session, scope, list_id, need)
    role = scope.role_on(found.user_id, list_id)
    assert role is not None
    return dav.Calendar(found, str(list_id), role)


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
    return icsfile.merged(objects, name=name)


async def _uid_in_use(session: AsyncSession, owner: str, uid: str) -> bool:
    task_id = await dav.task_of_uid(session, owner, uid)
    if task_id is None:
        return False
    return bool(await tasks.tasks_by_id(session, owner, [task_id]))


def _dry_check(each: icsfile.FileObject, clock_: tasks.Clock, list_id: int) -> ImportProblem | None:
    try:
        _, todo = ical.parse(each.body)
    except ical.BadObject as error:
        return icsfile.problem(each.index, each.uid, "bad_calendar_object", str(error))
    fields = ical.read(todo, clock_.tz)
    try:
        TaskCreate.model_validate({**fields.as_update(), "list_id": list_id})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return icsfile.problem(
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
    objects = icsfile.split(body)
    owner = where.found.user_id
    created = skipped = failed = 0
    problems: list[ImportProblem] = []

    def refuse(problem: ImportProblem) -> None:
        nonlocal failed
        failed += 1
        if len(problems) < IMPORT_ERRORS_LISTED_MAX:
            problems.append(problem)

    for each in icsfile.parents_first(objects):
        if each.problem is not None:
            refuse(each.problem)
            continue
        assert each.uid is not None
        if len(each.uid) > 255:
            too_long = "The UID is longer than 255 characters."
            refuse(icsfile.problem(each.index, each.uid[:255], "bad_calendar_object", too_long))
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
                refuse(icsfile.problem(each.index, each.uid, error.code, error.detail))
            continue
        created += 1
    problems.sort(key=lambda problem: problem.index)
    return ImportReport(
        dry_run=dry_run, created=created, skipped=skipped, failed=failed, errors=problems
    )
