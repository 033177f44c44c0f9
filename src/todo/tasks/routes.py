from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from todo.accounts.deps import PathUser, domain_scopes
from todo.core import idempotency
from todo.core.deps import SessionDep
from todo.core.errors import Unprocessable
from todo.core.idempotency import IdempotencyKeyHeader
from todo.core.ids import RowId, parse_row_id
from todo.core.schemas import NO_CONTROLS, CalendarDate, Instant, problem_responses
from todo.tasks import hot as hot_tasks
from todo.tasks import service as tasks
from todo.tasks.deps import CallerScope, IfMatch, OwnedTask, UserClock, etag
from todo.tasks.models import Task
from todo.tasks.query import (
    RELEVANCE,
    TaskQuery,
    assignee_filter,
    decode_cursor,
    search_terms,
)
from todo.tasks.schemas import (
    PAGE_DEFAULT,
    PAGE_MAX,
    PRIORITY_VALUE,
    ChildrenMode,
    DueFilter,
    PriorityName,
    QuickAddPreview,
    QuickAddRequest,
    SortKey,
    SortOrder,
    StatusFilter,
    TaskCompletion,
    TaskCreate,
    TaskMove,
    TaskRead,
    TaskUpdate,
    TrashedTaskRead,
)

router = APIRouter(
    prefix="/api/{user_id}/tasks", tags=["tasks"], dependencies=[domain_scopes("tasks")]
)
# A reminder is a task's: reading and dismissing them is reading and changing tasks.
reminders_router = APIRouter(
    prefix="/api/{user_id}/reminders", tags=["reminders"], dependencies=[domain_scopes("tasks")]
)
# The trash holds tasks: listing and emptying it is reading and changing tasks.
trash_router = APIRouter(
    prefix="/api/{user_id}/trash", tags=["trash"], dependencies=[domain_scopes("tasks")]
)

_ERRORS = problem_responses(401, 403, 404, 422)
_TASK_ERRORS = problem_responses(401, 403, 404, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 422)


async def _read(session: SessionDep, response: Response, task: Task) -> TaskRead:
    response.headers["ETag"] = etag(task)
    open_, total = await tasks.children_of(session, task)
    return TaskRead.model_validate(task).model_copy(
        update={"children_open": open_, "children_total": total}
    )


ChildrenParam = Annotated[
    ChildrenMode | None,
    Query(
        description="When completing a task with open subtasks: `complete` completes them "
        "too, `keep` leaves them open. Without it such a completion is a 409 "
        "`open_children` (with their number), so that the client can ask"
    ),
]


def _parent_filter(parent: str | None) -> int | str | None:
    if parent is None or parent == "none":
        return parent
    found = parse_row_id(parent)
    if found is None:
        raise Unprocessable(
            "The request is not valid: parent: must be a task id or none.",
            errors=[{"field": "parent", "in": "query", "reason": "must be a task id or none"}],
        )
    return found


@router.get(
    "",
    summary="List, filter and search tasks",
    description='Every sort pages with a keyset cursor: follow the `Link: <...>; rel="next"` '
    "header. With `q`, results are ranked by relevance unless another sort is asked for.",
    response_model=list[TaskRead],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_tasks(
    request: Request,
    session: SessionDep,
    scope: CallerScope,
    clock: UserClock,
    status_: Annotated[StatusFilter, Query(alias="status")] = "all",
    sort: SortKey | None = None,
    order: SortOrder = "asc",
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words to search for"), NO_CONTROLS
    ] = None,
    list_id: Annotated[RowId | None, Query()] = None,
    tag: Annotated[
        list[Annotated[str, Query(max_length=50), NO_CONTROLS]] | None,
        Query(max_length=10, description="Tasks carrying all of these tags"),
    ] = None,
    priority: Annotated[list[PriorityName] | None, Query(max_length=5)] = None,
    due: Annotated[
        DueFilter | None, Query(description="Relative to today in your time zone")
    ] = None,
    due_from: CalendarDate | None = None,
    due_to: CalendarDate | None = None,
    completed_from: Instant | None = None,
    completed_to: Instant | None = None,
    assignee: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="`me`, `none` (nobody) or a user id: the tasks assigned so",
        ),
        NO_CONTROLS,
    ] = None,
    parent: Annotated[
        str | None,
        Query(
            max_length=20,
            description="Subtasks of this task id only, or `none` for top-level tasks only",
        ),
    ] = None,
) -> Response:
    terms = search_terms(q)
    effective_sort = sort or (RELEVANCE if terms else "created")
    effective_order = order if sort or not terms else "desc"
    after = decode_cursor(cursor, sort=effective_sort, order=effective_order) if cursor else None
    query = TaskQuery(
        status=status_,
        sort=effective_sort,
        order=effective_order,
        limit=limit,
        after=after,
        list_id=list_id,
        tags=tuple(tag or ()),
        priorities=tuple(PRIORITY_VALUE[p] for p in priority or ()),
        due=due,
        due_from=due_from,
        due_to=due_to,
        completed_from=completed_from,
        completed_to=completed_to,
        q=q,
        search_terms=terms,
        today=clock.today,
        now=clock.now,
        **assignee_filter(assignee, scope.user_id),
        parent=_parent_filter(parent),
    )
    page = await hot_tasks.list_tasks(session, scope, query)
    headers = {}
    if page.next_cursor is not None:
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return Response(page.body, media_type="application/json", headers=headers)


