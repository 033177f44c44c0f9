"""Recurrence rules: validation, descriptions and the next due date of a series."""

from __future__ import annotations

import itertools
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from dateutil import rrule as reference
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Account
from todo.tasks.recurrence import InvalidRule, Mode, describe_rule, next_due, normalize_rule

T = TypeVar("T")

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Any completion instant, for "due" mode where it must not matter.
SOMETIME = datetime(2026, 6, 1, 12, tzinfo=UTC)
# Generous on a loaded CI machine; the typical call takes tens of microseconds.
FAST = 0.2


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fastest(call: Callable[[], T]) -> tuple[T, float]:
    """The result and the best of three timings, so a GC pause or a busy machine is no failure."""
    timings = []
    for _ in range(3):
        began = clock.perf_counter()
        result = call()
        timings.append(clock.perf_counter() - began)
    return result, min(timings)


def due_after(
    rule: str,
    start: date,
    current: date,
    *,
    occurrence: int = 1,
    tz: ZoneInfo = BERLIN,
) -> date | datetime | None:
    return next_due(
        rule,
        series_start=start,
        current_due=current,
        completed_at=SOMETIME,
        occurrence=occurrence,
        mode="due",
        tz=tz,
    )


# --- normalize_rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("freq=weekly;byday=we,mo;interval=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE"),
        ("FREQ=DAILY;INTERVAL=1", "FREQ=DAILY"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1,15,1,15", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1"),
        ("FREQ=MONTHLY;BYDAY=-1FR,+2TU", "FREQ=MONTHLY;BYDAY=2TU,-1FR"),
        (
            " freq = yearly ; bymonth = 2 ; bymonthday = 29 ; ",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        ),
        ("UNTIL=20261231t235959z;FREQ=daily", "FREQ=DAILY;UNTIL=20261231T235959Z"),
        ("FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231"),
        ("FREQ=WEEKLY;WKST=MO;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        (
            "wkst=su;FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
        ),
        ("COUNT=10;FREQ=HOURLY;INTERVAL=6", "FREQ=HOURLY;INTERVAL=6;COUNT=10"),
        (
            "BYSETPOS=-1;BYDAY=FR,TH,WE,TU,MO;FREQ=MONTHLY",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        ("FREQ=YEARLY;BYDAY=4TH;BYMONTH=11", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"),
        ("FREQ=MINUTELY;INTERVAL=15;BYMONTH=12,1,12", "FREQ=MINUTELY;INTERVAL=15;BYMONTH=1,12"),
    ],
)
def test_normalize_rule_returns_canonical_text(text: str, canonical: str) -> None:
    assert normalize_rule(text) == canonical
    assert normalize_rule(canonical) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The recurrence rule is empty."),
        ("hello world", "'hello world' is not a NAME=VALUE part of a recurrence rule."),
        ("FREQ=DAILY;COLOR=red", "COLOR is not a recurrence rule part"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
        ("INTERVAL=2;BYDAY=MO", "FREQ is missing"),
        ("FREQ=SECONDLY", "FREQ must be YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY or MINUTELY"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given more than once."),
        ("FREQ=DAILY;INTERVAL=", "INTERVAL has no value."),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 1000, not 0."),
        ("FREQ=DAILY;INTERVAL=1001", "INTERVAL must be a whole number from 1 to 1000"),
        ("FREQ=DAILY;INTERVAL=-2", "INTERVAL must be a whole number from 1 to 1000"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a whole number from 1 to 10000"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20260101", "COUNT and UNTIL cannot be used together"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY value 'XX' is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=MO,", "BYDAY value '' is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=2MO", "positions such as 2MO only work with FREQ=MONTHLY or YEARLY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "must be from 1 to 5 or from -5 to -1"),
        ("FREQ=YEARLY;BYDAY=54MO", "must be from 1 to 53 or from -53 to -1"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY values must be whole numbers from 1 to 31"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "or from -31 to -1; '32' is not."),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH values must be whole numbers from 1 to 12"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY."),
        ("FREQ=DAILY;BYDAY=MO;BYSETPOS=1", "BYSETPOS only works with FREQ=YEARLY, MONTHLY"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH"),
        ("FREQ=WEEKLY;WKST=XX", "WKST must be a weekday"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL must be a date such as 20261231"),
        ("FREQ=DAILY;UNTIL=20261231T120000", "UNTIL date-times must be in UTC"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL 20260230 is not a real calendar date"),
    ],
)
def test_normalize_rule_rejects_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(InvalidRule) as caught:
        normalize_rule(text)
    assert message in str(caught.value)
    assert str(caught.value).endswith(".")
    assert isinstance(caught.value, ValueError)


# --- describe_rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2", "every 2 weeks on Monday and Wednesday"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", "every month on the 1st"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR", "every 2 weeks on weekdays"),
        ("FREQ=WEEKLY;BYDAY=TU,TH", "every Tuesday and Thursday"),
        ("FREQ=DAILY", "every day"),
        ("FREQ=DAILY;INTERVAL=3", "every 3 days"),
        ("FREQ=HOURLY;BYDAY=MO,TU,WE,TH,FR", "every hour on weekdays"),
        ("FREQ=MINUTELY;INTERVAL=15", "every 15 minutes"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "every month on the last day"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15,-2", "every month on the 1st, 15th and 2nd-to-last day"),
        ("FREQ=MONTHLY;BYDAY=2TU", "every month on the 2nd Tuesday"),
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR", "every 3 months on the last Friday"),
        ("FREQ=MONTHLY;BYDAY=MO", "every month on Mondays"),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "every month on the last weekday"),
        ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "every month on the 13th when it is a Friday"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "every year on February 29"),
        ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "every year on the 4th Thursday in November"),
        ("FREQ=YEARLY", "every year"),
        ("FREQ=DAILY;BYMONTH=12", "every day in December"),
        ("FREQ=DAILY;COUNT=5", "every day, 5 times"),
        ("FREQ=WEEKLY;COUNT=1", "every week, once"),
        ("FREQ=DAILY;UNTIL=20261231", "every day, until December 31, 2026"),
        (
            "FREQ=HOURLY;INTERVAL=3;UNTIL=20261231T120000Z",
            "every 3 hours, until December 31, 2026 12:00 UTC",
        ),
    ],
)
def test_describe_rule(text: str, description: str) -> None:
    assert describe_rule(text) == description


