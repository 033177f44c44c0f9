"""The jobs that deliver reminders and the daily digest.

What must happen lives in the database, not in the queue: a periodic scan finds reminders
that have fired and have no delivery marker, and enqueues one delivery per occurrence and
channel under a queueing lock (so a scan never stacks a second one behind a waiting one).
A delivery writes its marker in the transaction that records its success:

- PostgreSQL: the marker is inserted first, the message sent, then the transaction
  commits. A second delivery of the same occurrence waits on the marker's key and then
  finds it taken; a worker killed mid-send rolls back, and the next scan sends again.
- SQLite (one in-process worker): the message is sent, then the marker written, so the
  database's single write lock is never held across the network.

Either way a reminder is sent twice only when the process dies between the server
taking the message and the commit (milliseconds); it is lost never.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, literal, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.core.db import utcnow
from todo.core.errors import NotFound
from todo.core.jobs import JobQueue, job
from todo.lists import access
from todo.notifications import email, push
from todo.notifications import service as notifications
from todo.notifications.models import (
    NotificationSettings,
    PushSubscription,
    ReminderDelivery,
)
from todo.tasks import service as tasks
from todo.tasks.models import Task

log = logging.getLogger("todo.jobs")

# Reminders older than this when first seen are not sent any more (after a long outage,
# or when reminders on a channel are switched on): a flood of stale reminders helps nobody.
LOOKBACK = timedelta(hours=12)
# Markers outlive the look-back by far, so that no marker goes while its reminder could
# still be found by a scan.
MARKERS_KEPT = timedelta(days=7)
SCAN_BATCH = 500
# The digest goes at the chosen hour, or in the next ones should the server be down then.
DIGEST_WINDOW_HOURS = 2
DIGEST_TASKS_MAX = 50


@dataclass(frozen=True)
class Occurrence:
    task_id: int
    user_id: str
    remind_at: datetime
    channel: str

    @property
    def key(self) -> str:
        return f"reminder:{self.task_id}:{self.remind_at.isoformat()}:{self.channel}"


def _delivered(channel: str) -> Any:
    return exists().where(
        col(ReminderDelivery.user_id) == col(Task.user_id),
        col(ReminderDelivery.task_id) == col(Task.id),
        col(ReminderDelivery.remind_at) == col(Task.remind_at),
        col(ReminderDelivery.channel) == channel,
    )


async def pending(session: AsyncSession, *, now: datetime, with_email: bool) -> list[Occurrence]:
    """Fired reminders of open tasks, per channel the owner wants, not yet delivered."""
    fired = (
        (col(Task.remind_at) <= now)
        & (col(Task.remind_at) > now - LOOKBACK)
        & col(Task.completed).is_(False)
        & col(Task.reminder_dismissed).is_(False)
    )
    columns = (col(Task.id), col(Task.user_id), col(Task.remind_at))
    push_off = exists().where(
        col(NotificationSettings.user_id) == col(Task.user_id),
        col(NotificationSettings.push_reminders).is_(False),
    )
    has_browser = exists().where(col(PushSubscription.user_id) == col(Task.user_id))
    parts = [
        select(*columns, literal("push").label("channel")).where(
            fired, has_browser, ~push_off, ~_delivered("push")
        )
    ]
    if with_email:
        email_on = exists().where(
            col(NotificationSettings.user_id) == col(Task.user_id),
            col(NotificationSettings.email_reminders).is_(True),
        )
        parts.append(
            select(*columns, literal("email").label("channel")).where(
                fired, email_on, ~_delivered("email")
            )
        )
    both = union_all(*parts).subquery()
    rows = await session.exec(
        select(both.c.id, both.c.user_id, both.c.remind_at, both.c.channel)
        .order_by(both.c.remind_at)
        .limit(SCAN_BATCH)
    )
    found = []
    for task_id, user_id, remind_at, channel in rows.all():
        # A union's columns lose the column type on SQLite: read the instant back as UTC.
        instant = remind_at if isinstance(remind_at, datetime) else _sqlite_instant(remind_at)
        found.append(Occurrence(task_id, user_id, instant, channel))
    return found


def _sqlite_instant(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


@job(every="* * * * * */30")
async def scan_reminders(queue: JobQueue, *, timestamp: int) -> None:
    """Every 30 seconds: one delivery job per fired occurrence and channel."""
    async with queue.db.session(write=False) as session:
        found = await pending(session, now=utcnow(), with_email=email.available(queue.settings))
    for occurrence in found:
        await queue.defer(
            deliver_reminder,
            queueing_lock=occurrence.key,
            task_id=occurrence.task_id,
            user_id=occurrence.user_id,
            remind_at=occurrence.remind_at.isoformat(),
            channel=occurrence.channel,
        )


@dataclass(frozen=True)
class Reminder:
    task: Task
    user: User


async def _still_due(session: AsyncSession, occurrence: Occurrence) -> Reminder | None:
    """The reminder, if it is still to be sent on this channel (not done, not dismissed,
    not moved to another time, the channel still on)."""
    user = await accounts.get_user(session, occurrence.user_id)
    if user is None:
        return None
    try:
        task = await tasks.get_task(session, access.own(occurrence.user_id), occurrence.task_id)
    except NotFound:
        return None
    if task.completed or task.reminder_dismissed or task.remind_at != occurrence.remind_at:
        return None
    chosen = await notifications.preferences(session, occurrence.user_id)
    wanted = chosen.email_reminders if occurrence.channel == "email" else chosen.push_reminders
    return Reminder(task=task, user=user) if wanted else None


def _marker(occurrence: Occurrence) -> ReminderDelivery:
    return ReminderDelivery(
        user_id=occurrence.user_id,
        task_id=occurrence.task_id,
        remind_at=occurrence.remind_at,
        channel=occurrence.channel,
        sent_at=utcnow(),
    )


async def _marked(session: AsyncSession, occurrence: Occurrence) -> bool:
    found = await session.exec(
        select(ReminderDelivery.sent_at).where(
            col(ReminderDelivery.user_id) == occurrence.user_id,
            col(ReminderDelivery.task_id) == occurrence.task_id,
            col(ReminderDelivery.remind_at) == occurrence.remind_at,
            col(ReminderDelivery.channel) == occurrence.channel,
        )
    )
    return found.first() is not None


@asynccontextmanager
async def _once(queue: JobQueue, key: str) -> AsyncIterator[bool]:
    """In memory (SQLite), two runs of one delivery in this process would both send before
    either writes its marker: the second one skips. PostgreSQL has the marker's key."""
    running: set[str] = queue.cache.setdefault("running", set())
    if key in running:
        yield False
        return
    running.add(key)
    try:
        yield True
    finally:
        running.discard(key)


