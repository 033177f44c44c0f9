"""How task fields read on a page: due dates in the owner's time zone, priorities in words."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PRIORITY_NAMES = {0: "none", 1: "low", 2: "medium", 3: "high", 4: "urgent"}


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def today(timezone: str | None) -> date:
    return datetime.now(_zone(timezone)).date()


def _day(day: date, now: date) -> str:
    offset = (day - now).days
    if offset == 0:
        return "Today"
    if offset == 1:
        return "Tomorrow"
    if offset == -1:
        return "Yesterday"
    label = f"{day:%a} {day.day} {day:%b}"
    return label if day.year == now.year else f"{label} {day.year}"


def due_label(due_date: date | None, due_at: datetime | None, timezone: str | None) -> str:
    """ "Today", "Tomorrow 17:00", "Mon 1 Dec": the day in words, the time when there is one."""
    zone = _zone(timezone)
    now = datetime.now(zone).date()
    if due_at is not None:
        local = due_at.astimezone(zone)
        return f"{_day(local.date(), now)} {local:%H:%M}"
    if due_date is not None:
        return _day(due_date, now)
    return ""


def is_overdue(
    due_date: date | None, due_at: datetime | None, completed: bool, timezone: str | None
) -> bool:
    if completed:
        return False
    zone = _zone(timezone)
    if due_at is not None:
        return due_at < datetime.now(zone)
    return due_date is not None and due_date < datetime.now(zone).date()


def priority_name(priority: int | str | None) -> str:
    if isinstance(priority, str):
        return priority
    return PRIORITY_NAMES.get(priority or 0, "none")


def instant_label(moment: datetime, timezone: str | None) -> str:
    """ "2 Dec 2026, 17:23 CET": an instant on the owner's clock, with the zone's abbreviation
    so that nobody mistakes it for another zone's time."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    local = aware.astimezone(_zone(timezone))
    return f"{local.day} {local:%b %Y, %H:%M} {local:%Z}"
