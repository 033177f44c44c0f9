"""Lists from the sidebar: create, rename, delete."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from todo.core.deps import SessionDep
from todo.core.errors import Conflict
from todo.lists import access
from todo.lists import service as lists
from todo.lists.access import Role
from todo.lists.schemas import DeleteMode, ListCreate
from todo.tasks import service as tasks
from todo.web.common import LABELS, flash_and_redirect, redirect, web_router
from todo.web.deps import Me
from todo.web.forms import FieldErrors, field_errors, read_form
from todo.web.listing import ListView
from todo.web.page import form_failed

router = web_router()


async def _failed(request: Request, session: SessionDep, me: Me, errors: FieldErrors) -> Response:
    """The page the form was sent from, with why the list form failed."""
    view = ListView.from_url(request.headers.get("referer"))
    return await form_failed(request, session, me, view, list_errors=errors)


def _list_name(form: dict[str, str]) -> str:
    return ListCreate.model_validate({"name": form.get("name", "")}).name


@router.post("/lists")
async def create_list(request: Request, session: SessionDep, me: Me) -> Response:
    form = await read_form(request)
    try:
        created = await lists.create_list(session, me.user.id, name=_list_name(form))
    except ValidationError as error:
        return await _failed(request, session, me, field_errors(error, LABELS))
    except Conflict as error:
        return await _failed(request, session, me, {"name": error.detail})
    return redirect(ListView(list_id=created.id).url())


@router.post("/lists/{list_id}")
async def rename_list(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    form = await read_form(request)
    try:
        await lists.update_list(session, found, changes={"name": _list_name(form)})
    except ValidationError as error:
        return await _failed(request, session, me, field_errors(error, LABELS))
    except Conflict as error:
        return await _failed(request, session, me, {"name": error.detail})
    return redirect(ListView(list_id=list_id).url())


@router.post("/lists/{list_id}/delete")
async def delete_list(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    found = await access.list_for(session, me.scope, list_id, Role.admin)
    form = await read_form(request)
    modes: dict[str, DeleteMode] = {"move": "move", "delete": "delete"}
    mode = modes.get(form.get("tasks", ""))
    if mode is None:
        errors = {"name": "Choose what happens to the list's tasks."}
        return await _failed(request, session, me, errors)
    name = found.name
    try:
        await tasks.delete_list(session, found, tasks=mode)
    except Conflict as error:
        return await _failed(request, session, me, {"name": error.detail})
    return await flash_and_redirect(session, me, f"Deleted the list “{name}”.", "/")
