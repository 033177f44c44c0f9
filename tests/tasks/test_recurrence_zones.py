"""Recurrence and due dates across time zones and DST changes, with the UTC instants written out.

2026 transitions used below (local wall clock):
- America/New_York: EST -05:00 / EDT -04:00; 8 March 02:00 -> 03:00, 1 November 02:00 -> 01:00.
- Europe/Berlin: CET +01:00 / CEST +02:00; 29 March 02:00 -> 03:00, 25 October 03:00 -> 02:00.
- Pacific/Chatham: +12:45 / +13:45; 5 April 03:45 -> 02:45 (at 14:00Z on the 4th),
  27 September 02:45 -> 03:45 (at 14:00Z on the 26th).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import Account
from todo.tasks.recurrence import Mode, next_due, shifted_by_gap

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
CHATHAM = ZoneInfo("Pacific/Chatham")
ZONES = {"New York": NEW_YORK, "Berlin": BERLIN, "Chatham": CHATHAM}
SOMETIME = datetime(2026, 6, 1, 12, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def series(rule: str, tz: ZoneInfo, first: date, length: int) -> list[date | datetime]:
    """Complete occurrence after occurrence in "due" mode, as the service does: each one
    is the next one's series start, and the one before it is its previous due."""
    dues: list[date | datetime] = [first]
    while len(dues) < length:
        following = next_due(
            rule,
            series_start=dues[-1],
            current_due=dues[-1],
            completed_at=SOMETIME,
            occurrence=len(dues),
            mode="due",
            tz=tz,
            previous_due=dues[-2] if len(dues) > 1 else None,
        )
        assert following is not None
        dues.append(following)
    return dues


