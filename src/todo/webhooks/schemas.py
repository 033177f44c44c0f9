from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from todo.core.schemas import NO_CONTROLS, RequestModel

URL_MAX = 2000
WEBHOOKS_PER_USER_MAX = 20
EVENTS_LISTED_MAX = 50
DELIVERIES_PAGE_DEFAULT = 50
DELIVERIES_PAGE_MAX = 200
# Attempts of one delivery: the first, then retries after 1, 4, 16, 64, 256 and 1024 times
# WEBHOOK_RETRY_BASE (10 s: 10 s, 40 s, 2.7 min, 11 min, 43 min, 2.8 h: 3.8 hours in all).
ATTEMPTS_MAX = 7
RETRY_FACTOR = 4
# What is kept of an answer's body, and of an error's text.
EXCERPT_MAX = 300
# The delivery log is kept this long.
DELIVERIES_KEPT_DAYS = 30

# What each kind of resource reports (sharing records `member`, comments `comment`).
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "task": ("created", "updated", "completed", "uncompleted", "moved", "deleted", "restored"),
    "list": ("created", "updated", "moved", "deleted"),
    "tag": ("updated", "merged", "deleted"),
    "member": ("added", "updated", "removed"),
    "comment": ("created", "updated", "deleted"),
}
EVENT_NAMES = frozenset(
    [f"{kind}.{action}" for kind, actions in EVENT_TYPES.items() for action in actions]
    + [f"{kind}.*" for kind in EVENT_TYPES]
    + ["*"]
)
PING = "ping"


def _known_event(value: str) -> str:
    if value not in EVENT_NAMES:
        raise ValueError(
            "Unknown event: use a type such as task.created, a family such as task.*, or *"
        )
    return value


def _canonical(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("List at least one event (or * for all)")
    return sorted(set(value))


EventName = Annotated[
    str,
    Field(json_schema_extra={"enum": sorted(EVENT_NAMES)}, max_length=40),
    AfterValidator(_known_event),
]
EventList = Annotated[
    list[EventName],
    Field(min_length=1, max_length=EVENTS_LISTED_MAX),
    AfterValidator(_canonical),
]
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=URL_MAX,
        description="Where the deliveries are POSTed: an http or https URL on a public address",
    ),
    NO_CONTROLS,
]


def matches(subscribed: list[str], event_type: str) -> bool:
    kind = event_type.split(".", 1)[0]
    return "*" in subscribed or event_type in subscribed or f"{kind}.*" in subscribed


class WebhookCreate(RequestModel):
    url: Url
    events: EventList = Field(description="Event types (`task.created`), families (`task.*`), `*`")


class WebhookUpdate(RequestModel):
    url: Url | None = None
    events: EventList | None = None
    enabled: StrictBool | None = Field(
        default=None, description="`true` turns a disabled webhook back on"
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (`whsec_<base64>`), shown in this answer only"
    )


class SecretRotated(BaseModel):
    id: int
    secret: str = Field(description="The new signing secret, shown in this answer only")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int
    event_id: int | None
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt")
    type: str
    status: str = Field(description="`pending`, `succeeded` or `failed` (no attempt left)")
    attempts: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
