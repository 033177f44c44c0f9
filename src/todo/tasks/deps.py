from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path

from todo.accounts.deps import PathUser
from todo.core.deps import SessionDep
from todo.core.ids import RowId, parse_int
from todo.tasks import service as tasks
from todo.tasks.models import Task


async def _owned_task(
    session: SessionDep,
    user: PathUser,
    task_id: Annotated[RowId, Path(description="The task's id")],
) -> Task:
    return await tasks.get_task(session, user.id, task_id)


OwnedTask = Annotated[Task, Depends(_owned_task)]


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
