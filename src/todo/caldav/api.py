"""The API of .ics files: export a list or everything, import a file into a list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from todo.accounts.deps import needs_scopes
from todo.caldav import files
from todo.caldav.schemas import ICS_MEDIA_TYPE, IMPORT_ITEMS_MAX, ImportReport
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.tasks.deps import CallerScope, UserClock

router = APIRouter(prefix="/api/{user_id}", tags=["icalendar"])

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
