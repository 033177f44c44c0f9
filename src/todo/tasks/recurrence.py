"""Recurring tasks: RFC 5545 recurrence rules and the next due date of a series.

Pure functions, no I/O. Rules are a validated subset of RRULE (see `normalize_rule`).
The next occurrence is computed directly: the search jumps arithmetically to the period
of the rule's grid that holds the previous due date, then walks forward from there. The
Gregorian calendar repeats every 400 years, so one turn of the grid around that cycle
is an exact bound: a rule that has produced nothing by then never will.

Whole-day series use `date`; timed series use aware UTC `datetime`s. DAILY and coarser
rules do their arithmetic in the user's wall-clock time, so "every day at 09:00" stays at
09:00 across DST changes. A wall-clock time skipped by a DST jump is read with the offset
before the gap, as RFC 5545 says (02:30 becomes 03:30), and the series is back at 02:30
the day after; a repeated one resolves to its first instance. HOURLY and MINUTELY rules
step through elapsed time instead, so they neither skip nor repeat an instant.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from math import gcd
from typing import Final, Literal, NamedTuple
from zoneinfo import ZoneInfo

from todo.core.ids import parse_int

__all__ = ["InvalidRule", "Mode", "describe_rule", "next_due", "normalize_rule", "shifted_by_gap"]


class InvalidRule(ValueError):
    """A recurrence rule outside the supported subset; `str(error)` is a human sentence."""


Mode = Literal["due", "completion"]

_FREQUENCIES: Final = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY")
_SUB_DAILY: Final = frozenset({"HOURLY", "MINUTELY"})
_WEEKDAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WORKWEEK: Final = frozenset(range(5))
_WEEKEND: Final = frozenset({5, 6})
# Also the order of the canonical text: what, on which days, then for how long.
_KEYS: Final = (
    "FREQ",
    "INTERVAL",
    "BYMONTH",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "WKST",
    "COUNT",
    "UNTIL",
)
_RFC_KEYS_NOT_SUPPORTED: Final = frozenset(
    {"BYSECOND", "BYMINUTE", "BYHOUR", "BYYEARDAY", "BYWEEKNO"}
)
_KEY_LIST: Final = ", ".join(_KEYS[:-1]) + " and " + _KEYS[-1]
_FREQUENCY_LIST: Final = ", ".join(_FREQUENCIES[:-1]) + " or " + _FREQUENCIES[-1]

_MAX_INTERVAL: Final = 1000
_MAX_COUNT: Final = 10000
_NUMBER = re.compile(r"[+-]?[0-9]{1,6}")
_BYDAY_ITEM = re.compile(r"([+-]?[0-9]{1,2})?([A-Z]{2})")
# 5 to 7 digits: the unpadded years before 1000 this module once wrote (UNTIL=10101 for
# 0001-01-01), still in stored rules and clients' copies; they are read and written back padded.
_UNTIL = re.compile(r"([0-9]{5,8})(?:T([0-9]{6})(Z?))?")

_LONGEST_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# 28 years in a row with no skipped leap day (no 1900 or 2100 among them) include every
# kind of Gregorian year, leap or not, starting on each weekday; so every kind of month.
_SAMPLE_YEARS: Final = range(2001, 2029)
_DAYS_IN_400_YEARS: Final = 146_097
_MINUTES_IN_400_YEARS: Final = _DAYS_IN_400_YEARS * 24 * 60
# Per frequency, how many period indexes (years, months, or days for WEEKLY/DAILY,
# whose periods are indexed by ordinal day) make up one 400-year calendar cycle.
_CYCLE: Final = {
    "YEARLY": 400,
    "MONTHLY": 4800,
    "WEEKLY": _DAYS_IN_400_YEARS,
    "DAILY": _DAYS_IN_400_YEARS,
}
_FIRST_DAY: Final = date.min.toordinal()
_LAST_DAY: Final = date.max.toordinal()
_LAST_PERIOD: Final = {
    "YEARLY": date.max.year,
    "MONTHLY": 12 * date.max.year + 11,
    "WEEKLY": date.max.toordinal(),
    "DAILY": date.max.toordinal(),
}


class _Day(NamedTuple):
    weekday: int  # 0 is Monday, as in `date.weekday()`
    position: int | None  # the nth such weekday of the month or year; None for every one


@dataclass(frozen=True)
class _Rule:
    freq: str
    interval: int = 1
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byday: tuple[_Day, ...] = ()
    bysetpos: tuple[int, ...] = ()
    wkst: int = 0
    count: int | None = None
    until: date | None = None  # a `datetime` (aware, UTC) when given as a date-time


# --- parsing -----------------------------------------------------------------------


def normalize_rule(text: str) -> str:
    """Validate `text` and return it as canonical RRULE text.

    Keys and values are upper-case, parts appear in a fixed order, lists are sorted
    without repeats, and the defaults INTERVAL=1 and WKST=MO are left out, so two
    spellings of the same rule normalise to the same text.
    """
    return _format(_parse(text))


def _parse(text: str) -> _Rule:
    body = text.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:]
    values: dict[str, str] = {}
    for chunk in body.split(";"):
        if not chunk.strip():
            continue
        key, equals, value = chunk.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not equals or not key:
            raise InvalidRule(f"{chunk.strip()!r} is not a NAME=VALUE part of a recurrence rule.")
        if key in _RFC_KEYS_NOT_SUPPORTED:
            raise InvalidRule(f"{key} is not supported; a rule may use {_KEY_LIST}.")
        if key not in _KEYS:
            raise InvalidRule(f"{key} is not a recurrence rule part; use {_KEY_LIST}.")
        if key in values:
            raise InvalidRule(f"{key} is given more than once.")
        if not value:
            raise InvalidRule(f"{key} has no value.")
        values[key] = value
    if not values:
        raise InvalidRule("The recurrence rule is empty.")

    freq = values.get("FREQ")
    if freq is None:
        raise InvalidRule(f"FREQ is missing; say how often the task repeats ({_FREQUENCY_LIST}).")
    if freq not in _FREQUENCIES:
        raise InvalidRule(f"FREQ must be {_FREQUENCY_LIST}, not {freq}.")
    if "COUNT" in values and "UNTIL" in values:
        raise InvalidRule(
            "COUNT and UNTIL cannot be used together; choose one way to end the rule."
        )

    bymonth = _parse_numbers(values, "BYMONTH", 1, 12, signed=False)
    bymonthday = _parse_numbers(values, "BYMONTHDAY", 1, 31, signed=True)
    bysetpos = _parse_numbers(values, "BYSETPOS", 1, 366, signed=True)
    byday = _parse_byday(values.get("BYDAY"), freq, yearly_by_month=bool(bymonth))
    if bymonthday and freq == "WEEKLY":
        raise InvalidRule("BYMONTHDAY cannot be used with FREQ=WEEKLY.")
    if bysetpos and freq not in ("YEARLY", "MONTHLY", "WEEKLY"):
        raise InvalidRule("BYSETPOS only works with FREQ=YEARLY, MONTHLY or WEEKLY.")
    if bysetpos and not (bymonth or bymonthday or byday):
        raise InvalidRule("BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH to pick from.")

    interval = values.get("INTERVAL")
    count = values.get("COUNT")
    wkst = values.get("WKST", "MO")
    if wkst not in _WEEKDAYS:
        raise InvalidRule(f"WKST must be a weekday ({', '.join(_WEEKDAYS)}), not {wkst}.")
    return _Rule(
        freq=freq,
        interval=1 if interval is None else _parse_whole(interval, "INTERVAL", _MAX_INTERVAL),
        bymonth=bymonth,
        bymonthday=bymonthday,
        byday=byday,
        bysetpos=bysetpos,
        wkst=_WEEKDAYS.index(wkst),
        count=None if count is None else _parse_whole(count, "COUNT", _MAX_COUNT),
        until=_parse_until(values["UNTIL"]) if "UNTIL" in values else None,
    )


def _parse_whole(value: str, key: str, maximum: int) -> int:
    number = parse_int(value, low=1, high=maximum)
    if number is None:
        raise InvalidRule(f"{key} must be a whole number from 1 to {maximum}, not {value}.")
    return number


def _parse_numbers(
    values: dict[str, str], key: str, low: int, high: int, *, signed: bool
) -> tuple[int, ...]:
    if key not in values:
        return ()
    allowed = f"from {low} to {high}" + (f" or from -{high} to -{low}" if signed else "")
    numbers: set[int] = set()
    for item in values[key].split(","):
        number = int(item) if _NUMBER.fullmatch(item.strip()) else None
        if number is None or not low <= (abs(number) if signed else number) <= high:
            raise InvalidRule(f"{key} values must be whole numbers {allowed}; {item!r} is not.")
        numbers.add(number)
    return tuple(sorted(numbers, key=_chronological))


def _chronological(number: int) -> tuple[bool, int]:
    """Sort key: 1, 2, ... then -31 (furthest from the end) up to -1 (the last)."""
    return (number < 0, number)


def _parse_byday(value: str | None, freq: str, *, yearly_by_month: bool) -> tuple[_Day, ...]:
    if value is None:
        return ()
    days: set[_Day] = set()
    for item in value.split(","):
        match = _BYDAY_ITEM.fullmatch(item.strip())
        if match is None or match[2] not in _WEEKDAYS:
            raise InvalidRule(
                f"BYDAY value {item!r} is not a weekday ({', '.join(_WEEKDAYS)}), optionally "
                "preceded by a position such as 2TU or -1FR."
            )
        position = None if match[1] is None else int(match[1])
        if position is not None:
            if freq not in ("MONTHLY", "YEARLY"):
                raise InvalidRule(
                    f"BYDAY positions such as {item.strip()} only work with FREQ=MONTHLY or YEARLY."
                )
            # RFC 5545 counts within the month for MONTHLY and YEARLY+BYMONTH, else the year.
            limit = 53 if freq == "YEARLY" and not yearly_by_month else 5
            if not 1 <= abs(position) <= limit:
                raise InvalidRule(
                    f"The position in BYDAY value {item.strip()} must be from 1 to {limit} "
                    f"or from -{limit} to -1."
                )
        days.add(_Day(_WEEKDAYS.index(match[2]), position))
    return tuple(
        sorted(
            days,
            key=lambda day: (
                day.weekday,
                day.position is not None,
                _chronological(day.position or 0),
            ),
        )
    )


def _parse_until(value: str) -> date:
    match = _UNTIL.fullmatch(value)
    if match is None:
        raise InvalidRule(
            "UNTIL must be a date such as 20261231 or a UTC date-time such as 20261231T235959Z."
        )
    day_text, time_text, zulu = match.groups()
    if time_text is not None and not zulu:
        raise InvalidRule(
            "UNTIL date-times must be in UTC: end them with Z, as in 20261231T235959Z."
        )
    # Sliced by position, not strptime: it reads the year as 4 digits only by convention.
    year, month, day = int(day_text[:-4]), int(day_text[-4:-2]), int(day_text[-2:])
    try:
        if time_text is None:
            return date(year, month, day)
        hour, minute, second = int(time_text[:2]), int(time_text[2:4]), int(time_text[4:])
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise InvalidRule(f"UNTIL {value} is not a real calendar date and time.") from None


def _format_until(until: date) -> str:
    # Not strftime: %Y writes the year 999 as "999", which no longer parses as 8 digits.
    day = f"{until.year:04d}{until.month:02d}{until.day:02d}"
    if isinstance(until, datetime):
        return f"{day}T{until.hour:02d}{until.minute:02d}{until.second:02d}Z"
    return day


def _format(rule: _Rule) -> str:
    parts = [f"FREQ={rule.freq}"]
    if rule.interval != 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.bymonth:
        parts.append(f"BYMONTH={','.join(map(str, rule.bymonth))}")
    if rule.bymonthday:
        parts.append(f"BYMONTHDAY={','.join(map(str, rule.bymonthday))}")
    if rule.byday:
        items = (f"{day.position or ''}{_WEEKDAYS[day.weekday]}" for day in rule.byday)
        parts.append(f"BYDAY={','.join(items)}")
    if rule.bysetpos:
        parts.append(f"BYSETPOS={','.join(map(str, rule.bysetpos))}")
    if rule.wkst:
        parts.append(f"WKST={_WEEKDAYS[rule.wkst]}")
    if rule.count is not None:
        parts.append(f"COUNT={rule.count}")
    if rule.until is not None:
        parts.append(f"UNTIL={_format_until(rule.until)}")
    return ";".join(parts)


# --- description ---------------------------------------------------------------------

_UNITS: Final = {
    "YEARLY": "year",
    "MONTHLY": "month",
    "WEEKLY": "week",
    "DAILY": "day",
    "HOURLY": "hour",
    "MINUTELY": "minute",
}
_DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Not `calendar.month_name`, which follows the process locale.
_MONTH_NAMES: Final = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def describe_rule(text: str) -> str:
    """A short English description, e.g. "every 2 weeks on Monday and Wednesday"."""
    rule = _parse(text)
    parts = [_describe_pattern(rule)]
    if rule.count is not None:
        parts.append("once" if rule.count == 1 else f"{rule.count} times")
    if isinstance(rule.until, datetime):
        parts.append(f"until {_describe_date(rule.until)} {rule.until:%H:%M} UTC")
    elif rule.until is not None:
        parts.append(f"until {_describe_date(rule.until)}")
    return ", ".join(parts)


def _describe_pattern(rule: _Rule) -> str:
    unit = _UNITS[rule.freq]
    every = f"every {unit}" if rule.interval == 1 else f"every {rule.interval} {unit}s"
    months = _join([_MONTH_NAMES[month] for month in rule.bymonth])
    in_months = f" in {months}" if months else ""
    plain = {day.weekday for day in rule.byday if day.position is None}
    only_plain = bool(plain) and len(plain) == len(rule.byday)

    if (
        only_plain
        and not rule.bymonthday
        and not rule.bysetpos
        and rule.interval == 1
        and rule.freq in ("WEEKLY", "DAILY")
    ):
        return f"every {_describe_weekdays(plain, plural=False)}{in_months}"
    if (
        rule.freq == "YEARLY"
        and len(rule.bymonth) == 1
        and rule.bymonthday
        and min(rule.bymonthday) > 0
        and not rule.byday
        and not rule.bysetpos
    ):
        return f"{every} on {months} {_join([str(day) for day in rule.bymonthday])}"
    days = _describe_days(rule, plain if only_plain else set())
    return f"{every}{' on ' + days if days else ''}{in_months}"


def _describe_days(rule: _Rule, only_plain: set[int]) -> str:
    """The days part, given the weekdays of BYDAY when it has no positions (else empty)."""
    positions = _join([_ordinal(position) for position in rule.bysetpos])
    if only_plain and not rule.bymonthday:
        if rule.bysetpos:
            return (
                f"the {positions} {_describe_weekdays(only_plain, plural=False, conjunction='or')}"
            )
        # Within a month or year, plain weekdays mean all of them: "on Mondays".
        plural = rule.freq in ("YEARLY", "MONTHLY") or only_plain in (_WORKWEEK, _WEEKEND)
        return _describe_weekdays(only_plain, plural=plural)

    def weekday(day: _Day, plain: str) -> str:
        if day.position is None:
            return plain
        return f"the {_ordinal(day.position)} {_DAY_NAMES[day.weekday]}"

    if rule.bymonthday:
        days = "the " + _join(
            [_ordinal(day) if day > 0 else f"{_ordinal(day)} day" for day in rule.bymonthday]
        )
        if rule.byday:
            verb = "it is" if len(rule.bymonthday) == 1 else "they are"
            weekdays = [weekday(day, f"a {_DAY_NAMES[day.weekday]}") for day in rule.byday]
            days += f" when {verb} {_join(weekdays, 'or')}"
    else:
        days = _join([weekday(day, f"{_DAY_NAMES[day.weekday]}s") for day in rule.byday])
    if rule.bysetpos:
        days += f" (only the {positions} of each {_UNITS[rule.freq]})"
    return days


def _describe_weekdays(weekdays: set[int], *, plural: bool, conjunction: str = "and") -> str:
    if weekdays == _WORKWEEK:
        return "weekdays" if plural else "weekday"
    if weekdays == _WEEKEND:
        return "weekend days" if plural else "weekend day"
    suffix = "s" if plural else ""
    return _join([_DAY_NAMES[weekday] + suffix for weekday in sorted(weekdays)], conjunction)


def _ordinal(number: int) -> str:
    if number == -1:
        return "last"
    if number < 0:
        return f"{_ordinal(-number)}-to-last"
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _join(items: Sequence[str], conjunction: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _describe_date(day: date) -> str:
    return f"{_MONTH_NAMES[day.month]} {day.day}, {day.year}"


# --- next occurrence -------------------------------------------------------------------


def next_due(
    rule: str,
    *,
    series_start: date | datetime,
    current_due: date | datetime,
    completed_at: datetime,
    occurrence: int,
    mode: Mode,
    tz: ZoneInfo,
    previous_due: date | datetime | None = None,
) -> date | datetime | None:
    """The due of the series' next occurrence, or None when the series has ended.

    `series_start` fixes the phase (weekday, day of month, time of day). In "due" mode
    the next occurrence is the series' first one strictly after `current_due`. In
    "completion" mode the series restarts on the local day of `completed_at` and the
    next occurrence is its first one on a later day (for HOURLY and MINUTELY rules:
    restarting at the completion minute, the first one after that instant). Dates stay
    dates; timed dues come back as aware UTC datetimes. `occurrence` is the 1-based
    index of the occurrence being completed, which is all COUNT needs.

    `previous_due`, the due of the occurrence before, is read only when `series_start`
    may be a time a DST gap skipped (see `shifted_by_gap`): a daily 02:30 series is due
    at 03:30 on the spring-forward day, and only the day before tells that the series
    returns to 02:30 rather than being a 03:30 one. A series that would pass the year
    9999 ends.
    """
    parsed = _parse(rule)
    timed = isinstance(current_due, datetime)
    if isinstance(series_start, datetime) is not timed:
        raise TypeError("series_start and current_due must both be dates or both be datetimes")
    for name, value in (
        ("series_start", series_start),
        ("current_due", current_due),
        ("completed_at", completed_at),
        ("previous_due", previous_due),
    ):
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime")
    if occurrence < 1:
        raise ValueError("occurrence is 1-based")
    if mode not in ("due", "completion"):
        raise ValueError(f"mode must be 'due' or 'completion', not {mode!r}")
    if parsed.count is not None and occurrence >= parsed.count:
        return None
    try:
        if parsed.freq in _SUB_DAILY:
            due = _next_sub_daily_due(parsed, series_start, current_due, completed_at, mode, tz)
        else:
            phase = _phase(series_start, previous_due, tz)
            due = _next_calendar_due(parsed, phase, current_due, completed_at, mode, tz)
    except OverflowError:  # the series runs past the year 9999
        return None
    return due if due is not None and _within_until(parsed.until, due, tz) else None


def shifted_by_gap(moment: datetime, tz: ZoneInfo) -> bool:
    """True when `moment` is also how RFC 5545 reads a local time that a DST gap skipped
    (02:30 on the spring-forward day in New York is 03:30 EDT), so that its wall-clock
    time alone does not tell a series' time of day: then `next_due` wants `previous_due`."""
    try:
        return _skipped_time(moment, tz) is not None
    except OverflowError:
        return False


