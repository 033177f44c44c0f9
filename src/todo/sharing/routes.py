"""The sharing API: a list's members, invitations and links, and joining through a link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from todo.accounts.deps import domain_scopes
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.lists.models import TaskList
from todo.sharing import service as sharing
from todo.sharing.models import Invitation, ShareLink
from todo.sharing.schemas import (
    InvitationRead,
    Joined,
    LinkCreate,
    LinkRead,
    LinkSecret,
    MemberAdd,
    MemberRead,
    MemberUpdate,
    UserBrief,
)
from todo.tasks.deps import CallerScope

# Members and links are the lists' own: reading them needs lists:read, changing them (and
# joining by a link) lists:write.
router = APIRouter(prefix="/api/{user_id}", tags=["sharing"], dependencies=[domain_scopes("lists")])

ListId = Annotated[RowId, Path(description="The list's id")]
MemberId = Annotated[str, Path(max_length=64, description="The member's user id")]


def _list_needing(need: Role) -> Callable[..., Awaitable[TaskList]]:
    async def dependency(session: SessionDep, scope: CallerScope, list_id: ListId) -> TaskList:
        return await access.list_for(session, scope, list_id, need)

    return dependency


Viewed = Annotated[TaskList, Depends(_list_needing(Role.viewer))]
Administered = Annotated[TaskList, Depends(_list_needing(Role.admin))]
Owned = Annotated[TaskList, Depends(_list_needing(Role.owner))]


def _member(found: sharing.Member) -> MemberRead:
    user = found.user
    return MemberRead(
        user=UserBrief(id=user.id, name=user.name, email=user.email),
        role=found.role.name,
        added_at=found.added_at,
    )


def _invitation(found: Invitation) -> InvitationRead:
    assert found.id is not None
    return InvitationRead.model_validate(found, from_attributes=True)


def _link(found: ShareLink, url: str | None = None) -> LinkRead:
    assert found.id is not None
    return LinkRead.model_validate({**found.model_dump(), "url": url})


@router.get(
    "/lists/{list_id}/members",
    summary="Who sees a list, the owner first",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_members(session: SessionDep, found: Viewed) -> list[MemberRead]:
    return [_member(each) for each in await sharing.members(session, found)]


@router.post(
    "/lists/{list_id}/members",
    status_code=status.HTTP_201_CREATED,
    summary="Share a list with someone by email",
    description="201 with the member when the address has an account; 202 with a pending "
    "invitation when it has none yet (it becomes a membership when the address signs up). "
    "Needs the admin role.",
    response_model=MemberRead | InvitationRead,
    responses={
        202: {"model": InvitationRead, "description": "Invited: no account has this address"},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def add_member(
    response: Response,
    session: SessionDep,
    scope: CallerScope,
    found: Administered,
    body: MemberAdd,
) -> MemberRead | InvitationRead:
    added = await sharing.add(session, scope, found, email=body.email, role=Role[body.role])
    if isinstance(added, Invitation):
        response.status_code = status.HTTP_202_ACCEPTED
        return _invitation(added)
    return _member(added)


@router.patch(
    "/lists/{list_id}/members/{member_user_id}",
    summary="Change a member's role",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def change_role(
    session: SessionDep, found: Administered, member_user_id: MemberId, body: MemberUpdate
) -> MemberRead:
    return _member(await sharing.change_role(session, found, member_user_id, Role[body.role]))


@router.delete(
    "/lists/{list_id}/members/{member_user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member, or leave a list (your own id)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def remove_member(
    session: SessionDep, scope: CallerScope, found: Viewed, member_user_id: MemberId
) -> Response:
    await sharing.remove(session, scope, found, _me(scope, member_user_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _me(scope: Scope, member_user_id: str) -> str:
    return scope.user_id if member_user_id == "me" else member_user_id


@router.post(
    "/lists/{list_id}/members/{member_user_id}/make-owner",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Hand the list and all its tasks over to a member",
    description="Only the owner may. The old owner stays on as an admin; the tasks' tags "
    "become the new owner's tags of the same names.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def make_owner(session: SessionDep, found: Owned, member_user_id: MemberId) -> Response:
    await sharing.make_owner(session, found, member_user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/lists/{list_id}/invitations",
    summary="A list's pending invitations (addresses without an account yet)",
    description="Needs the admin role.",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_invitations(session: SessionDep, found: Administered) -> list[InvitationRead]:
    return [_invitation(each) for each in await sharing.invitations(session, found)]


@router.delete(
    "/lists/{list_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Cancel a pending invitation",
    description="Needs the admin role. The address no longer joins the list when it signs up.",
    responses=problem_responses(401, 403, 404, 422),
)
async def cancel_invitation(
    session: SessionDep,
    found: Administered,
    invitation_id: Annotated[RowId, Path(description="The invitation's id")],
) -> Response:
    await sharing.cancel_invitation(session, found, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/lists/{list_id}/links",
    summary="A list's links to join it",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_links(session: SessionDep, found: Administered) -> list[LinkRead]:
    return [_link(each) for each in await sharing.links(session, found)]


@router.post(
    "/lists/{list_id}/links",
    status_code=status.HTTP_201_CREATED,
    summary="Make a link that lets anyone signed in join the list with a role",
    description="The answer's `url` is the only time the link is shown: it is kept hashed.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_link(
    request: Request, session: SessionDep, scope: CallerScope, found: Administered, body: LinkCreate
) -> LinkRead:
    link, secret = await sharing.create_link(
        session, scope, found, role=Role[body.role], expires_at=body.expires_at
    )
    return _link(link, str(request.base_url) + f"join/{secret}")


@router.delete(
    "/lists/{list_id}/links/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a link",
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_link(
    session: SessionDep,
    found: Administered,
    link_id: Annotated[RowId, Path(description="The link's id")],
) -> Response:
    await sharing.revoke_link(session, found, link_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/links/{secret}/join",
    summary="Join a list through a link",
    description="Someone who already sees the list keeps their role.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def join(
    session: SessionDep,
    scope: CallerScope,
    secret: Annotated[LinkSecret, Path(description="The secret at the end of the link")],
) -> Joined:
    shared, role = await sharing.join(session, scope, secret)
    assert shared.id is not None
    return Joined(list_id=shared.id, name=shared.name, role=role.name)
