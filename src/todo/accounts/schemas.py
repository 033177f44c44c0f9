from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr

from todo.core.schemas import NO_CONTROLS, RequestModel

PASSWORD_MIN = 8
PASSWORD_MAX = 256
EMAIL_MAX = 320
NAME_MAX = 200


def _normalize_email(value: str) -> str:
    return value.strip().lower()


def _check_password(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value()
    if len(raw) < PASSWORD_MIN:
        raise ValueError(f"Password must be at least {PASSWORD_MIN} characters long")
    if len(raw) > PASSWORD_MAX:
        raise ValueError(f"Password must be at most {PASSWORD_MAX} characters long")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_zone(value: str) -> str:
    value = value.strip()
    if value not in _zones():
        raise ValueError("Time zone must be an IANA name such as Europe/Berlin")
    return value


def _clean_name(value: str) -> str:
    return " ".join(value.split())


Email = Annotated[
    EmailStr, Field(max_length=EMAIL_MAX), NO_CONTROLS, AfterValidator(_normalize_email)
]
NewPassword = Annotated[
    SecretStr,
    # Documented only: the check below counts the same characters and words its refusal.
    Field(json_schema_extra={"minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX}),
    AfterValidator(_check_password),
]


def _list_zones(schema: dict[str, Any]) -> None:
    # Built with the document, not at import: reading the zone database costs start-up time.
    schema["enum"] = sorted(_zones())


TimeZone = Annotated[
    str,
    Field(
        max_length=64,
        examples=["Europe/Berlin"],
        description="An IANA time zone name, one of those the server knows",
        json_schema_extra=_list_zones,
    ),
    NO_CONTROLS,
    AfterValidator(_check_zone),
]
Name = Annotated[str, Field(max_length=NAME_MAX), NO_CONTROLS, AfterValidator(_clean_name)]


class SignupRequest(RequestModel):
    email: Email = Field(examples=["ada@example.com"])
    password: NewPassword = Field(examples=["correct horse battery"])
    name: Name = Field(default="", examples=["Ada Lovelace"])
    timezone: TimeZone = Field(default="UTC", description="Where 'today' is for this user")


class LoginRequest(RequestModel):
    email: Annotated[
        str, Field(max_length=EMAIL_MAX), NO_CONTROLS, AfterValidator(_normalize_email)
    ] = Field(examples=["ada@example.com"])
    password: Annotated[SecretStr, Field(max_length=PASSWORD_MAX)]


class UserUpdate(RequestModel):
    name: Name | None = None
    current_password: Annotated[SecretStr, Field(max_length=PASSWORD_MAX)] | None = None
    new_password: NewPassword | None = None
    timezone: TimeZone | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    timezone: str
    created_at: datetime
    updated_at: datetime


class AuthResponse(BaseModel):
    user: UserRead
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token kind, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")


class UserUpdated(UserRead):
    """The account after PATCH /me. A new password ends every earlier token, the caller's
    included, so the answer then carries the caller's next one."""

    access_token: str | None = Field(
        default=None, description="A fresh token when the password was changed, else null"
    )
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token kind, not a secret)
    expires_in: int | None = Field(
        default=None, description="Seconds until `access_token` expires, when there is one"
    )


class TokenResponse(BaseModel):
    """The OAuth2 password-flow answer, as the Authorize button of /docs expects it."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token kind, not a secret)
    expires_in: int