def _skipped_time(moment: datetime, tz: ZoneInfo) -> datetime | None:
    """The nonexistent wall-clock time whose RFC 5545 reading is `moment`, if any."""
    local = moment.astimezone(tz)
    gap = _offset(local.replace(tzinfo=None), tz) - _offset(
        (moment - timedelta(days=1)).astimezone(tz).replace(tzinfo=None), tz
    )
    if gap <= timedelta(0):
        return None
    candidate = local.replace(tzinfo=None) - gap
    # fold=0 reads a time in the gap with the offset before it, as RFC 5545 does. Compared
    # in UTC: across zones, Python calls a time in a gap unequal to every instant (PEP 495).
    read = candidate.replace(tzinfo=tz).astimezone(UTC)
    if read != moment or read.astimezone(tz).replace(tzinfo=None) == candidate:
        return None
    return candidate


def _offset(local: datetime, tz: ZoneInfo) -> timedelta:
    """The UTC offset of a naive wall-clock time (fold=0: before a gap, first of a repeat)."""
    return tz.utcoffset(local) or timedelta(0)


def _phase(series_start: date, previous_due: date | None, tz: ZoneInfo) -> datetime:
    """The series' wall-clock dtstart: where `series_start` falls in `tz`, unless that is
    where a DST gap pushed a time the previous occurrence shows."""
    phase = _wall_clock(series_start, tz)
    if isinstance(series_start, datetime) and isinstance(previous_due, datetime):
        skipped = _skipped_time(series_start, tz)
        if skipped is not None and _wall_clock(previous_due, tz).time() == skipped.time():
            return skipped
    return phase


