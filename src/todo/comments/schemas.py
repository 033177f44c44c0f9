from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from todo.core.schemas import NO_CONTROLS, NOT_BLANK, RequestModel

BODY_MAX = 10_000
COMMENTS_PAGE_DEFAULT = 50
COMMENTS_PAGE_MAX = 200


def _not_blank(value: str) -> str:
    # Kept as written (newlines and indentation are the author's), only never empty.
    if not value.strip():
        raise ValueError("A comment must not be empty")
    return value


Body = Annotated[
    str,
    Field(
        min_length=1,
        max_length=BODY_MAX,
        examples=["Bought the semi-skimmed.\nThe full-fat was sold out."],
        json_schema_extra={"pattern": NOT_BLANK},
    ),
    NO_CONTROLS,
    AfterValidator(_not_blank),
]


class CommentWrite(RequestModel):
    """A new comment, or the new text of one."""

    read_only_fields = RequestModel.read_only_fields | {"task_id", "author_id", "author"}

    body: Body


class Author(BaseModel):
    id: str
    name: str


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    author_id: str | None = Field(description="null once the author's account is deleted")
    author: Author | None
    body: str
    created_at: datetime
    updated_at: datetime
