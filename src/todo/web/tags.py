"""Tags from the sidebar: rename (or merge), delete."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from todo.core.deps import SessionDep
from todo.tags import service as tags
from todo.tags.schemas import TagUpdate
from todo.web.common import LABELS, flash_and_redirect, web_router
from todo.web.deps import Me
from todo.web.forms import field_errors, read_form
from todo.web.listing import ListView
from todo.web.page import form_failed, owned_tag

router = web_router()


@router.post("/tags/{tag_id}")
async def rename_tag(request: Request, session: SessionDep, me: Me, tag_id: int) -> Response:
    """Rename a tag on every task; a name another tag has merges the two, as the API does."""
    found = await owned_tag(session, me, tag_id)
    old_name = found.name
    form = await read_form(request)
    typed = form.get("name", "")
    try:
        name = TagUpdate.model_validate({"name": typed}).name
    except ValidationError as error:
        return await form_failed(
            request,
            session,
            me,
            ListView(tag_id=tag_id),
            tag_errors=field_errors(error, LABELS),
            tag_name=typed,
        )
    kept = await tags.rename(session, found, name)
    message = (
        f"Renamed the tag to #{kept.name}."
        if kept.id == tag_id
        else f"Merged #{old_name} into #{kept.name}."
    )
    return await flash_and_redirect(session, me, message, ListView(tag_id=kept.id).url())


@router.post("/tags/{tag_id}/delete")
async def delete_tag(request: Request, session: SessionDep, me: Me, tag_id: int) -> Response:
    """Delete a tag once the person ticked the box; its tasks stay, without it."""
    found = await owned_tag(session, me, tag_id)
    form = await read_form(request)
    if form.get("confirm") != "yes":
        errors = {"confirm": "Tick the box to confirm that the tag goes."}
        return await form_failed(request, session, me, ListView(tag_id=tag_id), tag_errors=errors)
    name = found.name
    await tags.delete_tag(session, found)
    return await flash_and_redirect(
        session, me, f"Deleted the tag #{name}; its tasks stay.", ListView().url()
    )