def _next_calendar_due(
    rule: _Rule,
    phase: datetime,
    current_due: date,
    completed_at: datetime,
    mode: Mode,
    tz: ZoneInfo,
) -> date | None:
    """DAILY and coarser: the rule's arithmetic runs on wall-clock time, so a series keeps
    its local time of day across DST changes; the result is read back in `tz` (a time in a
    gap with the offset before it, a repeated one as its first instance: RFC 5545)."""
    timed = isinstance(current_due, datetime)
    if mode == "due":
        start = phase
        after = _wall_clock(current_due, tz) if timed else datetime.combine(current_due, time.max)
    else:
        done = completed_at.astimezone(tz).date()
        # A later day, so completing early on the due day cannot yield that same due again.
        start = datetime.combine(done, phase.time())
        after = datetime.combine(done, time.max)
    found = _next_occurrence(rule, start, after)
    if found is None:
        return None
    return found.replace(tzinfo=tz).astimezone(UTC) if timed else found.date()


def _next_sub_daily_due(
    rule: _Rule,
    series_start: date,
    current_due: date,
    completed_at: datetime,
    mode: Mode,
    tz: ZoneInfo,
) -> date | None:
    """HOURLY and MINUTELY step through elapsed time, not the wall clock: across the fall
    change an hourly series has both 01:30s, and across the spring gap no hour twice."""
    if not isinstance(series_start, datetime) or not isinstance(current_due, datetime):
        # Whole days have no time zone to follow; only their dates come back.
        zone = ZoneInfo("UTC")
        if mode == "due":
            start = datetime.combine(series_start, time(), tzinfo=UTC)
            after = datetime.combine(current_due, time.max, tzinfo=UTC)
        else:
            done = completed_at.astimezone(tz).date()
            start = datetime.combine(done, time(), tzinfo=UTC)
            after = datetime.combine(done, time.max, tzinfo=UTC)
        found = _next_sub_daily(rule, start, after, zone)
        return None if found is None else found.date()
    if mode == "due":
        start = series_start.astimezone(UTC).replace(microsecond=0)
        after = current_due.astimezone(UTC)
    else:
        # "every! 3 hours" means three hours after the completion, not a daily phase.
        after = completed_at.astimezone(UTC)
        start = after.replace(second=0, microsecond=0)
    return _next_sub_daily(rule, start, after, tz)