def test_describe_rule_rejects_invalid_rules() -> None:
    with pytest.raises(InvalidRule, match="FREQ is missing"):
        describe_rule("BYDAY=MO")


# --- next_due, "due" mode, whole days ----------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "start", "current", "expected"),
    [
        ("FREQ=DAILY", date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 11)),
        ("FREQ=DAILY;INTERVAL=3", date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 13)),
        ("FREQ=WEEKLY", date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)),
        ("FREQ=WEEKLY;BYDAY=TU,TH", date(2026, 3, 3), date(2026, 3, 12), date(2026, 3, 17)),
        # Every other week: the Monday after Wednesday 4 March is in an off week.
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
            date(2026, 3, 2),
            date(2026, 3, 4),
            date(2026, 3, 16),
        ),
        # Weekdays: Friday is followed by Monday.
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 9)),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 9)),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", date(2026, 3, 2), date(2026, 3, 10), date(2026, 3, 11)),
        ("FREQ=MONTHLY", date(2026, 1, 15), date(2026, 3, 15), date(2026, 4, 15)),
        # Months without a 31st are skipped (RFC 5545), with or without BYMONTHDAY.
        ("FREQ=MONTHLY;BYMONTHDAY=31", date(2026, 1, 31), date(2026, 1, 31), date(2026, 3, 31)),
        ("FREQ=MONTHLY;BYMONTHDAY=31", date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31)),
        ("FREQ=MONTHLY", date(2026, 1, 31), date(2026, 1, 31), date(2026, 3, 31)),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", date(2026, 1, 31), date(2026, 1, 31), date(2026, 2, 28)),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", date(2028, 1, 31), date(2028, 1, 31), date(2028, 2, 29)),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)),
        ("FREQ=MONTHLY;BYDAY=2TU", date(2026, 1, 13), date(2026, 1, 13), date(2026, 2, 10)),
        ("FREQ=MONTHLY;BYDAY=2TU", date(2026, 1, 13), date(2026, 2, 10), date(2026, 3, 10)),
        ("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 1, 30), date(2026, 1, 30), date(2026, 2, 27)),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            date(2026, 1, 30),
            date(2026, 1, 30),
            date(2026, 2, 27),
        ),
        ("FREQ=MONTHLY;INTERVAL=2", date(2026, 1, 10), date(2026, 3, 10), date(2026, 5, 10)),
        # A due moved off the grid: the next one is the series' first after it.
        ("FREQ=MONTHLY;INTERVAL=2", date(2026, 1, 10), date(2026, 4, 2), date(2026, 5, 10)),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            date(2024, 2, 29),
            date(2024, 2, 29),
            date(2028, 2, 29),
        ),
        ("FREQ=YEARLY", date(2024, 2, 29), date(2024, 2, 29), date(2028, 2, 29)),
        # 2100 is no leap year.
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            date(2096, 2, 29),
            date(2096, 2, 29),
            date(2104, 2, 29),
        ),
        ("FREQ=YEARLY;INTERVAL=2", date(2020, 6, 1), date(2026, 6, 1), date(2028, 6, 1)),
        (
            "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
            date(2026, 11, 26),
            date(2026, 11, 26),
            date(2027, 11, 25),
        ),
        # RFC 5545's WKST example: the week start decides which Sunday pairs with which Tuesday.
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU",
            date(1997, 8, 5),
            date(1997, 8, 5),
            date(1997, 8, 10),
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
            date(1997, 8, 5),
            date(1997, 8, 5),
            date(1997, 8, 17),
        ),
        ("FREQ=HOURLY", date(2026, 3, 10), date(2026, 3, 10), date(2026, 3, 11)),
        ("FREQ=MINUTELY;INTERVAL=90", date(2026, 3, 10), date(2026, 3, 10), date(2026, 3, 11)),
    ],
)
def test_next_due_whole_day(rule: str, start: date, current: date, expected: date) -> None:
    assert due_after(rule, start, current) == expected


