from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr

from todo.core.schemas import NO_CONTROLS, NOT_BLANK, Instant, RequestModel

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


def time_zones() -> list[str]:
    """Every zone a user may choose, in order: what pickers offer and what is accepted."""
    return sorted(_zones())


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


# Personal access tokens: what other programs (scripts, the command line, integrations) sign
# in with, each limited to the scopes its owner chose. The one list of scopes: the API's
# checks, the token schemas and the web app's checkboxes all read it.
SCOPES: dict[str, str] = {
    "tasks:read": "Read tasks, reminders and the trash",
    "tasks:write": "Create, change, complete, move and delete tasks; dismiss reminders; "
    "restore from and empty the trash",
    "lists:read": "Read lists",
    "lists:write": "Create, rename, reorder and delete lists",
    "tags:read": "Read tags",
    "tags:write": "Rename and delete tags",
    "account:read": "Read the account's name, email address, time zone and notification settings",
    "account:write": "Change the account's name, time zone and notification settings (never "
    "its password)",
    "webhooks:read": "Read the account's webhooks and their delivery logs (never their secrets "
    "after creation)",
    "webhooks:write": "Add, change, test and delete webhooks, rotate their secrets, resend "
    "deliveries",
}
TOKEN_NAME_MAX = 100
TOKENS_PER_USER_MAX = 50
# A year: a forgotten token in a script dies eventually, and a yearly renewal is no chore.
TOKEN_LIFETIME_MAX = timedelta(days=366)
# A list may name a scope twice (it counts once), but not without end.
TOKEN_SCOPES_LISTED_MAX = 2 * len(SCOPES)


def _clean_token_name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("Name must not be empty")
    return value


def _in_token_lifetime(value: datetime) -> datetime:
    now = datetime.now(UTC)
    if value <= now:
        raise ValueError("must be in the future")
    if value > now + TOKEN_LIFETIME_MAX:
        raise ValueError(f"must be at most {TOKEN_LIFETIME_MAX.days} days from now")
    return value


def _known_scope(value: str) -> str:
    if value not in SCOPES:
        raise ValueError(f"Unknown scope: it must be one of {', '.join(SCOPES)}")
    return value


# Built from SCOPES, so that the table above is the only list of scopes there is.
Scope = Annotated[
    str, Field(json_schema_extra={"enum": list(SCOPES)}), AfterValidator(_known_scope)
]


def _canonical_scopes(value: list[str]) -> list[str]:
    # One spelling per set of scopes, in the order of SCOPES, whatever order they came in.
    return [scope for scope in SCOPES if scope in value]


TokenName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=TOKEN_NAME_MAX,
        examples=["Backup script"],
        json_schema_extra={"pattern": NOT_BLANK},
    ),
    NO_CONTROLS,
    AfterValidator(_clean_token_name),
]


class AccessTokenCreate(RequestModel):
    name: TokenName
    scopes: Annotated[
        list[Scope],
        Field(
            min_length=1,
            max_length=TOKEN_SCOPES_LISTED_MAX,
            description="What the token may do; GET needs `<domain>:read`, other methods "
            "`<domain>:write`",
            examples=[["tasks:read", "tasks:write"]],
        ),
        AfterValidator(_canonical_scopes),
    ]
    expires_at: Annotated[Instant, AfterValidator(_in_token_lifetime)] | None = Field(
        default=None,
        description=f"When the token stops working: in the future, at most "
        f"{TOKEN_LIFETIME_MAX.days} days ahead; null (the default) never expires",
    )


class AccessTokenRead(BaseModel):
    """A token as listed: never its secret, which only the answer to its creation carries."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Within a minute: a token's use is written down at most once a minute"
    )


class AccessTokenCreated(AccessTokenRead):
    token: str = Field(
        description="The secret, shown this once: only its SHA-256 digest is kept",
        examples=["todo_pat_3q2-7wEvD9cX0Qk5aJm1YbT8uZrLhN4sVgPiOeKdWfA"],
    )


APP_PASSWORDS_PER_USER_MAX = 50


class AppPasswordCreate(RequestModel):
    name: Annotated[TokenName, Field(examples=["Phone (DAVx5)"])]


class AppPasswordRead(BaseModel):
    """An app password as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="Within a minute; null if never used")


class AppPasswordCreated(AppPasswordRead):
    password: str = Field(
        description="The password, shown this once: only its SHA-256 digest is kept. Give it "
        "with the account's email to a CalDAV client.",
        examples=["todo-app-kq3v-7weh-d9cx-0qk5-ajm1-ybt8"],
    )
