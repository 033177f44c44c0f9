from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from todo.accounts.schemas import Email
from todo.core.schemas import Instant, RequestModel
from todo.lists.schemas import RoleName

MemberRole = Literal["viewer", "editor", "admin"]
"""The roles a member can be given; `owner` is the list's creator, handed over on its own."""
MEMBERS_MAX = 100
LINKS_MAX = 20
INVITATIONS_MAX = 100
# A link's secret as we hand it out (token_urlsafe(32)): anything else is no link of ours.
LINK_PATTERN = r"^[A-Za-z0-9_-]{20,64}$"
LinkSecret = Annotated[str, Field(pattern=LINK_PATTERN, min_length=20, max_length=64)]


class MemberAdd(RequestModel):
    email: Email = Field(examples=["sam@example.com"])
    role: MemberRole = "editor"


class MemberUpdate(RequestModel):
    role: MemberRole


class UserBrief(BaseModel):
    id: str
    name: str
    email: str


class MemberRead(BaseModel):
    user: UserBrief
    role: RoleName
    added_at: datetime


class InvitationRead(BaseModel):
    """A share with an address that has no account yet; it becomes a membership when the
    address signs up."""

    id: int
    email: str
    role: MemberRole
    created_at: datetime
    status: Literal["pending"] = "pending"


class LinkCreate(RequestModel):
    role: MemberRole = "viewer"
    expires_at: Instant | None = Field(default=None, description="No expiry when left out")


class LinkRead(BaseModel):
    id: int
    url: str | None = Field(
        description="Only in the answer that creates it: the secret is kept hashed"
    )
    role: MemberRole
    created_at: datetime
    expires_at: datetime | None


class Joined(BaseModel):
    list_id: int
    name: str
    role: RoleName