@pytest.mark.parametrize(
    ("rule", "occurrence", "current", "expected"),
    [
        ("FREQ=DAILY;COUNT=3", 2, date(2026, 3, 2), date(2026, 3, 3)),
        ("FREQ=DAILY;COUNT=3", 3, date(2026, 3, 3), None),
        ("FREQ=WEEKLY;COUNT=1", 1, date(2026, 3, 1), None),
        ("FREQ=DAILY;UNTIL=20260311", 10, date(2026, 3, 10), date(2026, 3, 11)),
        ("FREQ=DAILY;UNTIL=20260311", 11, date(2026, 3, 11), None),
        ("FREQ=WEEKLY;UNTIL=20260314", 2, date(2026, 3, 8), None),
    ],
)
def test_next_due_ends_with_count_and_until(
    rule: str, occurrence: int, current: date, expected: date | None
) -> None:
    assert due_after(rule, date(2026, 3, 1), current, occurrence=occurrence) == expected


@pytest.mark.parametrize(
    ("tz", "expected"),
    # 23:00Z on 11 March is already the 12th in Berlin, still the 11th in New York.
    [(BERLIN, date(2026, 3, 12)), (NEW_YORK, None)],
)
def test_whole_day_series_compares_a_date_time_until_by_local_date(
    tz: ZoneInfo, expected: date | None
) -> None:
    rule = "FREQ=DAILY;UNTIL=20260311T230000Z"
    assert due_after(rule, date(2026, 3, 1), date(2026, 3, 11), tz=tz) == expected


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", date(2026, 1, 1)),
        ("FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31", date(2026, 1, 1)),
        ("FREQ=YEARLY;BYMONTH=4", date(2026, 1, 31)),  # April 31st, from the start's day
        ("FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1", date(2026, 1, 1)),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", date(2026, 1, 1)),
        ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2", date(2026, 1, 1)),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", date(2026, 1, 1)),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=MO", date(2026, 3, 3)),  # always a Tuesday
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", date(2025, 1, 1)),  # no leap years
        ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31", date(2026, 4, 1)),  # only ever Aprils
        ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=-30", date(2026, 1, 1)),
    ],
)
def test_impossible_rules_end_quickly(rule: str, start: date) -> None:
    result, seconds = fastest(lambda: due_after(rule, start, start))
    assert result is None
    assert seconds < FAST


def test_a_series_running_past_the_year_9999_ends() -> None:
    rule = "FREQ=YEARLY;INTERVAL=1000"
    assert due_after(rule, date(1999, 5, 1), date(8999, 5, 1)) == date(9999, 5, 1)
    assert due_after(rule, date(1999, 5, 1), date(9999, 5, 1)) is None


