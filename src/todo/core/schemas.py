"""Shared pieces of the HTTP contract: request base model and the problem document."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
        403: "The path names another user",
        404: "Not found, or not yours",
        409: "Conflicts with existing data",
        412: "If-Match does not match the current version",
        413: "Body larger than the limit",
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