@job(attempts=6)
async def deliver_reminder(
    queue: JobQueue, *, task_id: int, user_id: str, remind_at: str, channel: str
) -> None:
    occurrence = Occurrence(task_id, user_id, datetime.fromisoformat(remind_at), channel)
    async with _once(queue, occurrence.key) as first:
        if not first:
            return
        if queue.db.is_sqlite:
            await _send_then_mark(queue, occurrence)
        else:
            await _mark_while_sending(queue, occurrence)


async def _mark_while_sending(queue: JobQueue, occurrence: Occurrence) -> None:
    async with queue.db.session(write=True) as session:
        reminder = await _still_due(session, occurrence)
        if reminder is None:
            return
        try:
            # Waits here while another delivery of this occurrence is in flight, then
            # fails on the key once that one has committed.
            async with session.begin_nested():
                session.add(_marker(occurrence))
        except IntegrityError:
            await session.rollback()
            return
        await _send(queue, session, occurrence, reminder)
        await session.commit()


async def _send_then_mark(queue: JobQueue, occurrence: Occurrence) -> None:
    async with queue.db.session(write=False) as session:
        if await _marked(session, occurrence):
            return
        reminder = await _still_due(session, occurrence)
        if reminder is None:
            return
        # Push subscriptions found gone are deleted after the send, in the write below.
        gone = await _send(queue, None, occurrence, reminder)
    async with queue.db.session(write=True) as session:
        for subscription in gone:
            await notifications.forget_gone(session, subscription)
        try:
            async with session.begin_nested():
                session.add(_marker(occurrence))
        except IntegrityError:
            pass
        await session.commit()


