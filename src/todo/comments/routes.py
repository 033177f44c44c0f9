from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from todo.accounts.deps import domain_scopes
from todo.comments import service as comments
from todo.comments.schemas import (
    COMMENTS_PAGE_DEFAULT,
    COMMENTS_PAGE_MAX,
    CommentRead,
    CommentWrite,
)
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.tasks.deps import CallerScope, OwnedTask

# Comments are part of a task: reading them is reading tasks, writing them is writing tasks.
router = APIRouter(
    prefix="/api/{user_id}/tasks/{task_id:int}/comments",
    tags=["comments"],
    dependencies=[domain_scopes("tasks")],
)

CommentId = Annotated[RowId, Path(description="The comment's id")]


@router.get(
    "",
    summary="A task's comments, oldest first",
    description="Every member of the task's list reads them. Keyset-paged: follow "
    '`Link: <...>; rel="next"` (or pass `after`, the last id you have).',
    responses=problem_responses(401, 403, 404, 422),
)
async def list_comments(
    request: Request,
    response: Response,
    session: SessionDep,
    task: OwnedTask,
    after: Annotated[RowId | None, Query(description="Comments after this id")] = None,
    limit: Annotated[int, Query(ge=1, le=COMMENTS_PAGE_MAX)] = COMMENTS_PAGE_DEFAULT,
) -> list[CommentRead]:
    page = await comments.comments(session, task, after=after, limit=limit)
    if page.next_after is not None:
        url = request.url.include_query_params(after=page.next_after)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return page.items


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a task",
    description="Editors, admins and the owner comment; a viewer reads only (403).",
    responses=problem_responses(401, 403, 404, 422),
)
async def add_comment(
    session: SessionDep, scope: CallerScope, task: OwnedTask, body: CommentWrite
) -> CommentRead:
    return await comments.add(session, scope, task, body.body)


@router.patch(
    "/{comment_id:int}",
    summary="Change the text of your comment",
    responses=problem_responses(401, 403, 404, 422),
)
async def edit_comment(
    session: SessionDep,
    scope: CallerScope,
    task: OwnedTask,
    comment_id: CommentId,
    body: CommentWrite,
) -> CommentRead:
    return await comments.edit(session, scope, task, comment_id, body.body)


@router.delete(
    "/{comment_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a comment: your own, or any as the list's admin or owner",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_comment(
    session: SessionDep, scope: CallerScope, task: OwnedTask, comment_id: CommentId
) -> Response:
    await comments.remove(session, scope, task, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
