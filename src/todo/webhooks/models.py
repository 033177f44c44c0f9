"""Webhooks: a user's endpoints, and the log of what was sent to each.

The events table is the outbox: every committed change has its event row, and a rolled-back
one has none. A webhook keeps, per owner whose events it may see (the user's own, and the
owners of lists shared with the user), the id of the last event it has looked at; the
dispatcher turns the events after it into delivery rows and moves it on, in one transaction.
An owner's event ids are in commit order (core/events.py), so no event is passed over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (
        Index("ix_webhooks_user_id_id", "user_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # The signing key, `whsec_<base64>`: the server signs with it, so it is kept as is.
    secret: str = Field(max_length=100)
    enabled: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None, max_length=300)
    # Events with an id up to this one, of an owner not yet in `cursors`, are not sent:
    # the newest event id when the webhook was made.
    start_after: int = Field(default=0, sa_column=Column(_ID, nullable=False))
    # {owner user id: last event id looked at}
    cursors: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # When the attempts started failing without a success since; None while all is well.
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One message for one webhook (an event, or a ping) and how its attempts went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_user_id_webhook_id_id", "user_id", "webhook_id", "id"),
        # One delivery per event and webhook: a dispatcher that runs twice adds nothing.
        Index("ix_webhook_deliveries_webhook_id_event_id", "webhook_id", "event_id", unique=True),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    webhook_id: int = Field(
        sa_column=Column(_ID, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    # No foreign key: the log outlives the pruned events. None for a ping.
    event_id: int | None = Field(default=None, sa_column=Column(_ID, nullable=True))
    # The `webhook-id` header: the same on every attempt.
    message_id: str = Field(max_length=100)
    type: str = Field(max_length=40)
    # The JSON body, fixed when the delivery is made, so every attempt sends the same bytes.
    payload: str = Field(sa_column=Column(String, nullable=False))
    # pending (an attempt is due at next_attempt_at), succeeded, failed (no attempt left)
    status: str = Field(default="pending", max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=300)
    response_excerpt: str | None = Field(default=None, max_length=300)
    duration_ms: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
