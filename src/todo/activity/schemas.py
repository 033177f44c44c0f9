"""What the activity pages answer with, and their limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

ACTIVITY_PAGE_DEFAULT = 50
ACTIVITY_PAGE_MAX = 200


class Actor(BaseModel):
    id: str
    # None once the account is gone: its changes stay in the history.
    name: str | None


class ActivityRead(BaseModel):
    id: int = Field(description="The event's id: pass it as `before` for older entries")
    actor: Actor
    action: str = Field(examples=["updated"])
    resource: str = Field(examples=["task"])
    resource_id: int
    changes: dict[str, list[Any]] | None = Field(
        description="For each field the change touched, `[old, new]`"
    )
    created_at: datetime