def _wall_clock(moment: date, tz: ZoneInfo) -> datetime:
    if isinstance(moment, datetime):
        return moment.astimezone(tz).replace(tzinfo=None, microsecond=0)
    return datetime.combine(moment, time())


def _within_until(until: date | None, due: date, tz: ZoneInfo) -> bool:
    # Compared as differences of naive times, which cannot leave the calendar the way
    # moving UNTIL 00010101T000000Z or 99991231T235959Z into a local zone can.
    if until is None:
        return True
    if isinstance(due, datetime):
        if isinstance(until, datetime):
            return due <= until
        # Inside a date UNTIL while before the local midnight that ends that day.
        if until == date.max:
            return True
        day_after = datetime.combine(until + timedelta(days=1), time())
        return due.astimezone(UTC).replace(tzinfo=None) - day_after < -_offset(day_after, tz)
    if isinstance(until, datetime):
        # A whole day starts at local midnight; it is inside UNTIL if that midnight is.
        midnight = datetime.combine(due, time())
        return midnight - until.replace(tzinfo=None) <= _offset(midnight, tz)
    return due <= until


def _next_occurrence(rule: _Rule, start: datetime, after: datetime) -> datetime | None:
    """The first occurrence of `rule` with wall-clock dtstart `start` strictly after `after`."""
    rule = _with_defaults(rule, start)
    if not _can_match(rule, start):
        return None
    return _next_by_period(rule, start, after)


