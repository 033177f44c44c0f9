"""The quick-add grammar, read at a fixed moment: Wednesday 2026-11-18 10:00 in Berlin."""

from __future__ import annotations

import random
import time as stopwatch
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from todo.tasks.quickadd import MAX_QUICK_ADD_LENGTH, Priority, QuickAdd, Span, parse

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=BERLIN)


def on(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A Berlin wall time, as the UTC instant the parser must return."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@dataclass(frozen=True)
class Expected:
    title: str
    due_date: date | None = None
    due_at: datetime | None = None
    priority: Priority | None = None
    tags: tuple[str, ...] = ()
    list_name: str | None = None
    rrule: str | None = None

    @classmethod
    def of(cls, result: QuickAdd) -> Expected:
        return cls(
            result.title,
            result.due_date,
            result.due_at,
            result.priority,
            result.tags,
            result.list_name,
            result.rrule,
        )


E = Expected
WEEKDAYS_RULE = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"

EXAMPLES: dict[str, Expected] = {
    # Relative days
    "Buy milk today": E("Buy milk", on(11, 18)),
    "Buy milk tod": E("Buy milk", on(11, 18)),
    "Call mom tomorrow": E("Call mom", on(11, 19)),
    "Call mom tmr": E("Call mom", on(11, 19)),
    "TOMORROW: call mom": E("call mom", on(11, 19)),
    "Call mom, tomorrow, then shop": E("Call mom, then shop", on(11, 19)),
    "Party tonight": E("Party", due_at=at(11, 18, 20)),
    "Party tonight at 22:30": E("Party", due_at=at(11, 18, 22, 30)),
    # Weekdays: the next such day, never today
    "Submit report friday": E("Submit report", on(11, 20)),
    "Submit report Fri": E("Submit report", on(11, 20)),
    "Standup wednesday": E("Standup", on(11, 25)),
    "Standup on wed": E("Standup", on(11, 25)),
    "Brunch on sun": E("Brunch", on(11, 22)),
    "Email Mon about the report": E("Email about the report", on(11, 23)),
    "Watch Friday Night Lights": E("Watch Night Lights", on(11, 20)),
    'Watch "Friday Night Lights" tomorrow': E('Watch "Friday Night Lights"', on(11, 19)),
    "Plan next fri": E("Plan", on(11, 27)),
    "Plan next mon": E("Plan", on(11, 23)),
    "Plan next wed": E("Plan", on(11, 25)),
    "Review next week": E("Review", on(11, 23)),
    "Invoice next month": E("Invoice", on(12, 1)),
    "Taxes next year": E("Taxes", on(1, 1, 2027)),
    # Counted periods
    "Renew in 3 days": E("Renew", on(11, 21)),
    "Renew in 2 weeks": E("Renew", on(12, 2)),
    "Renew in 1 month": E("Renew", on(12, 18)),
    "Renew in a year": E("Renew", on(11, 18, 2027)),
    # Calendar dates
    "Gift dec 24": E("Gift", on(12, 24)),
    "Gift 24 dec": E("Gift", on(12, 24)),
    "Gift December 24th": E("Gift", on(12, 24)),
    "Gift 24th of December": E("Gift", on(12, 24)),
    "Gift dec 24, 2027": E("Gift", on(12, 24, 2027)),
    "Gift 24/12": E("Gift", on(12, 24)),
    "Gift 24/12/2027": E("Gift", on(12, 24, 2027)),
    "Gift 2027-12-24": E("Gift", on(12, 24, 2027)),
    "Pay rent 01/12": E("Pay rent", on(12, 1)),
    "Essay due 1/12/2026": E("Essay", on(12, 1)),
    "Dentist jan 5": E("Dentist", on(1, 5, 2027)),
    "Dentist nov 18": E("Dentist", on(11, 18)),
    "Dentist nov 17": E("Dentist", on(11, 17, 2027)),
    "Call May 5": E("Call", on(5, 5, 2027)),
    "Leap day feb 29": E("Leap day", on(2, 29, 2028)),
    "Report due by friday": E("Report", on(11, 20)),
    "Decide tomorrow about friday": E("Decide about friday", on(11, 19)),
    # Times: today, or tomorrow once the moment has come
    "Call Bob 17:30": E("Call Bob", due_at=at(11, 18, 17, 30)),
    "Call Bob 5pm": E("Call Bob", due_at=at(11, 18, 17)),
    "Call Bob 9am": E("Call Bob", due_at=at(11, 19, 9)),
    "Call Bob 10:00": E("Call Bob", due_at=at(11, 19, 10)),
    "Call Bob at 5:15pm": E("Call Bob", due_at=at(11, 18, 17, 15)),
    "Call Bob 5 p.m.": E("Call Bob", due_at=at(11, 18, 17)),
    "Call Bob 12am": E("Call Bob", due_at=at(11, 19, 0)),
    "Lunch at noon": E("Lunch", due_at=at(11, 18, 12)),
    "Backup midnight": E("Backup", due_at=at(11, 18, 23, 59)),
    "Submit by 5pm": E("Submit", due_at=at(11, 18, 17)),
    "Call Bob tomorrow 5pm": E("Call Bob", due_at=at(11, 19, 17)),
    "Call Bob 5pm tomorrow": E("Call Bob", due_at=at(11, 19, 17)),
    "Call Bob friday at 9am": E("Call Bob", due_at=at(11, 20, 9)),
    "Call Bob today 9am": E("Call Bob", due_at=at(11, 18, 9)),
    "Meet at 10 a.m. tomorrow": E("Meet", due_at=at(11, 19, 10)),
    # Recurrences start at their first occurrence on or after today
    "Water plants every day": E("Water plants", on(11, 18), rrule="FREQ=DAILY"),
    "Water plants daily": E("Water plants", on(11, 18), rrule="FREQ=DAILY"),
    "Stretch every weekday": E("Stretch", on(11, 18), rrule=WEEKDAYS_RULE),
    "Gym every monday": E("Gym", on(11, 23), rrule="FREQ=WEEKLY;BYDAY=MO"),
    "Gym every wed": E("Gym", on(11, 18), rrule="FREQ=WEEKLY;BYDAY=WE"),
    "Gym every mon, wed and fri": E("Gym", on(11, 18), rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR"),
    "Gym every fri & tue": E("Gym", on(11, 20), rrule="FREQ=WEEKLY;BYDAY=TU,FR"),
    "Gym every other mon": E("Gym", on(11, 23), rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),
    "Gym every week on fri": E("Gym", on(11, 20), rrule="FREQ=WEEKLY;BYDAY=FR"),
    "Bins every 2 weeks": E("Bins", on(11, 18), rrule="FREQ=WEEKLY;INTERVAL=2"),
    "Bins every other week": E("Bins", on(11, 18), rrule="FREQ=WEEKLY;INTERVAL=2"),
    "Bins every 2nd week": E("Bins", on(11, 18), rrule="FREQ=WEEKLY;INTERVAL=2"),
    "Review weekly": E("Review", on(11, 18), rrule="FREQ=WEEKLY"),
    "Clean every weekend": E("Clean", on(11, 21), rrule="FREQ=WEEKLY;BYDAY=SA,SU"),
    "Invoice every month": E("Invoice", on(11, 18), rrule="FREQ=MONTHLY"),
    "Invoice monthly": E("Invoice", on(11, 18), rrule="FREQ=MONTHLY"),
    "Pay rent every month on the 1st": E("Pay rent", on(12, 1), rrule="FREQ=MONTHLY;BYMONTHDAY=1"),
    "Pay rent every month on the 15th": E(
        "Pay rent", on(12, 15), rrule="FREQ=MONTHLY;BYMONTHDAY=15"
    ),
    "Payroll every 31st": E("Payroll", on(12, 31), rrule="FREQ=MONTHLY;BYMONTHDAY=31"),
    "Birthday every year": E("Birthday", on(11, 18), rrule="FREQ=YEARLY"),
    "Fish every 3 days": E("Fish", on(11, 18), rrule="FREQ=DAILY;INTERVAL=3"),
    "Fish every other day": E("Fish", on(11, 18), rrule="FREQ=DAILY;INTERVAL=2"),
    "Standup every weekday at 9:30": E("Standup", due_at=at(11, 19, 9, 30), rrule=WEEKDAYS_RULE),
    "Call grandma every sunday starting dec 6": E(
        "Call grandma", on(12, 6), rrule="FREQ=WEEKLY;BYDAY=SU"
    ),
    "Gym every mon starting dec 2": E("Gym", on(12, 7), rrule="FREQ=WEEKLY;BYDAY=MO"),
    "Gym every day at 7am starting tomorrow": E("Gym", due_at=at(11, 19, 7), rrule="FREQ=DAILY"),
    "Gym every day every week": E("Gym every week", on(11, 18), rrule="FREQ=DAILY"),
    # Priorities: !1 is the most urgent, as Todoist's p1
    "Fix prod !urgent": E("Fix prod", priority="urgent"),
    "Fix prod !1": E("Fix prod", priority="urgent"),
    "Fix prod !2": E("Fix prod", priority="high"),
    "Fix prod !3": E("Fix prod", priority="medium"),
    "Fix prod !4": E("Fix prod", priority="low"),
    "Fix prod !MED": E("Fix prod", priority="medium"),
    "Fix prod !none": E("Fix prod", priority="none"),
    "Fix prod !low !high": E("Fix prod", priority="high"),
    # Tags and lists
    "Plan trip #travel #Family #TRAVEL": E("Plan trip", tags=("travel", "Family")),
    "Write docs #work/admin #2026-goals #café #under_score": E(
        "Write docs", tags=("work/admin", "2026-goals", "café", "under_score")
    ),
    "Buy milk +Groceries": E("Buy milk", list_name="Groceries"),
    "Buy milk +Groceries +Home": E("Buy milk", list_name="Home"),
    "Fix bug #12 #backend": E("Fix bug #12", tags=("backend",)),
    # Everything at once
    "Pay rent every month on the 1st !high #home +Bills": E(
        "Pay rent",
        on(12, 1),
        priority="high",
        tags=("home",),
        list_name="Bills",
        rrule="FREQ=MONTHLY;BYMONTHDAY=1",
    ),
    "tomorrow !1 #x": E("", on(11, 19), priority="urgent", tags=("x",)),
    "": E(""),
}

NOT_DATES = [
    "Read chapter 5",
    "Buy 2 apples",
    "Fix bug #12",
    "Call May",
    "May the force be with you",
    "Version 1.5 release",
    "Room 101",
    "Pay 24/7 support",
    "2+2",
    "a.m. meeting",
    "Add 1/2 cup sugar",
    "Buy sun cream",
    "Fix the sat nav",
    "Get wed",
    "Meet at 5",
    "every every every",
    "Learn C#",
    "Plan the next step",
    "Put in 2 eggs",
    "Work on report",
    "Due diligence",
    "tomorrowland tickets",
    "Tod's shoes",
    "Mon-Fri office hours",
    "1st draft",
    "Feb 30 party",
    "Fix 31/02 bug",
    "Invoice 12/13",
    "every 0 days",
    "in 1000 days",
    "Logs at 25:00",
    "Score 13pm",
    "Support +1 #",
    "Wow! Great!!",
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES.items(), ids=list(EXAMPLES))
def test_example(text: str, expected: Expected) -> None:
    assert Expected.of(parse(text, now=NOW, tz=BERLIN)) == expected


@pytest.mark.parametrize("text", NOT_DATES)
def test_not_a_date(text: str) -> None:
    assert Expected.of(parse(text, now=NOW, tz=BERLIN)) == Expected(text)


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        pytest.param("fri", datetime(2026, 11, 20, 9, tzinfo=BERLIN), on(11, 27), id="fri-on-fri"),
        pytest.param(
            "next mon", datetime(2026, 11, 21, tzinfo=BERLIN), on(11, 23), id="next-on-sat"
        ),
        pytest.param(
            "next fri", datetime(2026, 11, 16, tzinfo=BERLIN), on(11, 27), id="next-on-mon"
        ),
        pytest.param("sunday", datetime(2026, 11, 22, tzinfo=BERLIN), on(11, 29), id="sun-on-sun"),
        pytest.param(
            "every mon", datetime(2026, 11, 23, tzinfo=BERLIN), on(11, 23), id="every-mon"
        ),
        pytest.param(
            "in 1 month", datetime(2027, 1, 31, tzinfo=BERLIN), on(2, 28, 2027), id="clamp"
        ),
        pytest.param("next month", datetime(2026, 12, 31, tzinfo=BERLIN), on(1, 1, 2027), id="dec"),
        pytest.param("dec 31", datetime(2026, 12, 31, 23, 59, tzinfo=BERLIN), on(12, 31), id="eve"),
        pytest.param(
            "every 31st", datetime(2027, 1, 31, 12, tzinfo=BERLIN), on(1, 31, 2027), id="31"
        ),
    ],
)
def test_relative_to_another_day(text: str, now: datetime, expected: date) -> None:
    assert parse(text, now=now, tz=BERLIN).due_date == expected