# --- next_due, timed series ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "tz", "start", "current", "expected"),
    [
        ("FREQ=HOURLY", BERLIN, utc(2026, 3, 10, 8), utc(2026, 3, 10, 9), utc(2026, 3, 10, 10)),
        (
            "FREQ=HOURLY;INTERVAL=2",
            BERLIN,
            utc(2026, 3, 10, 8),
            utc(2026, 3, 10, 10),
            utc(2026, 3, 10, 12),
        ),
        (
            "FREQ=MINUTELY;INTERVAL=15",
            BERLIN,
            utc(2026, 3, 10, 8),
            utc(2026, 3, 10, 8, 45),
            utc(2026, 3, 10, 9),
        ),
        # After Friday's last hour (23:00 CET) a weekday-hourly series resumes at Monday 00:00.
        (
            "FREQ=HOURLY;BYDAY=MO,TU,WE,TH,FR",
            BERLIN,
            utc(2026, 3, 2, 8),
            utc(2026, 3, 13, 22, 0),
            utc(2026, 3, 15, 23, 0),
        ),
        # 09:00 local on both sides of the spring change: 08:00Z in CET, 07:00Z in CEST.
        ("FREQ=DAILY", BERLIN, utc(2026, 3, 27, 8), utc(2026, 3, 28, 8), utc(2026, 3, 29, 7)),
        ("FREQ=DAILY", BERLIN, utc(2026, 10, 24, 7), utc(2026, 10, 24, 7), utc(2026, 10, 25, 8)),
        ("FREQ=DAILY", NEW_YORK, utc(2026, 3, 7, 14), utc(2026, 3, 7, 14), utc(2026, 3, 8, 13)),
        (
            "FREQ=DAILY",
            NEW_YORK,
            utc(2026, 10, 31, 13),
            utc(2026, 10, 31, 13),
            utc(2026, 11, 1, 14),
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO",
            NEW_YORK,
            utc(2026, 3, 2, 23, 30),
            utc(2026, 3, 2, 23, 30),
            utc(2026, 3, 9, 22, 30),
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            BERLIN,
            utc(2026, 2, 27, 16, 30),
            utc(2026, 2, 27, 16, 30),
            utc(2026, 3, 27, 16, 30),
        ),
        # 02:30 does not exist on 29 March in Berlin: it lands an hour later, then returns.
        (
            "FREQ=DAILY",
            BERLIN,
            utc(2026, 3, 28, 1, 30),
            utc(2026, 3, 28, 1, 30),
            utc(2026, 3, 29, 1, 30),
        ),
        (
            "FREQ=DAILY",
            BERLIN,
            utc(2026, 3, 28, 1, 30),
            utc(2026, 3, 29, 1, 30),
            utc(2026, 3, 30, 0, 30),
        ),
        # Hourly through the spring gap: local 01:00 CET is followed by 03:00 CEST.
        ("FREQ=HOURLY", BERLIN, utc(2026, 3, 28, 23), utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)),
        (
            "FREQ=YEARLY;UNTIL=20270310T080000Z",
            BERLIN,
            utc(2026, 3, 10, 8),
            utc(2026, 3, 10, 8),
            utc(2027, 3, 10, 8),
        ),
        (
            "FREQ=YEARLY;UNTIL=20270310T075959Z",
            BERLIN,
            utc(2026, 3, 10, 8),
            utc(2026, 3, 10, 8),
            None,
        ),
        # A date UNTIL is a local date: 23:30Z on the 11th is already the 12th in Berlin.
        (
            "FREQ=DAILY;UNTIL=20260311",
            BERLIN,
            utc(2026, 3, 9, 23, 30),
            utc(2026, 3, 9, 23, 30),
            utc(2026, 3, 10, 23, 30),
        ),
        (
            "FREQ=DAILY;UNTIL=20260311",
            BERLIN,
            utc(2026, 3, 9, 23, 30),
            utc(2026, 3, 10, 23, 30),
            None,
        ),
    ],
)
def test_next_due_timed_keeps_local_wall_clock(
    rule: str, tz: ZoneInfo, start: datetime, current: datetime, expected: datetime | None
) -> None:
    result = due_after(rule, start, current, tz=tz)
    assert result == expected
    assert result is None or (isinstance(result, datetime) and result.tzinfo is UTC)


def test_a_daily_series_stays_at_the_same_local_time_for_a_year() -> None:
    due: date | datetime | None = utc(2026, 1, 5, 14)  # 09:00 in New York
    for occurrence in range(1, 366):
        assert isinstance(due, datetime)
        assert due.astimezone(NEW_YORK).hour == 9
        due = next_due(
            "FREQ=DAILY",
            series_start=utc(2026, 1, 5, 14),
            current_due=due,
            completed_at=due,
            occurrence=occurrence,
            mode="due",
            tz=NEW_YORK,
        )


# --- next_due, "completion" mode -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "current", "completed_at", "expected"),
    [
        ("FREQ=DAILY;INTERVAL=3", date(2026, 3, 10), utc(2026, 3, 10, 12), date(2026, 3, 13)),
        # Early and late completion both count from the completion day.
        ("FREQ=DAILY;INTERVAL=3", date(2026, 3, 15), utc(2026, 3, 10, 12), date(2026, 3, 13)),
        ("FREQ=DAILY;INTERVAL=3", date(2026, 3, 10), utc(2026, 3, 20, 12), date(2026, 3, 23)),
        # 23:30Z is already the 11th in Berlin.
        ("FREQ=DAILY", date(2026, 3, 10), utc(2026, 3, 10, 23, 30), date(2026, 3, 12)),
        ("FREQ=WEEKLY", date(2026, 3, 9), utc(2026, 3, 12, 12), date(2026, 3, 19)),
        ("FREQ=WEEKLY;BYDAY=MO,WE", date(2026, 3, 9), utc(2026, 3, 10, 12), date(2026, 3, 11)),
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            date(2026, 3, 9),
            utc(2026, 3, 13, 12),
            date(2026, 3, 16),
        ),
        ("FREQ=MONTHLY", date(2026, 3, 1), utc(2026, 3, 20, 12), date(2026, 4, 20)),
        ("FREQ=MONTHLY;BYMONTHDAY=1", date(2026, 3, 1), utc(2026, 3, 20, 12), date(2026, 4, 1)),
    ],
)
def test_next_due_completion_mode_whole_day(
    rule: str, current: date, completed_at: datetime, expected: date
) -> None:
    result = next_due(
        rule,
        series_start=date(2026, 3, 1),
        current_due=current,
        completed_at=completed_at,
        occurrence=1,
        mode="completion",
        tz=BERLIN,
    )
    assert result == expected