# Each row: the first due, then the ones completing each occurrence creates, in UTC.
SERIES = [
    # --- New York ---
    pytest.param(
        "FREQ=DAILY",
        "New York",
        # 02:30 EST; 02:30 does not exist on 8 March: 03:30 EDT; then 02:30 EDT again.
        [
            utc(2026, 3, 6, 7, 30),
            utc(2026, 3, 7, 7, 30),
            utc(2026, 3, 8, 7, 30),
            utc(2026, 3, 9, 6, 30),
            utc(2026, 3, 10, 6, 30),
        ],
        id="new-york-daily-0230-spring-gap",
    ),
    pytest.param(
        "FREQ=DAILY",
        "New York",
        # A 03:30 series has the same instant on 8 March and stays at 03:30.
        [utc(2026, 3, 7, 8, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 7, 30)],
        id="new-york-daily-0330-spring",
    ),
    pytest.param(
        "FREQ=DAILY",
        "New York",
        # 01:30 on 1 November happens twice: the first (EDT) one, then 01:30 EST.
        [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        id="new-york-daily-0130-fall-repeat",
    ),
    pytest.param(
        "FREQ=DAILY",
        "New York",
        [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)],
        id="new-york-daily-0900-fall",
    ),
    pytest.param(
        "FREQ=HOURLY",
        "New York",
        # 00:30 EDT, 01:30 EDT, 01:30 EST, 02:30 EST: both 01:30s, nothing twice.
        [
            utc(2026, 11, 1, 4, 30),
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 1, 6, 30),
            utc(2026, 11, 1, 7, 30),
        ],
        id="new-york-hourly-fall",
    ),
    pytest.param(
        "FREQ=HOURLY",
        "New York",
        # 01:30 EST, 03:30 EDT, 04:30 EDT: one hour apart, 03:30 only once.
        [utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8, 30)],
        id="new-york-hourly-spring",
    ),
    pytest.param(
        "FREQ=WEEKLY;BYDAY=SU",
        "New York",
        # Sundays at 02:30: EST, then shifted to 03:30 EDT, then 02:30 EDT.
        [utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 15, 6, 30)],
        id="new-york-weekly-byday-spring",
    ),
    pytest.param(
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "New York",
        # 08:00 on every 31st; months without one are skipped; EST, EDT ... EST.
        [
            utc(2026, 1, 31, 13),
            utc(2026, 3, 31, 12),
            utc(2026, 5, 31, 12),
            utc(2026, 7, 31, 12),
            utc(2026, 8, 31, 12),
            utc(2026, 10, 31, 12),
            utc(2026, 12, 31, 13),
        ],
        id="new-york-monthly-31st",
    ),
    pytest.param(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "New York",
        [utc(2024, 2, 29, 15), utc(2028, 2, 29, 15), utc(2032, 2, 29, 15)],
        id="new-york-yearly-feb-29",
    ),
    # --- Berlin ---
    pytest.param(
        "FREQ=DAILY",
        "Berlin",
        # 02:30 CET; on 29 March 03:30 CEST; then 02:30 CEST.
        [
            utc(2026, 3, 28, 1, 30),
            utc(2026, 3, 29, 1, 30),
            utc(2026, 3, 30, 0, 30),
            utc(2026, 3, 31, 0, 30),
        ],
        id="berlin-daily-0230-spring-gap",
    ),
    pytest.param(
        "FREQ=DAILY",
        "Berlin",
        # 02:30 on 25 October happens twice: the first (CEST) one, then 02:30 CET.
        [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        id="berlin-daily-0230-fall-repeat",
    ),
    pytest.param(
        "FREQ=HOURLY",
        "Berlin",
        # 01:30 CEST, 02:30 CEST, 02:30 CET, 03:30 CET.
        [
            utc(2026, 10, 24, 23, 30),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
            utc(2026, 10, 25, 2, 30),
        ],
        id="berlin-hourly-fall",
    ),
    pytest.param(
        "FREQ=HOURLY",
        "Berlin",
        # 01:30 CET, 03:30 CEST, 04:30 CEST.
        [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 30)],
        id="berlin-hourly-spring",
    ),
    pytest.param(
        "FREQ=WEEKLY;BYDAY=MO,FR",
        "Berlin",
        # 18:00 on Friday 27 March (CET), Monday 30 March (CEST), Friday 3 April.
        [utc(2026, 3, 27, 17), utc(2026, 3, 30, 16), utc(2026, 4, 3, 16)],
        id="berlin-weekly-byday-spring",
    ),
    pytest.param(
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "Berlin",
        [utc(2026, 1, 31, 22, 30), utc(2026, 3, 31, 21, 30), utc(2026, 5, 31, 21, 30)],
        id="berlin-monthly-31st-2330",
    ),
    pytest.param(
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "Berlin",
        # 00:30 on the last day of the month is the evening before in UTC.
        [utc(2026, 2, 27, 23, 30), utc(2026, 3, 30, 22, 30), utc(2026, 4, 29, 22, 30)],
        id="berlin-monthly-last-day-0030",
    ),
    pytest.param(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "Berlin",
        # 00:15 CET on 29 February is 23:15Z on the 28th.
        [utc(2024, 2, 28, 23, 15), utc(2028, 2, 28, 23, 15), utc(2032, 2, 28, 23, 15)],
        id="berlin-yearly-feb-29",
    ),
    # --- Chatham ---
    pytest.param(
        "FREQ=DAILY",
        "Chatham",
        # 03:00 +12:45; on 27 September 03:00 does not exist: read at +12:45 (04:00 +13:45);
        # then 03:00 +13:45.
        [
            utc(2026, 9, 25, 14, 15),
            utc(2026, 9, 26, 14, 15),
            utc(2026, 9, 27, 13, 15),
            utc(2026, 9, 28, 13, 15),
        ],
        id="chatham-daily-0300-spring-gap",
    ),
    pytest.param(
        "FREQ=DAILY",
        "Chatham",
        # 03:00 on 5 April happens twice: the first (+13:45) one, then 03:00 +12:45.
        [utc(2026, 4, 3, 13, 15), utc(2026, 4, 4, 13, 15), utc(2026, 4, 5, 14, 15)],
        id="chatham-daily-0300-fall-repeat",
    ),
    pytest.param(
        "FREQ=HOURLY",
        "Chatham",
        # 02:15 +13:45, 03:15 +13:45, 03:15 +12:45, 04:15 +12:45.
        [
            utc(2026, 4, 4, 12, 30),
            utc(2026, 4, 4, 13, 30),
            utc(2026, 4, 4, 14, 30),
            utc(2026, 4, 4, 15, 30),
        ],
        id="chatham-hourly-fall",
    ),
    pytest.param(
        "FREQ=HOURLY",
        "Chatham",
        # 02:15 +12:45, 04:15 +13:45, 05:15 +13:45.
        [utc(2026, 9, 26, 13, 30), utc(2026, 9, 26, 14, 30), utc(2026, 9, 26, 15, 30)],
        id="chatham-hourly-spring",
    ),
    pytest.param(
        "FREQ=WEEKLY;BYDAY=SU",
        "Chatham",
        # Sundays 09:00: +12:45 on 20 September, +13:45 from 27 September.
        [utc(2026, 9, 19, 20, 15), utc(2026, 9, 26, 19, 15), utc(2026, 10, 3, 19, 15)],
        id="chatham-weekly-byday-spring",
    ),
    pytest.param(
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "Chatham",
        # Noon on the 31st is the day before in UTC: +13:45 in summer, +12:45 from April.
        [utc(2026, 1, 30, 22, 15), utc(2026, 3, 30, 22, 15), utc(2026, 5, 30, 23, 15)],
        id="chatham-monthly-31st",
    ),
    pytest.param(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "Chatham",
        # 06:00 +13:45 on 29 February is 16:15Z on the 28th.
        [utc(2024, 2, 28, 16, 15), utc(2028, 2, 28, 16, 15), utc(2032, 2, 28, 16, 15)],
        id="chatham-yearly-feb-29",
    ),
]