def test_every_31st_skips_short_months() -> None:
    result = parse("every 31st", now=datetime(2027, 2, 1, tzinfo=BERLIN), tz=BERLIN)
    assert result.due_date == on(3, 31, 2027)


def test_a_time_that_has_passed_moves_to_tomorrow() -> None:
    result = parse("5pm", now=datetime(2026, 11, 18, 23, tzinfo=BERLIN), tz=BERLIN)
    assert result.due_at == at(11, 19, 17)


def test_tonight_stays_today_even_after_eight() -> None:
    result = parse("tonight", now=datetime(2026, 11, 18, 22, tzinfo=BERLIN), tz=BERLIN)
    assert result.due_at == at(11, 18, 20)


LOS_ANGELES = ZoneInfo("America/Los_Angeles")
AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.mark.parametrize(
    ("tz", "now_utc", "expected_utc"),
    [
        # 23:30 PST on the 17th: tomorrow is the 18th, 17:00 PST is 01:00 UTC on the 19th.
        pytest.param(LOS_ANGELES, datetime(2026, 11, 18, 7, 30, tzinfo=UTC), (11, 19, 1), id="la-"),
        pytest.param(LOS_ANGELES, datetime(2026, 11, 18, 8, 30, tzinfo=UTC), (11, 20, 1), id="la+"),
        # 23:30 NZDT (UTC+13) on the 18th: tomorrow is the 19th, 17:00 NZDT is 04:00 UTC.
        pytest.param(AUCKLAND, datetime(2026, 11, 18, 10, 30, tzinfo=UTC), (11, 19, 4), id="akl-"),
        pytest.param(AUCKLAND, datetime(2026, 11, 18, 11, 30, tzinfo=UTC), (11, 20, 4), id="akl+"),
    ],
)
def test_tomorrow_follows_the_users_midnight(
    tz: ZoneInfo, now_utc: datetime, expected_utc: tuple[int, int, int]
) -> None:
    month, day, hour = expected_utc
    result = parse("Call tomorrow 5pm", now=now_utc, tz=tz)
    assert result.due_at == datetime(2026, month, day, hour, tzinfo=UTC)
    assert result.due_at.tzinfo is UTC
    assert result.due_date is None


