"""Sharing: a list's members and their roles, invitations by email and links to join.

Who may see and do what is the access layer's (lists/access.py); this module changes it.
The caller's role on the list has been checked by the route's dependency (list_for); the
rules here are the ones about the person being changed: the owner is never a member row, an
admin removes anyone but the owner, anyone may leave, only the owner hands ownership over.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.comments import service as comments
from todo.core import events
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound, Unprocessable
from todo.core.ids import ID_MAX
from todo.core.schemas import text_problem
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.lists.models import TaskList
from todo.sharing.models import Invitation, ShareLink
from todo.sharing.schemas import INVITATIONS_MAX, LINK_PATTERN, LINKS_MAX, MEMBERS_MAX
from todo.tasks import service as tasks

USER_ID_MAX = 64  # users.id


@dataclass(frozen=True)
class Member:
    user: User
    role: Role
    added_at: datetime


def _member_not_found(user_id: str) -> NotFound:
    return NotFound(f"{user_id} is not a member of this list.", code="member_not_found")


def _checked_id(user_id: str) -> str:
    """A user id from a path: one no account can have (too long, control characters, which
    PostgreSQL refuses in text) is nobody's, so a 404 like any other stranger's."""
    if len(user_id) > USER_ID_MAX or text_problem(user_id) is not None:
        raise _member_not_found("This person")
    return user_id


def _owner_fixed() -> Conflict:
    return Conflict(
        "The owner always has access: hand ownership over to a member first.",
        code="owner_fixed",
    )


async def _record(
    session: AsyncSession,
    found: TaskList,
    member_id: str,
    action: events.Action,
    role: tuple[Role | None, Role | None],
) -> None:
    """The change to a membership, last before the commit: on the owner (the list's
    activity, the other members) and on the member (who hears of it even when it took the
    list out of their sight). In a fixed order of the two: each takes its owner's lock."""
    assert found.id is not None
    old, new = (None if each is None else each.name for each in role)
    for user_id in sorted({found.user_id, member_id}):
        await events.record(
            session,
            user_id=user_id,
            actor_id=found.user_id,
            resource="member",
            resource_id=found.id,
            action=action,
            list_id=found.id,
            changes={"member": [member_id, member_id], "role": [old, new]},
        )


async def members(session: AsyncSession, found: TaskList) -> list[Member]:
    """Everyone who sees the list: the owner first, then the members as they were added."""
    assert found.id is not None
    rows = await access.members_of(session, found.id)
    users = await accounts.users_by_id(session, [found.user_id, *(r.user_id for r in rows)])
    owner = users[found.user_id]
    listed = [Member(user=owner, role=Role.owner, added_at=found.created_at)]
    listed += [
        Member(user=users[row.user_id], role=Role[row.role], added_at=row.added_at)
        for row in rows
        if row.user_id in users
    ]
    return listed


async def _count(
    session: AsyncSession, model: type[Invitation] | type[ShareLink], list_id: int
) -> int:
    result = await session.exec(
        select(count()).select_from(model).where(col(model.list_id) == list_id)
    )
    return result.one()


async def add(
    session: AsyncSession, scope: Scope, found: TaskList, *, email: str, role: Role
) -> Member | Invitation:
    """Share the list with the account of this address (a member), or, when there is none
    yet, with the address (an invitation that becomes a membership at sign-up)."""
    if found.is_inbox:
        raise access.not_shared_inbox()
    assert found.id is not None
    user = await accounts.find_by_email(session, email)
    if user is None:
        return await _invite(session, scope, found, email=email, role=role)
    if len(await access.members_of(session, found.id)) >= MEMBERS_MAX:
        raise Conflict(f"A list can have at most {MEMBERS_MAX} members.", code="too_many_members")
    row = await access.add_member(session, found, user.id, role, added_by=scope.user_id)
    added = Member(user=user, role=role, added_at=row.added_at)
    await _record(session, found, user.id, "added", (None, role))
    await session.commit()
    return added


