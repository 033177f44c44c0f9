"""Shared pieces of the HTTP contract: request base model and the problem document."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# PostgreSQL cannot store NUL in text at all, and the other C0 controls only ever arrive by
# mistake or malice; one rule for both databases keeps what SQLite accepts importable into
# PostgreSQL. Tab, line feed and carriage return are ordinary text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NUL_REASON = "must not contain NUL characters"
CONTROL_REASON = "must not contain control characters other than tab and newline"


_MaybeText = TypeVar("_MaybeText", str, str | None)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    return NUL_REASON if "\x00" in value else CONTROL_REASON


def check_text(value: _MaybeText) -> _MaybeText:
    # Optional parameters pass None through: the rule is about what text holds.
    problem = None if value is None else text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# The same characters as _CONTROL, for the OpenAPI document's patterns.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
NO_CONTROL_PATTERN = f"^[^{_CONTROLS}]*$"


class _NoControls:
    """check_text after the type's own checks, and the same rule in the OpenAPI document (a
    pattern, unless the field has one of its own: NOT_BLANK and NOT_BLANK_TAG include it)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(check_text, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        for variant in [document, *document.get("anyOf", [])]:
            # A format of its own (email, rrule) says more than the pattern would.
            if (
                variant.get("type") == "string"
                and not {"pattern", "enum", "format"} & variant.keys()
            ):
                variant["pattern"] = NO_CONTROL_PATTERN
        return document


NO_CONTROLS = _NoControls()
"""Every string from outside carries it (body, query, form), after its Field(...) or Query(...)
so that the length limits still answer with pydantic's own messages."""

# Every instant must be shown on a wall clock in any time zone (UTC-12 to UTC+14, a day at
# most either way) without leaving the years Python can hold, 1 to 9999.
INSTANT_MIN = datetime(1, 1, 2, tzinfo=UTC)
INSTANT_MAX = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
INSTANT_REASON = "must be between 0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z"


def instant_in_range(value: datetime) -> datetime | None:
    """`value` in UTC, or None when it is outside the range every time zone can show."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        return None
    return utc if INSTANT_MIN <= utc <= INSTANT_MAX else None


def _check_instant(value: datetime) -> datetime:
    utc = instant_in_range(value)
    if utc is None:
        raise ValueError(INSTANT_REASON)
    return utc


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _written_out(value: object) -> object:
    # Pydantic would read a number, or a string of digits, as a Unix time: the contract says
    # ISO 8601 text (the server's own code may pass date and datetime objects).
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and not _ISO_DAY.match(value)
    ):
        raise ValueError("Write it in ISO 8601, such as 2026-05-01 or 2026-05-01T09:00:00Z")
    return value


CalendarDate = Annotated[date, BeforeValidator(_written_out)]
"""A calendar day written as ISO 8601 text."""
Instant = Annotated[AwareDatetime, BeforeValidator(_written_out), AfterValidator(_check_instant)]
"""A moment with its offset, kept and answered in UTC, within INSTANT_MIN..INSTANT_MAX."""

# Python's whitespace (what str.strip and str.split remove), spelled out for the OpenAPI
# document: `\s` means a little less in ECMAScript and in Rust's regex, which validators use.
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Whitespace that is not a control character (the controls are refused anyway).
_PLAIN_SPACE = r"\t\n\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SOLID = f"[^{_SPACE}{_CONTROLS}]"
NOT_BLANK = f"^[^{_CONTROLS}]*{_SOLID}[^{_CONTROLS}]*$"
"""A pattern for text that must not be blank and holds no control characters."""
NOT_BLANK_TAG = (
    f"^(#[^{_CONTROLS}]*{_SOLID}|[^#{_SPACE}{_CONTROLS}]|[{_PLAIN_SPACE}][^{_CONTROLS}]*{_SOLID})"
    f"[^{_CONTROLS}]*$"
)
"""The same for a tag, whose one leading # is not part of its name."""


class RequestModel(BaseModel):
    """A request body: unknown fields are an error naming the field; read-only ones are ignored.

    Clients commonly send back what they read, so fields the server owns are dropped
    silently rather than rejected, and never applied.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
    read_only_fields: ClassVar[frozenset[str]] = frozenset(
        {"id", "user_id", "version", "created_at", "updated_at", "completed_at"}
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in cls.read_only_fields}
        return data


class FieldError(BaseModel):
    field: str = Field(examples=["title"])
    in_: str | None = Field(
        default=None, alias="in", description="body, query, path or header", examples=["body"]
    )
    reason: str = Field(examples=["String should have at most 200 characters"])


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str = Field(default="about:blank")
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["Task 42 was not found."])
    code: str = Field(examples=["task_not_found"])
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    descriptions = {
        400: "Malformed request",
        401: "Missing, invalid or expired token",
        403: "The path names another user, or the token may not do this (its scopes)",
        404: "Not found, or not yours",
        409: "Conflicts with existing data",
        412: "If-Match does not match the current version",
        413: "Body larger than the limit",
        415: "The body is not of the media type this takes",
        422: "Body or parameters failed validation",
        429: "Too many attempts",
        503: "Database unavailable",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions[status],
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


_PROBLEM = "application/problem+json"
_COMMON_PROBLEMS = {
    "400": "Malformed request: the body is not valid JSON or the form is not readable",
    "413": "Body larger than the limit",
}
_FULL = "The database is full: nothing was saved"
_UNAVAILABLE = "Database unavailable (or its connection pool exhausted): retry after Retry-After"


def honest_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the error handling really answers.

    Error bodies are application/problem+json only (FastAPI would list them as
    application/json too); any request with a body can be malformed or too large (400, 413),
    and any operation that reaches the database can find it unavailable (503), or full when
    it writes (507). Those come from the middleware and handlers shared by every route, so
    they are added here once.
    """
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                content = response.get("content", {})
                if _PROBLEM in content and "application/json" in content:
                    content[_PROBLEM] = content.pop("application/json")
                elif status == "422" and "HTTPValidationError" in json.dumps(content):
                    # FastAPI's own 422 shape, which our validation handler never sends.
                    response["description"] = "Body or parameters failed validation"
                    response["content"] = {_PROBLEM: {"schema": problem_ref}}
            extra = dict(_COMMON_PROBLEMS) if "requestBody" in operation else {}
            if path != "/health":
                extra["503"] = _UNAVAILABLE
            if method != "get":
                extra["507"] = _FULL
            for status, description in extra.items():
                responses.setdefault(
                    status,
                    {"description": description, "content": {_PROBLEM: {"schema": problem_ref}}},
                )
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}" not in json.dumps(document):
            schemas.pop(unused, None)
    return document