@pytest.mark.parametrize(("rule", "zone", "expected"), SERIES)
def test_series_in_zones(rule: str, zone: str, expected: list[datetime]) -> None:
    assert series(rule, ZONES[zone], expected[0], len(expected)) == expected


@pytest.mark.parametrize(
    ("zone", "moment", "shifted"),
    [
        ("New York", utc(2026, 3, 8, 7, 30), True),  # 03:30 EDT, also 02:30 read at EST
        ("New York", utc(2026, 3, 8, 7, 0), True),  # 03:00 EDT, also 02:00
        ("New York", utc(2026, 3, 8, 8, 0), False),  # 04:00 EDT
        ("New York", utc(2026, 3, 7, 7, 30), False),
        ("New York", utc(2026, 11, 1, 6, 30), False),  # the second 01:30
        ("Berlin", utc(2026, 3, 29, 1, 30), True),
        ("Chatham", utc(2026, 9, 26, 14, 15), True),  # 04:00 +13:45, also 03:00
        ("Chatham", utc(2026, 9, 26, 15, 0), False),  # 04:45 +13:45
    ],
)
def test_shifted_by_gap(zone: str, moment: datetime, shifted: bool) -> None:
    assert shifted_by_gap(moment, ZONES[zone]) is shifted


# --- completion vs due mode ---------------------------------------------------------------


def _after(
    rule: str,
    tz: ZoneInfo,
    current: date,
    completed_at: datetime,
    mode: Mode,
    previous: date | None = None,
) -> date | datetime | None:
    return next_due(
        rule,
        series_start=current,
        current_due=current,
        completed_at=completed_at,
        occurrence=2,
        mode=mode,
        tz=tz,
        previous_due=previous,
    )


