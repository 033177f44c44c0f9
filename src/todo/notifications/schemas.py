from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from todo.core.schemas import RequestModel

ENDPOINT_MAX = 2000
# A P-256 public key is 65 bytes (88 in base64url), an auth secret 16 (22).
KEY_MAX = 200
AUTH_MAX = 100
# A user with more browsers than this keeps the newest ones.
SUBSCRIPTIONS_MAX = 20
DIGEST_HOURS = (0, 23)
CHANNELS = ("email", "push")

_BASE64URL = r"^[A-Za-z0-9_-]+={0,2}$"


def _number(value: object) -> object:
    # A JSON number (16 or 16.0), never text or a boolean that would pass for one.
    if isinstance(value, str | bool):
        raise ValueError("must be a number from 0 to 23")
    return value


DigestHour = Annotated[
    int,
    Field(
        ge=DIGEST_HOURS[0],
        le=DIGEST_HOURS[1],
        description="Local hour (in the account's time zone) of the daily digest email",
    ),
    BeforeValidator(_number),
]


class NotificationSettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email_reminders: bool
    push_reminders: bool
    digest_hour: int | None
    email_available: bool = Field(description="Whether the server is set up to send email")
    vapid_public_key: str = Field(
        description="The server's Web Push key (base64url), the `applicationServerKey` to "
        "subscribe with"
    )


class NotificationSettingsUpdate(RequestModel):
    email_reminders: StrictBool | None = None
    push_reminders: StrictBool | None = None
    digest_hour: DigestHour | None = Field(
        default=None, description="`null` turns the daily digest off"
    )


class PushKeys(RequestModel):
    p256dh: str = Field(min_length=1, max_length=KEY_MAX, pattern=_BASE64URL)
    auth: str = Field(min_length=1, max_length=AUTH_MAX, pattern=_BASE64URL)


class PushSubscriptionCreate(RequestModel):
    """What the browser's `PushSubscription.toJSON()` gives."""

    endpoint: str = Field(
        min_length=1,
        max_length=ENDPOINT_MAX,
        pattern=r"^https?://[!-~]+$",
        description="The push service's URL for this browser (https)",
    )
    keys: PushKeys
    expirationTime: int | float | None = Field(
        default=None, description="Ignored: push services report expiry with 404 or 410"
    )


class PushSubscriptionDelete(RequestModel):
    endpoint: str = Field(min_length=1, max_length=ENDPOINT_MAX)


class PushSubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    endpoint: str
    created_at: datetime


class TestNotificationResult(BaseModel):
    sent: int = Field(description="Push subscriptions that accepted the test notification")
    removed: int = Field(description="Expired subscriptions deleted on the way")
