from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlmodel import Column, Field, SQLModel, String

from todo.core.db import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=lambda: str(uuid4()), primary_key=True, max_length=64)
    # Stored lower-cased, so the unique index makes addresses unique case-insensitively.
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    name: str = Field(default="", max_length=200)
    password_hash: str | None = Field(default=None, max_length=512)
    # Bumped by "log out everywhere": tokens carrying an older value stop working.
    session_version: int = Field(default=0)
    # For tokens issued elsewhere (Better Auth), which carry no session version.
    tokens_valid_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
