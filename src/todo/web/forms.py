"""Form input for the web pages: read it, and word validation errors for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request

from todo.core.errors import AppError, Unprocessable
from todo.core.schemas import text_problem

FieldErrors = dict[str, str]

# A quick-add line carries markers besides the title, which itself is cut at 200.
QUICK_ADD_MAX = 500


class QuickAddLine(BaseModel):
    """The new-task input: one line of quick-add text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(max_length=QUICK_ADD_MAX)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("Title must not be empty")
        return value


async def read_form(request: Request) -> dict[str, str]:
    """The text fields of the posted form; for a repeated name the last value wins, which is
    how a hidden "false" before a checkbox of the same name gives it a value when unchecked."""
    form = await request.form()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    for name, value in form.multi_items():
        # Passwords are hashed, never stored, so they may hold any character (as in the API).
        problem = None if "password" in name or not isinstance(value, str) else text_problem(value)
        if problem is not None:
            raise Unprocessable(
                f"The form is not valid: {name} {problem}.",
                errors=[{"field": name, "in": "body", "reason": problem}],
            )
    return fields


def _sentence(item: Mapping[str, Any], label: str) -> str:
    kind = item["type"]
    context = item.get("ctx") or {}
    if kind == "missing":
        return f"{label} is required."
    if kind == "string_too_long":
        return f"{label} can be at most {context['max_length']} characters long."
    if kind == "string_too_short":
        return f"{label} must be at least {context['min_length']} characters long."
    if "reason" in context:
        # email-validator explains what is wrong with an address in a full sentence.
        return str(context["reason"])
    message = str(item["msg"]).removeprefix("Value error, ")
    return message if message.endswith(".") else f"{message}."


def field_errors(error: ValidationError, labels: Mapping[str, str]) -> FieldErrors:
    """One sentence per field, the first problem found for it."""
    found: FieldErrors = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        found.setdefault(field, _sentence(item, labels.get(field, "This field")))
    return found


def app_field_errors(error: AppError, default_field: str) -> FieldErrors:
    """A service's refusal, shown next to the field it names."""
    fields = [str(entry.get("field")) for entry in error.errors or [] if entry.get("field")]
    return {fields[0] if fields else default_field: error.detail}
