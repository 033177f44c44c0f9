from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlmodel import Column, Field, SQLModel

from todo.core.db import UTCDateTime, utcnow


class CalendarObject(SQLModel, table=True):
    """What a CalDAV client sent for a task: its resource name, its UID and its whole
    VTODO. The task holds what we understand; this holds the rest, so that a GET serves the
    client's own object back with the mapped properties rewritten from the task. Tasks made
    elsewhere have no row until a client writes them (their name and UID derive from the id)."""

    __tablename__ = "caldav_objects"
    __table_args__ = (
        # The task's owner first, as every user-data index; names and UIDs are the owner's.
        Index("uq_caldav_objects_user_id_href", "user_id", "href", unique=True),
        Index("ix_caldav_objects_user_id_uid", "user_id", "uid"),
        Index("ix_caldav_objects_user_id_awaiting_parent", "user_id", "awaiting_parent"),
    )

    task_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("tasks.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    user_id: str = Field(
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    href: str = Field(max_length=255)
    uid: str = Field(max_length=255)
    ical: str = Field(sa_column=Column(Text, nullable=False))
    # The RELATED-TO parent UID that set the task's parent when the object was written
    # (None: it named none we could place). Served back unchanged while the task keeps that
    # parent; a parent changed elsewhere replaces that one relation, and no other.
    parent_uid: str | None = Field(default=None, max_length=255)
    # The parent UID the object names that no task had when it was written (a client syncs
    # in its own order, a child before its parent): the parent's first write adopts it.
    awaiting_parent: str | None = Field(default=None, max_length=255)


class CalendarCollection(SQLModel, table=True):
    """The name a client gave a calendar it made (MKCALENDAR at a path of its choosing,
    often a UUID): the list is served at that name from then on. Lists made elsewhere are
    served at their id."""

    __tablename__ = "caldav_collections"
    __table_args__ = (Index("uq_caldav_collections_user_id_name", "user_id", "name", unique=True),)

    list_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("lists.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    user_id: str = Field(
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(max_length=255)


class CalendarFeed(SQLModel, table=True):
    """A secret address serving the dated tasks of one list (or all the user sees) as an
    .ics file, for calendar apps that subscribe to a URL instead of speaking CalDAV. The
    address holds the row's id and a random secret; only the secret's SHA-256 is kept, so a
    leaked database serves no feed. Deleting the row stops the address at once."""

    __tablename__ = "ical_feeds"
    __table_args__ = (
        Index("ix_ical_feeds_user_id_created_at", "user_id", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    user_id: str = Field(
        sa_column=Column(String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    list_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("lists.id", ondelete="CASCADE"),
            nullable=True,
        ),
    )
    name: str = Field(max_length=100)
    digest: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