@pytest.mark.parametrize(
    ("rule", "completed_at", "expected"),
    [
        # Done an hour early, before 09:00 on the due day: tomorrow, not again today.
        ("FREQ=DAILY", utc(2026, 3, 10, 7), utc(2026, 3, 11, 8)),
        ("FREQ=DAILY;INTERVAL=2", utc(2026, 3, 14, 17), utc(2026, 3, 16, 8)),
        # The series keeps 09:00 local across the DST change.
        ("FREQ=WEEKLY", utc(2026, 3, 27, 12), utc(2026, 4, 3, 7)),
        # Sub-daily rules count from the completion itself.
        ("FREQ=HOURLY;INTERVAL=3", utc(2026, 3, 10, 10, 10, 30), utc(2026, 3, 10, 13, 10)),
        ("FREQ=MINUTELY;INTERVAL=45", utc(2026, 3, 10, 10, 10, 30), utc(2026, 3, 10, 10, 55)),
    ],
)
def test_next_due_completion_mode_timed(
    rule: str, completed_at: datetime, expected: datetime
) -> None:
    result = next_due(
        rule,
        series_start=utc(2026, 3, 2, 8),  # Monday, 09:00 in Berlin
        current_due=utc(2026, 3, 10, 8),
        completed_at=completed_at,
        occurrence=3,
        mode="completion",
        tz=BERLIN,
    )
    assert result == expected


def test_completion_mode_still_honours_count() -> None:
    result = next_due(
        "FREQ=DAILY;COUNT=3",
        series_start=date(2026, 3, 1),
        current_due=date(2026, 3, 3),
        completed_at=utc(2026, 3, 3, 12),
        occurrence=3,
        mode="completion",
        tz=BERLIN,
    )
    assert result is None


# --- speed: computed directly, not stepped through ---------------------------------------------