def _when(task: Task, tz: ZoneInfo) -> str | None:
    if task.due_at is not None:
        return task.due_at.astimezone(tz).strftime("%a %d %b %Y, %H:%M")
    if task.due_date is not None:
        return task.due_date.strftime("%a %d %b %Y")
    return None


async def _send(
    queue: JobQueue,
    session: AsyncSession | None,
    occurrence: Occurrence,
    reminder: Reminder,
) -> list[PushSubscription]:
    """Send on the occurrence's channel; raise to have the job retried. Returns the push
    subscriptions found gone (deleted at once when a session is given)."""
    task, user = reminder.task, reminder.user
    tz = ZoneInfo(user.timezone)
    due = _when(task, tz)
    if occurrence.channel == "email":
        lines = [task.title, ""]
        if due:
            lines.append(f"Due {due}")
        if task.description:
            lines += ["", task.description[:2000]]
        body_html = f"<p><strong>{html.escape(task.title)}</strong></p>"
        if due:
            body_html += f"<p>Due {html.escape(due)}</p>"
        if task.description:
            body_html += f"<p>{html.escape(task.description[:2000])}</p>"
        stamp = int(occurrence.remind_at.timestamp())
        await email.send(
            queue.settings,
            email.message(
                queue.settings,
                to=user.email,
                subject=f"Reminder: {task.title}",
                text="\n".join(lines) + "\n",
                html=f"<!doctype html><html><body>{body_html}</body></html>",
                message_id=f"reminder-{task.id}-{stamp}",
            ),
        )
        return []
    keys = await push.vapid(queue.db, queue.settings, queue.cache)
    payload = {
        "title": task.title,
        "body": f"Due {due}" if due else "Reminder",
        "url": f"/tasks/{task.id}",
        # The tag of the page's own reminder notification: one replaces the other.
        "tag": f"task-{task.id}",
    }
    targets: list[PushSubscription]
    if session is not None:
        targets = list(await notifications.subscriptions(session, user.id))
    else:
        async with queue.db.session(write=False) as reader:
            targets = list(await notifications.subscriptions(reader, user.id))
    gone: list[PushSubscription] = []
    failures: list[str] = []
    delivered = 0
    async with push.http_session(queue.settings) as http:
        for subscription in targets:
            try:
                outcome = await push.send(http, queue.settings, keys, subscription, payload)
            except push.EndpointRefused as error:
                log.warning("push endpoint refused for subscription %s: %s", subscription.id, error)
                continue
            except push.PushFailed as error:
                failures.append(str(error))
                continue
            if outcome == "gone":
                gone.append(subscription)
                if session is not None:
                    await notifications.forget_gone(session, subscription)
            else:
                delivered += 1
    if failures and not delivered:
        # Nothing got through and something may later: roll back, retry with backoff.
        raise push.PushFailed("; ".join(failures))
    return gone


@job(every="*/5 * * * *")
async def scan_digests(queue: JobQueue, *, timestamp: int) -> None:
    """Every five minutes: a digest job for each user whose local digest hour has come
    and who has not had today's."""
    if not email.available(queue.settings):
        return
    now = utcnow()
    async with queue.db.session(write=False) as session:
        rows = (
            await session.exec(
                select(
                    col(NotificationSettings.user_id),
                    col(NotificationSettings.digest_hour),
                    col(NotificationSettings.digest_sent_for),
                    col(User.timezone),
                )
                .join(User, col(User.id) == col(NotificationSettings.user_id))
                .where(col(NotificationSettings.digest_hour).is_not(None))
            )
        ).all()
    for user_id, hour, sent_for, timezone in rows:
        local = now.astimezone(ZoneInfo(timezone))
        if hour is None or sent_for == local.date():
            continue
        if not 0 <= local.hour - hour < DIGEST_WINDOW_HOURS:
            continue
        day = local.date().isoformat()
        await queue.defer(
            send_digest, queueing_lock=f"digest:{user_id}:{day}", user_id=user_id, day=day
        )