async def _invite(
    session: AsyncSession, scope: Scope, found: TaskList, *, email: str, role: Role
) -> Invitation:
    assert found.id is not None
    if await _count(session, Invitation, found.id) >= INVITATIONS_MAX:
        raise Conflict(
            f"A list can have at most {INVITATIONS_MAX} pending invitations.",
            code="too_many_invitations",
        )
    invitation = Invitation(list_id=found.id, email=email, role=role.name, invited_by=scope.user_id)
    try:
        async with session.begin_nested():
            session.add(invitation)
    except IntegrityError:
        raise Conflict(
            f"{email} is already invited to this list.", code="already_invited"
        ) from None
    await session.commit()
    return invitation


# What an admin hands out for a list and can take back: invitations and links.
_Handout = TypeVar("_Handout", Invitation, ShareLink)


async def _handouts(session: AsyncSession, kind: type[_Handout], found: TaskList) -> list[_Handout]:
    result = await session.exec(
        select(kind)
        .where(col(kind.list_id) == found.id)
        .order_by(col(kind.created_at), col(kind.id))
    )
    return list(result.all())


async def _take_back(
    session: AsyncSession, kind: type[_Handout], found: TaskList, row_id: int, missing: NotFound
) -> None:
    """Delete one of the list's invitations or links; `missing` when it has none of that id."""
    if not 1 <= row_id <= ID_MAX:
        # A web page's path takes any number; BIGINT ends before some of them.
        raise missing
    result = await session.exec(
        delete(kind).where(col(kind.list_id) == found.id, col(kind.id) == row_id)
    )
    if not result.rowcount:
        raise missing
    await session.commit()


async def invitations(session: AsyncSession, found: TaskList) -> list[Invitation]:
    """The list's pending invitations, oldest first."""
    return await _handouts(session, Invitation, found)


async def cancel_invitation(session: AsyncSession, found: TaskList, invitation_id: int) -> None:
    """Withdraw a pending invitation: the address no longer joins when it signs up."""
    await _take_back(
        session, Invitation, found, invitation_id, _invitation_not_found(invitation_id)
    )


def _invitation_not_found(invitation_id: int) -> NotFound:
    return NotFound(f"Invitation {invitation_id} was not found.", code="invitation_not_found")


@accounts.account_created.connect
async def _accept_invitations(session: AsyncSession, user_id: str) -> None:
    """A new account takes up the invitations waiting for its address; no commit."""
    user = await accounts.get_user(session, user_id)
    if user is None:
        return
    waiting = (
        await session.exec(select(Invitation).where(col(Invitation.email) == user.email))
    ).all()
    for invitation in waiting:
        shared = await session.get(TaskList, invitation.list_id)
        if shared is not None and shared.user_id != user_id:
            await access.add_member(
                session, shared, user_id, Role[invitation.role], added_by=invitation.invited_by
            )
        await session.delete(invitation)
    await session.flush()


async def change_role(session: AsyncSession, found: TaskList, member_id: str, role: Role) -> Member:
    assert found.id is not None
    member_id = _checked_id(member_id)
    if member_id == found.user_id:
        raise _owner_fixed()
    row = await access.member(session, found.id, member_id)
    if row is None:
        raise _member_not_found(member_id)
    was = Role[row.role]
    await access.set_role(session, row, role)
    user = await accounts.get_user(session, member_id)
    assert user is not None
    changed = Member(user=user, role=role, added_at=row.added_at)
    await _record(session, found, member_id, "updated", (was, role))
    await session.commit()
    return changed


async def remove(session: AsyncSession, scope: Scope, found: TaskList, member_id: str) -> None:
    """An admin removes a member; any member removes themselves (leaves the list)."""
    assert found.id is not None
    member_id = _checked_id(member_id)
    if member_id == found.user_id:
        raise _owner_fixed()
    if member_id != scope.user_id:
        await access.confirm(session, scope, found.user_id, found.id, Role.admin)
    row = await access.member(session, found.id, member_id)
    if row is None or not await access.remove_member(session, found.id, member_id):
        raise _member_not_found(member_id)
    # In the same commit: nobody is left assigned to a task of a list they cannot see.
    await tasks.unassign_member(session, found.id, member_id)
    await _record(session, found, member_id, "removed", (Role[row.role], None))
    await session.commit()


