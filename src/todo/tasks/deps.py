from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from todo.accounts.deps import PathUser
from todo.core.deps import READ_METHODS, SessionDep
from todo.core.ids import RowId, parse_int
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.tasks import service as tasks
from todo.tasks.models import Task


async def _scope(session: SessionDep, user: PathUser) -> Scope:
    # FastAPI runs a dependency once per request: one read of the caller's memberships.
    return await access.scope_of(session, user.id)


CallerScope = Annotated[Scope, Depends(_scope)]


def need_for(request: Request, write: Role) -> Role:
    """Reading needs a viewer; anything else the role a write of this resource needs."""
    return Role.viewer if request.method in READ_METHODS else write


async def _task_in_scope(
    request: Request,
    session: SessionDep,
    scope: CallerScope,
    task_id: Annotated[RowId, Path(description="The task's id")],
) -> Task:
    return await tasks.task_for(session, scope, task_id, need_for(request, Role.editor))


OwnedTask = Annotated[Task, Depends(_task_in_scope)]


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            max_length=200,
            description='The ETag you last saw, e.g. "3": the change is refused with 412 '
            "when the task has changed since",
        ),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.split(",")[0].strip().removeprefix("W/").strip('"')
    version = parse_int(tag)
    # An ETag we never issued can never match the current one.
    return 0 if version is None else version


IfMatch = Annotated[int | None, Depends(_if_match)]


def etag(task: Task) -> str:
    return f'"{task.version}"'


async def _clock(user: PathUser) -> tasks.Clock:
    return tasks.Clock.of(user.timezone)


UserClock = Annotated[tasks.Clock, Depends(_clock)]
