"""Notification preferences, push subscriptions, and the markers that make each reminder
go out once per occurrence and channel."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class NotificationSettings(SQLModel, table=True):
    """One row per user who changed a default; no row means the defaults below."""

    __tablename__ = "notification_settings"

    user_id: str = Field(
        foreign_key="users.id", ondelete="CASCADE", primary_key=True, max_length=64
    )
    email_reminders: bool = Field(default=False)
    push_reminders: bool = Field(default=True)
    # Local hour (0-23, the account's time zone) of the daily digest email; None: no digest.
    digest_hour: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    # The local day whose digest went out, written in the transaction that sent it.
    digest_sent_for: date | None = Field(default=None)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PushSubscription(SQLModel, table=True):
    """A browser's Web Push subscription (its endpoint and the keys to encrypt for it)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        Index("ix_push_subscriptions_user_id_endpoint", "user_id", "endpoint", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=64)
    endpoint: str = Field(sa_column=Column(String(2000), nullable=False))
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReminderDelivery(SQLModel, table=True):
    """A reminder occurrence delivered on one channel. Each occurrence of a repeating task
    is its own task row, and a changed reminder time is a new occurrence: the key is
    (task, remind_at, channel). Written in the transaction that records the success."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (Index("ix_reminder_deliveries_sent_at", "sent_at"),)

    user_id: str = Field(
        foreign_key="users.id", ondelete="CASCADE", primary_key=True, max_length=64
    )
    task_id: int = Field(
        sa_column=Column(_ID, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    )
    remind_at: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    channel: str = Field(primary_key=True, max_length=10)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VapidKey(SQLModel, table=True):
    """The server's Web Push (VAPID) key pair, generated once and shared by every process:
    a browser's subscription is bound to the public key it was made with."""

    __tablename__ = "vapid_keys"

    id: int = Field(default=1, primary_key=True)
    private_key_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
