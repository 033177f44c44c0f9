"""What the calendar shows: a month or an ISO week of dated tasks, all of it kept in the URL.

`/calendar?month=2026-12&day=2026-12-15` is a month with one day's tasks listed under it,
`/calendar?view=week&week=2026-W49` a week. As in the list views, a value the calendar cannot
read falls back to its default (the current month or week) instead of failing: an edited or
old bookmark still opens a calendar.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from todo.tasks.models import Task
from todo.tasks.query import TaskQuery

URL = "/calendar"
VIEWS = {"month": "Month", "week": "Week"}
# Chips a month's day shows before "+N more"; a week's day has room for more.
MONTH_CHIPS = 3
WEEK_CHIPS = 12
# At most this many tasks are drawn for one month or week; more are announced, not drawn.
MAX_TASKS = 500
_DASH = "\u2013"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# ASCII digits only: str.isdigit() also takes "²" and full-width digits.
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})", re.ASCII)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_month(raw: str | None) -> date | None:
    """The first day of a `YYYY-MM` month, or None."""
    found = _MONTH.fullmatch(raw or "")
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), 1)
    except ValueError:
        return None


def parse_week(raw: str | None) -> date | None:
    """The Monday of an ISO `YYYY-Www` week, or None (also when its Sunday is past 9999)."""
    found = _WEEK.fullmatch(raw or "")
    if found is None:
        return None
    try:
        return date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        return None


def parse_day(raw: str | None) -> date | None:
    if raw is None or _DAY.fullmatch(raw) is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _plus(day: date, days: int) -> date | None:
    """`day` moved by `days`, or None past the calendar's ends (years 1 and 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def _month_after(first: date, step: int) -> date | None:
    index = first.year * 12 + first.month - 1 + step
    year, month = divmod(index, 12)
    return date(year, month + 1, 1) if 1 <= year <= 9999 else None


def week_key(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year:04}-W{week:02}"


def month_key(first: date) -> str:
    return f"{first.year:04}-{first.month:02}"