def test_whole_day_dates_use_the_users_calendar_day() -> None:
    now = datetime(2026, 11, 18, 11, 30, tzinfo=UTC)
    assert parse("today", now=now, tz=AUCKLAND).due_date == on(11, 19)
    assert parse("today", now=now, tz=LOS_ANGELES).due_date == on(11, 18)


@pytest.mark.parametrize(
    ("text", "tz", "expected_utc"),
    [
        # 02:30 does not exist on these days; it lands an hour later on the new offset.
        pytest.param("2027-03-28 2:30am", BERLIN, datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
        pytest.param("mar 14 2027 2:30am", LOS_ANGELES, datetime(2027, 3, 14, 10, 30, tzinfo=UTC)),
        # 02:30 happens twice; the first (summer time) instant is used.
        pytest.param("2027-10-31 2:30am", BERLIN, datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    ],
)
def test_dst_transitions(text: str, tz: ZoneInfo, expected_utc: datetime) -> None:
    assert parse(text, now=NOW, tz=tz).due_at == expected_utc


def test_time_alone_inside_a_dst_gap() -> None:
    now = datetime(2027, 3, 28, 1, 0, tzinfo=BERLIN)
    result = parse("2:30am", now=now, tz=BERLIN)
    assert result.due_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert result.due_at.astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"


def test_spans_point_at_the_original_text() -> None:
    text = "Pay rent, every month on the 1st  !HIGH #home +Bills tomorrow at 5pm."
    result = parse(text, now=NOW, tz=BERLIN)
    assert result.spans == (
        Span(10, 32, "recurrence", "every month on the 1st"),
        Span(34, 39, "priority", "!HIGH"),
        Span(40, 45, "tag", "#home"),
        Span(46, 52, "list", "+Bills"),
        Span(53, 61, "date", "tomorrow"),
        Span(62, 68, "time", "at 5pm"),
    )
    assert result.title == "Pay rent,"


def test_span_offsets_count_code_points() -> None:
    text = "Fête 🎉 on friday #fête"
    result = parse(text, now=NOW, tz=BERLIN)
    assert [(s.kind, text[s.start : s.end]) for s in result.spans] == [
        ("date", "on friday"),
        ("tag", "#fête"),
    ]
    assert result.title == "Fête 🎉"


def test_repeated_kinds_keep_the_first_and_leave_the_rest_in_the_title() -> None:
    result = parse("Call dec 24 or dec 26 at 5pm or 6pm", now=NOW, tz=BERLIN)
    assert result.due_at == at(12, 24, 17)
    assert result.title == "Call or dec 26 or 6pm"
    assert [span.kind for span in result.spans] == ["date", "time"]


@pytest.mark.parametrize("text", EXAMPLES)
def test_spans_are_sorted_and_exact(text: str) -> None:
    spans = parse(text, now=NOW, tz=BERLIN).spans
    assert list(spans) == sorted(spans, key=lambda span: span.start)
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.text == span.text.strip()
    for before, after in pairwise(spans):
        assert before.end < after.start


def test_max_length_is_inclusive() -> None:
    text = "a" * MAX_QUICK_ADD_LENGTH
    assert parse(text, now=NOW, tz=BERLIN).title == text


def test_longer_text_is_rejected_with_a_sentence() -> None:
    with pytest.raises(ValueError, match=r"at most 500 characters.*501"):
        parse("a" * (MAX_QUICK_ADD_LENGTH + 1), now=NOW, tz=BERLIN)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse("today", now=datetime(2026, 11, 18, 10), tz=BERLIN)


HOSTILE = [
    "1" * 500,
    "1/" * 250,
    "1:" * 250,
    "every " * 83,
    ("every mon, " * 50)[:500],
    ("every other " * 50)[:500],
    "in " * 166,
    ("on by due " * 50)[:500],
    '" ' * 250,
    '"' * 500,
    "#" * 500,
    "!" * 500,
    "#" + "a" * 499,
    ("dec 24 " * 80)[:500],
    ("5 pm " * 100)[:500],
    "1 " * 250,
    "é" * 500,
    "a\u0310" * 250,
    "🎉" * 500,
    ("next " * 100)[:500],
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda text: repr(text[:12]))
def test_hostile_input_is_fast(text: str) -> None:
    assert len(text) <= MAX_QUICK_ADD_LENGTH
    started = stopwatch.perf_counter()
    parse(text, now=NOW, tz=BERLIN)
    assert stopwatch.perf_counter() - started < 0.1


def test_random_word_salad_never_breaks_the_invariants() -> None:
    # Shuffling the words of every example recombines them in orders nobody wrote a case for.
    vocabulary = [word for text in [*EXAMPLES, *NOT_DATES] for word in text.split()]
    zones = [BERLIN, LOS_ANGELES, AUCKLAND, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]
    rng = random.Random(20261118)
    for _ in range(2000):
        text = " ".join(rng.choices(vocabulary, k=rng.randint(1, 12)))
        now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 2 * 525_600))
        result = parse(text, now=now, tz=rng.choice(zones))
        assert result.due_date is None or result.due_at is None
        assert result.due_at is None or result.due_at.tzinfo is UTC
        assert all(text[s.start : s.end] == s.text for s in result.spans)
        assert [s.start for s in result.spans] == sorted(s.start for s in result.spans)
