"""Who is signed in to the browser app, CSRF checks and the tasks a page may touch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.core.deps import READ_METHODS, SessionDep, write_aside
from todo.core.errors import NotFound
from todo.core.ids import ID_MAX
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.tasks import service as tasks
from todo.tasks.models import Task
from todo.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    check_csrf_token,
    check_same_origin,
    session_token,
)


class LoginRequired(Exception):
    """A page needs someone signed in; answered with a trip to the log-in page and back."""


@dataclass(frozen=True)
class Flash:
    """A message for the page after a redirect, with the id of the task its Undo button
    brings back from the trash."""

    message: str
    undo: int | None = None

    def dump(self) -> str:
        return json.dumps({"message": self.message, "undo": self.undo})

    @classmethod
    def load(cls, raw: str) -> Flash | None:
        try:
            data = json.loads(raw)
            undo = data.get("undo")
            # A flash stored before the trash held a whole task to re-create: no Undo then.
            if not isinstance(undo, int) or isinstance(undo, bool):
                undo = None
            return cls(message=str(data["message"]), undo=undo)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_id: str
    flash: Flash | None
    # What the person may see and do, read once for this request (lists/access.py).
    scope: Scope


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_fragment(request: Request) -> bool:
    """An htmx request that swaps part of the page, rather than a whole page load.

    htmx reloads a whole page from the server when history has no copy of it."""
    return is_htmx(request) and request.headers.get("hx-history-restore-request") != "true"


async def _signed_in(request: Request, session: SessionDep) -> SignedIn | None:
    token = session_token(request)
    if token is None:
        return None
    found = await accounts.resolve_web_session(session, token)
    if found is None:
        return None
    session_id = found.session_id
    if found.renew_due:
        await write_aside(request, session, lambda s: accounts.renew_web_session(s, session_id))
    flash = None
    if found.flash is not None and request.method == "GET" and not wants_fragment(request):
        flash = Flash.load(found.flash)
        await write_aside(request, session, lambda s: accounts.set_flash(s, session_id, None))
    scope = await access.scope_of(session, found.user.id)
    # The pages ask it which rows are read-only to this person (render.read_only).
    request.state.scope = scope
    return SignedIn(user=found.user, session_id=session_id, flash=flash, scope=scope)


MaybeSignedIn = Annotated[SignedIn | None, Depends(_signed_in)]


async def _require_signed_in(signed_in: MaybeSignedIn) -> SignedIn:
    if signed_in is None:
        raise LoginRequired
    return signed_in


Me = Annotated[SignedIn, Depends(_require_signed_in)]


async def verify_csrf(request: Request) -> None:
    if request.method in READ_METHODS:
        return
    check_same_origin(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    check_csrf_token(request, sent)


async def _task_in_scope(request: Request, session: SessionDep, me: Me, task_id: int) -> Task:
    if not 1 <= task_id <= ID_MAX:
        raise NotFound(f"Task {task_id} was not found.", code="task_not_found")
    need = Role.viewer if request.method in READ_METHODS else Role.editor
    return await tasks.task_for(session, me.scope, task_id, need)


OwnedTask = Annotated[Task, Depends(_task_in_scope)]
