"""The access layer: what a caller may see and do, as SQL conditions every door uses.

A list belongs to its owner (the list's user_id) and may be shared with members, each with a
role. A request reads the caller's memberships once (`scope_of`) and scopes every query with
them: rows outside the scope are never fetched, so a missing row and someone else's give the
same 404; a visible row the caller's role may not change is a 403. Nothing is cached beyond
the request, so a removed member loses access on their next request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core import events, hot
from todo.core.db import utcnow
from todo.core.errors import Conflict, Forbidden, NotFound
from todo.core.ids import ID_MAX
from todo.core.ordering import key_between
from todo.lists.models import ListMember, TaskList


class Role(IntEnum):
    """Ordered: each role may do all that the ones below it may."""

    viewer = 1  # reads the list and its tasks
    editor = 2  # adds, edits, completes, moves and deletes tasks
    admin = 3  # also renames or deletes the list, manages members and links
    owner = 4  # the list's user_id: an admin who cannot be removed, hands ownership over


MEMBER_ROLES = (Role.viewer, Role.editor, Role.admin)


@dataclass(frozen=True)
class Scope:
    """The caller and the lists shared with them (list id -> role, and -> its owner), for
    one request."""

    user_id: str
    shared: Mapping[int, Role]
    owners: Mapping[int, str] = field(default_factory=dict)

    def visible(self, owner: Any, list_id: Any) -> ColumnElement[bool]:
        """Rows of the caller's own or of a list shared with them. With nothing shared it is
        the plain owner condition, so the per-user indexes serve it as before. A shared
        list is named with its owner, (user_id, list_id), which the indexes with user_id
        first answer (a bare list_id has no index of its own)."""
        mine: ColumnElement[bool] = owner == self.user_id
        if not self.shared:
            return mine
        others = [
            and_(owner == someone, list_id.in_(ids)) if someone else list_id.in_(ids)
            for someone, ids in self._groups()
        ]
        return or_(mine, *others)

    def _groups(self) -> list[tuple[str, list[int]]]:
        by_owner: dict[str, list[int]] = {}
        for shared_id in sorted(self.shared):
            by_owner.setdefault(self.owners.get(shared_id, ""), []).append(shared_id)
        return sorted(by_owner.items())

    def bound(self) -> tuple[tuple[tuple[bool, int], ...], dict[str, Any]]:
        """For a hot statement (core/hot.py): the shape of `visible` (per owner of shared
        lists, whether the owner is known and how many lists) and its parameters."""
        params: dict[str, Any] = {"scope_user": self.user_id}
        shape = []
        for group, (someone, ids) in enumerate(self._groups()):
            shape.append((bool(someone), len(ids)))
            params[f"scope_owner_{group}"] = someone
            for index, shared_id in enumerate(ids):
                params[f"scope_list_{group}_{index}"] = shared_id
        return tuple(shape), params

    @staticmethod
    def visible_bound(
        shape: tuple[tuple[bool, int], ...], owner: Any, list_id: Any
    ) -> ColumnElement[bool]:
        """`visible` with named parameters in place of the values, built from the shape
        alone, so that one compiled statement serves every caller of that shape."""
        mine: ColumnElement[bool] = owner == bindparam("scope_user")
        others = []
        for group, (known, size) in enumerate(shape):
            ids = list_id.in_([bindparam(f"scope_list_{group}_{i}") for i in range(size)])
            others.append(and_(owner == bindparam(f"scope_owner_{group}"), ids) if known else ids)
        return or_(mine, *others) if others else mine

    def role_on(self, owner: str, list_id: int) -> Role | None:
        if owner == self.user_id:
            return Role.owner
        return self.shared.get(list_id)


# Read at the start of every request that shows or changes tasks: a hot statement.
_MEMBERSHIPS = hot.Statement(
    lambda _dialect, _shape: (
        select(ListMember.list_id, ListMember.role, TaskList.user_id)
        .join(TaskList, col(TaskList.id) == col(ListMember.list_id))
        .where(col(ListMember.user_id) == bindparam("user_id"))
    )
)


async def scope_of(session: AsyncSession, user_id: str) -> Scope:
    """One query: the caller's member rows (the index with user_id first answers it). The
    session's writes are the caller's from here on (the events log names them)."""
    events.acting_for(session, user_id)
    rows = await hot.fetch(session, _MEMBERSHIPS, {"user_id": user_id})
    return Scope(
        user_id=user_id,
        shared={list_id: Role[role] for list_id, role, _ in rows},
        owners={list_id: owner for list_id, _, owner in rows},
    )


def own(user_id: str) -> Scope:
    """A scope of the user's own rows only (background work, imports, tests)."""
    return Scope(user_id=user_id, shared={})


def list_not_found(list_id: int) -> NotFound:
    return NotFound(f"List {list_id} was not found.", code="list_not_found")


def forbidden_role(need: Role) -> Forbidden:
    return Forbidden(
        f"Your role on this list does not allow this: it needs {need.name}.",
        code="forbidden_role",
    )


def check_role(role: Role, need: Role) -> None:
    if role < need:
        raise forbidden_role(need)


