from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status

from todo.accounts.deps import PathUser
from todo.core.deps import SessionDep
from todo.core.schemas import problem_responses
from todo.tasks import service as tasks
from todo.tasks.deps import IfMatch, OwnedTask, etag
from todo.tasks.models import Task
from todo.tasks.query import TaskQuery, decode_cursor
from todo.tasks.schemas import (
    PAGE_DEFAULT,
    PAGE_MAX,
    SortKey,
    SortOrder,
    StatusFilter,
    TaskCompletion,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)

router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"])

_ERRORS = problem_responses(401, 403, 422)
_TASK_ERRORS = problem_responses(401, 403, 404, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 422)


def _read(response: Response, task: Task) -> TaskRead:
    response.headers["ETag"] = etag(task)
    return TaskRead.model_validate(task)


@router.get(
    "",
    summary="List tasks",
    responses=problem_responses(400, 401, 403, 422),
    response_description="A page of tasks; a Link header with rel=next points to the next one",
)
async def list_tasks(
    request: Request,
    response: Response,
    session: SessionDep,
    user: PathUser,
    status_: Annotated[StatusFilter, Query(alias="status")] = "all",
    sort: SortKey = "created",
    order: SortOrder = "asc",
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> list[TaskRead]:
    after = decode_cursor(cursor, sort=sort, order=order) if cursor else None
    query = TaskQuery(status=status_, sort=sort, order=order, limit=limit, after=after)
    page = await tasks.list_tasks(session, user.id, query)
    if page.next_cursor is not None:
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return [TaskRead.model_validate(task) for task in page.items]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a task", responses=_ERRORS)
async def create_task(
    request: Request, response: Response, session: SessionDep, user: PathUser, body: TaskCreate
) -> TaskRead:
    task = await tasks.create_task(session, user.id, body)
    response.headers["Location"] = str(
        request.url_for("get_task", user_id=user.id, task_id=str(task.id))
    )
    return _read(response, task)


@router.get("/{task_id}", summary="Get a task", responses=_TASK_ERRORS)
async def get_task(response: Response, task: OwnedTask) -> TaskRead:
    return _read(response, task)


@router.put("/{task_id}", summary="Update a task", responses=_WRITE_ERRORS)
async def update_task(
    response: Response, session: SessionDep, task: OwnedTask, body: TaskUpdate, if_match: IfMatch
) -> TaskRead:
    return _read(response, await tasks.update_task(session, task, body, if_match=if_match))


@router.patch(
    "/{task_id}/complete",
    summary="Complete or reopen a task",
    description='`{"completed": true|false}` sets the state; an empty body toggles it.',
    responses=_WRITE_ERRORS,
)
async def complete_task(
    response: Response,
    session: SessionDep,
    task: OwnedTask,
    if_match: IfMatch,
    body: Annotated[TaskCompletion | None, Body()] = None,
) -> TaskRead:
    completed = body.completed if body is not None else None
    return _read(response, await tasks.set_completed(session, task, completed, if_match=if_match))


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a task",
    responses=_WRITE_ERRORS,
)
async def delete_task(session: SessionDep, task: OwnedTask, if_match: IfMatch) -> Response:
    await tasks.delete_task(session, task, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
