"""The Share panel of a list (members, invitations, links, leaving) and joining by a link."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from todo.core.deps import SessionDep
from todo.core.errors import AppError, Conflict, NotFound, Unprocessable
from todo.lists import access
from todo.lists.access import Role
from todo.lists.models import TaskList
from todo.sharing import service as sharing
from todo.sharing.schemas import LinkCreate, MemberAdd, MemberUpdate
from todo.web.common import flash_and_redirect, redirect, web_router
from todo.web.deps import Me
from todo.web.forms import read_form
from todo.web.listing import ListView
from todo.web.render import render

router = web_router()

# What a form tells the person in a message; a role too low (403) or a list out of sight
# (404 from list_for) is an error page, as on every other page.
_REFUSALS = (Conflict, NotFound, Unprocessable)
ROLE_LABELS = {"viewer": "Can view", "editor": "Can edit", "admin": "Admin", "owner": "Owner"}


async def share_context(session: SessionDep, me: Me, shown: TaskList | None) -> dict[str, Any]:
    """What the Share panel of the list on the page shows (nothing for the Inbox)."""
    if shown is None or shown.is_inbox or shown.id is None:
        return {"share": None}
    role = me.scope.role_on(shown.user_id, shown.id) or Role.owner
    return {
        "share": {
            "role": role.name,
            "admin": role >= Role.admin,
            "members": await sharing.members(session, shown),
            "links": await sharing.links(session, shown) if role >= Role.admin else [],
            "invitations": await sharing.invitations(session, shown) if role >= Role.admin else [],
            "roles": ROLE_LABELS,
        }
    }


def _back(list_id: int) -> str:
    return ListView(list_id=list_id).url()


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        reasons = [str(entry.get("msg", "")) for entry in error.errors()]
        return "Not shared: " + (reasons[0] if reasons else "check the form") + "."
    assert isinstance(error, AppError)
    return error.detail


@router.post("/lists/{list_id}/members")
async def add_member(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    form = await read_form(request)
    try:
        body = MemberAdd.model_validate(
            {"email": form.get("email", ""), "role": form.get("role", "editor")}
        )
        added = await sharing.add(session, me.scope, found, email=body.email, role=Role[body.role])
    except (ValidationError, *_REFUSALS) as error:
        return await flash_and_redirect(session, me, _problem(error), _back(list_id))
    message = (
        f"Shared with {added.user.name or added.user.email}."
        if isinstance(added, sharing.Member)
        else f"Invited {added.email}: the list is shared once they sign up."
    )
    return await flash_and_redirect(session, me, message, _back(list_id))


@router.post("/lists/{list_id}/members/{member_user_id}")
async def change_role(
    request: Request, session: SessionDep, me: Me, list_id: int, member_user_id: str
) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    form = await read_form(request)
    try:
        body = MemberUpdate.model_validate({"role": form.get("role", "")})
        await sharing.change_role(session, found, member_user_id, Role[body.role])
    except (ValidationError, *_REFUSALS) as error:
        return await flash_and_redirect(session, me, _problem(error), _back(list_id))
    return redirect(_back(list_id))


@router.post("/lists/{list_id}/members/{member_user_id}/remove")
async def remove_member(session: SessionDep, me: Me, list_id: int, member_user_id: str) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.viewer)
    leaving = member_user_id == me.user.id
    try:
        await sharing.remove(session, me.scope, found, member_user_id)
    except _REFUSALS as error:
        return await flash_and_redirect(session, me, _problem(error), _back(list_id))
    if leaving:
        return await flash_and_redirect(session, me, f"You left “{found.name}”.", "/")
    return await flash_and_redirect(session, me, "Removed from the list.", _back(list_id))


@router.post("/lists/{list_id}/links")
async def create_link(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    form = await read_form(request)
    try:
        body = LinkCreate.model_validate({"role": form.get("role", "viewer")})
        _, secret = await sharing.create_link(
            session, me.scope, found, role=Role[body.role], expires_at=None
        )
    except (ValidationError, *_REFUSALS) as error:
        return await flash_and_redirect(session, me, _problem(error), _back(list_id))
    url = str(request.base_url) + f"join/{secret}"
    message = f"Link made; copy it now, it is shown only once: {url}"
    return await flash_and_redirect(session, me, message, _back(list_id))


@router.post("/lists/{list_id}/links/{link_id}/revoke")
async def revoke_link(session: SessionDep, me: Me, list_id: int, link_id: int) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    try:
        await sharing.revoke_link(session, found, link_id)
    except _REFUSALS as error:
        return await flash_and_redirect(session, me, _problem(error), _back(list_id))
    return await flash_and_redirect(session, me, "Link revoked.", _back(list_id))


@router.get("/join/{secret}")
async def join_page(request: Request, session: SessionDep, me: Me, secret: str) -> Response:
    """Who shares what with which role, and a button: opening a link joins nothing by itself
    (a link preview or a prefetch must not make anyone a member)."""
    link, shared = await sharing.link_target(session, secret)
    assert shared.id is not None
    current = me.scope.role_on(shared.user_id, shared.id)
    return render(
        request,
        "sharing/join.html",
        {
            "user": me.user,
            "shared": shared,
            "role": ROLE_LABELS[link.role],
            "already": current is not None,
            "secret": secret,
            "flash": None,
        },
    )


@router.post("/join/{secret}")
async def join(session: SessionDep, me: Me, secret: str) -> Response:
    shared, _ = await sharing.join(session, me.scope, secret)
    assert shared.id is not None
    return await flash_and_redirect(session, me, f"You joined “{shared.name}”.", _back(shared.id))


@router.post("/lists/{list_id}/invitations/{invitation_id}/cancel")
async def cancel_invitation(
    session: SessionDep, me: Me, list_id: int, invitation_id: int
) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    try:
        await sharing.cancel_invitation(session, found, invitation_id)
    except _REFUSALS as error:
        return await flash_and_redirect(session, me, _problem(error), _back(list_id))
    return await flash_and_redirect(session, me, "Invitation cancelled.", _back(list_id))


@router.post("/lists/{list_id}/members/{member_user_id}/owner")
async def make_owner(
    request: Request, session: SessionDep, me: Me, list_id: int, member_user_id: str
) -> Response:
    """Hand the list over, once the owner ticked that they mean it: it cannot be undone by
    them (the new owner decides from then on)."""
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    form = await read_form(request)
    if found.user_id != me.user.id:
        # An admin (or the owner of a moment ago, whose hand-over just went through).
        message = "Only the list's owner can hand it over."
        return await flash_and_redirect(session, me, message, _back(list_id))
    if form.get("confirm") != "yes":
        message = "Not handed over: tick the box to confirm you give the list away."
        return await flash_and_redirect(session, me, message, _back(list_id))
    try:
        await sharing.make_owner(session, found, member_user_id)
    except _REFUSALS as error:
        return await flash_and_redirect(session, me, _problem(error), _back(list_id))
    return await flash_and_redirect(
        session,
        me,
        f"“{found.name}” now belongs to its new owner; you are an admin.",
        _back(list_id),
    )