def _digest_message(queue: JobQueue, user: User, day: date, due: list[Task]) -> Any:
    tz = ZoneInfo(user.timezone)
    overdue = [t for t in due if t.due_date is not None and t.due_date < day]
    today = [t for t in due if t.due_date == day]
    text: list[str] = []
    body = ""
    for heading, group in (("Overdue", overdue), ("Today", today)):
        if not group:
            continue
        text += [heading, ""]
        items = ""
        for task in group:
            when = _when(task, tz) if task.due_at is not None or heading == "Overdue" else None
            text.append(f"- {task.title}" + (f" ({when})" if when else ""))
            items += f"<li>{html.escape(task.title)}"
            items += f" <small>({html.escape(when)})</small></li>" if when else "</li>"
        text.append("")
        body += f"<h2>{heading}</h2><ul>{items}</ul>"
    return email.message(
        queue.settings,
        to=user.email,
        subject=f"Today: {len(today)} due, {len(overdue)} overdue",
        text="\n".join(text),
        html=f"<!doctype html><html><body>{body}</body></html>",
        message_id=f"digest-{user.id}-{day.isoformat()}",
    )


async def _digest_due(session: AsyncSession, user_id: str, day: date) -> Any:
    chosen = await notifications.preferences(session, user_id)
    user = await accounts.get_user(session, user_id)
    if user is None or chosen.digest_hour is None or chosen.digest_sent_for == day:
        return None
    due = list(await tasks.open_due_by(session, user_id, day, limit=DIGEST_TASKS_MAX))
    return user, due


async def _mark_digest(session: AsyncSession, user_id: str, day: date) -> None:
    await session.exec(
        update(NotificationSettings)
        .where(col(NotificationSettings.user_id) == user_id)
        .values(digest_sent_for=day)
    )


@job(attempts=4)
async def send_digest(queue: JobQueue, *, user_id: str, day: str) -> None:
    """Today's and overdue tasks by email, once per local day (nothing when none)."""
    async with _once(queue, f"digest:{user_id}:{day}") as first:
        if first:
            await _digest(queue, user_id, date.fromisoformat(day))


async def _digest(queue: JobQueue, user_id: str, local_day: date) -> None:
    if queue.db.is_sqlite:
        async with queue.db.session(write=False) as session:
            found = await _digest_due(session, user_id, local_day)
        if found is None:
            return
        user, due = found
        if due:
            await email.send(queue.settings, _digest_message(queue, user, local_day, due))
        async with queue.db.session(write=True) as session:
            await _mark_digest(session, user_id, local_day)
            await session.commit()
        return
    async with queue.db.session(write=True) as session:
        # The row lock makes a second run wait and then see the day marked.
        await session.exec(
            select(NotificationSettings.user_id)
            .where(col(NotificationSettings.user_id) == user_id)
            .with_for_update()
        )
        found = await _digest_due(session, user_id, local_day)
        if found is None:
            return
        user, due = found
        if due:
            await email.send(queue.settings, _digest_message(queue, user, local_day, due))
        await _mark_digest(session, user_id, local_day)
        await session.commit()


@job(every="23 3 * * *")
async def expire_markers(queue: JobQueue, *, timestamp: int) -> None:
    """Daily: delivery markers older than any reminder a scan could still find."""
    async with queue.db.session(write=True) as session:
        await session.exec(
            delete(ReminderDelivery).where(col(ReminderDelivery.sent_at) < utcnow() - MARKERS_KEPT)
        )
        await session.commit()