@dataclass(frozen=True)
class CalendarView:
    """A month (`start` is its 1st) or a week (`start` is its Monday), and the chosen day."""

    mode: str
    start: date
    today: date
    day: date | None = None

    @classmethod
    def parse(
        cls,
        *,
        today: date,
        view: str | None = None,
        month: str | None = None,
        week: str | None = None,
        day: str | None = None,
    ) -> CalendarView:
        chosen = parse_day(day)
        if view == "week":
            monday = parse_week(week)
            if monday is None:
                around = chosen or today
                monday = around - timedelta(days=around.weekday())
                # The Monday of a week of year 1 that began in year 0 cannot be had.
                if monday.year < 1:
                    monday = date(1, 1, 1)
            return cls("week", monday, today)
        first = parse_month(month) or (chosen or today).replace(day=1)
        if chosen is None or chosen.replace(day=1) != first:
            chosen = today if today.replace(day=1) == first else first
        return cls("month", first, today, chosen)

    @classmethod
    def from_url(cls, url: str | None, *, today: date) -> CalendarView:
        query = parse_qs(urlsplit(url or URL).query)

        def first(name: str) -> str | None:
            return query.get(name, [None])[0]

        return cls.parse(
            today=today,
            view=first("view"),
            month=first("month"),
            week=first("week"),
            day=first("day"),
        )

    @property
    def is_week(self) -> bool:
        return self.mode == "week"

    @property
    def days(self) -> list[date | None]:
        """Every cell, Monday first: a week's 7 days, or a month's whole weeks (None past
        the end of the calendar, in December 9999)."""
        if self.is_week:
            return [_plus(self.start, offset) for offset in range(7)]
        lead = self.start.weekday()
        after = _month_after(self.start, 1)
        # Only December 9999 has no next month to count its days to.
        length = (after - self.start).days if after is not None else 31
        cells = -(-(lead + length) // 7) * 7
        first = _plus(self.start, -lead) or self.start
        return [_plus(first, offset) for offset in range(cells)]

    @property
    def weeks(self) -> list[list[date | None]]:
        cells = self.days
        return [cells[at : at + 7] for at in range(0, len(cells), 7)]

    @property
    def first_day(self) -> date:
        return next(day for day in self.days if day is not None)

    @property
    def last_day(self) -> date:
        return [day for day in self.days if day is not None][-1]

    def in_range(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def in_month(self, day: date) -> bool:
        return self.is_week or day.replace(day=1) == self.start

    @property
    def title(self) -> str:
        if not self.is_week:
            return f"{self.start:%B} {self.start.year}"
        first, last = self.start, self.last_day
        if last.month == first.month:
            return f"{first.day}{_DASH}{last.day} {last:%B} {last.year}"
        start = f"{first.day} {first:%b}" + ("" if last.year == first.year else f" {first.year}")
        return f"{start} {_DASH} {last.day} {last:%b} {last.year}"

    def url(self, **changes: Any) -> str:
        shown = replace(self, **changes)
        if shown.is_week:
            params = {"view": "week", "week": week_key(shown.start)}
        else:
            params = {"month": month_key(shown.start)}
            if shown.day is not None and shown.day != shown.today:
                params["day"] = shown.day.isoformat()
        return f"{URL}?{urlencode(params)}"

    def _step(self, step: int) -> str | None:
        if self.is_week:
            monday = _plus(self.start, 7 * step)
            if monday is None or _plus(monday, 6) is None:
                return None
            return self.url(start=monday)
        first = _month_after(self.start, step)
        return None if first is None else self.url(start=first, day=first)

    @property
    def previous_url(self) -> str | None:
        return self._step(-1)

    @property
    def next_url(self) -> str | None:
        return self._step(1)

    @property
    def today_url(self) -> str:
        if self.is_week:
            return self.url(start=self.today - timedelta(days=self.today.weekday()))
        return self.url(start=self.today.replace(day=1), day=self.today)

    def switch_url(self, mode: str) -> str:
        """The other view around the same days: the week of the chosen day, its month."""
        if mode == self.mode:
            return self.url()
        if mode == "week":
            around = self.day or self.start
            monday = _plus(around, -around.weekday()) or date(1, 1, 1)
            if _plus(monday, 6) is None:
                monday = monday - timedelta(days=7)
            return replace(self, mode="week", start=monday, day=None).url()
        around = self.today if self.in_range(self.today) else self.start
        return replace(self, mode="month", start=around.replace(day=1), day=around).url()

    def day_url(self, day: date) -> str:
        """A day of the month chosen, its tasks listed under the grid."""
        return replace(self, mode="month", start=day.replace(day=1), day=day).url() + "#day"

    def query(self) -> TaskQuery:
        """The tasks due on the days shown, a day to either side: a task due at a time has
        its stored day in the zone of whoever set it, which may be a day off the viewer's."""
        return TaskQuery(
            status="all",
            sort="due_date",
            order="asc",
            limit=MAX_TASKS,
            due_from=_plus(self.first_day, -1) or self.first_day,
            due_to=_plus(self.last_day, 1) or self.last_day,
        )


def local_day(task: Task, zone: ZoneInfo) -> date | None:
    """The day a task is due on the viewer's calendar."""
    if task.due_at is not None:
        try:
            return task.due_at.astimezone(zone).date()
        except OverflowError:
            return task.due_date
    return task.due_date


def local_time(task: Task, zone: ZoneInfo) -> str | None:
    if task.due_at is None:
        return None
    try:
        return f"{task.due_at.astimezone(zone):%H:%M}"
    except OverflowError:
        return None


def _order(task: Task) -> tuple[Any, ...]:
    """Open before done, the day's untimed tasks before its timed ones by time, then the
    higher priority first."""
    moment = task.due_at or datetime.min.replace(tzinfo=ZoneInfo("UTC"))
    return (task.completed, task.due_at is not None, moment, -task.priority, task.id or 0)


@dataclass(frozen=True)
class Day:
    day: date
    tasks: Sequence[Task]
    shown: int

    @property
    def more(self) -> int:
        return len(self.tasks) - self.shown

    @property
    def chips(self) -> Sequence[Task]:
        return self.tasks[: self.shown]


@dataclass(frozen=True)
class Calendar:
    view: CalendarView
    by_day: dict[date, Day] = field(default_factory=dict)
    truncated: bool = False

    def of(self, day: date) -> Day:
        return self.by_day.get(day) or Day(day, (), 0)

    @property
    def empty(self) -> bool:
        return not self.by_day


def lay_out(
    view: CalendarView, found: Iterable[Task], zone: ZoneInfo, *, truncated: bool
) -> Calendar:
    """The tasks found, on the days shown, each day in its order."""
    grouped: dict[date, list[Task]] = {}
    for task in found:
        day = local_day(task, zone)
        if day is not None and view.in_range(day):
            grouped.setdefault(day, []).append(task)
    fits = WEEK_CHIPS if view.is_week else MONTH_CHIPS
    by_day = {}
    for day, tasks in grouped.items():
        tasks.sort(key=_order)
        # "+1 more" would take the room of the one chip it hides.
        shown = len(tasks) if len(tasks) <= fits + 1 else fits
        by_day[day] = Day(day, tasks, shown)
    return Calendar(view, by_day, truncated)
