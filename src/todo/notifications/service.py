"""Notification preferences and push subscriptions: scoped by owner in SQL, one commit
per write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.config import Settings
from todo.core.db import utcnow
from todo.core.errors import NotFound, Unprocessable
from todo.notifications import email, push
from todo.notifications.models import NotificationSettings, PushSubscription
from todo.notifications.schemas import (
    SUBSCRIPTIONS_MAX,
    NotificationSettingsRead,
    NotificationSettingsUpdate,
    PushSubscriptionCreate,
)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def preferences(session: AsyncSession, user_id: str) -> NotificationSettings:
    """The user's choices; the defaults when the user never changed them."""
    found = (
        await session.exec(
            select(NotificationSettings).where(col(NotificationSettings.user_id) == user_id)
        )
    ).one_or_none()
    return found if found is not None else NotificationSettings(user_id=user_id)


async def describe(
    session: AsyncSession, settings: Settings, keys: push.Vapid, user_id: str
) -> NotificationSettingsRead:
    chosen = await preferences(session, user_id)
    return NotificationSettingsRead(
        email_reminders=chosen.email_reminders,
        push_reminders=chosen.push_reminders,
        digest_hour=chosen.digest_hour,
        email_available=email.available(settings),
        vapid_public_key=keys.public_key,
    )


async def update_preferences(
    session: AsyncSession, user_id: str, data: NotificationSettingsUpdate
) -> NotificationSettings:
    changes = data.model_dump(exclude_unset=True)
    # null on a switch means unchanged; on the digest hour it turns the digest off.
    changes = {k: v for k, v in changes.items() if v is not None or k == "digest_hour"}
    # Insert-or-nothing first: parallel first changes meet in the primary key, not in an
    # error, and then each applies its own fields.
    await session.exec(
        _insert(session, NotificationSettings)
        .values(user_id=user_id, email_reminders=False, push_reminders=True, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    if changes:
        await session.exec(
            update(NotificationSettings)
            .where(col(NotificationSettings.user_id) == user_id)
            .values(**changes, updated_at=utcnow())
        )
    await session.commit()
    return await preferences(session, user_id)


async def subscriptions(session: AsyncSession, user_id: str) -> Sequence[PushSubscription]:
    result = await session.exec(
        select(PushSubscription)
        .where(col(PushSubscription.user_id) == user_id)
        .order_by(col(PushSubscription.id))
    )
    return result.all()


def _refused(reason: str) -> Unprocessable:
    return Unprocessable(
        f"The request is not valid: endpoint: {reason}.",
        code="push_endpoint_refused",
        errors=[{"field": "endpoint", "in": "body", "reason": reason}],
    )


async def subscribe(
    session: AsyncSession, settings: Settings, user_id: str, data: PushSubscriptionCreate
) -> tuple[PushSubscription, bool]:
    """Keep a browser's subscription; the same endpoint again updates its keys.
    Returns the subscription and whether it is new."""
    try:
        push.check_endpoint(data.endpoint, settings)
    except push.EndpointRefused as error:
        raise _refused(str(error)) from None
    existing = await _by_endpoint(session, user_id, data.endpoint)
    await session.exec(
        _insert(session, PushSubscription)
        .values(
            user_id=user_id,
            endpoint=data.endpoint,
            p256dh=data.keys.p256dh,
            auth=data.keys.auth,
            created_at=utcnow(),
        )
        .on_conflict_do_update(
            index_elements=["user_id", "endpoint"],
            set_={"p256dh": data.keys.p256dh, "auth": data.keys.auth},
        )
    )
    # Past the limit, the oldest browsers go: a user cannot grow the table without bound.
    keep = (
        select(PushSubscription.id)
        .where(col(PushSubscription.user_id) == user_id)
        .order_by(col(PushSubscription.id).desc())
        .limit(SUBSCRIPTIONS_MAX)
    )
    await session.exec(
        delete(PushSubscription).where(
            col(PushSubscription.user_id) == user_id, col(PushSubscription.id).not_in(keep)
        )
    )
    await session.commit()
    found = await _by_endpoint(session, user_id, data.endpoint)
    assert found is not None
    return found, existing is None


async def _by_endpoint(
    session: AsyncSession, user_id: str, endpoint: str
) -> PushSubscription | None:
    result = await session.exec(
        select(PushSubscription).where(
            col(PushSubscription.user_id) == user_id, col(PushSubscription.endpoint) == endpoint
        )
    )
    return result.one_or_none()


async def unsubscribe(session: AsyncSession, user_id: str, subscription_id: int) -> None:
    result = await session.exec(
        delete(PushSubscription).where(
            col(PushSubscription.user_id) == user_id, col(PushSubscription.id) == subscription_id
        )
    )
    if result.rowcount == 0:
        await session.rollback()
        raise NotFound(
            f"Push subscription {subscription_id} was not found.",
            code="push_subscription_not_found",
        )
    await session.commit()


async def unsubscribe_endpoint(session: AsyncSession, user_id: str, endpoint: str) -> None:
    """Forget a browser by its endpoint (what the page knows); no error when unknown."""
    await session.exec(
        delete(PushSubscription).where(
            col(PushSubscription.user_id) == user_id, col(PushSubscription.endpoint) == endpoint
        )
    )
    await session.commit()


async def forget_gone(session: AsyncSession, subscription: PushSubscription) -> None:
    """Delete a subscription its push service reported gone (helpers never commit)."""
    await session.exec(
        delete(PushSubscription).where(
            col(PushSubscription.user_id) == subscription.user_id,
            col(PushSubscription.id) == subscription.id,
        )
    )


async def send_test(
    session: AsyncSession, settings: Settings, keys: push.Vapid, user_id: str
) -> tuple[int, int]:
    """Push a test message to each of the user's browsers; (accepted, removed as gone)."""
    targets = await subscriptions(session, user_id)
    sent = removed = 0
    payload = {
        "title": "Test notification",
        "body": "Reminders will show up like this.",
        "url": "/account",
        "tag": "todo-test",
    }
    async with push.http_session(settings) as http:
        for subscription in targets:
            try:
                outcome = await push.send(http, settings, keys, subscription, payload)
            except (push.PushFailed, push.EndpointRefused):
                continue
            if outcome == "gone":
                await forget_gone(session, subscription)
                removed += 1
            elif outcome == "sent":
                sent += 1
    await session.commit()
    return sent, removed