@pytest.mark.parametrize(
    ("rule", "step"),
    [
        ("FREQ=HOURLY", timedelta(hours=1)),
        ("FREQ=MINUTELY", timedelta(minutes=1)),
        ("FREQ=MINUTELY;INTERVAL=7", timedelta(minutes=7)),
        ("FREQ=HOURLY;INTERVAL=5", timedelta(hours=5)),
        ("FREQ=DAILY;INTERVAL=3", timedelta(days=3)),
        ("FREQ=WEEKLY;INTERVAL=3", timedelta(weeks=3)),
    ],
)
def test_a_series_from_1900_is_fast(rule: str, step: timedelta) -> None:
    start, current = utc(1900, 1, 1), utc(2026, 3, 10, 9, 30)
    expected = start + ((current - start) // step + 1) * step
    result, seconds = fastest(lambda: due_after(rule, start, current, tz=ZoneInfo("UTC")))
    assert result == expected
    assert seconds < FAST


def test_a_1900_hourly_series_keeps_its_berlin_wall_clock() -> None:
    result, seconds = fastest(
        lambda: due_after("FREQ=HOURLY", utc(1900, 1, 1, 0, 20), utc(2026, 7, 1, 9, 30))
    )
    assert result == utc(2026, 7, 1, 10, 20)
    assert seconds < FAST


# --- cross-check with dateutil -------------------------------------------------------------

_FREQUENCY = {
    "YEARLY": reference.YEARLY,
    "MONTHLY": reference.MONTHLY,
    "WEEKLY": reference.WEEKLY,
    "DAILY": reference.DAILY,
}


@pytest.mark.parametrize(
    ("rule", "start", "options"),
    [
        (
            "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1,-1",
            date(2001, 1, 1),
            {"bymonth": (1, 7), "bymonthday": (1, -1)},
        ),
        (
            "FREQ=YEARLY;INTERVAL=3;BYDAY=20MO,-1SU",
            date(2003, 3, 3),
            {"interval": 3, "byweekday": (reference.MO(20), reference.SU(-1))},
        ),
        (
            "FREQ=YEARLY;BYMONTH=3,9;BYDAY=1SA,-2TU;BYSETPOS=2,-1",
            date(2010, 1, 1),
            {
                "bymonth": (3, 9),
                "byweekday": (reference.SA(1), reference.TU(-2)),
                "bysetpos": (2, -1),
            },
        ),
        (
            "FREQ=YEARLY;BYMONTHDAY=13;BYDAY=FR",
            date(2015, 2, 13),
            {"bymonthday": 13, "byweekday": reference.FR},
        ),
        (
            "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=-3,10",
            date(2011, 4, 9),
            {"interval": 5, "bymonthday": (-3, 10)},
        ),
        (
            "FREQ=MONTHLY;BYDAY=1MO,3WE,-1SA",
            date(2020, 2, 2),
            {"byweekday": (reference.MO(1), reference.WE(3), reference.SA(-1))},
        ),
        (
            "FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1,-1",
            date(2021, 5, 20),
            {"byweekday": (reference.SA, reference.SU), "bysetpos": (1, -1)},
        ),
        (
            "FREQ=MONTHLY;INTERVAL=7;BYMONTH=2,8;BYMONTHDAY=29,30",
            date(2000, 1, 1),
            {"interval": 7, "bymonth": (2, 8), "bymonthday": (29, 30)},
        ),
        (
            "FREQ=WEEKLY;INTERVAL=4;BYDAY=TH,SA;WKST=FR",
            date(2019, 12, 30),
            {"interval": 4, "byweekday": (reference.TH, reference.SA), "wkst": reference.FR},
        ),
        (
            "FREQ=WEEKLY;BYMONTH=1,4;BYDAY=MO,FR;BYSETPOS=-1",
            date(2018, 3, 28),
            {"bymonth": (1, 4), "byweekday": (reference.MO, reference.FR), "bysetpos": -1},
        ),
        (
            "FREQ=DAILY;INTERVAL=10;BYMONTHDAY=1,2,3,4,5",
            date(2022, 8, 17),
            {"interval": 10, "bymonthday": (1, 2, 3, 4, 5)},
        ),
        (
            "FREQ=DAILY;INTERVAL=2;BYMONTH=6;BYDAY=WE,TH",
            date(2016, 6, 30),
            {"interval": 2, "bymonth": 6, "byweekday": (reference.WE, reference.TH)},
        ),
    ],
)
def test_agrees_with_dateutil(rule: str, start: date, options: dict[str, object]) -> None:
    frequency = _FREQUENCY[rule.split(";")[0].removeprefix("FREQ=")]
    options = {"wkst": reference.MO, **options}  # RFC 5545's default, not the locale's
    expected = reference.rrule(frequency, dtstart=start, **options)  # type: ignore[arg-type]
    current = start
    for occurrence in itertools.islice((day.date() for day in expected if day.date() > start), 40):
        assert due_after(rule, start, current) == occurrence
        current = occurrence


# --- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"rule": "FREQ=DAILY;BYHOUR=3"}, InvalidRule),
        ({"current_due": datetime(2026, 3, 10, 9)}, TypeError),
        (
            {"series_start": datetime(2026, 3, 10, 9), "current_due": datetime(2026, 3, 10, 9)},
            ValueError,
        ),
        ({"completed_at": datetime(2026, 3, 10, 9)}, ValueError),
        ({"occurrence": 0}, ValueError),
        ({"mode": "whenever"}, ValueError),
    ],
)
def test_next_due_rejects_bad_arguments(changes: dict[str, object], error: type[Exception]) -> None:
    arguments: dict[str, object] = {
        "rule": "FREQ=DAILY",
        "series_start": date(2026, 3, 1),
        "current_due": date(2026, 3, 10),
        "completed_at": utc(2026, 3, 10, 12),
        "occurrence": 1,
        "mode": "due",
        "tz": BERLIN,
    }
    arguments.update(changes)
    with pytest.raises(error):
        next_due(**arguments)  # type: ignore[arg-type]


# --- UNTIL round trips; series at the edge of the calendar -------------------------------


@pytest.mark.parametrize(
    "until",
    [
        "00010101",
        "00010101T000000Z",
        "09991231",
        "09990615T123456Z",
        "10000101",
        "10000101T000001Z",
        "20261231",
        "99991231",
        "99991231T235959Z",
    ],
)
@pytest.mark.parametrize("base", ["FREQ=DAILY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR"])
def test_until_round_trips_exactly_with_a_four_digit_year(base: str, until: str) -> None:
    canonical = f"{base};UNTIL={until}"
    assert normalize_rule(canonical) == canonical
    assert normalize_rule(canonical.lower()) == canonical


@pytest.mark.parametrize(
    ("until", "words"),
    [
        ("00010101", "until January 1, 1"),
        ("09990615T123456Z", "until June 15, 999 12:34 UTC"),
    ],
)
def test_describe_rule_early_until(until: str, words: str) -> None:
    assert describe_rule(f"FREQ=DAILY;UNTIL={until}") == f"every day, {words}"