@pytest.mark.parametrize(
    ("rule", "zone", "current", "previous", "completed_at", "due", "completion"),
    [
        # Daily 09:00 in Chatham, done at 12:00Z on 26 September, 00:45 on the 27th there:
        # "due" follows the due (27th), "completion" the day it was done (28th, +13:45).
        (
            "FREQ=DAILY",
            "Chatham",
            utc(2026, 9, 25, 20, 15),
            None,
            utc(2026, 9, 26, 12),
            utc(2026, 9, 26, 19, 15),
            utc(2026, 9, 27, 19, 15),
        ),
        # The shifted 8 March occurrence of a 02:30 series, done at 08:00 EDT that day:
        # both modes go back to 02:30 (EDT) on the 9th.
        (
            "FREQ=DAILY",
            "New York",
            utc(2026, 3, 8, 7, 30),
            utc(2026, 3, 7, 7, 30),
            utc(2026, 3, 8, 12),
            utc(2026, 3, 9, 6, 30),
            utc(2026, 3, 9, 6, 30),
        ),
        # Done two days late in Berlin, across the spring change: 09:00 CEST on the 31st.
        (
            "FREQ=DAILY",
            "Berlin",
            utc(2026, 3, 28, 8),
            None,
            utc(2026, 3, 30, 10),
            utc(2026, 3, 29, 7),
            utc(2026, 3, 31, 7),
        ),
        # "every! hour": counted from the completion minute, in elapsed time, so done at
        # 01:45:30 EDT on 1 November the next is 01:45 EST.
        (
            "FREQ=HOURLY",
            "New York",
            utc(2026, 11, 1, 5),
            None,
            utc(2026, 11, 1, 5, 45) + (utc(2026, 1, 1, 0, 1) - utc(2026, 1, 1)) / 2,
            utc(2026, 11, 1, 6),
            utc(2026, 11, 1, 6, 45),
        ),
    ],
)
def test_completion_vs_due_mode(
    rule: str,
    zone: str,
    current: datetime,
    previous: datetime | None,
    completed_at: datetime,
    due: datetime,
    completion: datetime,
) -> None:
    tz = ZONES[zone]
    assert _after(rule, tz, current, completed_at, "due", previous) == due
    assert _after(rule, tz, current, completed_at, "completion", previous) == completion


# --- whole-day series: calendar dates, never shifted by a zone ----------------------------


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=DAILY", [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]),
        ("FREQ=DAILY", [date(2026, 9, 26), date(2026, 9, 27), date(2026, 9, 28)]),
        ("FREQ=WEEKLY;BYDAY=SU", [date(2026, 3, 22), date(2026, 3, 29), date(2026, 4, 5)]),
        ("FREQ=MONTHLY;BYMONTHDAY=31", [date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31)]),
        ("FREQ=YEARLY", [date(2024, 2, 29), date(2028, 2, 29), date(2032, 2, 29)]),
        ("FREQ=HOURLY", [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]),
    ],
)
def test_whole_day_series_are_the_same_dates_in_every_zone(
    rule: str, zone: str, expected: list[date]
) -> None:
    assert series(rule, ZONES[zone], expected[0], len(expected)) == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    # Done at 12:00Z on 26 September: still the 26th in New York (08:00) and Berlin
    # (14:00), already the 27th in Chatham (00:45), so the next day differs.
    [
        ("New York", date(2026, 9, 27)),
        ("Berlin", date(2026, 9, 27)),
        ("Chatham", date(2026, 9, 28)),
    ],
)
def test_a_whole_day_series_by_completion_counts_from_the_local_day(
    zone: str, expected: date
) -> None:
    result = _after(
        "FREQ=DAILY", ZONES[zone], date(2026, 9, 20), utc(2026, 9, 26, 12), "completion"
    )
    assert result == expected


# --- through the API ------------------------------------------------------------------------


async def _set_zone(client: httpx.AsyncClient, who: Account, zone: str) -> None:
    response = await client.patch("/api/auth/me", headers=who.headers, json={"timezone": zone})
    assert response.status_code == 200, response.text


async def _create(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/me/tasks", headers=who.headers, json={"title": "t", **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _complete_all(
    client: httpx.AsyncClient, who: Account, task: dict[str, Any], times: int
) -> list[tuple[str | None, str]]:
    """Complete the open occurrence `times` times; the (due_at, due_date) of each one."""
    seen = [(task["due_at"], task["due_date"])]
    for _ in range(times):
        done = await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=who.headers)
        assert done.status_code == 200, done.text
        pending = (await client.get("/api/me/tasks?status=pending", headers=who.headers)).json()
        assert len(pending) == 1
        task = pending[0]
        seen.append((task["due_at"], task["due_date"]))
    return seen


async def test_a_daily_0230_series_returns_to_0230_after_the_spring_gap(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "America/New_York")
    task = await _create(client, alice, due_at="2026-03-07T02:30:00-05:00", rrule="FREQ=DAILY")
    assert await _complete_all(client, alice, task, 3) == [
        ("2026-03-07T07:30:00Z", "2026-03-07"),
        ("2026-03-08T07:30:00Z", "2026-03-08"),  # 03:30 EDT: 02:30 does not exist
        ("2026-03-09T06:30:00Z", "2026-03-09"),  # 02:30 EDT
        ("2026-03-10T06:30:00Z", "2026-03-10"),
    ]


