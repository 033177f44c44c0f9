"""A task as a VTODO and back.

Reading takes from a client's VTODO the fields a task has; writing starts from the VTODO
the client sent (kept whole in caldav_objects) and rewrites only the properties whose
meaning differs from the task now. So a property, a parameter or a sub-component we do not
map is served back as it came, and so is a mapped one whose value we would only respell
(PRIORITY:2 stays 2 while the task stays "high").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Component, Todo
from icalendar.prop import vRecur

from todo.core.db import utcnow
from todo.core.schemas import instant_in_range
from todo.tasks.models import Task
from todo.tasks.recurrence import InvalidRule, normalize_rule
from todo.tasks.schemas import DESCRIPTION_MAX, PRIORITIES, TAG_MAX, TAGS_MAX, TITLE_MAX

PRODID = "-//Todo//CalDAV//EN"
UNTITLED = "Untitled"
# Controls our text fields refuse (those of core.schemas, newline and tab aside).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# RFC 5545: 1 is the highest, 9 the lowest, 0 undefined. Clients use 1/5/9 (Apple,
# Thunderbird, Tasks.org); 1-4 count as high among them.
_UTC = ZoneInfo("UTC")
_TO_ICAL = {"none": 0, "low": 9, "medium": 5, "high": 3, "urgent": 1}


def priority_name(value: int) -> str:
    if value <= 0 or value > 9:
        return "none"
    if value == 1:
        return "urgent"
    if value <= 4:
        return "high"
    if value == 5:
        return "medium"
    return "low"


class BadObject(ValueError):
    """The body is no calendar object we can store: the reason, for the client."""


@dataclass
class Fields:
    """What a VTODO says in the terms of a task."""

    title: str = UNTITLED
    description: str = ""
    completed: bool = False
    priority: str = "none"
    tags: list[str] = field(default_factory=list)
    due_date: date | None = None
    due_at: datetime | None = None
    remind_at: datetime | None = None
    rrule: str | None = None

    def as_update(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "completed": self.completed,
            "priority": self.priority,
            "tags": self.tags,
            "due_date": self.due_date if self.due_at is None else None,
            "due_at": self.due_at,
            "remind_at": self.remind_at,
            "rrule": self.rrule,
        }


def fields_of(task: Task) -> Fields:
    return Fields(
        title=task.title,
        description=task.description,
        completed=task.completed,
        priority=PRIORITIES[task.priority],
        tags=[tag.name for tag in task.tags],
        due_date=None if task.due_at is not None else task.due_date,
        due_at=task.due_at,
        remind_at=task.remind_at,
        rrule=task.rrule,
    )


def parse(body: bytes) -> tuple[Calendar, Todo]:
    """The calendar and its one VTODO; BadObject when the body is anything else."""
    try:
        calendar = Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise BadObject(f"The body is not iCalendar data: {error}") from None
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise BadObject("The body must be one VCALENDAR.")
    todos = [each for each in calendar.subcomponents if each.name == "VTODO"]
    others = [each for each in calendar.subcomponents if each.name not in ("VTODO", "VTIMEZONE")]
    if others:
        raise BadObject(f"This calendar holds tasks only (VTODO), not {others[0].name}.")
    if not todos:
        raise BadObject("The calendar object holds no VTODO.")
    uids = {str(each.get("UID", "")) for each in todos}
    if len(uids) != 1 or not next(iter(uids)):
        # Several VTODOs are one recurring task's overrides (RECURRENCE-ID): one UID.
        raise BadObject("A calendar object holds one task: one UID, never empty.")
    master = next((each for each in todos if "RECURRENCE-ID" not in each), todos[0])
    assert isinstance(master, Todo)
    return calendar, master


def _text(value: Any, limit: int, *, one_line: bool) -> str:
    text = _CONTROL.sub("", str(value))
    if one_line:
        text = " ".join(text.split())
    return text[:limit]


def _moment(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tzinfo=tz)


def _decoded(todo: Component, name: str) -> Any:
    try:
        return todo.decoded(name)
    except (KeyError, ValueError, TypeError):
        return None


def _in_range(value: datetime) -> datetime | None:
    try:
        return instant_in_range(value.astimezone(UTC))
    except (OverflowError, ValueError):
        return None


def _alarm_instant(alarm: Component, todo: Component, tz: ZoneInfo) -> datetime | None:
    trigger = alarm.get("TRIGGER")
    if trigger is None:
        return None
    value = _decoded(alarm, "TRIGGER")
    if isinstance(value, datetime):
        return _in_range(_moment(value, tz))
    if not isinstance(value, timedelta):
        return None
    related = str(trigger.params.get("RELATED", "START")).upper()
    base = _decoded(todo, "DUE" if related == "END" else "DTSTART")
    if base is None and related != "END":
        # Clients that write no DTSTART mean the due moment (there is nothing else).
        base = _decoded(todo, "DUE")
    if not isinstance(base, date):
        return None
    try:
        return _in_range(_moment(base, tz) + value)
    except OverflowError:
        return None


def _first_alarm(todo: Component) -> Component | None:
    return next((each for each in todo.subcomponents if each.name == "VALARM"), None)


def _categories(todo: Component) -> list[str]:
    found = todo.get("CATEGORIES")
    if found is None:
        return []
    names: list[str] = []
    for each in found if isinstance(found, list) else [found]:
        names.extend(str(name) for name in getattr(each, "cats", []))
    tags: list[str] = []
    seen: set[str] = set()
    for name in names:
        tag = _text(name, TAG_MAX, one_line=True).strip()
        if tag and tag.lower() not in seen and len(tags) < TAGS_MAX:
            seen.add(tag.lower())
            tags.append(tag)
    return tags


def _rule(todo: Component) -> str | None:
    found = todo.get("RRULE")
    if found is None:
        return None
    if isinstance(found, list):
        # Our tasks recur by one rule; a second stays the client's own, unmapped.
        found = found[0]
    try:
        return normalize_rule(found.to_ical().decode())
    except (InvalidRule, ValueError, AttributeError):
        return None


def read(todo: Component, tz: ZoneInfo) -> Fields:
    """The task a VTODO describes; what does not fit our fields is left out (and kept in
    the stored object)."""
    title = _text(todo.get("SUMMARY", ""), TITLE_MAX, one_line=True) or UNTITLED
    description = _text(todo.get("DESCRIPTION", ""), DESCRIPTION_MAX, one_line=False)
    status = str(todo.get("STATUS", "")).upper()
    percent = _decoded(todo, "PERCENT-COMPLETE")
    completed = status == "COMPLETED" or "COMPLETED" in todo or percent == 100
    if status in ("NEEDS-ACTION", "IN-PROCESS") and "COMPLETED" not in todo:
        completed = False
    priority = _decoded(todo, "PRIORITY")
    fields = Fields(
        title=title,
        description=description,
        completed=completed,
        priority=priority_name(priority) if isinstance(priority, int) else "none",
        tags=_categories(todo),
    )
    due = _decoded(todo, "DUE")
    if isinstance(due, datetime):
        fields.due_at = _in_range(_moment(due, tz))
    elif isinstance(due, date):
        fields.due_date = due
    alarm = _first_alarm(todo)
    if alarm is not None:
        fields.remind_at = _alarm_instant(alarm, todo, tz)
    if fields.due_at is not None or fields.due_date is not None:
        fields.rrule = _rule(todo)
    return fields


def _same_tags(left: list[str], right: list[str]) -> bool:
    return sorted(tag.lower() for tag in left) == sorted(tag.lower() for tag in right)


def _replace(todo: Component, name: str, value: Any) -> None:
    todo.pop(name, None)
    if value is not None:
        todo.add(name, value)


def _write_due(todo: Component, now: Fields) -> None:
    due: date | datetime | None = (
        now.due_at.astimezone(UTC) if now.due_at is not None else now.due_date
    )
    _replace(todo, "DUE", due)
    start = _decoded(todo, "DTSTART")
    if start is None or due is None:
        return
    # DTSTART and DUE must be of one value type, the start not after the due.
    if isinstance(start, datetime) != isinstance(due, datetime):
        todo.pop("DTSTART", None)
        return
    if _moment(start, _UTC) > _moment(due, _UTC):
        todo.pop("DTSTART", None)


def _write_state(todo: Component, task: Task) -> None:
    if task.completed:
        _replace(todo, "STATUS", "COMPLETED")
        _replace(todo, "COMPLETED", (task.completed_at or utcnow()).astimezone(UTC))
        if "PERCENT-COMPLETE" in todo:
            _replace(todo, "PERCENT-COMPLETE", 100)
    else:
        _replace(todo, "STATUS", "NEEDS-ACTION")
        todo.pop("COMPLETED", None)
        todo.pop("PERCENT-COMPLETE", None)


def _write_alarm(todo: Todo, now: Fields, title: str) -> None:
    alarm = _first_alarm(todo)
    if now.remind_at is None:
        if alarm is not None:
            todo.subcomponents.remove(alarm)
        return
    if alarm is None:
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", title)
        todo.add_component(alarm)
    alarm.pop("TRIGGER", None)
    alarm.add("TRIGGER", now.remind_at.astimezone(UTC), parameters={"VALUE": "DATE-TIME"})


def default_uid(task_id: int) -> str:
    return f"todo-task-{task_id}"


# A VTODO names its parent by RELATED-TO with RELTYPE=PARENT, or with no RELTYPE (RFC 5545
# 3.2.15: PARENT is the default). Only the first few are looked at: a body with a thousand
# of them costs no more than one with a handful.
PARENTS_READ = 8


def _relations(todo: Component) -> list[Any]:
    found = todo.get("RELATED-TO")
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _is_parent(relation: Any) -> bool:
    params = getattr(relation, "params", {})
    return str(params.get("RELTYPE", "PARENT")).upper() == "PARENT"


def parent_uids(todo: Component) -> list[str]:
    """The UIDs the VTODO names as its parent, in order, the first PARENTS_READ of them."""
    uids: list[str] = []
    for relation in _relations(todo):
        if _is_parent(relation):
            uid = str(relation).strip()
            if uid and uid not in uids:
                uids.append(uid)
            if len(uids) == PARENTS_READ:
                break
    return uids


def _write_parent(todo: Component, was: str | None, now: str | None) -> None:
    """Swap the relation that made the parent we know (`was`) for the one to `now`. Other
    relations (CHILD, SIBLING, a parent UID we could not place) stay as they came."""
    kept = [
        relation
        for relation in _relations(todo)
        if not (was is not None and _is_parent(relation) and str(relation).strip() == was)
    ]
    todo.pop("RELATED-TO", None)
    for relation in kept:
        todo.add("RELATED-TO", relation)
    if now is not None:
        todo.add("RELATED-TO", now, parameters={"RELTYPE": "PARENT"})


def render(
    task: Task,
    *,
    stored: str | None,
    uid: str,
    tz: ZoneInfo,
    parent_uid: str | None = None,
    stored_parent_uid: str | None = None,
) -> bytes:
    return bytes(
        render_calendar(
            task,
            stored=stored,
            uid=uid,
            tz=tz,
            parent_uid=parent_uid,
            stored_parent_uid=stored_parent_uid,
        ).to_ical()
    )


def render_calendar(
    task: Task,
    *,
    stored: str | None,
    uid: str,
    tz: ZoneInfo,
    parent_uid: str | None = None,
    stored_parent_uid: str | None = None,
) -> Calendar:
    """The task as a calendar object: the stored one with what changed rewritten.
    `parent_uid` is the UID of the task's parent now; `stored_parent_uid` the one the
    stored object's RELATED-TO was read as when it was written (None: it set no parent)."""
    calendar: Calendar
    todo: Todo
    if stored is not None:
        calendar, todo = parse(stored.encode())
    else:
        calendar = Calendar()
        calendar.add("PRODID", PRODID)
        calendar.add("VERSION", "2.0")
        todo = Todo()
        todo.add("UID", uid)
        todo.add("DTSTAMP", task.created_at.astimezone(UTC))
        todo.add("CREATED", task.created_at.astimezone(UTC))
        calendar.add_component(todo)
    was = read(todo, tz) if stored is not None else Fields(title="", priority="")
    now = fields_of(task)
    if was.title != now.title:
        _replace(todo, "SUMMARY", now.title)
    if was.description != now.description:
        _replace(todo, "DESCRIPTION", now.description or None)
    # STATUS always, COMPLETED with every done task: clients ask for open tasks by either
    # (a prop-filter on a property matches no object without it).
    if (
        stored is None
        or was.completed != now.completed
        or "STATUS" not in todo
        or (now.completed and "COMPLETED" not in todo)
    ):
        _write_state(todo, task)
    if was.priority != now.priority:
        _replace(todo, "PRIORITY", _TO_ICAL[now.priority] or None)
    if not _same_tags(was.tags, now.tags):
        _replace(todo, "CATEGORIES", now.tags or None)
    if was.due_at != now.due_at or was.due_date != now.due_date:
        _write_due(todo, now)
    if was.rrule != now.rrule:
        _replace(todo, "RRULE", vRecur.from_ical(now.rrule) if now.rrule else None)
    if was.remind_at != now.remind_at:
        _write_alarm(todo, now, now.title)
    if stored_parent_uid != parent_uid:
        _write_parent(todo, stored_parent_uid, parent_uid)
    if "DTSTAMP" not in todo:
        todo.add("DTSTAMP", task.updated_at.astimezone(UTC))
    _replace(todo, "LAST-MODIFIED", task.updated_at.astimezone(UTC))
    return calendar