@pytest.mark.parametrize("until", ["00000101", "000101", "0101", "100000101", "10101T000000"])
def test_until_needs_a_real_year(until: str) -> None:
    with pytest.raises(InvalidRule, match="UNTIL"):
        normalize_rule(f"FREQ=DAILY;UNTIL={until}")


@pytest.mark.parametrize(
    ("written", "padded"),
    [
        ("10101", "00010101"),
        ("9991231T235959Z", "09991231T235959Z"),
        ("1000615", "01000615"),
    ],
)
def test_an_until_written_without_padding_is_read_back_padded(written: str, padded: str) -> None:
    # What normalize_rule wrote for years before 1000 until it padded them: such rules are
    # stored and in clients' hands, and must neither fail a completion nor be refused.
    assert normalize_rule(f"FREQ=DAILY;UNTIL={written}") == f"FREQ=DAILY;UNTIL={padded}"
    assert due_after(f"FREQ=DAILY;UNTIL={written}", date(2026, 3, 1), date(2026, 3, 1)) is None


@pytest.mark.parametrize("tz", [NEW_YORK, BERLIN, ZoneInfo("Pacific/Chatham")])
@pytest.mark.parametrize("until", ["00010101", "00010101T000000Z", "09991231T235959Z"])
@pytest.mark.parametrize(
    "current", [date(2026, 3, 10), utc(2026, 3, 10, 9)], ids=["whole-day", "timed"]
)
def test_an_until_long_past_ends_the_series(tz: ZoneInfo, until: str, current: date) -> None:
    assert due_after(f"FREQ=DAILY;UNTIL={until}", current, current, tz=tz) is None


@pytest.mark.parametrize("tz", [NEW_YORK, BERLIN, ZoneInfo("Pacific/Chatham")])
@pytest.mark.parametrize(
    ("current", "expected"),
    [(date(2026, 3, 10), date(2026, 3, 11)), (utc(2026, 3, 10, 9), utc(2026, 3, 11, 9))],
    ids=["whole-day", "timed"],
)
@pytest.mark.parametrize("until", ["99991231", "99991231T235959Z"])
def test_an_until_at_the_end_of_the_calendar_keeps_the_series(
    tz: ZoneInfo, until: str, current: date, expected: date
) -> None:
    # The summer offsets of all three zones are whole hours or +13:45, so 09:00Z stays put.
    result = due_after(f"FREQ=DAILY;UNTIL={until}", current, current, tz=tz)
    assert result == expected


@pytest.mark.parametrize("tz", [NEW_YORK, BERLIN, ZoneInfo("Pacific/Chatham"), ZoneInfo("UTC")])
@pytest.mark.parametrize(
    ("rule", "current"),
    [
        ("FREQ=DAILY", date(9999, 12, 31)),
        ("FREQ=DAILY", utc(9999, 12, 31, 23)),
        ("FREQ=DAILY", utc(9999, 12, 31, 9)),
        ("FREQ=WEEKLY", date(9999, 12, 27)),
        ("FREQ=WEEKLY;BYDAY=MO,SU", date(9999, 12, 31)),
        ("FREQ=MONTHLY", date(9999, 12, 15)),
        ("FREQ=MONTHLY;BYMONTHDAY=31", utc(9999, 12, 31, 9)),
        ("FREQ=YEARLY", date(9999, 6, 1)),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", date(9996, 2, 29)),
        ("FREQ=HOURLY", utc(9999, 12, 31, 23, 30)),
        ("FREQ=HOURLY", date(9999, 12, 31)),
        ("FREQ=MINUTELY;INTERVAL=90", utc(9999, 12, 31, 23)),
        ("FREQ=HOURLY;BYMONTH=1", utc(9999, 12, 30)),
        ("FREQ=DAILY;UNTIL=99991231T235959Z", utc(9999, 12, 31, 12)),
    ],
)
@pytest.mark.parametrize("mode", ["due", "completion"])
def test_a_series_that_would_pass_the_year_9999_ends(
    tz: ZoneInfo, rule: str, current: date, mode: Mode
) -> None:
    result = next_due(
        rule,
        series_start=current,
        current_due=current,
        completed_at=utc(9999, 12, 31, 23, 59, 59) if mode == "completion" else SOMETIME,
        occurrence=1,
        mode=mode,
        tz=tz,
    )
    assert result is None


@pytest.mark.parametrize(
    ("rule", "current", "expected"),
    [
        ("FREQ=WEEKLY", date(9999, 12, 24), date(9999, 12, 31)),
        ("FREQ=WEEKLY;BYDAY=MO,FR;WKST=SU", date(9999, 12, 27), date(9999, 12, 31)),
        ("FREQ=MONTHLY;BYMONTHDAY=31", date(9999, 10, 31), date(9999, 12, 31)),
        ("FREQ=DAILY", date(9999, 12, 30), date(9999, 12, 31)),
        ("FREQ=WEEKLY;WKST=SU", date(1, 1, 1), date(1, 1, 8)),
    ],
)
def test_the_first_and_last_weeks_of_the_calendar_are_reachable(
    rule: str, current: date, expected: date
) -> None:
    assert due_after(rule, current, current) == expected


