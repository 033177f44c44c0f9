"""Download all your data: the backup of one account, through the API."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from todo.accounts.deps import CurrentUser, needs_scopes
from todo.backup import service as backup
from todo.core.deps import SessionDep
from todo.core.schemas import problem_responses

# Under the account's own paths, next to GET /api/auth/me.
router = APIRouter(prefix="/api/auth", tags=["accounts"])


@router.get(
    "/me/export",
    summary="Download all your data",
    description="Your account, lists, tags and tasks in the backup format of `todo export` "
    "(without the password hash).",
    response_model=backup.Export,
    # Everything the account holds: a token must be able to read all of it.
    dependencies=[needs_scopes("account:read", "tasks:read", "lists:read", "tags:read")],
    responses=problem_responses(401, 403),
)
async def export_me(session: SessionDep, user: CurrentUser) -> JSONResponse:
    document = await backup.export_user(session, user.id)
    return JSONResponse(
        document,
        headers={"Content-Disposition": 'attachment; filename="todo-export.json"'},
    )
