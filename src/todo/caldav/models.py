from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlmodel import Column, Field, SQLModel


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
