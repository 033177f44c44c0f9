from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from todo.core.ids import RowId
from todo.core.schemas import NO_CONTROLS, Instant, RequestModel
from todo.tasks.recurrence import InvalidRule, normalize_rule

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
TAGS_MAX = 20
TAG_MAX = 50
PAGE_DEFAULT = 100
PAGE_MAX = 500

StatusFilter = Literal["all", "pending", "completed"]
SortKey = Literal["created", "updated", "title", "due_date", "priority", "manual", "completed"]
SortOrder = Literal["asc", "desc"]
PriorityName = Literal["none", "low", "medium", "high", "urgent"]
DueFilter = Literal["overdue", "today", "week", "none", "any"]
RecurrenceMode = Literal["due", "completion"]

PRIORITIES: tuple[PriorityName, ...] = ("none", "low", "medium", "high", "urgent")
PRIORITY_VALUE: dict[str, int] = {name: value for value, name in enumerate(PRIORITIES)}


def _clean_title(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("Title must not be empty")
    return value


def _clean_tags(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for raw in values:
        name = " ".join(raw.removeprefix("#").split())
        if not name:
            raise ValueError("Tags must not be empty")
        if len(name) > TAG_MAX:
            raise ValueError(f"A tag can have at most {TAG_MAX} characters")
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def _check_rule(value: str) -> str:
    try:
        return normalize_rule(value.removeprefix("RRULE:"))
    except InvalidRule as error:
        raise ValueError(str(error)) from None


Title = Annotated[
    str,
    Field(max_length=TITLE_MAX, examples=["Buy milk"]),
    NO_CONTROLS,
    AfterValidator(_clean_title),
]
Description = Annotated[
    str, Field(max_length=DESCRIPTION_MAX, examples=["2 litres, semi-skimmed"]), NO_CONTROLS
]
Tags = Annotated[
    list[Annotated[str, Field(max_length=TAG_MAX * 2), NO_CONTROLS]],
    Field(max_length=TAGS_MAX, examples=[["home", "errands"]]),
    AfterValidator(_clean_tags),
]
RRule = Annotated[
    str,
    Field(max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"]),
    NO_CONTROLS,
    AfterValidator(_check_rule),
]


class _TaskFields(RequestModel):
    # What a task reads back with that only the server sets (position: see /move).
    read_only_fields: ClassVar[frozenset[str]] = RequestModel.read_only_fields | {
        "position",
        "series_id",
    }


class TaskCreate(_TaskFields):
    title: Title
    description: Description = ""
    completed: bool = False
    list_id: RowId | None = Field(default=None, description="Default: the Inbox")
    priority: PriorityName = "none"
    tags: Tags = Field(default_factory=list)
    due_date: date | None = Field(default=None, description="Due on a calendar day, no time")
    due_at: Instant | None = Field(
        default=None, description="Due at a moment (with offset); when set, due_date is derived"
    )
    remind_at: Instant | None = None
    rrule: RRule | None = Field(default=None, description="RFC 5545 RRULE; needs a due date")
    recurrence_mode: RecurrenceMode = Field(
        default="due", description="Next occurrence counted from the due date or the completion"
    )


class TaskUpdate(_TaskFields):
    """Any subset of the fields; those left out keep their value, null clears an optional one."""

    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None
    list_id: RowId | None = None
    priority: PriorityName | None = None
    tags: Tags | None = None
    due_date: date | None = Field(default=None, description="null clears the due date")
    due_at: Instant | None = None
    remind_at: Instant | None = None
    rrule: RRule | None = None
    recurrence_mode: RecurrenceMode | None = None

    @field_validator(
        "title", "description", "completed", "list_id", "priority", "tags", "recurrence_mode"
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent: leaving one out keeps it, null is an error.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class TaskCompletion(RequestModel):
    completed: bool


class TaskMove(RequestModel):
    list_id: RowId | None = Field(default=None, description="Move to this list too")
    after_id: RowId | None = Field(
        default=None, description="Place right after this task; null places it first"
    )


class QuickAddRequest(RequestModel):
    """One line of text, and what the task gets where the line says nothing: a client that
    shows one list, tag or day adds the task there (the web app does)."""

    text: Annotated[
        str,
        Field(min_length=1, max_length=500, examples=["Call Sam tomorrow 5pm !high #work"]),
        NO_CONTROLS,
    ]
    list_id: RowId | None = Field(
        default=None, description="The list when the text names none with +List"
    )
    tags: Tags = Field(
        default_factory=list, description="The tags when the text has no #tag of its own"
    )
    due_date: date | None = Field(default=None, description="The due day when the text has no date")

    @property
    def has_defaults(self) -> bool:
        return self.list_id is not None or bool(self.tags) or self.due_date is not None


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    title: str
    description: str
    completed: bool
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    list_id: int
    priority: PriorityName
    tags: list[str]
    due_date: date | None
    due_at: datetime | None
    remind_at: datetime | None
    rrule: str | None
    recurrence_mode: RecurrenceMode
    series_id: str | None
    position: str

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_name(cls, value: object) -> object:
        return PRIORITIES[value] if isinstance(value, int) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_names(cls, value: object) -> object:
        if isinstance(value, list):
            return sorted((str(getattr(tag, "name", tag)) for tag in value), key=str.lower)
        return value


class QuickAddPreview(BaseModel):
    """What a quick-add line would create, and which parts of it were recognised."""

    title: str
    list_name: str | None
    priority: PriorityName | None
    tags: list[str]
    due_date: date | None
    due_at: datetime | None
    rrule: str | None
    recurrence: str | None = Field(description="The rule in words")
    spans: list[dict[str, Any]]