async def test_a_daily_0330_series_stays_at_0330_through_the_spring_gap(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "America/New_York")
    task = await _create(client, alice, due_at="2026-03-07T03:30:00-05:00", rrule="FREQ=DAILY")
    assert [due for due, _ in await _complete_all(client, alice, task, 2)] == [
        "2026-03-07T08:30:00Z",
        "2026-03-08T07:30:00Z",
        "2026-03-09T07:30:00Z",
    ]


async def test_an_hourly_series_has_both_fall_hours(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "Europe/Berlin")
    task = await _create(client, alice, due_at="2026-10-25T01:30:00+02:00", rrule="FREQ=HOURLY")
    assert [due for due, _ in await _complete_all(client, alice, task, 3)] == [
        "2026-10-24T23:30:00Z",
        "2026-10-25T00:30:00Z",  # 02:30 CEST
        "2026-10-25T01:30:00Z",  # 02:30 CET
        "2026-10-25T02:30:00Z",
    ]


async def test_changing_the_time_zone_moves_timed_series_but_not_dates(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "America/New_York")
    # 22:00 EDT on 27 March, which is 03:00 CET on the 28th in Berlin.
    timed = await _create(client, alice, due_at="2026-03-28T02:00:00Z", rrule="FREQ=DAILY")
    dated = await _create(client, alice, due_date="2026-03-27", rrule="FREQ=DAILY")
    assert timed["due_date"] == "2026-03-27"
    await _set_zone(client, alice, "Europe/Berlin")
    timed = (await client.get(f"/api/me/tasks/{timed['id']}", headers=alice.headers)).json()
    dated = (await client.get(f"/api/me/tasks/{dated['id']}", headers=alice.headers)).json()
    assert (timed["due_at"], timed["due_date"]) == ("2026-03-28T02:00:00Z", "2026-03-28")
    assert (dated["due_at"], dated["due_date"]) == (None, "2026-03-27")
    for task in (timed, dated):
        done = await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=alice.headers)
        assert done.status_code == 200, done.text
    pending = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()
    # The timed series now keeps Berlin's 03:00, which is 01:00Z once CEST begins on the 29th.
    assert sorted((t["due_at"] or "", t["due_date"]) for t in pending) == [
        ("", "2026-03-28"),
        ("2026-03-29T01:00:00Z", "2026-03-29"),
    ]


async def test_a_due_time_past_the_calendar_in_the_zone_is_a_clear_422(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "Europe/Berlin")
    # 23:00Z on the last day of the calendar is already the year 10000 in Berlin.
    response = await client.post(
        "/api/me/tasks",
        headers=alice.headers,
        json={"title": "t", "due_at": "9999-12-31T23:00:00Z", "rrule": "FREQ=DAILY"},
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["due_at"]
    # The last instant accepted is one every zone can show: moving there is no problem.
    await _set_zone(client, alice, "UTC")
    task = await _create(client, alice, due_at="9999-12-30T23:00:00Z", rrule="FREQ=DAILY")
    await _set_zone(client, alice, "Pacific/Kiritimati")
    kept = (await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)).json()
    assert kept["due_date"] == "9999-12-31"


async def test_without_the_occurrence_before_a_shifted_due_the_series_keeps_its_time(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await _set_zone(client, alice, "America/New_York")
    first = await _create(client, alice, due_at="2026-03-07T02:30:00-05:00", rrule="FREQ=DAILY")
    done = await client.patch(f"/api/me/tasks/{first['id']}/complete", headers=alice.headers)
    assert done.status_code == 200
    shifted = (await client.get("/api/me/tasks?status=pending", headers=alice.headers)).json()[0]
    assert shifted["due_at"] == "2026-03-08T07:30:00Z"
    deleted = await client.delete(f"/api/me/tasks/{first['id']}", headers=alice.headers)
    assert deleted.status_code == 204
    # 03:30 EDT alone cannot tell a 02:30 series from a 03:30 one: it stays at 03:30.
    assert [due for due, _ in await _complete_all(client, alice, shifted, 1)] == [
        "2026-03-08T07:30:00Z",
        "2026-03-09T07:30:00Z",
    ]