def _with_defaults(rule: _Rule, start: datetime) -> _Rule:
    """Spell out what RFC 5545 takes from DTSTART when no BY part names the days."""
    if rule.freq == "YEARLY" and not rule.bymonthday and not rule.byday:
        return replace(rule, bymonth=rule.bymonth or (start.month,), bymonthday=(start.day,))
    if rule.freq == "MONTHLY" and not rule.bymonthday and not rule.byday:
        return replace(rule, bymonthday=(start.day,))
    if rule.freq == "WEEKLY" and not rule.byday:
        return replace(rule, byday=(_Day(start.weekday(), None),))
    return rule


def _can_match(rule: _Rule, start: datetime) -> bool:
    """False for rules that can never produce a date, as far as that is cheap to tell.

    Impossible rules (February 30th, a 5th Monday on the 1st) would otherwise make
    the search go round the whole 400-year cycle before giving up.
    """
    if rule.bymonthday and not any(
        abs(day) <= _LONGEST_MONTH[month]
        for month in rule.bymonth or range(1, 13)
        for day in rule.bymonthday
    ):
        return False
    if rule.freq == "YEARLY":
        return any(_days_of_period(rule, year) for year in _SAMPLE_YEARS)
    if rule.freq == "MONTHLY":
        return any(
            _days_of_period(rule, 12 * year + month)
            for year in _SAMPLE_YEARS
            for month in range(12)
        )
    if rule.freq == "WEEKLY" and rule.bysetpos:
        return any(abs(position) <= len(rule.byday) for position in rule.bysetpos)
    if rule.byday and _keeps_its_weekday(rule, start):
        return any(day.weekday == start.weekday() for day in rule.byday)
    # Otherwise DAILY and finer only filter days, and every weekday falls on every
    # possible day of the month sooner or later.
    return True


