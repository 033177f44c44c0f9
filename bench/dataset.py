"""The rows of the benchmark data set, exactly as the service layer would have written them.

Sign-up writes a user and its Inbox; creating lists appends them with `key_between`;
creating a task writes it at version 1 with the clock's `time_key` as position; completing
or editing it later is one UPDATE (version 2, updated_at moved). Tags are per-user rows
linked through task_tags. Everything here is a pure function of a seed number, so two runs
produce the same data set; ids come out in the order of creation across all users, so a
user's tasks are spread over the table as they would be after months of real use.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from todo.core.ordering import key_between
from todo.lists.service import INBOX_NAME
from todo.tasks.recurrence import normalize_rule

# Every seeded instant lies in the year before this moment; fixed so that seeds compare.
EPOCH = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HISTORY = timedelta(days=365)

USER_COLUMNS = (
    "id",
    "email",
    "name",
    "timezone",
    "password_hash",
    "session_version",
    "tokens_valid_after",
    "created_at",
    "updated_at",
)
LIST_COLUMNS = (
    "id",
    "user_id",
    "name",
    "color",
    "position",
    "is_inbox",
    "created_at",
    "updated_at",
)
TAG_COLUMNS = ("id", "user_id", "name", "key", "created_at")
TASK_COLUMNS = (
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "completed_at",
    "list_id",
    "position",
    "priority",
    "due_date",
    "due_at",
    "remind_at",
    "reminder_dismissed",
    "rrule",
    "recurrence_mode",
    "series_id",
    "occurrence",
    "created_at",
    "updated_at",
    "version",
)
TASK_TAG_COLUMNS = ("task_id", "tag_id", "user_id")

VERBS = (
    "Buy", "Call", "Email", "Fix", "Review", "Book", "Pay", "Plan", "Write", "Clean",
    "Schedule", "Order", "Return", "Renew", "Prepare", "Send", "Check", "Update", "Cancel",
    "Pick up",
)  # fmt: skip
OBJECTS = (
    "milk", "invoice", "dentist", "report", "car insurance", "passport", "birthday gift",
    "tax return", "flight tickets", "team meeting", "garden", "laundry", "budget", "slides",
    "contract", "groceries", "bike", "library books", "electric bill", "newsletter",
)  # fmt: skip
SUFFIXES = (
    "", "", "", "", " for Monday", " before Friday", " with Sam", " for mum", " at 5pm",
    " (again)", " this week", " tomorrow morning",
)  # fmt: skip
FILLERS = (
    "Ask about the discount.",
    "The receipt is in the blue folder.",
    "Needs two signatures.",
    "Compare with last year first.",
    "Bring the spare key.",
    "Sam has the details.",
)
# One object word each: every one is in about a twentieth of all titles.
SEARCH_WORDS = ("invoice", "dentist", "report", "passport", "budget", "contract", "garden")
LIST_NAMES = ("Work", "Home", "Errands")
TAG_NAMES = ("Work", "home", "errands", "Health", "finance", "reading")
ZONES = ("UTC",) * 7 + ("Europe/Paris", "America/New_York", "Asia/Tokyo")
RULES = tuple(
    normalize_rule(rule)
    for rule in ("FREQ=WEEKLY", "FREQ=DAILY", "FREQ=MONTHLY", "FREQ=WEEKLY;BYDAY=MO,WE,FR")
)
PRIORITY_WEIGHTS = (60, 15, 12, 9, 4)
HEAVY_EMAIL = "heavy@bench.example.com"


def user_email(index: int) -> str:
    return f"user{index:05d}@bench.example.com"


def position_at(instant: datetime) -> str:
    """The position `time_key()` hands out at this instant (base 36 microseconds, then 'i')."""
    value = (instant - UNIX_EPOCH) // timedelta(microseconds=1)
    digits = []
    while value:
        value, remainder = divmod(value, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[remainder])
    return "".join(reversed(digits)).rjust(12, "0") + "i"


@dataclass(frozen=True)
class SeedUser:
    index: int
    id: str
    email: str
    timezone: str
    created_at: datetime
    list_ids: tuple[int, ...]  # the Inbox first
    tag_ids: tuple[int, ...]
    tasks: int


@dataclass
class Counts:
    users: int = 0
    lists: int = 0
    tags: int = 0
    tasks: int = 0
    task_tags: int = 0


class DataSet:
    """Users (the last one the heavy user, when there is one), lists, tags and tasks."""

    def __init__(self, *, users: int, tasks_per_user: int, heavy_tasks: int, seed: int = 5):
        self.seed = seed
        rng = random.Random(seed)
        sizes = [tasks_per_user] * users + ([heavy_tasks] if heavy_tasks else [])
        self.users: list[SeedUser] = []
        list_id = tag_id = 0
        for index, size in enumerate(sizes):
            is_heavy = heavy_tasks and index == users
            lists = tuple(range(list_id + 1, list_id + 1 + 1 + len(LIST_NAMES)))
            tags = tuple(range(tag_id + 1, tag_id + 1 + len(TAG_NAMES)))
            list_id, tag_id = lists[-1], tags[-1]
            self.users.append(
                SeedUser(
                    index=index,
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    email=HEAVY_EMAIL if is_heavy else user_email(index),
                    timezone=rng.choice(ZONES),
                    created_at=EPOCH - HISTORY - timedelta(days=rng.uniform(1, 30)),
                    list_ids=lists,
                    tag_ids=tags,
                    tasks=size,
                )
            )
        self.total_tasks = sum(sizes)

    @property
    def heavy(self) -> SeedUser | None:
        return self.users[-1] if self.users and self.users[-1].email == HEAVY_EMAIL else None

    def user_rows(self, password_hash: str) -> list[tuple[object, ...]]:
        return [
            (
                u.id,
                u.email,
                f"Bench User {u.index}",
                u.timezone,
                password_hash,
                0,
                None,
                u.created_at,
                u.created_at,
            )
            for u in self.users
        ]

    def list_rows(self) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        for u in self.users:
            position = key_between(None, None)
            made = u.created_at
            rows.append((u.list_ids[0], u.id, INBOX_NAME, None, position, True, made, made))
            for offset, (list_id, name) in enumerate(zip(u.list_ids[1:], LIST_NAMES, strict=True)):
                position = key_between(position, None)
                made = u.created_at + timedelta(minutes=5 + offset)
                rows.append((list_id, u.id, name, None, position, False, made, made))
        return rows

    def tag_rows(self) -> list[tuple[object, ...]]:
        return [
            (tag_id, u.id, name, name.lower(), u.created_at + timedelta(minutes=10))
            for u in self.users
            for tag_id, name in zip(u.tag_ids, TAG_NAMES, strict=True)
        ]

    def task_rows(
        self, first_id: int = 1
    ) -> Iterator[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
        """(task row, its task_tags rows), ids increasing in the order of creation."""
        streams = [self._user_tasks(u) for u in self.users]
        merged = heapq.merge(*streams, key=lambda item: item[0])
        for task_id, (_, user, draft, tag_ids) in enumerate(merged, start=first_id):
            yield (task_id, *draft), [(task_id, tag_id, user.id) for tag_id in tag_ids]

    def _user_tasks(
        self, user: SeedUser
    ) -> Iterator[tuple[datetime, SeedUser, tuple[object, ...], tuple[int, ...]]]:
        rng = random.Random(f"{self.seed}-{user.id}")
        start = user.created_at + timedelta(hours=1)
        span = (EPOCH - start).total_seconds()
        offsets = sorted(rng.random() * span for _ in range(user.tasks))
        tz = ZoneInfo(user.timezone)
        for offset in offsets:
            created = start + timedelta(seconds=offset)
            draft, tags = _task(rng, user, created, tz)
            yield created, user, draft, tags


def _task(
    rng: random.Random, user: SeedUser, created: datetime, tz: ZoneInfo
) -> tuple[tuple[object, ...], tuple[int, ...]]:
    age = EPOCH - created
    obj = rng.choice(OBJECTS)
    title = f"{rng.choice(VERBS)} {obj}{rng.choice(SUFFIXES)}"
    description = ""
    if rng.random() < 0.3:
        description = f"Remember the {rng.choice(OBJECTS)}. {rng.choice(FILLERS)}"
    list_id = user.list_ids[0] if rng.random() < 0.55 else rng.choice(user.list_ids[1:])
    priority = rng.choices(range(5), weights=PRIORITY_WEIGHTS)[0]

    due_date: date | None = None
    due_at = remind_at = None
    rrule = series_id = None
    if rng.random() < 0.45:
        local_day = created.astimezone(tz).date() + timedelta(days=rng.randint(-3, 45))
        if rng.random() < 0.25:
            local = datetime.combine(local_day, datetime.min.time(), tzinfo=tz)
            due_at = (local + timedelta(hours=rng.randint(8, 18))).astimezone(UTC)
            due_date = due_at.astimezone(tz).date()
            if rng.random() < 0.3:
                remind_at = due_at - timedelta(hours=1)
        else:
            due_date = local_day
        if rng.random() < 0.03:
            rrule = rng.choice(RULES)
            series_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))

    completed = rrule is None and rng.random() < (0.6 if age > timedelta(days=14) else 0.2)
    completed_at = None
    updated = created
    version = 1
    if completed:
        completed_at = created + min(age, timedelta(days=20)) * rng.random()
        updated, version = completed_at, 2
    elif rng.random() < 0.15:
        updated, version = created + age * rng.random(), 2

    tag_ids: tuple[int, ...] = ()
    if rng.random() < 0.35:
        tag_ids = tuple(rng.sample(user.tag_ids, 1 if rng.random() < 0.7 else 2))
    draft = (
        user.id,
        title,
        description,
        completed,
        completed_at,
        list_id,
        position_at(created),
        priority,
        due_date,
        due_at,
        remind_at,
        False,
        rrule,
        "due",
        series_id,
        1,
        created,
        updated,
        version,
    )
    return draft, tag_ids


def scratch_rows(
    owners: list[tuple[str, int]], count: int, first_id: int, now: datetime
) -> list[tuple[object, ...]]:
    """Fresh open tasks for the write measurements, spread over (user id, Inbox id) pairs."""
    rows: list[tuple[object, ...]] = []
    for n in range(count):
        user_id, inbox_id = owners[n % len(owners)]
        made = now + timedelta(microseconds=n)
        rows.append(
            (
                first_id + n,
                user_id,
                f"Scratch task {n}",
                "",
                False,
                None,
                inbox_id,
                position_at(made),
                0,
                None,
                None,
                None,
                False,
                None,
                "due",
                None,
                1,
                made,
                made,
                1,
            )
        )
    return rows
