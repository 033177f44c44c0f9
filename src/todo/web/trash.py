"""The trash: deleted tasks, each restorable for TRASH_DAYS, deleted for good one by one or
all at once; the Undo of a delete is a restore from here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from todo.core.db import utcnow
from todo.core.deps import SessionDep
from todo.tasks import service as tasks
from todo.tasks.query import decode_cursor
from todo.tasks.schemas import TRASH_DAYS, TrashedTaskRead
from todo.web.common import flash_and_redirect, web_router
from todo.web.deps import Me, is_htmx
from todo.web.forms import read_form
from todo.web.listing import PAGE_SIZE, ListView
from todo.web.page import changed_counts, list_context, list_view
from todo.web.render import render
from todo.web.security import safe_next

router = web_router()
TRASH_URL = "/trash"


@router.get(TRASH_URL)
async def trash_page(
    request: Request,
    session: SessionDep,
    me: Me,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    after = decode_cursor(cursor, sort=tasks.TRASH_SORT, order="desc") if cursor else None
    page = await tasks.list_trash(session, me.scope, now=utcnow(), limit=PAGE_SIZE, after=after)
    # The sidebar as on any other page, with Trash as the place shown.
    context = await changed_counts(session, me, ListView())
    names = {shown.id: shown.name for shown, _ in context["lists"]}
    return render(
        request,
        "tasks/trash.html",
        {
            **context,
            "place": TRASH_URL,
            "flash": me.flash,
            "trashed": [TrashedTaskRead.model_validate(task) for task in page.items],
            "list_names": names,
            "next_cursor": page.next_cursor,
            "cursor": cursor,
            "trash_days": TRASH_DAYS,
            "list_errors": {},
        },
    )


@router.post("/tasks/{task_id:int}/restore")
async def restore_task(request: Request, session: SessionDep, me: Me, task_id: int) -> Response:
    """Undo a delete, from the toast or the trash: the same task comes back, once."""
    form = await read_form(request)
    restored = await tasks.restore_task(session, me.scope, task_id, now=utcnow())
    if is_htmx(request):
        # The toast's Undo on a list page: the list again, with the task back in its place.
        context = await list_context(session, me, list_view(request, form))
        return render(request, "tasks/_region_update.html", context)
    return await flash_and_redirect(
        session, me, f"Restored “{restored.title}”.", safe_next(form.get("next"))
    )


@router.post("/trash/{task_id:int}/delete")
async def delete_forever(request: Request, session: SessionDep, me: Me, task_id: int) -> Response:
    form = await read_form(request)
    await tasks.delete_forever(session, me.scope, task_id, now=utcnow())
    target = safe_next(form.get("next"), TRASH_URL)
    return await flash_and_redirect(session, me, "Deleted the task for good.", target)


@router.post("/trash/empty")
async def empty_trash(request: Request, session: SessionDep, me: Me) -> Response:
    """Delete everything in the trash for good, once the person ticked the box."""
    form = await read_form(request)
    if form.get("confirm") != "yes":
        return await flash_and_redirect(
            session, me, "Tick the box to confirm that the trash is emptied.", TRASH_URL
        )
    gone = await tasks.empty_trash(session, me.user.id)
    message = f"Emptied the trash: {gone} task{'' if gone == 1 else 's'} deleted for good."
    return await flash_and_redirect(session, me, message, TRASH_URL)
