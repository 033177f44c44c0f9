"""Natural-language quick add: turn "Pay rent every month on the 1st !high #home" into a task.

The text is split on whitespace into words; trailing ``, ; : . ! ?`` are ignored when matching, so a
token is always a whole word and never part of one (``C#`` and ``2+2`` are plain text). Matching
is case-insensitive. Recognised words are removed from the title and reported as ``Span``s for the
live preview; every other word stays in the title, in order.

| Kind | You type | It means |
|---|---|---|
| date | `today` `tod` `tomorrow` `tmr` `tmrw` | relative to today in the user's zone |
| date | `tonight` | today at 20:00 (an explicit time wins) |
| date | `friday` `fri` `mon` … | the next such day, 1-7 days ahead (never today) |
| date | `next fri` | that weekday in next week (weeks start on Monday) |
| date | `next week` / `next month` / `next year` | next Monday / 1st of next month / 1 January |
| date | `in 3 days` `in 2 weeks` `in 1 month` `in a year` | from today; month ends are clamped |
| date | `dec 24` `24 dec` `december 24th` `24th of dec` | the next such date, today included |
| date | `dec 24 2027` `24/12/2027` `2027-12-24` | that exact date |
| date | `24/12` | day/month (European order), next such date |
| date | `on …` `by …` `due …` `starting …` | optional lead-in words, removed too |
| time | `17:30` `5pm` `5:15pm` `5 p.m.` `noon` `midnight` | local wall time; `midnight` is 23:59 |
| time | `at …` `by …` `due …` | optional lead-in words, removed too |
| recurrence | `every day` `daily` `every 3 days` `every other day` | `FREQ=DAILY[;INTERVAL]` |
| recurrence | `every week` `weekly` `every 2 weeks` `every other week` | `FREQ=WEEKLY[;INTERVAL]` |
| recurrence | `every mon, wed and fri` `every other mon` `every week on fri` | `…;BYDAY=MO,WE,FR` |
| recurrence | `every weekday` `every workday` / `every weekend` | `BYDAY=MO,…,FR` / `BYDAY=SA,SU` |
| recurrence | `every month` `monthly` `every month on the 15th` `every 15th` | `…;BYMONTHDAY=15` |
| recurrence | `every year` `yearly` `annually` | `FREQ=YEARLY` |
| recurrence | `every 2nd week` `every 3rd day` | like `every 2 weeks`, `every 3 days` |
| priority | `!urgent` `!high` `!medium` `!med` `!low` `!none` | the last one wins |
| priority | `!1` `!2` `!3` `!4` | urgent, high, medium, low (Todoist's p1 = urgent) |
| tag | `#home` `#2026-goals` `#work/admin` `#café` | letters, digits, `-` `_` `/`; needs a letter |
| list | `+Groceries` | same characters as tags; the last one wins |
| literal | `"Friday Night Lights"` | words in double quotes are never interpreted |

Rules of thumb:

* The first date, the first time and the first recurrence are used; a later one of the same kind
  stays in the title as typed.
* A time without a date means today, or tomorrow if that moment is not in the future. A recurrence
  without a date starts at its first occurrence on or after today (skipping today if the given
  time has passed). With both a date and a recurrence (`every mon starting dec 1`), it starts
  at the first occurrence on or after that date.
* Timed dues are local wall time converted to UTC. A wall time inside a DST gap moves forward by
  the length of the gap (02:30 becomes 03:30); in a DST overlap the earlier instant is used.
* Words that are also ordinary words need context to count as dates: a month name only with a day
  number (`Call May` is text, `May 5` is a date); `sun`, `sat` and `wed` only after `on`, `by`,
  `due`, `starting`, `next` or `every`. Full weekday names and the other abbreviations always
  count, so `Watch Friday Night Lights` is due on Friday; quote them to keep them as text.
* Numbers alone are never dates or times (`Room 101`, `Read chapter 5`, `meet at 5`). A
  `d/m` without a year whose parts are both single digits reads as a fraction (`1/2`), and
  `24/7` is the idiom, not 24 July. `#12` and `+1` are text: tags and lists need a letter.
* `daily`, `weekly`, `monthly`, `yearly` and `annually` are recurrences even at the start of a
  title (`Weekly review` repeats weekly).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["MAX_QUICK_ADD_LENGTH", "Priority", "QuickAdd", "Span", "SpanKind", "parse"]

Priority = Literal["none", "low", "medium", "high", "urgent"]
SpanKind = Literal["date", "time", "recurrence", "priority", "tag", "list"]
_Freq = Literal["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]

MAX_QUICK_ADD_LENGTH = 500


@dataclass(frozen=True)
class Span:
    """A recognised part of the input. Offsets index the Python string, i.e. code points; a
    JavaScript client must convert them if the text has characters outside the BMP (emoji)."""

    start: int
    end: int
    kind: SpanKind
    text: str


@dataclass(frozen=True)
class QuickAdd:
    title: str
    due_date: date | None
    due_at: datetime | None
    priority: Priority | None
    tags: tuple[str, ...]
    list_name: str | None
    rrule: str | None
    spans: tuple[Span, ...]


_TRAILING_PUNCTUATION = ",;:.!?"
_OPENING_QUOTES = '"“'
_CLOSING_QUOTES = '"”'
_NAME_SYMBOLS = "-_/"

_PRIORITIES: dict[str, Priority] = {
    "!none": "none",
    "!low": "low",
    "!med": "medium",
    "!medium": "medium",
    "!high": "high",
    "!urgent": "urgent",
    "!1": "urgent",
    "!2": "high",
    "!3": "medium",
    "!4": "low",
}

_RELATIVE_DAYS = {"today": 0, "tod": 0, "tomorrow": 1, "tmr": 1, "tmrw": 1}
_TONIGHT = time(20, 0)
# 23:59 rather than 00:00 so that "fri midnight" stays on Friday instead of meaning Thursday night.
_NAMED_TIMES = {"noon": time(12, 0), "midnight": time(23, 59)}

_WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
# Everyday English words ("sun cream", "sat nav", "get wed"), so they need a lead-in word.
_AMBIGUOUS_WEEKDAYS = frozenset({"sun", "sat", "wed"})
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

_MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

_UNITS: dict[str, _Freq] = {
    "day": "DAILY",
    "days": "DAILY",
    "week": "WEEKLY",
    "weeks": "WEEKLY",
    "month": "MONTHLY",
    "months": "MONTHLY",
    "year": "YEARLY",
    "years": "YEARLY",
}

_FIXED_RECURRENCES: dict[str, _Freq] = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "yearly": "YEARLY",
    "annually": "YEARLY",
}

_DATE_LEAD_INS = frozenset({"on", "by", "due", "starting"})
_TIME_LEAD_INS = frozenset({"at", "by", "due"})
_MAX_LEAD_INS = 2  # "due on friday", "due by 5pm"
_ONE = frozenset({"a", "an", "one"})
_LIST_JOINERS = frozenset({"and", "&"})
_SLASH_IDIOMS = frozenset({"24/7"})

# Every pattern is anchored by fullmatch() on a single word and has bounded repetition only, so
# matching is linear in the word length whatever the input.
_WORD = re.compile(r"\S+")
_COUNT = re.compile(r"\d{1,3}")
_INTERVAL = re.compile(r"(\d{1,3})(?:st|nd|rd|th)?")
_YEAR = re.compile(r"\d{4}")
_DAY_NUMBER = re.compile(r"(\d{1,2})(st|nd|rd|th)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?")
_CLOCK_12 = re.compile(r"(\d{1,2})(?::(\d{2}))?([ap])\.?m")
_MERIDIEM = re.compile(r"([ap])\.?m")


@dataclass(frozen=True)
class _Word:
    start: int
    end: int  # end of `core`, so spans never include trailing punctuation
    raw: str
    core: str
    key: str


@dataclass(frozen=True)
class _Due:
    day: date
    default_time: time | None = None


@dataclass(frozen=True)
class _Rule:
    freq: _Freq
    interval: int = 1
    by_day: frozenset[int] = frozenset()
    by_month_day: int | None = None

    def rrule(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval > 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.by_day:
            parts.append("BYDAY=" + ",".join(_RRULE_DAYS[d] for d in sorted(self.by_day)))
        if self.by_month_day is not None:
            parts.append(f"BYMONTHDAY={self.by_month_day}")
        return ";".join(parts)

    def first_on_or_after(self, day: date) -> date:
        # Terminates: BYDAY is never empty when set and BYMONTHDAY is 1..31, so a match comes
        # within two months. The interval does not matter: the series starts at this occurrence.
        while (self.by_day and day.weekday() not in self.by_day) or (
            self.by_month_day is not None and day.day != self.by_month_day
        ):
            day += timedelta(days=1)
        return day


def parse(text: str, *, now: datetime, tz: ZoneInfo) -> QuickAdd:
    """Parse quick-add `text`; relative words are read in `tz` at the aware instant `now`."""
    if len(text) > MAX_QUICK_ADD_LENGTH:
        raise ValueError(
            f"Quick-add text can be at most {MAX_QUICK_ADD_LENGTH} characters long, "
            f"but this one has {len(text)}."
        )
    if now.utcoffset() is None:
        raise ValueError("The current time must be timezone-aware.")
    scanner = _Scanner(text, now.astimezone(tz).date())
    scanner.run()
    due_date, due_at = scanner.due(now, tz)
    return QuickAdd(
        title=" ".join(scanner.title),
        due_date=due_date,
        due_at=due_at,
        priority=scanner.priority,
        tags=tuple(scanner.tags),
        list_name=scanner.list_name,
        rrule=scanner.rule.rrule() if scanner.rule is not None else None,
        spans=tuple(scanner.spans),
    )


class _Scanner:
    def __init__(self, text: str, today: date) -> None:
        self.text = text
        self.today = today
        self.words = _split(text)
        self.keys = [word.key for word in self.words]
        self.quote_ends = _quote_ends(self.words)
        self.title: list[str] = []
        self.spans: list[Span] = []
        self.priority: Priority | None = None
        self.tags: list[str] = []
        self.seen_tags: set[str] = set()
        self.list_name: str | None = None
        self.found_date: _Due | None = None
        self.found_time: time | None = None
        self.rule: _Rule | None = None

    def run(self) -> None:
        i = 0
        while i < len(self.words):
            i = self.step(i)

    def step(self, i: int) -> int:
        if self.quote_ends[i] >= 0:
            return self.keep(i, self.quote_ends[i] + 1)
        word = self.words[i]
        if word.key in _PRIORITIES:
            self.priority = _PRIORITIES[word.key]
            return self.take(i, i + 1, "priority")
        if (tag := _marker_name(word.core, "#")) is not None:
            if tag.casefold() not in self.seen_tags:
                self.seen_tags.add(tag.casefold())
                self.tags.append(tag)
            return self.take(i, i + 1, "tag")
        if (list_name := _marker_name(word.core, "+")) is not None:
            self.list_name = list_name
            return self.take(i, i + 1, "list")
        if (recurrence := _match_recurrence(self.keys, i)) is not None:
            stop, rule = recurrence
            if self.rule is not None:
                return self.keep(i, stop)
            self.rule = rule
            return self.take(i, stop, "recurrence")
        if (due := _match_date(self.keys, i, self.today)) is not None:
            stop, found_date = due
            if self.found_date is not None:
                return self.keep(i, stop)
            self.found_date = found_date
            return self.take(i, stop, "date")
        if (clock := _match_time(self.keys, i)) is not None:
            stop, wall_time = clock
            if self.found_time is not None:
                return self.keep(i, stop)
            self.found_time = wall_time
            return self.take(i, stop, "time")
        return self.keep(i, i + 1)

    def keep(self, start: int, stop: int) -> int:
        self.title.extend(word.raw for word in self.words[start:stop])
        return stop

    def take(self, start: int, stop: int, kind: SpanKind) -> int:
        first, last = self.words[start].start, self.words[stop - 1].end
        self.spans.append(Span(first, last, kind, self.text[first:last]))
        return stop

    def due(self, now: datetime, tz: ZoneInfo) -> tuple[date | None, datetime | None]:
        wall_time = self.found_time
        if self.found_date is not None:
            day = self.found_date.day
            if wall_time is None:
                wall_time = self.found_date.default_time
            if self.rule is not None:
                day = self.rule.first_on_or_after(day)
        elif self.rule is not None:
            day = self.rule.first_on_or_after(self.today)
            if wall_time is not None and _to_utc(day, wall_time, tz) <= now:
                day = self.rule.first_on_or_after(day + timedelta(days=1))
        elif wall_time is not None:
            day = self.today
            if _to_utc(day, wall_time, tz) <= now:
                day += timedelta(days=1)
        else:
            return None, None
        if wall_time is None:
            return day, None
        return None, _to_utc(day, wall_time, tz)


def _split(text: str) -> list[_Word]:
    words = []
    for match in _WORD.finditer(text):
        raw = match.group()
        core = raw.rstrip(_TRAILING_PUNCTUATION) or raw
        start = match.start()
        words.append(_Word(start, start + len(core), raw, core, core.lower()))
    return words


def _quote_ends(words: Sequence[_Word]) -> list[int]:
    """For each word opening a quotation, the index of the word closing it; -1 elsewhere."""
    # One backward pass instead of a search per opening quote keeps `" " " " …` linear.
    next_close = [-1] * (len(words) + 1)
    for j in range(len(words) - 1, -1, -1):
        next_close[j] = j if words[j].core[-1] in _CLOSING_QUOTES else next_close[j + 1]
    ends = [-1] * len(words)
    for i, word in enumerate(words):
        if word.core[0] in _OPENING_QUOTES:
            closes_itself = len(word.core) > 1 and word.core[-1] in _CLOSING_QUOTES
            ends[i] = i if closes_itself else next_close[i + 1]
    return ends


def _marker_name(core: str, sigil: str) -> str | None:
    name = core[1:]
    if not core.startswith(sigil) or not any(char.isalpha() for char in name):
        return None
    if all(_is_name_char(char) for char in name):
        return name
    return None


def _is_name_char(char: str) -> bool:
    # Combining marks are not alphanumeric in Python but are part of letters in many scripts.
    return char.isalnum() or char in _NAME_SYMBOLS or unicodedata.category(char).startswith("M")


def _at(keys: Sequence[str], i: int) -> str:
    return keys[i] if i < len(keys) else ""


def _match_recurrence(keys: Sequence[str], i: int) -> tuple[int, _Rule] | None:
    key = _at(keys, i)
    if key in _FIXED_RECURRENCES:
        return i + 1, _Rule(_FIXED_RECURRENCES[key])
    if key != "every":
        return None
    j = i + 1
    key = _at(keys, j)
    if key in ("weekday", "workday"):
        return j + 1, _Rule("WEEKLY", by_day=frozenset(range(5)))
    if key == "weekend":
        return j + 1, _Rule("WEEKLY", by_day=frozenset({5, 6}))
    interval = 1
    count = _INTERVAL.fullmatch(key)
    if key == "other":
        interval, j = 2, j + 1
    elif count is not None and int(count.group(1)) > 0 and _at(keys, j + 1) in _UNITS:
        interval, j = int(count.group(1)), j + 1
    elif (month_day := _ordinal(key)) is not None:
        return j + 1, _Rule("MONTHLY", by_month_day=month_day)
    freq = _UNITS.get(_at(keys, j))
    if freq is None:
        days = _weekday_list(keys, j)
        if days is None:
            return None
        stop, by_day = days
        return stop, _Rule("WEEKLY", interval, by_day)
    j += 1
    if freq == "WEEKLY" and _at(keys, j) == "on":
        days = _weekday_list(keys, j + 1)
        if days is not None:
            stop, by_day = days
            return stop, _Rule(freq, interval, by_day)
    if freq == "MONTHLY":
        on_day = _on_month_day(keys, j)
        if on_day is not None:
            stop, month_day = on_day
            return stop, _Rule(freq, interval, by_month_day=month_day)
    return j, _Rule(freq, interval)


def _weekday_list(keys: Sequence[str], i: int) -> tuple[int, frozenset[int]] | None:
    """`mon`, `mon, wed`, `mon wed and fri`; commas are already stripped from the keys."""
    if _at(keys, i) not in _WEEKDAYS:
        return None
    days = {_WEEKDAYS[keys[i]]}
    j = i + 1
    while True:
        if _at(keys, j) in _WEEKDAYS:
            days.add(_WEEKDAYS[keys[j]])
            j += 1
        elif _at(keys, j) in _LIST_JOINERS and _at(keys, j + 1) in _WEEKDAYS:
            days.add(_WEEKDAYS[keys[j + 1]])
            j += 2
        else:
            return j, frozenset(days)


def _on_month_day(keys: Sequence[str], i: int) -> tuple[int, int] | None:
    """`on the 15th`, `on the 1st`, `on 15`."""
    if _at(keys, i) != "on":
        return None
    j = i + 2 if _at(keys, i + 1) == "the" else i + 1
    day = _day_number(_at(keys, j))
    return (j + 1, day) if day is not None else None


def _ordinal(key: str) -> int | None:
    match = _DAY_NUMBER.fullmatch(key)
    if match is None or match.group(2) is None:
        return None
    return _day_number(key)


def _day_number(key: str) -> int | None:
    match = _DAY_NUMBER.fullmatch(key)
    if match is None or not 1 <= int(match.group(1)) <= 31:
        return None
    return int(match.group(1))


def _skip_lead_ins(keys: Sequence[str], i: int, lead_ins: frozenset[str]) -> int:
    j = i
    while j - i < _MAX_LEAD_INS and _at(keys, j) in lead_ins:
        j += 1
    return j


def _match_date(keys: Sequence[str], i: int, today: date) -> tuple[int, _Due] | None:
    j = _skip_lead_ins(keys, i, _DATE_LEAD_INS)
    return _date_expression(keys, j, today, after_lead_in=j > i)


def _date_expression(
    keys: Sequence[str], i: int, today: date, *, after_lead_in: bool
) -> tuple[int, _Due] | None:
    key = _at(keys, i)
    if key in _RELATIVE_DAYS:
        return i + 1, _Due(today + timedelta(days=_RELATIVE_DAYS[key]))
    if key == "tonight":
        return i + 1, _Due(today, _TONIGHT)
    if key in _WEEKDAYS and (after_lead_in or key not in _AMBIGUOUS_WEEKDAYS):
        days_ahead = (_WEEKDAYS[key] - today.weekday() - 1) % 7 + 1
        return i + 1, _Due(today + timedelta(days=days_ahead))
    if key == "next":
        return _next_period(keys, i + 1, today)
    if key == "in":
        return _in_period(keys, i + 1, today)
    return _calendar_date(keys, i, today)


def _next_period(keys: Sequence[str], i: int, today: date) -> tuple[int, _Due] | None:
    key = _at(keys, i)
    next_monday = today + timedelta(days=7 - today.weekday())
    if key == "week":
        day = next_monday
    elif key == "month":
        day = _add_months(today.replace(day=1), 1)
    elif key == "year":
        day = date(today.year + 1, 1, 1)
    elif key in _WEEKDAYS:
        day = next_monday + timedelta(days=_WEEKDAYS[key])
    else:
        return None
    return i + 1, _Due(day)


def _in_period(keys: Sequence[str], i: int, today: date) -> tuple[int, _Due] | None:
    count_key, freq = _at(keys, i), _UNITS.get(_at(keys, i + 1))
    if freq is None:
        return None
    if count_key in _ONE:
        count = 1
    elif _COUNT.fullmatch(count_key):
        count = int(count_key)
    else:
        return None
    if freq == "DAILY":
        day = today + timedelta(days=count)
    elif freq == "WEEKLY":
        day = today + timedelta(weeks=count)
    else:
        day = _add_months(today, count * (12 if freq == "YEARLY" else 1))
    return i + 2, _Due(day)


def _calendar_date(keys: Sequence[str], i: int, today: date) -> tuple[int, _Due] | None:
    key = _at(keys, i)
    if match := _ISO_DATE.fullmatch(key):
        year, month, day = (int(part) for part in match.groups())
        explicit = _valid_date(year, month, day)
        return (i + 1, _Due(explicit)) if explicit is not None else None
    if match := _SLASH_DATE.fullmatch(key):
        day_text, month_text, year_text = match.groups()
        if year_text is None and (key in _SLASH_IDIOMS or len(day_text) == len(month_text) == 1):
            return None
        found = _resolve(today, int(month_text), int(day_text), year_text)
        return (i + 1, _Due(found)) if found is not None else None
    if key in _MONTHS:
        day_number = _day_number(_at(keys, i + 1))
        if day_number is None:
            return None
        return _with_optional_year(keys, i + 2, today, _MONTHS[key], day_number)
    if (day_match := _DAY_NUMBER.fullmatch(key)) is not None:
        j = i + 1
        if day_match.group(2) is not None and _at(keys, j) == "of":
            j += 1
        day_number = _day_number(key)
        if day_number is None or _at(keys, j) not in _MONTHS:
            return None
        return _with_optional_year(keys, j + 1, today, _MONTHS[keys[j]], day_number)
    return None


def _with_optional_year(
    keys: Sequence[str], i: int, today: date, month: int, day: int
) -> tuple[int, _Due] | None:
    year_text = _at(keys, i) if _YEAR.fullmatch(_at(keys, i)) else None
    found = _resolve(today, month, day, year_text)
    if found is None:
        return None
    return (i + 1 if year_text is not None else i), _Due(found)


def _resolve(today: date, month: int, day: int, year_text: str | None) -> date | None:
    if year_text is not None:
        return _valid_date(int(year_text), month, day)
    # Nine candidate years reach the next 29 February even past a century without one (2097).
    for year in range(today.year, today.year + 9):
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _match_time(keys: Sequence[str], i: int) -> tuple[int, time] | None:
    j = _skip_lead_ins(keys, i, _TIME_LEAD_INS)
    key = _at(keys, j)
    if key in _NAMED_TIMES:
        return j + 1, _NAMED_TIMES[key]
    if match := _CLOCK_12.fullmatch(key):
        hour, minute, half = match.groups()
        twelve = _twelve_hour(int(hour), int(minute or 0), half)
        return (j + 1, twelve) if twelve is not None else None
    match = _CLOCK.fullmatch(key)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if meridiem := _MERIDIEM.fullmatch(_at(keys, j + 1)):
        twelve = _twelve_hour(hour, minute, meridiem.group(1))
        if twelve is not None:
            return j + 2, twelve
    # A bare number ("Room 101", "at 5") is never a time: it needs minutes or am/pm.
    if match.group(2) is None or hour > 23 or minute > 59:
        return None
    return j + 1, time(hour, minute)


def _twelve_hour(hour: int, minute: int, half: str) -> time | None:
    if not 1 <= hour <= 12 or minute > 59:
        return None
    return time(hour % 12 + (12 if half == "p" else 0), minute)


def _to_utc(day: date, wall_time: time, tz: ZoneInfo) -> datetime:
    # fold=0: a time in a DST gap keeps the pre-transition offset (02:30 becomes 03:30) and a time
    # in an overlap takes the earlier of its two instants.
    return datetime.combine(day, wall_time, tzinfo=tz).astimezone(UTC)