# --- through the API ------------------------------------------------------------------------


async def _complete_and_list_open(
    client: httpx.AsyncClient, who: Account, task_id: int
) -> list[dict[str, Any]]:
    done = await client.patch(f"/api/me/tasks/{task_id}/complete", headers=who.headers)
    assert done.status_code == 200, done.text
    assert done.json()["completed"] is True
    pending = await client.get("/api/me/tasks?status=pending", headers=who.headers)
    return list(pending.json())


@pytest.mark.parametrize("until", ["00010101", "09991231T235959Z", "10000101"])
async def test_an_early_until_round_trips_and_completes(
    client: httpx.AsyncClient, alice: Account, until: str
) -> None:
    rule = f"FREQ=DAILY;UNTIL={until}"
    created = await client.post(
        "/api/me/tasks",
        headers=alice.headers,
        json={"title": "t", "due_date": "2026-03-10", "rrule": rule},
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["rrule"] == rule
    sent_back = await client.put(
        f"/api/me/tasks/{task['id']}", headers=alice.headers, json={"rrule": task["rrule"]}
    )
    assert sent_back.status_code == 200, sent_back.text
    assert sent_back.json()["rrule"] == rule
    assert await _complete_and_list_open(client, alice, task["id"]) == []


@pytest.mark.parametrize(
    ("zone", "due"),
    [
        ("UTC", {"due_date": "9999-12-31"}),
        ("Pacific/Chatham", {"due_date": "9999-12-31"}),
        # The next day's 23:00Z is past the last instant the API accepts (9999-12-30T23:59:59Z).
        ("UTC", {"due_at": "9999-12-30T23:00:00Z"}),
        ("America/New_York", {"due_at": "9999-12-30T23:00:00Z"}),
        ("UTC", {"due_date": "9999-12-29", "remind_at": "9999-12-30T23:59:00Z"}),
    ],
)
async def test_completing_the_last_day_of_the_calendar_ends_the_series(
    client: httpx.AsyncClient, alice: Account, zone: str, due: dict[str, str]
) -> None:
    response = await client.patch("/api/auth/me", headers=alice.headers, json={"timezone": zone})
    assert response.status_code == 200, response.text
    created = await client.post(
        "/api/me/tasks", headers=alice.headers, json={"title": "t", "rrule": "FREQ=DAILY", **due}
    )
    assert created.status_code == 201, created.text
    pending = await _complete_and_list_open(client, alice, created.json()["id"])
    if "remind_at" in due:
        # The next day still exists; a reminder a day and 23:59 after it would not.
        assert [(t["due_date"], t["remind_at"]) for t in pending] == [("9999-12-30", None)]
    else:
        assert pending == []


def test_weekly_steps_of_elapsed_hours_end_quickly_when_they_keep_the_weekday() -> None:
    monday_noon = utc(2026, 3, 2, 11)  # 12:00 CET
    result, seconds = fastest(
        lambda: due_after("FREQ=HOURLY;INTERVAL=168;BYDAY=TU", monday_noon, monday_noon)
    )
    assert result is None
    assert seconds < FAST


def test_weekly_steps_of_elapsed_hours_cross_midnight_when_the_offset_changes() -> None:
    # Monday 23:30 CET, a week of hours later it is Tuesday 00:30 CEST.
    monday_late = utc(2026, 3, 23, 22, 30)
    result = due_after("FREQ=HOURLY;INTERVAL=168;BYDAY=TU", monday_late, monday_late)
    assert result == utc(2026, 3, 30, 22, 30)


async def test_a_stored_unpadded_until_still_completes_and_is_accepted_back(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    created = await client.post(
        "/api/me/tasks",
        headers=alice.headers,
        json={"title": "t", "due_date": "2026-03-10", "rrule": "FREQ=DAILY"},
    )
    task = created.json()
    # As the versions that wrote UNTIL=10101 stored it.
    async with app.state.db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE tasks SET rrule = 'FREQ=DAILY;UNTIL=10101' WHERE id = :id"),
            {"id": task["id"]},
        )
    assert await _complete_and_list_open(client, alice, task["id"]) == []
    stored = await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)
    assert stored.json()["rrule"] == "FREQ=DAILY;UNTIL=10101"
    sent_back = await client.put(
        f"/api/me/tasks/{task['id']}", headers=alice.headers, json={"rrule": stored.json()["rrule"]}
    )
    assert sent_back.status_code == 200, sent_back.text
    assert sent_back.json()["rrule"] == "FREQ=DAILY;UNTIL=00010101"
