from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator

from todo.core.ids import RowId
from todo.core.schemas import NO_CONTROLS, NOT_BLANK, RequestModel

RoleName = Literal["viewer", "editor", "admin", "owner"]


def _clean_name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("Name must not be empty")
    return value


ListName = Annotated[
    str,
    Field(max_length=100, examples=["Groceries"], json_schema_extra={"pattern": NOT_BLANK}),
    NO_CONTROLS,
    AfterValidator(_clean_name),
]
Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#4f46e5"])]


class ListCreate(RequestModel):
    name: ListName
    color: Color | None = None


class ListUpdate(RequestModel):
    name: ListName | None = None
    color: Color | None = None
    after_id: RowId | None = Field(default=None, description="Move the list right after this one")
    first: StrictBool = Field(default=False, description="Move the list to the top")

    @model_validator(mode="before")
    @classmethod
    def _null_name_is_unchanged(cls, data: object) -> object:
        # A name cannot be emptied: null means unchanged, as title does on a task's PUT.
        if isinstance(data, dict) and "name" in data and data["name"] is None:
            return {key: value for key, value in data.items() if key != "name"}
        return data


class ListRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    color: str | None
    position: str
    is_inbox: bool
    open_tasks: int = 0
    role: RoleName = Field(default="owner", description="Your role on the list")
    member_count: int = Field(default=1, description="How many people see it, its owner included")
    created_at: datetime
    updated_at: datetime


DeleteMode = Literal["move", "delete"]
