"""An .ics file taken apart into tasks and put together again; no database here, so the
server's import and the `todo` command's (which sends a large file in parts) share it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from icalendar import Calendar, Component

from todo.caldav import ical
from todo.caldav.schemas import IMPORT_ITEMS_MAX, ImportProblem
from todo.core.errors import BadRequest, PayloadTooLarge

_TZID = re.compile(rb"TZID=\"?([^\";:]+)")


# What subscribers of a feed are asked to wait between fetches (Apple Calendar, Outlook and
# Thunderbird read one or the other).
REFRESH = timedelta(hours=1)


def new_calendar(name: str | None, *, published: bool = False) -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", ical.PRODID)
    calendar.add("VERSION", "2.0")
    if published:
        calendar.add("METHOD", "PUBLISH")
        calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("X-PUBLISHED-TTL", REFRESH)
    if name is not None:
        # Apple Calendar, Thunderbird and Google name a subscribed or imported file by it.
        calendar.add("X-WR-CALNAME", name)
    return calendar


def merged(objects: list[Calendar], *, name: str | None, published: bool = False) -> bytes:
    calendar = new_calendar(name, published=published)
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
class FileObject:
    """One task of an imported file: its VTODOs (a recurring task's overrides share the
    UID) in a calendar of their own, with the time zones they name."""

    index: int
    uid: str | None
    body: bytes = b""
    parents: list[str] = field(default_factory=list)
    problem: ImportProblem | None = None


def problem(index: int, uid: str | None, code: str, reason: str) -> ImportProblem:
    return ImportProblem(index=index, uid=uid, code=code, reason=reason)


def split(body: bytes, *, limit: int | None = IMPORT_ITEMS_MAX) -> list[FileObject]:
    """The file's tasks, each as the body a CalDAV client would PUT, in the file's order;
    BadRequest when the file is no iCalendar at all, PayloadTooLarge past `limit` tasks."""
    if not body.strip():
        raise BadRequest("The file is empty.", code="bad_ics")
    try:
        calendars = Calendar.from_ical(body, multiple=True)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise BadRequest(f"The file is not iCalendar data: {error}", code="bad_ics") from None
    if not calendars or any(each.name != "VCALENDAR" for each in calendars):
        raise BadRequest("The file must hold VCALENDARs.", code="bad_ics")
    found: list[FileObject] = []
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
            if limit is not None and count > limit:
                raise PayloadTooLarge(
                    f"A file holds at most {IMPORT_ITEMS_MAX} tasks: import it in parts.",
                    code="too_many_tasks",
                )
            if component.name != "VTODO":
                reason = f"A {component.name} is not a task: only VTODOs are imported."
                found.append(
                    FileObject(count, uid, problem=problem(count, uid, "not_a_task", reason))
                )
            elif uid is None:
                reason = "The VTODO has no UID."
                found.append(
                    FileObject(
                        count, None, problem=problem(count, None, "bad_calendar_object", reason)
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
) -> FileObject:
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
    return FileObject(index, uid, bytes(calendar.to_ical()), ical.parent_uids(master))


def parents_first(objects: list[FileObject]) -> list[FileObject]:
    """Each task after the task of the file it names as parent, so that its RELATED-TO
    finds the parent made; otherwise in the file's order (a loop is cut where it closes)."""
    by_uid = {each.uid: each for each in objects if each.uid is not None}
    placed: set[int] = set()
    ordered: list[FileObject] = []

    def place(each: FileObject, trail: set[int]) -> None:
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


def parts(objects: list[FileObject], *, items: int, size: int) -> list[list[FileObject]]:
    """The objects in runs of at most `items` objects and about `size` bytes, in order."""
    runs: list[list[FileObject]] = []
    run: list[FileObject] = []
    held = 0
    for each in objects:
        if run and (len(run) == items or held + len(each.body) > size):
            runs.append(run)
            run, held = [], 0
        run.append(each)
        held += len(each.body)
    if run:
        runs.append(run)
    return runs


def joined(objects: list[FileObject]) -> bytes:
    """One VCALENDAR of these objects, each time zone once."""
    return merged([Calendar.from_ical(each.body) for each in objects], name=None)
