"""Comments on the task page: every member reads them, editors and above add theirs and
edit their own, the author (or the list's admin or owner) deletes one. Plain forms that
post and redirect back; with htmx an edit swaps the one comment in place."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from todo.comments import service as comments
from todo.comments.schemas import CommentRead, CommentWrite
from todo.core.deps import SessionDep
from todo.core.ids import parse_row_id
from todo.tasks.models import Task
from todo.web.common import LABELS, flash_and_redirect, redirect, web_router
from todo.web.deps import Me, OwnedTask, is_htmx, wants_fragment
from todo.web.forms import field_errors, read_form
from todo.web.render import render
from todo.web.tasks import comment_rights, render_task_page

router = web_router()


def _page(task_id: int | None) -> str:
    return f"/tasks/{task_id}#comments"


def _at(task: Task, comment_id: int) -> str:
    return f"/tasks/{task.id}#comment-{comment_id}"


def _one(
    request: Request,
    me: Me,
    task: Task,
    comment: CommentRead,
    *,
    editing: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """One comment of the task page, as htmx swaps it: shown, or as its edit form."""
    context = {
        "user": me.user,
        "task": task,
        "comment": comment,
        **comment_rights(me, task),
        "editing": editing is not None,
        **(editing or {}),
    }
    return render(request, "tasks/_comment.html", context, status_code=status_code)


async def _editing(
    request: Request,
    session: SessionDep,
    me: Me,
    task: Task,
    comment: CommentRead,
    *,
    value: str,
    error: str | None = None,
) -> Response:
    """The edit form of a comment: in place for htmx, else on the whole task page."""
    status_code = 422 if error else 200
    editing = {"comment_value": value, "comment_error": error}
    if wants_fragment(request) or (error and is_htmx(request)):
        return _one(request, me, task, comment, editing=editing, status_code=status_code)
    return await render_task_page(
        request,
        session,
        me,
        task,
        extra={"comment_editing": comment.id, **editing},
        status_code=status_code,
    )


@router.post("/tasks/{task_id:int}/comments")
async def add_comment(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    form = await read_form(request)
    try:
        body = CommentWrite.model_validate({"body": form.get("body", "")})
    except ValidationError as error:
        reason = field_errors(error, LABELS).get("body", "The comment is not valid.")
        return await flash_and_redirect(session, me, reason, _page(task.id))
    await comments.add(session, me.scope, task, body.body)
    return await flash_and_redirect(session, me, "Comment added.", _page(task.id))


@router.get("/tasks/{task_id:int}/comments/{comment_id}")
async def show_comment(
    request: Request, session: SessionDep, me: Me, task: OwnedTask, comment_id: str
) -> Response:
    """One comment as shown (what Cancel on its edit form swaps back)."""
    comment = await comments.comment(session, task, parse_row_id(comment_id) or 0)
    if not wants_fragment(request):
        return redirect(_at(task, comment.id))
    return _one(request, me, task, comment)


@router.get("/tasks/{task_id:int}/comments/{comment_id}/edit")
async def edit_comment_form(
    request: Request, session: SessionDep, me: Me, task: OwnedTask, comment_id: str
) -> Response:
    comment = await comments.editable(session, me.scope, task, parse_row_id(comment_id) or 0)
    return await _editing(request, session, me, task, comment, value=comment.body)


@router.post("/tasks/{task_id:int}/comments/{comment_id}")
async def edit_comment(
    request: Request, session: SessionDep, me: Me, task: OwnedTask, comment_id: str
) -> Response:
    form = await read_form(request)
    typed = form.get("body", "")
    comment = await comments.editable(session, me.scope, task, parse_row_id(comment_id) or 0)
    try:
        body = CommentWrite.model_validate({"body": typed})
    except ValidationError as error:
        reason = field_errors(error, LABELS).get("body", "The comment is not valid.")
        return await _editing(request, session, me, task, comment, value=typed, error=reason)
    saved = await comments.edit(session, me.scope, task, comment.id, body.body)
    if is_htmx(request):
        return _one(request, me, task, saved)
    return await flash_and_redirect(session, me, "Comment saved.", _at(task, saved.id))


@router.post("/tasks/{task_id:int}/comments/{comment_id}/delete")
async def delete_comment(session: SessionDep, me: Me, task: OwnedTask, comment_id: str) -> Response:
    await comments.remove(session, me.scope, task, parse_row_id(comment_id) or 0)
    return await flash_and_redirect(session, me, "Comment deleted.", _page(task.id))
