from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from todo.core.schemas import NO_CONTROLS, NOT_BLANK_TAG, RequestModel


def _clean(value: str) -> str:
    value = " ".join(value.removeprefix("#").split())
    if not value:
        raise ValueError("Name must not be empty")
    return value


class TagUpdate(RequestModel):
    name: Annotated[
        str,
        Field(max_length=50, examples=["errands"], json_schema_extra={"pattern": NOT_BLANK_TAG}),
        NO_CONTROLS,
        AfterValidator(_clean),
    ]


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    tasks: int = 0
