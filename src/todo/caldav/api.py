"""The API of .ics files: export a list or everything, import a file into a list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from todo.accounts.deps import LOGIN_ONLY, CurrentUser, needs_scopes
from todo.caldav import feeds, files
from todo.caldav.models import CalendarFeed
from todo.caldav.schemas import (
    FEEDS_PER_USER_MAX,
    ICS_MEDIA_TYPE,
    IMPORT_ITEMS_MAX,
    FeedCreate,
    FeedCreated,
    FeedRead,
    ImportReport,
)
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.tasks.deps import CallerScope, UserClock

router = APIRouter(prefix="/api/{user_id}", tags=["icalendar"])
# Feeds are secrets of the account, made and revoked as app passwords are.
feeds_router = APIRouter(prefix="/api/auth", tags=["accounts"])
# The feed itself: its address is the credential, for apps that can send nothing else.
public_router = APIRouter(prefix="/api/feeds", tags=["icalendar"])

_ICS = {"content": {ICS_MEDIA_TYPE: {"schema": {"type": "string"}}}, "description": "iCalendar"}
ListId = Annotated[RowId, Path(description="The list's id")]


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type=f"{ICS_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/tasks.ics",
    summary="Every task you see as one iCalendar file",
    description="The live tasks of every list you own or that is shared with you, each a "
    "VTODO as CalDAV serves it: what a CalDAV client stored that we do not map is in it too.",
    dependencies=[needs_scopes("tasks:read")],
    response_class=Response,
    responses={200: _ICS, **problem_responses(401, 403)},
)
async def export_all(session: SessionDep, scope: CallerScope, clock: UserClock) -> Response:
    return _ics(await files.export(session, scope, list_id=None, clock_=clock), "todo.ics")


@router.get(
    "/lists/{list_id}/tasks.ics",
    summary="A list's tasks as one iCalendar file",
    description="The list's live tasks, each a VTODO as CalDAV serves it (its parent named by "
    "RELATED-TO), the list's name as X-WR-CALNAME.",
    dependencies=[needs_scopes("tasks:read")],
    response_class=Response,
    responses={200: _ICS, **problem_responses(401, 403, 404, 422)},
)
async def export_list(
    session: SessionDep, scope: CallerScope, clock: UserClock, list_id: ListId
) -> Response:
    body = await files.export(session, scope, list_id=list_id, clock_=clock)
    return _ics(body, f"list-{list_id}.ics")


@router.post(
    "/lists/{list_id}/tasks.ics",
    summary="Import an iCalendar file into a list",
    description="The body is the file (`Content-Type: text/calendar`), within the request "
    f"body limit and at most {IMPORT_ITEMS_MAX} tasks. Each task is imported on its own: a bad "
    "one is reported in `errors` and the others go in; one whose UID the account already has "
    "is skipped, so a file imported again adds nothing twice. RELATED-TO makes subtasks of "
    "the file's own tasks and of the list's. With `dry_run` nothing is written.",
    dependencies=[needs_scopes("tasks:write")],
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422),
    openapi_extra={"requestBody": {"required": True, **_ICS}},
)
async def import_list(
    request: Request,
    session: SessionDep,
    scope: CallerScope,
    clock: UserClock,
    list_id: ListId,
    dry_run: Annotated[bool, Query(description="Check the file; change nothing")] = False,
) -> ImportReport:
    return await files.import_file(
        session,
        scope,
        list_id,
        await request.body(),
        media_type=request.headers.get("content-type", ""),
        clock_=clock,
        dry_run=dry_run,
    )


def _feed_read(feed: CalendarFeed) -> FeedRead:
    return FeedRead.model_validate(feed)


def _feed_url(request: Request, key: str) -> str:
    return str(request.url_for("read_feed", secret=key))


@feeds_router.post(
    "/feeds",
    status_code=status.HTTP_201_CREATED,
    summary="Create a secret calendar feed of your dated tasks",
    description="For calendar apps that subscribe to an address (Google Calendar, Apple "
    "Calendar, Outlook): the open tasks with a due date, of one list or of every list you see, "
    "as events. The address is in this answer only; anyone who has it reads the feed until it "
    f"is deleted. At most {FEEDS_PER_USER_MAX} per account. Only a log-in may manage feeds.",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_feed(
    request: Request, session: SessionDep, user: CurrentUser, body: FeedCreate
) -> FeedCreated:
    made = await feeds.create_feed(session, user.id, name=body.name, list_id=body.list_id)
    return FeedCreated(**_feed_read(made.feed).model_dump(), url=_feed_url(request, made.key))


@feeds_router.get(
    "/feeds",
    summary="Your calendar feeds, newest first, without their addresses",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403),
)
async def list_feeds(session: SessionDep, user: CurrentUser) -> list[FeedRead]:
    return [_feed_read(feed) for feed in await feeds.list_feeds(session, user.id)]


@feeds_router.delete(
    "/feeds/{feed_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a calendar feed: its address stops working at once",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_feed(
    session: SessionDep,
    user: CurrentUser,
    feed_id: Annotated[RowId, Path(description="The feed's id")],
) -> Response:
    await feeds.delete_feed(session, user.id, feed_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@public_router.get(
    "/{secret}.ics",
    name="read_feed",
    summary="A calendar feed (its secret address)",
    description="The dated open tasks as VEVENTs (what calendar apps show from a "
    "subscription), or with `component=VTODO` as the VTODOs CalDAV serves. 404 once deleted.",
    response_class=Response,
    responses={200: _ICS, **problem_responses(404, 422)},
)
async def read_feed(
    session: SessionDep,
    secret: Annotated[str, Path(max_length=80, description="The feed's id and secret")],
    component: Annotated[
        feeds.Component, Query(description="VEVENT (the default) or VTODO")
    ] = "VEVENT",
) -> Response:
    body = await feeds.serve(session, secret, component=component)
    return Response(
        body,
        media_type=f"{ICS_MEDIA_TYPE}; charset=utf-8",
        # Never kept along the way: a deleted feed must stop at once.
        headers={"Cache-Control": "no-store"},
    )
