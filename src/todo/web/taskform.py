"""The task detail form: its fields in the owner's time zone, turned into a task update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from todo.core.ids import parse_int, parse_row_id
from todo.tasks.models import Task
from todo.web.display import priority_name

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
REPEATS = {
    "none": "Does not repeat",
    "daily": "Every day",
    "weekdays": "Every weekday",
    "weekly": "Every week on…",
    "monthly": "Every month on day…",
    "yearly": "Every year",
    "custom": "Custom rule (RRULE)",
}
# recurrence_mode of the task API -> what the form says
RECURRENCE_MODES = {
    "due": "when it was due: a fixed schedule",
    "completion": "when it is done: a full interval after completing it",
}
_WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


class FormProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Picker:
    repeat: str
    days: tuple[str, ...]
    monthday: str
    custom: str


def picker_of(rule: str | None) -> Picker:
    """Which choice of the simple picker shows a stored rule; anything else is custom."""
    if not rule:
        return Picker("none", (), "", "")
    parts = dict(part.split("=", 1) for part in rule.split(";") if "=" in part)
    keys = set(parts)
    if rule == _WEEKDAYS:
        return Picker("weekdays", (), "", "")
    if keys == {"FREQ"} and parts["FREQ"] in ("DAILY", "YEARLY"):
        return Picker(parts["FREQ"].lower(), (), "", "")
    if parts.get("FREQ") == "WEEKLY" and keys <= {"FREQ", "BYDAY"}:
        days = tuple(d for d in parts.get("BYDAY", "").split(",") if d in DAYS)
        return Picker("weekly", days, "", "")
    if parts.get("FREQ") == "MONTHLY" and keys == {"FREQ", "BYMONTHDAY"}:
        return Picker("monthly", (), parts["BYMONTHDAY"], "")
    return Picker("custom", (), "", rule)


def rule_of(form: dict[str, str], days: list[str]) -> str | None:
    repeat = form.get("repeat", "none")
    if repeat == "none":
        return None
    if repeat in ("daily", "yearly"):
        return f"FREQ={repeat.upper()}"
    if repeat == "weekdays":
        return _WEEKDAYS
    if repeat == "weekly":
        chosen = [day for day in DAYS if day in days]
        return "FREQ=WEEKLY" + (f";BYDAY={','.join(chosen)}" if chosen else "")
    if repeat == "monthly":
        day = form.get("repeat_monthday", "").strip()
        monthday = parse_int(day, low=1, high=31)
        if monthday is None:
            raise FormProblem("repeat_monthday", "Choose a day of the month from 1 to 31.")
        return f"FREQ=MONTHLY;BYMONTHDAY={monthday}"
    if repeat == "custom":
        custom = form.get("repeat_custom", "").strip().removeprefix("RRULE:")
        if not custom:
            raise FormProblem("repeat_custom", "Write the rule, such as FREQ=WEEKLY;INTERVAL=2.")
        return custom
    raise FormProblem("repeat", "Choose how the task repeats.")


def _day(raw: str, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FormProblem(field, "Write the date as YYYY-MM-DD.") from None


def _time(raw: str) -> time | None:
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise FormProblem("due_time", "Write the time as HH:MM.") from None


def changes_of(form: dict[str, str], days: list[str], zone: ZoneInfo) -> dict[str, Any]:
    """The TaskUpdate fields the detail form sets; times are the owner's wall time."""
    changes: dict[str, Any] = {
        name: form[name] for name in ("title", "description", "priority") if name in form
    }
    if "completed" in form:
        changes["completed"] = form["completed"] == "true"
    if "list_id" in form:
        list_id = parse_row_id(form["list_id"])
        if list_id is None:
            raise FormProblem("list_id", "Choose one of your lists.")
        changes["list_id"] = list_id
    if "assignee_id" in form:
        changes["assignee_id"] = form["assignee_id"] or None
    if "tags" in form:
        changes["tags"] = [
            tag.strip().lstrip("#") for tag in form["tags"].split(",") if tag.strip()
        ]
    if "due_date" in form:
        day = _day(form["due_date"].strip(), "due_date")
        at = _time(form.get("due_time", "").strip())
        if at is not None and day is None:
            raise FormProblem("due_date", "A due time needs a due date.")
        if day is not None and at is not None:
            changes["due_at"] = datetime.combine(day, at, zone)
        else:
            changes["due_date"], changes["due_at"] = day, None
    if "remind_at" in form:
        raw = form["remind_at"].strip()
        try:
            changes["remind_at"] = datetime.fromisoformat(raw).replace(tzinfo=zone) if raw else None
        except ValueError:
            raise FormProblem("remind_at", "Write the reminder as a date and a time.") from None
    if "repeat" in form:
        changes["rrule"] = rule_of(form, days)
    if "recurrence_mode" in form:
        # TaskUpdate refuses anything but the API's own values, naming the field.
        changes["recurrence_mode"] = form["recurrence_mode"]
    return changes


def values_of(task: Task, zone: ZoneInfo) -> dict[str, Any]:
    """The form's fields for a task as it is stored."""
    due_at = task.due_at.astimezone(zone) if task.due_at else None
    remind = task.remind_at.astimezone(zone) if task.remind_at else None
    picker = picker_of(task.rrule)
    return {
        "title": task.title,
        "description": task.description,
        "priority": priority_name(task.priority),
        "tags": ", ".join(tag.name for tag in task.tags),
        "list_id": str(task.list_id),
        "assignee_id": task.assignee_id or "",
        "due_date": str(due_at.date()) if due_at else str(task.due_date or ""),
        "due_time": f"{due_at:%H:%M}" if due_at else "",
        "remind_at": f"{remind:%Y-%m-%dT%H:%M}" if remind else "",
        "repeat": picker.repeat,
        "repeat_days": picker.days,
        "repeat_monthday": picker.monthday,
        "repeat_custom": picker.custom,
        "recurrence_mode": task.recurrence_mode,
        "completed": task.completed,
    }


def resubmitted(
    task: Task, zone: ZoneInfo, form: dict[str, str], days: list[str]
) -> dict[str, Any]:
    """The form's fields as they were posted, to show them again next to its errors.

    Every value is the one the person sent, typed as the form shows it: the checkbox is a
    bool (the text "false" of its hidden field would tick it), so saving the form again
    never changes what the person did not touch."""
    values = {**values_of(task, zone), **form, "repeat_days": tuple(days)}
    if "completed" in form:
        values["completed"] = form["completed"] == "true"
    return values
