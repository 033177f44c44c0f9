from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from todo.core.schemas import RequestModel

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
PAGE_DEFAULT = 100
PAGE_MAX = 500

StatusFilter = Literal["all", "pending", "completed"]
SortKey = Literal["created", "updated", "title", "due_date"]
SortOrder = Literal["asc", "desc"]


def _clean_title(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("Title must not be empty")
    return value


Title = Annotated[
    str,
    Field(max_length=TITLE_MAX, examples=["Buy milk"]),
    AfterValidator(_clean_title),
]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX, examples=["2 litres, semi-skimmed"])]


class TaskCreate(RequestModel):
    title: Title
    description: Description = ""
    completed: bool = False
    due_date: date | None = Field(default=None, description="A calendar day, no time")


class TaskUpdate(RequestModel):
    """Any subset of the fields; those left out keep their value."""

    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None
    due_date: date | None = Field(default=None, description="null clears the due date")

    @field_validator("title", "description", "completed")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent: leaving one out keeps it, null is an error.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class TaskCompletion(RequestModel):
    completed: bool


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    title: str
    description: str
    completed: bool
    completed_at: datetime | None
    due_date: date | None
    created_at: datetime
    updated_at: datetime
