from __future__ import annotations

from copy import copy
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    computed_field,
    field_validator,
    model_validator,
)

from todo.core.ids import RowId
from todo.core.schemas import (
    NO_CONTROLS,
    NOT_BLANK,
    NOT_BLANK_TAG,
    CalendarDate,
    Instant,
    RequestModel,
)
from todo.tasks.recurrence import InvalidRule, normalize_rule

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
TAGS_MAX = 20
TAG_MAX = 50
PAGE_DEFAULT = 100
PAGE_MAX = 500
# How long a deleted task stays in the trash, restorable, before it is gone for good.
TRASH_DAYS = 30
# Tasks one purge statement deletes at most: a short transaction, however full the trash.
PURGE_BATCH = 1000

# How many levels a tree of tasks may have: a top-level task and three below it.
SUBTASK_DEPTH = 4

StatusFilter = Literal["all", "pending", "completed"]
SortKey = Literal["created", "updated", "title", "due_date", "priority", "manual", "completed"]
SortOrder = Literal["asc", "desc"]
PriorityName = Literal["none", "low", "medium", "high", "urgent"]
DueFilter = Literal["overdue", "today", "week", "none", "any"]
RecurrenceMode = Literal["due", "completion"]
# What completing a task with open subtasks does to them: completes them too, or leaves them
# open. Without it such a completion is refused (409 open_children) so that a client asks.
ChildrenMode = Literal["complete", "keep"]

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
    Field(max_length=TITLE_MAX, examples=["Buy milk"], json_schema_extra={"pattern": NOT_BLANK}),
    NO_CONTROLS,
    AfterValidator(_clean_title),
]
Description = Annotated[
    str, Field(max_length=DESCRIPTION_MAX, examples=["2 litres, semi-skimmed"]), NO_CONTROLS
]
Tags = Annotated[
    list[
        # At most TAG_MAX as sent, so no tag the document allows is too long once cleaned.
        Annotated[
            str,
            Field(max_length=TAG_MAX, json_schema_extra={"pattern": NOT_BLANK_TAG}),
            NO_CONTROLS,
        ]
    ],
    Field(max_length=TAGS_MAX, examples=[["home", "errands"]]),
    AfterValidator(_clean_tags),
]
# A user id (users.id is at most 64 characters); membership is the service's to check.
AssigneeId = Annotated[str, Field(min_length=1, max_length=64, examples=["u_3f2a"]), NO_CONTROLS]
RRule = Annotated[
    str,
    # "rrule": a format of our own, RFC 5545's RECUR value; the server parses it.
    Field(
        max_length=500,
        examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"],
        json_schema_extra={"format": "rrule"},
    ),
    NO_CONTROLS,
    AfterValidator(_check_rule),
]


# What `null` stands for in a request, so that a client may send null for "nothing" wherever
# it may leave a field out: a field's empty value where it has one, and where it has none
# (completed, recurrence_mode, title on update) the same as leaving the field out.
_ABSENT = object()


