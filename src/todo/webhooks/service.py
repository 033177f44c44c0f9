"""Webhooks: endpoints scoped by owner in SQL, the dispatcher that turns events into
deliveries, and one attempt of one delivery. One commit per write."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook as Signer

from todo.accounts import service as accounts
from todo.core.config import Settings
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound, Unprocessable
from todo.core.events import Event
from todo.core.ids import ID_MAX
from todo.lists import access
from todo.webhooks import targets
from todo.webhooks.models import Webhook, WebhookDelivery
from todo.webhooks.schemas import (
    ATTEMPTS_MAX,
    EXCERPT_MAX,
    PING,
    RETRY_FACTOR,
    WEBHOOKS_PER_USER_MAX,
    WebhookCreate,
    WebhookUpdate,
    matches,
)

# Events one dispatch turns into deliveries for one owner of one webhook; the rest wait for
# the next run.
DISPATCH_BATCH = 500
# An attempt holds its delivery this much longer than the HTTP timeout: another worker
# leaves it alone meanwhile, and takes it over should this one die.
LEASE_MARGIN_S = 30.0
USER_AGENT = "todo-webhooks/1"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def policy(settings: Settings) -> targets.Policy:
    return targets.Policy(settings.webhook_allow_private)


def _refused(reason: str) -> Unprocessable:
    return Unprocessable(
        f"The request is not valid: url: {reason}.",
        code="webhook_url_refused",
        errors=[{"field": "url", "in": "body", "reason": reason}],
    )


async def _check_url(settings: Settings, url: str) -> None:
    try:
        await targets.check(url, policy(settings))
    except targets.TargetRefused as error:
        raise _refused(str(error)) from None


def _not_found(webhook_id: int) -> NotFound:
    return NotFound(f"Webhook {webhook_id} was not found.", code="webhook_not_found")


async def _latest_event_id(session: AsyncSession) -> int:
    found = (await session.exec(select(func.max(col(Event.id))))).one()
    return int(found or 0)


async def create(
    session: AsyncSession, settings: Settings, user_id: str, data: WebhookCreate
) -> Webhook:
    await _check_url(settings, data.url)
    await accounts.take_turn(session, user_id)
    held = (
        await session.exec(
            select(func.count()).select_from(Webhook).where(col(Webhook.user_id) == user_id)
        )
    ).one()
    if held >= WEBHOOKS_PER_USER_MAX:
        raise Conflict(
            f"An account can have at most {WEBHOOKS_PER_USER_MAX} webhooks: delete one first.",
            code="too_many_webhooks",
        )
    webhook = Webhook(
        user_id=user_id,
        url=data.url,
        events=data.events,
        secret=new_secret(),
        start_after=await _latest_event_id(session),
        cursors={},
    )
    session.add(webhook)
    await session.commit()
    await session.refresh(webhook)
    return webhook


async def webhooks(session: AsyncSession, user_id: str) -> Sequence[Webhook]:
    result = await session.exec(
        select(Webhook).where(col(Webhook.user_id) == user_id).order_by(col(Webhook.id))
    )
    return result.all()


async def get(
    session: AsyncSession, user_id: str, webhook_id: int, *, lock: bool = False
) -> Webhook:
    if not 1 <= webhook_id <= ID_MAX:
        raise _not_found(webhook_id)
    query = select(Webhook).where(col(Webhook.user_id) == user_id, col(Webhook.id) == webhook_id)
    if lock:
        query = query.with_for_update()
    found = (await session.exec(query)).one_or_none()
    if found is None:
        raise _not_found(webhook_id)
    return found


async def change(
    session: AsyncSession, settings: Settings, user_id: str, webhook_id: int, data: WebhookUpdate
) -> Webhook:
    if data.url is not None:
        await _check_url(settings, data.url)
    webhook = await get(session, user_id, webhook_id, lock=True)
    now = utcnow()
    if data.url is not None:
        webhook.url = data.url
    if data.events is not None:
        webhook.events = data.events
    if data.enabled is True and not webhook.enabled:
        webhook.enabled = True
        webhook.disabled_reason = None
        webhook.failing_since = None
        # What waited while it was off goes now (the events kept meanwhile included).
        await session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.user_id) == user_id,
                col(WebhookDelivery.webhook_id) == webhook_id,
                col(WebhookDelivery.status) == "pending",
            )
            .values(next_attempt_at=now)
        )
    elif data.enabled is False and webhook.enabled:
        webhook.enabled = False
        webhook.disabled_reason = "Turned off by its owner."
    webhook.updated_at = now
    session.add(webhook)
    await session.commit()
    await session.refresh(webhook)
    return webhook


async def remove(session: AsyncSession, user_id: str, webhook_id: int) -> None:
    if not 1 <= webhook_id <= ID_MAX:
        raise _not_found(webhook_id)
    result = await session.exec(
        delete(Webhook).where(col(Webhook.user_id) == user_id, col(Webhook.id) == webhook_id)
    )
    if result.rowcount == 0:
        await session.rollback()
        raise _not_found(webhook_id)
    await session.commit()


async def rotate_secret(session: AsyncSession, user_id: str, webhook_id: int) -> str:
    webhook = await get(session, user_id, webhook_id, lock=True)
    webhook.secret = new_secret()
    webhook.updated_at = utcnow()
    session.add(webhook)
    await session.commit()
    return webhook.secret


@dataclass(frozen=True)
class DeliveryPage:
    items: Sequence[WebhookDelivery]
    next_before: int | None


async def deliveries(
    session: AsyncSession, user_id: str, webhook_id: int, *, before: int | None, limit: int
) -> DeliveryPage:
    await get(session, user_id, webhook_id)
    query = select(WebhookDelivery).where(
        col(WebhookDelivery.user_id) == user_id, col(WebhookDelivery.webhook_id) == webhook_id
    )
    if before is not None:
        query = query.where(col(WebhookDelivery.id) < before)
    rows = (
        await session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(limit + 1))
    ).all()
    items = rows[:limit]
    next_before = items[-1].id if len(rows) > limit and items else None
    return DeliveryPage(items=items, next_before=next_before)


async def latest_deliveries(session: AsyncSession, user_id: str) -> dict[int, WebhookDelivery]:
    """Each of the user's webhooks' newest delivery, by webhook id (none yet: absent)."""
    newest = (
        select(func.max(col(WebhookDelivery.id)))
        .where(col(WebhookDelivery.user_id) == user_id)
        .group_by(col(WebhookDelivery.webhook_id))
    )
    rows = await session.exec(
        select(WebhookDelivery).where(
            col(WebhookDelivery.user_id) == user_id, col(WebhookDelivery.id).in_(newest)
        )
    )
    return {row.webhook_id: row for row in rows.all()}


async def _delivery(
    session: AsyncSession, user_id: str, webhook_id: int, delivery_id: int
) -> WebhookDelivery:
    found = None
    if 1 <= delivery_id <= ID_MAX:
        found = (
            await session.exec(
                select(WebhookDelivery).where(
                    col(WebhookDelivery.user_id) == user_id,
                    col(WebhookDelivery.webhook_id) == webhook_id,
                    col(WebhookDelivery.id) == delivery_id,
                )
            )
        ).one_or_none()
    if found is None:
        raise NotFound(f"Delivery {delivery_id} was not found.", code="delivery_not_found")
    return found


async def retry(
    session: AsyncSession, user_id: str, webhook_id: int, delivery_id: int
) -> WebhookDelivery:
    """Send a delivery again (one more attempt, soon): a failed one, or a sent one anew."""
    webhook = await get(session, user_id, webhook_id, lock=True)
    if not webhook.enabled:
        raise Conflict(
            "This webhook is disabled: turn it on first (PATCH enabled: true).",
            code="webhook_disabled",
        )
    found = await _delivery(session, user_id, webhook_id, delivery_id)
    if found.status == "pending":
        raise Conflict(
            "This delivery is already waiting for its next attempt.", code="delivery_pending"
        )
    found.status = "pending"
    found.next_attempt_at = utcnow()
    session.add(found)
    await session.commit()
    await session.refresh(found)
    return found


def _payload(kind: str, at: datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": kind, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
    )


async def ping(session: AsyncSession, user_id: str, webhook_id: int) -> WebhookDelivery:
    """A `ping` delivery for the webhook (committed); the caller attempts it."""
    webhook = await get(session, user_id, webhook_id)
    now = utcnow()
    delivery = WebhookDelivery(
        user_id=user_id,
        webhook_id=webhook_id,
        message_id=f"msg_{webhook_id}_ping_{secrets.token_hex(8)}",
        type=PING,
        payload=_payload(PING, now, {"webhook_id": webhook.id, "url": webhook.url}),
        # A ping is attempted once, by whoever asked for it.
        next_attempt_at=None,
    )
    session.add(delivery)
    await session.commit()
    await session.refresh(delivery)
    return delivery


# The dispatcher: events after each cursor become deliveries.


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def event_type(event: Event) -> str:
    return f"{event.resource}.{event.action}"


def event_data(event: Event) -> dict[str, Any]:
    return {
        "id": event.resource_id,
        "event_id": event.id,
        "owner_id": event.user_id,
        "list_id": event.list_id,
        "actor_id": event.actor_id,
        "version": event.version,
        "changes": event.changes or {},
    }


async def enabled_webhook_ids(session: AsyncSession) -> list[int]:
    rows = await session.exec(select(Webhook.id).where(col(Webhook.enabled).is_(True)))
    return [row for row in rows.all() if row is not None]


async def dispatch(session: AsyncSession, webhook_id: int) -> int:
    """Turn the webhook's new events into deliveries and move its cursors on; commits.
    How many deliveries were made."""
    webhook = (
        await session.exec(select(Webhook).where(col(Webhook.id) == webhook_id).with_for_update())
    ).one_or_none()
    if webhook is None or not webhook.enabled:
        await session.rollback()
        return 0
    scope = await access.scope_of(session, webhook.user_id)
    shared_by_owner: dict[str, list[int]] = {}
    for list_id, owner in scope.owners.items():
        shared_by_owner.setdefault(owner, []).append(list_id)
    cursors = dict(webhook.cursors)
    made = 0
    for owner in [webhook.user_id, *sorted(shared_by_owner)]:
        after = int(cursors.get(owner, webhook.start_after))
        query = select(Event).where(col(Event.user_id) == owner, col(Event.id) > after)
        if owner != webhook.user_id:
            query = query.where(col(Event.list_id).in_(sorted(shared_by_owner[owner])))
        found = (await session.exec(query.order_by(col(Event.id)).limit(DISPATCH_BATCH))).all()
        rows = []
        for event in found:
            kind = event_type(event)
            if not matches(webhook.events, kind):
                continue
            rows.append(
                {
                    "user_id": webhook.user_id,
                    "webhook_id": webhook_id,
                    "event_id": event.id,
                    "message_id": f"msg_{webhook_id}_{event.id}",
                    "type": kind,
                    "payload": _payload(kind, event.created_at, event_data(event)),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": utcnow(),
                    "created_at": utcnow(),
                }
            )
        if rows:
            await session.exec(
                _insert(session, WebhookDelivery)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["webhook_id", "event_id"])
            )
            made += len(rows)
        if found:
            cursors[owner] = found[-1].id
    if cursors != webhook.cursors:
        await session.exec(
            update(Webhook).where(col(Webhook.id) == webhook_id).values(cursors=cursors)
        )
    await session.commit()
    return made


async def due_deliveries(session: AsyncSession, now: datetime, *, limit: int) -> list[int]:
    """Deliveries of enabled webhooks whose next attempt is due."""
    rows = await session.exec(
        select(WebhookDelivery.id)
        .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
        .where(
            col(WebhookDelivery.status) == "pending",
            col(WebhookDelivery.next_attempt_at) <= now,
            col(Webhook.enabled).is_(True),
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
    )
    return [row for row in rows.all() if row is not None]


# One attempt.


@dataclass(frozen=True)
class Claimed:
    delivery: WebhookDelivery
    url: str
    secret: str


async def claim(
    session: AsyncSession, delivery_id: int, *, lease_s: float, ping: bool
) -> Claimed | None:
    """Take a due delivery for one attempt (commits): its next attempt moves past the lease,
    so no other worker sends it meanwhile. None when it is not due (or not ours to send)."""
    now = utcnow()
    found = (
        await session.exec(
            select(WebhookDelivery, Webhook)
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(col(WebhookDelivery.id) == delivery_id)
        )
    ).one_or_none()
    if found is None:
        await session.rollback()
        return None
    delivery, webhook = found
    if ping:
        condition = col(WebhookDelivery.attempts) == 0
    else:
        if not webhook.enabled:
            await session.rollback()
            return None
        condition = (col(WebhookDelivery.status) == "pending") & (
            col(WebhookDelivery.next_attempt_at) <= now
        )
    taken = await session.exec(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id) == delivery_id, condition)
        .values(next_attempt_at=now + timedelta(seconds=lease_s))
    )
    if taken.rowcount != 1:
        await session.rollback()
        return None
    await session.commit()
    return Claimed(delivery=delivery, url=webhook.url, secret=webhook.secret)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(message_id: str, secret: str, payload: str, at: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, at, payload),
    }


def _clip(text: str) -> str:
    return text[:EXCERPT_MAX]


async def send(settings: Settings, claimed: Claimed) -> Outcome:
    """POST the delivery to its URL once (no redirects followed), checked against SSRF."""
    import aiohttp

    delivery = claimed.delivery
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    rules = policy(settings)
    try:
        await targets.check(claimed.url, rules)
    except targets.TargetRefused as error:
        return Outcome(None, _clip(f"refused: url {error}"), None, took())
    headers = signed_headers(delivery.message_id, claimed.secret, delivery.payload, utcnow())
    connector = aiohttp.TCPConnector(resolver=targets.resolver(rules), limit=1, force_close=True)
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout)
            ) as http,
            http.post(
                claimed.url, data=delivery.payload.encode(), headers=headers, allow_redirects=False
            ) as answer,
        ):
            body = await answer.content.read(EXCERPT_MAX)
            excerpt = body.decode("utf-8", "replace")
            problem = None
            if 300 <= answer.status < 400:
                problem = "redirects are not followed"
            elif not 200 <= answer.status < 300:
                problem = f"the receiver answered {answer.status}"
            return Outcome(answer.status, problem, _clip(excerpt), took())
    except TimeoutError:
        return Outcome(None, f"no answer within {settings.webhook_timeout:g} s", None, took())
    except (aiohttp.ClientError, OSError) as error:
        return Outcome(None, _clip(f"{type(error).__name__}: {error}"), None, took())


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return timedelta(seconds=settings.webhook_retry_base * RETRY_FACTOR ** (attempts - 1))


def retry_span(settings: Settings) -> timedelta:
    """The shortest time all the attempts of one delivery take."""
    return sum((retry_delay(settings, n) for n in range(1, ATTEMPTS_MAX)), timedelta())


async def record(
    session: AsyncSession, settings: Settings, claimed: Claimed, outcome: Outcome, *, ping: bool
) -> WebhookDelivery:
    """Write how the attempt went (commits). When a delivery's last attempt fails and the
    webhook has had no success for at least the whole retry schedule, it is disabled."""
    now = utcnow()
    before = claimed.delivery
    attempts = before.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "response_excerpt": outcome.excerpt,
        "duration_ms": outcome.duration_ms,
        "last_attempt_at": now,
    }
    webhook = (
        await session.exec(
            select(Webhook).where(col(Webhook.id) == before.webhook_id).with_for_update()
        )
    ).one_or_none()
    if outcome.ok:
        values.update(status="succeeded", next_attempt_at=None, delivered_at=now)
    elif ping or attempts >= ATTEMPTS_MAX:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(next_attempt_at=now + retry_delay(settings, attempts))
    await session.exec(
        update(WebhookDelivery).where(col(WebhookDelivery.id) == before.id).values(**values)
    )
    if webhook is not None and not ping:
        if outcome.ok:
            webhook.failing_since = None
        else:
            if webhook.failing_since is None:
                webhook.failing_since = now
            exhausted = attempts == ATTEMPTS_MAX
            failing_for = now - webhook.failing_since
            if exhausted and webhook.enabled and failing_for >= retry_span(settings):
                webhook.enabled = False
                webhook.disabled_reason = (
                    f"Disabled on {now:%Y-%m-%d %H:%M} UTC: every attempt failed since "
                    f"{webhook.failing_since:%Y-%m-%d %H:%M} UTC ({ATTEMPTS_MAX} attempts of "
                    f"one delivery); last error: {outcome.error}"
                )[:300]
        session.add(webhook)
    await session.commit()
    found = (
        await session.exec(select(WebhookDelivery).where(col(WebhookDelivery.id) == before.id))
    ).one()
    return found


async def prune_deliveries(session: AsyncSession, before: datetime) -> int:
    result = await session.exec(
        delete(WebhookDelivery).where(
            col(WebhookDelivery.created_at) < before,
            or_(
                col(WebhookDelivery.status) != "pending",
                col(WebhookDelivery.next_attempt_at).is_(None),
            ),
        )
    )
    await session.commit()
    return int(result.rowcount or 0)


async def test(
    session: AsyncSession, settings: Settings, user_id: str, webhook_id: int
) -> WebhookDelivery:
    """Make a ping and attempt it once now; the delivery as it went."""
    delivery = await ping(session, user_id, webhook_id)
    assert delivery.id is not None
    claimed = await claim(session, delivery.id, lease_s=settings.webhook_timeout, ping=True)
    assert claimed is not None
    # No transaction is open while the receiver is waited for.
    outcome = await send(settings, claimed)
    return await record(session, settings, claimed, outcome, ping=True)
