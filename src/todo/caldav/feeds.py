"""Secret calendar feeds: the dated tasks of a list (or of every list the user sees) at an
address a calendar app subscribes to, read-only, without CalDAV.

Calendar apps that subscribe to a URL (Google Calendar's "From URL", Apple Calendar's
subscriptions, Outlook's "Subscribe from web") show events and leave VTODOs out, so a feed
serves each dated open task as an all-day VEVENT on its due date, or a short one at its due
time. `?component=VTODO` serves the same tasks as the VTODOs CalDAV serves, for the apps
that show tasks from a subscription (Thunderbird).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Literal

from icalendar import Calendar, Event
from icalendar.prop import vRecur
from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.caldav import icsfile
from todo.caldav import service as dav
from todo.caldav.models import CalendarFeed
from todo.caldav.schemas import FEEDS_PER_USER_MAX
from todo.core.errors import Conflict, NotFound
from todo.core.ids import ID_MAX
from todo.lists import access
from todo.lists.access import Role
from todo.tasks import service as tasks

Component = Literal["VEVENT", "VTODO"]
# The feed's id, a dash, and 32 random bytes in URL-safe base64 (43 characters).
_KEY = re.compile(r"([0-9]{1,19})-([A-Za-z0-9_-]{43})")
# A task due at a time shows as a block this long, starting at its due time.
TIMED_EVENT = timedelta(minutes=15)


@dataclass(frozen=True)
class NewFeed:
    feed: CalendarFeed
    key: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_not_found(feed_id: int) -> NotFound:
    return NotFound(f"Feed {feed_id} was not found.", code="feed_not_found")


def _no_feed() -> NotFound:
    # A wrong secret and a revoked feed answer alike: nothing tells a guess it came close.
    return NotFound("No such feed.", code="feed_not_found")


async def create_feed(
    session: AsyncSession, user_id: str, *, name: str, list_id: int | None
) -> NewFeed:
    """A new feed and its secret, shown this once; commits. Parallel creations take turns
    on the user row, so the cap holds."""
    await session.exec(
        select(col(User.id)).where(col(User.id) == user_id).with_for_update(key_share=True)
    )
    if list_id is not None:
        await access.list_for(
            session, await access.scope_of(session, user_id), list_id, Role.viewer
        )
    held = await session.exec(
        select(func.count()).select_from(CalendarFeed).where(col(CalendarFeed.user_id) == user_id)
    )
    if held.one() >= FEEDS_PER_USER_MAX:
        raise Conflict(
            f"An account can have at most {FEEDS_PER_USER_MAX} feeds: delete one first.",
            code="too_many_feeds",
        )
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user_id, list_id=list_id, name=name, digest=_digest(secret))
    session.add(feed)
    await session.commit()
    return NewFeed(feed=feed, key=f"{feed.id}-{secret}")


async def list_feeds(session: AsyncSession, user_id: str) -> Sequence[CalendarFeed]:
    result = await session.exec(
        select(CalendarFeed)
        .where(col(CalendarFeed.user_id) == user_id)
        .order_by(col(CalendarFeed.created_at).desc(), col(CalendarFeed.id).desc())
    )
    return result.all()


async def delete_feed(session: AsyncSession, user_id: str, feed_id: int) -> None:
    """The feed's address stops working with this commit."""
    if not 1 <= feed_id <= ID_MAX:
        raise feed_not_found(feed_id)
    result = await session.exec(
        delete(CalendarFeed).where(
            col(CalendarFeed.user_id) == user_id, col(CalendarFeed.id) == feed_id
        )
    )
    if result.rowcount == 0:
        raise feed_not_found(feed_id)
    await session.commit()


async def _feed_of(session: AsyncSession, key: str) -> CalendarFeed:
    match = _KEY.fullmatch(key)
    if match is None or int(match.group(1)) > ID_MAX:
        raise _no_feed()
    feed = await session.get(CalendarFeed, int(match.group(1)))
    if feed is None or not hmac.compare_digest(feed.digest, _digest(match.group(2))):
        raise _no_feed()
    return feed


async def serve(session: AsyncSession, key: str, *, component: Component) -> bytes:
    """The feed at this key, as the user sees the tasks now: a list no longer shared with
    them is no longer in it (a feed of that list answers 404)."""
    feed = await _feed_of(session, key)
    user = await accounts.get_user(session, feed.user_id)
    if user is None:
        raise _no_feed()
    scope = await access.scope_of(session, user.id)
    clock = tasks.Clock.of(user.timezone)
    if feed.list_id is not None:
        try:
            found = await access.list_for(session, scope, feed.list_id, Role.viewer)
        except NotFound:
            raise _no_feed() from None
        role = scope.role_on(found.user_id, feed.list_id)
        assert role is not None
        wheres = [dav.Calendar(found, str(feed.list_id), role)]
    else:
        wheres = await dav.calendars(session, scope)
    dated = [
        each
        for where in wheres
        for each in await dav.items(session, scope, where)
        if each.task.due_date is not None and not each.task.completed
    ]
    if component == "VTODO":
        calendars = [each.calendar(clock.tz) for each in dated]
    else:
        calendars = [_event_calendar(each) for each in dated]
    return icsfile.merged(calendars, name=feed.name, published=True)


def _event_calendar(item: dav.Item) -> Calendar:
    task = item.task
    event = Event()
    event.add("UID", item.uid)
    event.add("DTSTAMP", task.updated_at.astimezone(UTC))
    event.add("LAST-MODIFIED", task.updated_at.astimezone(UTC))
    event.add("SUMMARY", task.title)
    if task.description:
        event.add("DESCRIPTION", task.description)
    if task.due_at is not None:
        event.add("DTSTART", task.due_at.astimezone(UTC))
        event.add("DTEND", task.due_at.astimezone(UTC) + TIMED_EVENT)
    else:
        assert task.due_date is not None
        event.add("DTSTART", task.due_date)
        event.add("DTEND", task.due_date + timedelta(days=1))
    # A task is no appointment: it keeps the time free for anyone who looks.
    event.add("TRANSP", "TRANSPARENT")
    if task.tags:
        event.add("CATEGORIES", [tag.name for tag in task.tags])
    if task.rrule and task.recurrence_mode == "due":
        # Occurrences that follow the due date are known ahead; those counted from the
        # completion are not, so such a task shows its next occurrence only.
        event.add("RRULE", vRecur.from_ical(task.rrule))
    calendar = Calendar()
    calendar.add_component(event)
    return calendar