def _created(request: Request, user_id: str) -> Callable[[Task], Awaitable[Response]]:
    async def respond(task: Task) -> Response:
        location = request.url_for("get_task", user_id=user_id, task_id=str(task.id))
        return JSONResponse(
            TaskRead.model_validate(task).model_dump(mode="json"),
            status_code=status.HTTP_201_CREATED,
            headers={"Location": str(location), "ETag": etag(task)},
        )

    return respond


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a task",
    response_model=TaskRead,
    responses=_ERRORS,
)
async def create_task(
    request: Request,
    session: SessionDep,
    user: PathUser,
    scope: CallerScope,
    clock: UserClock,
    body: TaskCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return await idempotency.run_once(
        session,
        user_id=user.id,
        key=idempotency_key,
        request_fingerprint=idempotency.fingerprint("create_task", body.model_dump(mode="json")),
        create=lambda hook: tasks.create_task(
            session, scope, body, clock_=clock, before_commit=hook
        ),
        respond=_created(request, user.id),
    )


@router.post(
    "/quick",
    status_code=status.HTTP_201_CREATED,
    summary="Create a task from one line of natural language",
    description="For example `Pay rent every month on the 1st #home !high +Bills` or "
    "`Call Sam tomorrow 5pm`. See the README for the grammar. `list_id`, `tags` and "
    "`due_date` are what the task gets where the text says nothing: a `+List`, a `#tag` or "
    "a date in the text wins. They are checked as in task create (a list must be yours).",
    response_model=TaskRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def quick_add(
    request: Request,
    session: SessionDep,
    user: PathUser,
    scope: CallerScope,
    clock: UserClock,
    body: QuickAddRequest,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return await idempotency.run_once(
        session,
        user_id=user.id,
        key=idempotency_key,
        # A line alone keeps the fingerprint it always had, so a retry across an upgrade
        # is still recognised as the same request.
        request_fingerprint=idempotency.fingerprint(
            "quick_add", body.model_dump(mode="json") if body.has_defaults else body.text
        ),
        create=lambda hook: tasks.quick_add(
            session,
            scope,
            body.text,
            clock_=clock,
            list_id=body.list_id,
            tags=body.tags,
            due_date=body.due_date,
            before_commit=hook,
        ),
        respond=_created(request, user.id),
    )


@router.get(
    "/parse",
    summary="What a quick-add line would create, without creating it",
    responses=problem_responses(401, 403, 422),
)
async def parse_quick_add(
    user: PathUser,
    clock: UserClock,
    text: Annotated[str, Query(min_length=1, max_length=500), NO_CONTROLS],
) -> QuickAddPreview:
    found = tasks.preview(text, clock_=clock)
    parsed = found.parsed
    return QuickAddPreview(
        title=parsed.title,
        list_name=parsed.list_name,
        priority=parsed.priority,
        tags=list(parsed.tags),
        due_date=parsed.due_date
        if parsed.due_at is None
        else parsed.due_at.astimezone(clock.tz).date(),
        due_at=parsed.due_at,
        rrule=parsed.rrule,
        recurrence=found.recurrence,
        spans=[
            {"start": s.start, "end": s.end, "kind": s.kind, "text": s.text} for s in parsed.spans
        ],
    )


@router.get("/{task_id:int}", summary="Get a task", response_model=TaskRead, responses=_TASK_ERRORS)
async def get_task(
    session: SessionDep,
    scope: CallerScope,
    task_id: Annotated[RowId, Path(description="The task's id")],
) -> Response:
    found = await hot_tasks.get_task(session, scope, task_id)
    if found is None:
        raise tasks.task_not_found(task_id)
    return Response(found.body, media_type="application/json", headers={"ETag": found.etag})


@router.put("/{task_id:int}", summary="Update a task", responses=_WRITE_ERRORS)
async def update_task(
    response: Response,
    session: SessionDep,
    task: OwnedTask,
    clock: UserClock,
    body: TaskUpdate,
    if_match: IfMatch,
    scope: CallerScope,
    children: ChildrenParam = None,
) -> TaskRead:
    updated = await tasks.update_task(
        session, task, body, clock_=clock, scope=scope, if_match=if_match, children=children
    )
    return await _read(session, response, updated)


@router.patch(
    "/{task_id:int}/complete",
    summary="Complete or reopen a task",
    description='`{"completed": true|false}` sets the state; an empty body toggles it. '
    "Completing an occurrence of a recurring task creates the next one (with copies of its "
    "subtasks, open). Completing a task with open subtasks needs `?children=complete|keep`: "
    "without it the answer is a 409 `open_children`.",
    responses=_WRITE_ERRORS,
)
async def complete_task(
    response: Response,
    session: SessionDep,
    task: OwnedTask,
    clock: UserClock,
    if_match: IfMatch,
    body: Annotated[TaskCompletion | None, Body()] = None,
    children: ChildrenParam = None,
) -> TaskRead:
    completed = body.completed if body is not None else None
    updated = await tasks.set_completed(
        session, task, completed, clock_=clock, if_match=if_match, children=children
    )
    return await _read(session, response, updated)


@router.post(
    "/{task_id:int}/move",
    summary="Reorder a task, or move it to another list",
    description="A task moved to another list takes its subtasks (all levels) along; a "
    "subtask moved on its own becomes a top-level task there (`parent_id` null).",
    responses=_WRITE_ERRORS,
)
async def move_task(
    response: Response,
    session: SessionDep,
    task: OwnedTask,
    scope: CallerScope,
    body: TaskMove,
    if_match: IfMatch,
) -> TaskRead:
    moved = await tasks.move_task(
        session, task, scope=scope, list_id=body.list_id, after_id=body.after_id, if_match=if_match
    )
    return await _read(session, response, moved)


@router.delete(
    "/{task_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a task: it goes to the trash",
    description="Its subtasks go with it, and come back when it is restored. "
    "The task stays restorable for 30 days (`POST .../restore`, `GET "
    "/api/{user_id}/trash`); honours `If-Match`.",
    responses=_WRITE_ERRORS,
)
async def delete_task(session: SessionDep, task: OwnedTask, if_match: IfMatch) -> Response:
    await tasks.delete_task(session, task, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{task_id:int}/restore",
    summary="Bring a task back from the trash",
    description="The task comes back with its id, list, position and tags. A task that is "
    "not in the trash (never deleted, already restored, or deleted more than 30 days ago) "
    "is a 404 `task_not_found`, so of parallel restores exactly one succeeds.",
    responses=problem_responses(401, 403, 404, 422),
)
async def restore_task(
    response: Response,
    session: SessionDep,
    scope: CallerScope,
    clock: UserClock,
    task_id: Annotated[RowId, Path(description="The task's id")],
) -> TaskRead:
    restored = await tasks.restore_task(session, scope, task_id, now=clock.now)
    return await _read(session, response, restored)


@trash_router.get(
    "",
    summary="The trash: deleted tasks, newest deletion first",
    description="Each stays restorable until its `purge_at`, 30 days after `deleted_at`. "
    'Pages with a keyset cursor: follow the `Link: <...>; rel="next"` header.',
    response_model=list[TrashedTaskRead],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_trash(
    request: Request,
    response: Response,
    session: SessionDep,
    scope: CallerScope,
    clock: UserClock,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> list[TrashedTaskRead]:
    after = decode_cursor(cursor, sort=tasks.TRASH_SORT, order="desc") if cursor else None
    page = await tasks.list_trash(session, scope, now=clock.now, limit=limit, after=after)
    if page.next_cursor is not None:
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return [TrashedTaskRead.model_validate(task) for task in page.items]


@trash_router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Empty the trash: every task in it is deleted for good",
    responses=problem_responses(401, 403),
)
async def empty_trash(session: SessionDep, user: PathUser) -> Response:
    await tasks.empty_trash(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@trash_router.delete(
    "/{task_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a task of the trash for good",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_forever(
    session: SessionDep,
    scope: CallerScope,
    clock: UserClock,
    task_id: Annotated[RowId, Path(description="The task's id")],
) -> Response:
    await tasks.delete_forever(session, scope, task_id, now=clock.now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@reminders_router.get(
    "/due",
    summary="Reminders that have fired and are not dismissed",
    responses=problem_responses(401, 403),
)
async def due_reminders(session: SessionDep, user: PathUser, clock: UserClock) -> list[TaskRead]:
    found = await tasks.due_reminders(session, user.id, now=clock.now)
    return [TaskRead.model_validate(task) for task in found]


@reminders_router.post(
    "/{task_id:int}/dismiss",
    summary="Dismiss a task's reminder",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def dismiss_reminder(response: Response, session: SessionDep, task: OwnedTask) -> TaskRead:
    return await _read(session, response, await tasks.dismiss_reminder(session, task))