async def confirm(
    session: AsyncSession, scope: Scope, owner: str, list_id: int, need: Role
) -> Role:
    """The caller's role on a list, checked against `need`. For a write into someone else's
    list the member row is read again and held (FOR SHARE) until the commit: a removal or a
    demotion that commits first makes this a 404 or 403; one that comes later waits for this
    write, so no write of a removed member lands after their removal."""
    role = scope.role_on(owner, list_id)
    if role is None:
        raise list_not_found(list_id)
    if role is not Role.owner and need > Role.viewer:
        held = (
            await session.exec(
                select(ListMember.role)
                .where(col(ListMember.list_id) == list_id, col(ListMember.user_id) == scope.user_id)
                .with_for_update(read=True)
            )
        ).one_or_none()
        if held is None:
            raise list_not_found(list_id)
        role = Role[held]
    check_role(role, need)
    return role


async def list_for(
    session: AsyncSession, scope: Scope, list_id: int, need: Role, *, lock: bool = False
) -> TaskList:
    """The list, when the caller sees it (404 otherwise) and their role is at least `need`
    (403 otherwise). `lock` holds it (FOR KEY SHARE) until the commit, for a write into it."""
    if not 1 <= list_id <= ID_MAX:
        raise list_not_found(list_id)
    statement = select(TaskList).where(
        scope.visible(col(TaskList.user_id), col(TaskList.id)), col(TaskList.id) == list_id
    )
    if lock:
        statement = statement.with_for_update(key_share=True)
    found = (await session.exec(statement)).one_or_none()
    if found is None:
        raise list_not_found(list_id)
    await confirm(session, scope, found.user_id, list_id, need)
    return found


async def shared_lists(session: AsyncSession, scope: Scope) -> Sequence[TaskList]:
    """The lists others share with the caller, by name."""
    if not scope.shared:
        return []
    result = await session.exec(
        select(TaskList)
        .where(col(TaskList.id).in_(sorted(scope.shared)), col(TaskList.user_id) != scope.user_id)
        .order_by(col(TaskList.name), col(TaskList.id))
    )
    return result.all()


async def member_counts(session: AsyncSession, list_ids: Sequence[int]) -> dict[int, int]:
    """How many people see each list, its owner included (1 for a list nobody shares)."""
    if not list_ids:
        return {}
    rows = (
        await session.exec(
            select(col(ListMember.list_id), count())
            .where(col(ListMember.list_id).in_(list_ids))
            .group_by(col(ListMember.list_id))
        )
    ).all()
    found = dict(rows)
    return {list_id: found.get(list_id, 0) + 1 for list_id in list_ids}


async def members_of(session: AsyncSession, list_id: int) -> Sequence[ListMember]:
    result = await session.exec(
        select(ListMember)
        .where(col(ListMember.list_id) == list_id)
        .order_by(col(ListMember.added_at), col(ListMember.user_id))
    )
    return result.all()


async def member(session: AsyncSession, list_id: int, user_id: str) -> ListMember | None:
    result = await session.exec(
        select(ListMember)
        .where(col(ListMember.list_id) == list_id, col(ListMember.user_id) == user_id)
        .with_for_update()
    )
    return result.one_or_none()


def _already_member() -> Conflict:
    return Conflict("This person already has access to the list.", code="already_member")


def not_shared_inbox() -> Conflict:
    return Conflict("The Inbox is never shared.", code="inbox_not_shared")


async def add_member(
    session: AsyncSession, found: TaskList, user_id: str, role: Role, *, added_by: str | None
) -> ListMember:
    """Share a list with someone; the caller commits. The owner or a member already there
    is a 409, also when parallel requests add the same person (the primary key decides)."""
    if found.is_inbox:
        raise not_shared_inbox()
    if user_id == found.user_id:
        raise _already_member()
    assert found.id is not None
    row = ListMember(list_id=found.id, user_id=user_id, role=role.name, added_by=added_by)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise _already_member() from None
    return row


async def set_role(session: AsyncSession, row: ListMember, role: Role) -> None:
    row.role = role.name
    session.add(row)
    await session.flush()


async def remove_member(session: AsyncSession, list_id: int, user_id: str) -> bool:
    result = await session.exec(
        delete(ListMember).where(
            col(ListMember.list_id) == list_id, col(ListMember.user_id) == user_id
        )
    )
    return bool(result.rowcount)


async def hand_over_list(session: AsyncSession, found: TaskList, new_owner: str) -> None:
    """Make a member the list's owner (their row goes, the old owner becomes an admin) and
    place the list last among the new owner's; the caller moves the tasks and commits."""
    assert found.id is not None
    old_owner = found.user_id
    await remove_member(session, found.id, new_owner)
    last = (
        await session.exec(
            select(TaskList.position)
            .where(col(TaskList.user_id) == new_owner)
            .order_by(col(TaskList.position).desc())
            .limit(1)
        )
    ).first()
    try:
        async with session.begin_nested():
            await session.exec(
                update(TaskList)
                .where(col(TaskList.id) == found.id, col(TaskList.user_id) == old_owner)
                .values(user_id=new_owner, position=key_between(last, None), updated_at=utcnow())
            )
    except IntegrityError:
        raise Conflict(
            f"The new owner already has a list named “{found.name}”.", code="list_name_taken"
        ) from None
    session.add(
        ListMember(list_id=found.id, user_id=old_owner, role=Role.admin.name, added_by=new_owner)
    )
    await session.flush()
    await session.refresh(found)
