"""What every web route module shares: its router, field labels, redirects."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import RedirectResponse, Response

from todo.accounts import service as accounts
from todo.core.deps import SessionDep
from todo.tasks import service as tasks
from todo.web.deps import Flash, Me, verify_csrf

LABELS = {
    "email": "Email",
    "password": "Password",
    "name": "Name",
    "title": "Title",
    "description": "Notes",
    "current_password": "Current password",
    "new_password": "New password",
    "confirm_email": "Your email address",
    "timezone": "Time zone",
    "tags": "Tags",
    "priority": "Priority",
    "rrule": "Repeat",
    "recurrence_mode": "Count the next date from",
    "remind_at": "Reminder",
    "body": "Comment",
}


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def clock_of(me: Me) -> tasks.Clock:
    return tasks.Clock.of(me.user.timezone)


async def flash_and_redirect(
    session: SessionDep, me: Me, message: str, target: str, *, undo: int | None = None
) -> Response:
    await accounts.set_flash(session, me.session_id, Flash(message, undo).dump())
    return redirect(target)


def web_router() -> APIRouter:
    """A router of the browser app: every request that changes something checks its CSRF token."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