def _document_nulls(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Mark in the OpenAPI document every field that accepts null, and say what null means."""
    meanings: dict[str, str] = getattr(model, "null_meanings", {})
    for name, prop in schema.get("properties", {}).items():
        meaning = meanings.get(name)
        if meaning is None:
            continue
        variants = prop.pop("anyOf", None) or [
            {k: prop.pop(k) for k in list(prop) if k not in _ANNOTATIONS}
        ]
        if {"type": "null"} not in variants:
            variants.append({"type": "null"})
        prop["anyOf"] = variants
        said = prop.get("description")
        prop["description"] = f"{said}. {meaning}" if said else meaning
    rule = getattr(model, "rrule_needs_due", False)
    if rule:
        # A recurrence counts from the due date: the server refuses a rule without one.
        schema["if"] = {"properties": {"rrule": {"type": "string"}}, "required": ["rrule"]}
        schema["then"] = {
            "anyOf": [
                {"properties": {"due_date": {"type": "string"}}, "required": ["due_date"]},
                {"properties": {"due_at": {"type": "string"}}, "required": ["due_at"]},
            ]
        }


_ANNOTATIONS = frozenset({"title", "description", "default", "examples"})


class _TaskFields(RequestModel):
    model_config = ConfigDict(json_schema_extra=_document_nulls)
    # What a task reads back with that only the server sets (position: see /move).
    read_only_fields: ClassVar[frozenset[str]] = RequestModel.read_only_fields | {
        "position",
        "series_id",
        "assignee",
        "children_open",
        "children_total",
    }
    # Field -> the value null stands for (_ABSENT: as if the field were left out).
    null_values: ClassVar[dict[str, object]] = {}
    # Field -> what null means, in words, for the OpenAPI document.
    null_meanings: ClassVar[dict[str, str]] = {}
    rrule_needs_due: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _null_is_nothing(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        result = {}
        for name, value in data.items():
            if value is None and name in cls.null_values:
                value = cls.null_values[name]
                if value is _ABSENT:
                    continue
                value = copy(value)
            result[name] = value
        return result


class TaskCreate(_TaskFields):
    """A new task. Every field but the title may be left out or sent as null: both give the
    field's default, its empty value."""

    null_values: ClassVar[dict[str, object]] = {
        "description": _ABSENT,
        "completed": _ABSENT,
        "priority": _ABSENT,
        "tags": _ABSENT,
        "recurrence_mode": _ABSENT,
    }
    null_meanings: ClassVar[dict[str, str]] = {
        "description": "null: no description (stored as an empty string)",
        "completed": "null: the default, not completed",
        "list_id": "null: the Inbox",
        "priority": 'null: "none"',
        "tags": "null: no tags",
        "due_date": "null: no due date",
        "due_at": "null: no due time",
        "remind_at": "null: no reminder",
        "rrule": "null: not recurring",
        "recurrence_mode": 'null: the default, "due"',
        "assignee_id": "null: nobody",
        "parent_id": "null: a top-level task",
    }
    rrule_needs_due: ClassVar[bool] = True

    title: Title
    description: Description = ""
    completed: StrictBool = False
    list_id: RowId | None = Field(default=None, description="Default: the Inbox")
    priority: PriorityName = "none"
    tags: Tags = Field(default_factory=list)
    due_date: CalendarDate | None = Field(
        default=None, description="Due on a calendar day, no time"
    )
    due_at: Instant | None = Field(
        default=None, description="Due at a moment (with offset); when set, due_date is derived"
    )
    remind_at: Instant | None = None
    rrule: RRule | None = Field(
        default=None, description="RFC 5545 RRULE; needs a due date or a due time"
    )
    recurrence_mode: RecurrenceMode = Field(
        default="due", description="Next occurrence counted from the due date or the completion"
    )
    assignee_id: AssigneeId | None = Field(
        default=None, description="Who is to do it: the list's owner or one of its members"
    )
    parent_id: RowId | None = Field(
        default=None,
        description=f"A subtask of this task: of the same list, at most {SUBTASK_DEPTH} levels",
    )


class TaskUpdate(_TaskFields):
    """Any subset of the fields; those left out keep their value. null clears a field that
    has an empty value, and leaves unchanged one that has none (title, completed,
    recurrence_mode)."""

    null_values: ClassVar[dict[str, object]] = {
        "title": _ABSENT,
        "description": "",
        "completed": _ABSENT,
        "priority": "none",
        "tags": [],
        "recurrence_mode": _ABSENT,
    }
    null_meanings: ClassVar[dict[str, str]] = {
        "title": "null: unchanged",
        "description": "null: clears it (empty string)",
        "completed": "null: unchanged",
        "list_id": "null: moves the task to the Inbox",
        "priority": 'null: "none"',
        "tags": "null: removes every tag",
        "due_date": "null: clears the due date (and the due time)",
        "due_at": "null: clears the due time",
        "remind_at": "null: clears the reminder",
        "rrule": "null: stops the recurrence",
        "recurrence_mode": "null: unchanged",
        "assignee_id": "null: nobody",
        "parent_id": "null: a top-level task (no longer a subtask)",
    }

    title: Title | None = None
    description: Description | None = None
    completed: StrictBool | None = None
    list_id: RowId | None = None
    priority: PriorityName | None = None
    tags: Tags | None = None
    due_date: CalendarDate | None = Field(
        default=None, description="Due on a calendar day, no time"
    )
    due_at: Instant | None = Field(default=None, description="Due at a moment (with offset)")
    remind_at: Instant | None = None
    rrule: RRule | None = Field(
        default=None, description="RFC 5545 RRULE; the task must have a due date or due time"
    )
    recurrence_mode: RecurrenceMode | None = None
    assignee_id: AssigneeId | None = Field(
        default=None, description="The list's owner or one of its members"
    )
    parent_id: RowId | None = Field(
        default=None,
        description="Make it a subtask of this task (same list, no cycle); moved to another "
        "list, a subtask becomes a top-level task there",
    )


class TaskCompletion(RequestModel):
    completed: StrictBool


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
        Field(
            min_length=1,
            max_length=500,
            examples=["Call Sam tomorrow 5pm !high #work"],
            json_schema_extra={"pattern": NOT_BLANK},
        ),
        NO_CONTROLS,
    ]
    list_id: RowId | None = Field(
        default=None, description="The list when the text names none with +List"
    )
    tags: Tags = Field(
        default_factory=list, description="The tags when the text has no #tag of its own"
    )
    due_date: CalendarDate | None = Field(
        default=None, description="The due day when the text has no date"
    )

    @property
    def has_defaults(self) -> bool:
        return self.list_id is not None or bool(self.tags) or self.due_date is not None


class Assignee(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str


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
    assignee_id: str | None = None
    assignee: Assignee | None = None
    parent_id: int | None = None
    # Its subtasks (direct children, trashed ones left out): how many are open, how many
    # there are. Zero for a task without any.
    children_open: int = 0
    children_total: int = 0

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


class TrashedTaskRead(TaskRead):
    """A task in the trash: restorable (with its id, list, tags and position) until purge_at."""

    deleted_at: datetime

    @computed_field(description="When the task is deleted for good, unless restored before")
    def purge_at(self) -> datetime:
        return self.deleted_at + timedelta(days=TRASH_DAYS)


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