async def make_owner(session: AsyncSession, found: TaskList, member_id: str) -> None:
    """Hand the list and all its tasks to a member; the old owner stays on as an admin."""
    assert found.id is not None
    member_id = _checked_id(member_id)
    if member_id == found.user_id:
        raise Conflict("This person already owns the list.", code="already_owner")
    if await access.member(session, found.id, member_id) is None:
        raise _member_not_found(member_id)
    old_owner = found.user_id
    handed = await tasks.hand_over(session, found, member_id)
    await comments.hand_over(session, old_owner, member_id, handed)
    await events.hand_over(session, old_owner, member_id, found.id, handed)
    await session.commit()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _link_not_found() -> NotFound:
    return NotFound("This link does not exist, was revoked or has expired.", code="link_not_found")


async def create_link(
    session: AsyncSession,
    scope: Scope,
    found: TaskList,
    *,
    role: Role,
    expires_at: datetime | None,
) -> tuple[ShareLink, str]:
    """A new link and its secret, which is shown this once and kept only as a hash."""
    if found.is_inbox:
        raise access.not_shared_inbox()
    assert found.id is not None
    if expires_at is not None and expires_at <= utcnow():
        raise Unprocessable(
            "The request is not valid: expires_at: must lie in the future.",
            errors=[{"field": "expires_at", "in": "body", "reason": "must lie in the future"}],
        )
    if await _count(session, ShareLink, found.id) >= LINKS_MAX:
        raise Conflict(f"A list can have at most {LINKS_MAX} links.", code="too_many_links")
    secret = secrets.token_urlsafe(32)
    link = ShareLink(
        list_id=found.id,
        role=role.name,
        secret_hash=_digest(secret),
        expires_at=expires_at,
        created_by=scope.user_id,
    )
    session.add(link)
    await session.commit()
    return link, secret


async def links(session: AsyncSession, found: TaskList) -> list[ShareLink]:
    """The list's links to join it, oldest first."""
    return await _handouts(session, ShareLink, found)


async def revoke_link(session: AsyncSession, found: TaskList, link_id: int) -> None:
    missing = NotFound(f"Link {link_id} was not found.", code="link_not_found")
    await _take_back(session, ShareLink, found, link_id, missing)


async def link_target(session: AsyncSession, secret: str) -> tuple[ShareLink, TaskList]:
    """The link of this secret and its list, while the link is valid."""
    if re.fullmatch(LINK_PATTERN, secret) is None:
        raise _link_not_found()
    link = (
        await session.exec(select(ShareLink).where(col(ShareLink.secret_hash) == _digest(secret)))
    ).one_or_none()
    if link is None or (link.expires_at is not None and link.expires_at <= utcnow()):
        raise _link_not_found()
    shared = await session.get(TaskList, link.list_id)
    if shared is None:
        raise _link_not_found()
    return link, shared


async def join(session: AsyncSession, scope: Scope, secret: str) -> tuple[TaskList, Role]:
    """Join a list through a link, with the link's role. Someone who already sees the list
    keeps the role they have (a link never lowers nor raises one)."""
    link, shared = await link_target(session, secret)
    assert shared.id is not None
    current = scope.role_on(shared.user_id, shared.id)
    if current is not None:
        return shared, current
    try:
        await access.add_member(session, shared, scope.user_id, Role[link.role], added_by=None)
    except Conflict:
        # A parallel join of the same person committed first: they are in.
        return shared, Role[link.role]
    await _record(session, shared, scope.user_id, "added", (None, Role[link.role]))
    await session.commit()
    return shared, Role[link.role]
