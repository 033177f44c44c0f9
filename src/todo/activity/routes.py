"""The activity of a list or a task, and the live stream of every change (Server-Sent Events)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import AfterValidator
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts import service as accounts
from todo.accounts.deps import PathUser, needs_scopes
from todo.activity import service as activity
from todo.activity.schemas import ACTIVITY_PAGE_DEFAULT, ACTIVITY_PAGE_MAX, ActivityRead
from todo.core import live
from todo.core.db import Database
from todo.core.deps import SessionDep
from todo.core.errors import AppError
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.lists import access
from todo.tasks.deps import OwnedTask
from todo.tasks.lists_routes import ScopedList

router = APIRouter(prefix="/api/{user_id}", tags=["activity"])

Before = Annotated[
    RowId | None, Query(description="An event id from the previous page: older entries")
]
Limit = Annotated[int, Query(ge=1, le=ACTIVITY_PAGE_MAX)]


def _link_next(request: Request, response: Response, page: activity.ActivityPage) -> None:
    if page.next_before is not None:
        url = request.url.include_query_params(before=page.next_before)
        response.headers["Link"] = f'<{url}>; rel="next"'


@router.get(
    "/lists/{list_id}/activity",
    dependencies=[needs_scopes("lists:read")],
    summary="What happened in a list, newest first",
    description='Keyset-paged: follow `Link: <...>; rel="next"` (or pass `before`).',
    responses=problem_responses(401, 403, 404, 422),
)
async def list_activity(
    request: Request,
    response: Response,
    session: SessionDep,
    found: ScopedList,
    before: Before = None,
    limit: Limit = ACTIVITY_PAGE_DEFAULT,
) -> list[ActivityRead]:
    page = await activity.activity(
        session, found.user_id, list_id=found.id, before=before, limit=limit
    )
    _link_next(request, response, page)
    return page.items


@router.get(
    "/tasks/{task_id:int}/activity",
    dependencies=[needs_scopes("tasks:read")],
    summary="A task's history, newest first",
    description='Keyset-paged: follow `Link: <...>; rel="next"` (or pass `before`).',
    responses=problem_responses(401, 403, 404, 422),
)
async def task_activity(
    request: Request,
    response: Response,
    session: SessionDep,
    task: OwnedTask,
    before: Before = None,
    limit: Limit = ACTIVITY_PAGE_DEFAULT,
) -> list[ActivityRead]:
    page = await activity.activity(
        session, task.user_id, task_id=task.id, before=before, limit=limit
    )
    _link_next(request, response, page)
    return page.items


def _resume_point(text: str | None) -> str | None:
    if text is not None:
        live.Cursor.parse(text)
    return text


LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The id of the last message received (an event id, or a stream "
        "position `N,owner:id,...`): the stream resumes after it",
    ),
    AfterValidator(_resume_point),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(
        alias="last_event_id",
        description="As the Last-Event-ID header, for clients that cannot set headers",
    ),
    AfterValidator(_resume_point),
]


@router.get(
    "/events",
    # What streams is every change to tasks, lists and tags.
    dependencies=[needs_scopes("tasks:read", "lists:read", "tags:read")],
    response_class=EventSourceResponse,
    summary="Every change you can see, live (Server-Sent Events)",
    description="Each message: `id` (the event id), `event` (`<resource>.<action>`, such as "
    "`task.updated`) and `data` `{resource, resource_id, list_id, version, action, "
    "actor_id}`, for your own lists and tasks and those of the lists shared with you "
    "(membership changes: `member.added`, `member.updated`, `member.removed`, the list's "
    "id as `resource_id`; yours reach you also when they end your access). "
    "A comment `live` says the stream is listening; `event: reload` says "
    "changes were missed (a resume point older than the events kept): read everything "
    "again. Resume with `Last-Event-ID` (EventSource sends it when it reconnects): the "
    "`id` is a stream position, a plain event id while nothing is shared with you.",
    responses=problem_responses(401, 403, 422),
)
async def event_stream(
    request: Request,
    session: SessionDep,
    user: PathUser,
    last_event_id: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> AsyncIterator[ServerSentEvent]:
    user_id = user.id
    # The stream reads with short sessions of its own: the request's would otherwise hold
    # a pooled connection for as long as the client listens.
    await session.close()
    db: Database = request.app.state.db
    token = request.headers.get("authorization", "").partition(" ")[2].strip()

    async def still_allowed() -> bool:
        # The checks the request passed, again: the token may have been revoked since.
        try:
            async with db.session(write=False) as check:
                if accounts.is_access_token(token):
                    found = (await accounts.resolve_access_token(check, token)).user
                else:
                    claims = await request.app.state.tokens.verify(token)
                    found = await accounts.resolve_token(check, claims)
                return found.id == user_id
        except AppError:
            return False

    async for message in stream_for(
        request, user_id, last_event_id, last_event_id_query, still_allowed
    ):
        yield message


def stream_for(
    request: Request,
    user_id: str,
    last_event_id: str | None,
    last_event_id_query: str | None,
    still_allowed: Callable[[], Awaitable[bool]],
) -> AsyncIterator[ServerSentEvent]:
    """The user's live stream, resumed from the header's id or else the query's (the API's
    and the web app's streams differ only in how they check the caller again)."""

    async def watch(session: AsyncSession) -> live.Visible:
        # The access layer's scope, read again at every read of the stream.
        scope = await access.scope_of(session, user_id)
        visible: dict[str, frozenset[int] | None] = {user_id: None}
        by_owner: dict[str, set[int]] = {}
        for list_id in scope.shared:
            owner = scope.owners.get(list_id)
            if owner is not None and owner != user_id:
                by_owner.setdefault(owner, set()).add(list_id)
        visible.update({owner: frozenset(ids) for owner, ids in by_owner.items()})
        return visible

    return live.stream(
        request.app.state.db,
        request.app.state.hub,
        user_id,
        watch=watch,
        last_event_id=last_event_id if last_event_id is not None else last_event_id_query,
        still_allowed=still_allowed,
    )
