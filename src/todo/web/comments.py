"""Comments on the task page: every member reads them, editors and above add theirs, the
author (or the list's admin or owner) deletes one. Plain forms that post and redirect back."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from todo.comments import service as comments
from todo.comments.schemas import CommentWrite
from todo.core.deps import SessionDep
from todo.core.ids import parse_row_id
from todo.web.common import LABELS, flash_and_redirect, web_router
from todo.web.deps import Me, OwnedTask
from todo.web.forms import field_errors, read_form

router = web_router()


def _page(task_id: int | None) -> str:
    return f"/tasks/{task_id}#comments"


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


@router.post("/tasks/{task_id:int}/comments/{comment_id}/delete")
async def delete_comment(session: SessionDep, me: Me, task: OwnedTask, comment_id: str) -> Response:
    await comments.remove(session, me.scope, task, parse_row_id(comment_id) or 0)
    return await flash_and_redirect(session, me, "Comment deleted.", _page(task.id))