def _keeps_its_weekday(rule: _Rule, start: datetime) -> bool:
    """Whether every step of the series falls on the weekday of (local) `start`."""
    if rule.freq == "DAILY":
        return rule.interval % 7 == 0
    if rule.freq != "HOURLY" or rule.interval % (7 * 24):
        return False
    # Elapsed-time steps of whole weeks move in local time only when the offset changes,
    # and zones change it by at most two hours at a time (Antarctica/Troll), so a start
    # more than that away from midnight never crosses into another day.
    since_midnight = start - start.replace(hour=0, minute=0, second=0, microsecond=0)
    return timedelta(hours=2) <= since_midnight < timedelta(hours=22)


def _next_by_period(rule: _Rule, start: datetime, after: datetime) -> datetime | None:
    step = rule.interval * (7 if rule.freq == "WEEKLY" else 1)
    first = _period_index(rule, start.date())
    skipped = max(0, (_period_index(rule, after.date()) - first) // step)
    period = first + skipped * step
    cycle = _CYCLE[rule.freq]
    # Once the grid has come back to the same place in the 400-year calendar cycle,
    # every kind of period has been tried; one more covers the partly-past first one.
    for _ in range(cycle // gcd(step, cycle) + 1):
        if period > _LAST_PERIOD[rule.freq]:
            return None
        for day in _days_of_period(rule, period):
            moment = datetime.combine(day, start.time())
            if moment > after and moment >= start:
                return moment
        period += step
    return None


def _period_index(rule: _Rule, day: date) -> int:
    """Which year, month (counted from year 0) or week/day (as a day ordinal) holds `day`."""
    if rule.freq == "YEARLY":
        return day.year
    if rule.freq == "MONTHLY":
        return 12 * day.year + day.month - 1
    if rule.freq == "WEEKLY":
        return day.toordinal() - (day.weekday() - rule.wkst) % 7
    return day.toordinal()


def _days_of_period(rule: _Rule, period: int) -> list[date]:
    days: Iterable[date]
    if rule.freq == "YEARLY":
        year = period
        months = rule.bymonth or tuple(range(1, 13))
        spans = [_month_span(year, month) for month in rule.bymonth] or [
            (date(year, 1, 1), date(year, 12, 31))
        ]
        days = _select_days(rule, [(year, month) for month in months], spans)
    elif rule.freq == "MONTHLY":
        year, month = divmod(period, 12)
        if rule.bymonth and month + 1 not in rule.bymonth:
            return []
        days = _select_days(rule, [(year, month + 1)], [_month_span(year, month + 1)])
    elif rule.freq == "WEEKLY":
        # By ordinal: the first and last weeks of the calendar are only partly in it.
        ordinals = {period + (day.weekday - rule.wkst) % 7 for day in rule.byday}
        days = [date.fromordinal(each) for each in ordinals if _FIRST_DAY <= each <= _LAST_DAY]
        days = [day for day in days if not rule.bymonth or day.month in rule.bymonth]
    else:
        day = date.fromordinal(period)
        days = [day] if _matches_day(rule, day) else []
    ordered = sorted(days)
    if not rule.bysetpos:
        return ordered
    size = len(ordered)
    return sorted(
        {
            ordered[position - 1 if position > 0 else position]
            for position in rule.bysetpos
            if abs(position) <= size
        }
    )


def _select_days(
    rule: _Rule, months: Sequence[tuple[int, int]], spans: Sequence[tuple[date, date]]
) -> set[date]:
    """BYMONTHDAY and BYDAY within the given months; one limits the other when both are set.

    BYDAY positions count within each span: the months for MONTHLY and YEARLY with
    BYMONTH, otherwise the whole year.
    """
    by_weekday: set[date] = set()
    if rule.byday:
        for first, last in spans:
            by_weekday |= _expand_weekdays(first, last, rule.byday)
    if not rule.bymonthday:
        return by_weekday
    by_monthday = {
        day
        for year, month in months
        for number in rule.bymonthday
        if (day := _month_day(year, month, number)) is not None
    }
    return by_monthday & by_weekday if rule.byday else by_monthday


def _expand_weekdays(first: date, last: date, byday: Iterable[_Day]) -> set[date]:
    days: set[date] = set()
    for weekday, position in byday:
        earliest = first + timedelta(days=(weekday - first.weekday()) % 7)
        if position is None:
            weeks = (last - earliest).days // 7 + 1
            days.update(earliest + timedelta(weeks=week) for week in range(weeks))
            continue
        if position > 0:
            day = earliest + timedelta(weeks=position - 1)
        else:
            latest = last - timedelta(days=(last.weekday() - weekday) % 7)
            day = latest - timedelta(weeks=-position - 1)
        if first <= day <= last:
            days.add(day)
    return days


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _month_day(year: int, month: int, number: int) -> date | None:
    length = calendar.monthrange(year, month)[1]
    day = number if number > 0 else length + 1 + number
    return date(year, month, day) if 1 <= day <= length else None


def _matches_day(rule: _Rule, day: date) -> bool:
    """BYMONTH, BYMONTHDAY and BYDAY as plain filters, as they act on DAILY and finer."""
    if rule.bymonth and day.month not in rule.bymonth:
        return False
    if rule.byday and all(day.weekday() != by.weekday for by in rule.byday):
        return False
    if not rule.bymonthday:
        return True
    length = calendar.monthrange(day.year, day.month)[1]
    return day.day in rule.bymonthday or day.day - length - 1 in rule.bymonthday


def _next_sub_daily(rule: _Rule, start: datetime, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first step of the grid from aware `start` strictly after `after` whose local day
    (in `tz`) the rule's BY parts allow."""
    if not _can_match(rule, start.astimezone(tz)):
        return None
    step = (
        timedelta(hours=rule.interval)
        if rule.freq == "HOURLY"
        else timedelta(minutes=rule.interval)
    )
    moment = start if after < start else start + ((after - start) // step + 1) * step
    step_minutes = step // timedelta(minutes=1)
    # Each pass moves on by at least one step, and the grid of steps lines up with the
    # 400-year calendar cycle again after this many of them.
    for _ in range(_MINUTES_IN_400_YEARS // gcd(step_minutes, _MINUTES_IN_400_YEARS) + 1):
        day = moment.astimezone(tz).date()
        if _matches_day(rule, day):
            return moment
        # The rest of this day is excluded: go to the first step at or after the next local
        # midnight (floor division of the negated distance rounds up).
        midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
        moment = start - ((start - midnight) // step) * step
    return None
