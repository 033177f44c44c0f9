"""The lists' API. It lives with tasks, not in lists/, because its answers count a list's
tasks and its delete moves or deletes them: lists sit below tasks in the layers, and a list
on its own knows nothing of what it holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from todo.accounts.deps import PathUser, domain_scopes
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.lists import service as lists
from todo.lists.models import TaskList
from todo.lists.schemas import DeleteMode, ListCreate, ListRead, ListUpdate
from todo.tasks import service as tasks

router = APIRouter(
    prefix="/api/{user_id}/lists", tags=["lists"], dependencies=[domain_scopes("lists")]
)


async def _owned_list(
    session: SessionDep,
    user: PathUser,
    list_id: Annotated[RowId, Path(description="The list's id")],
) -> TaskList:
    return await lists.get_list(session, user.id, list_id)


OwnedList = Annotated[TaskList, Depends(_owned_list)]


def _read(found: TaskList, open_tasks: int = 0) -> ListRead:
    return ListRead.model_validate(found).model_copy(update={"open_tasks": open_tasks})


@router.get(
    "",
    summary="Your lists, the Inbox first, with open-task counts",
    responses=problem_responses(401, 403),
)
async def list_lists(session: SessionDep, user: PathUser) -> list[ListRead]:
    return [_read(found, n) for found, n in await tasks.lists_with_counts(session, user.id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a list",
    responses=problem_responses(401, 403, 409, 422),
)
async def create_list(session: SessionDep, user: PathUser, body: ListCreate) -> ListRead:
    return _read(await lists.create_list(session, user.id, name=body.name, color=body.color))


@router.get("/{list_id}", summary="Get a list", responses=problem_responses(401, 403, 404, 422))
async def get_list(found: OwnedList) -> ListRead:
    return _read(found)


@router.patch(
    "/{list_id}",
    summary="Rename, recolour or reorder a list",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_list(session: SessionDep, found: OwnedList, body: ListUpdate) -> ListRead:
    changes = body.model_dump(exclude_unset=True, include={"name", "color"})
    updated = await lists.update_list(
        session, found, changes=changes, after_id=body.after_id, first=body.first
    )
    return _read(updated)


@router.delete(
    "/{list_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a list",
    description="`tasks=move` moves its tasks to the Inbox; `tasks=delete` deletes them with it.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_list(
    session: SessionDep,
    found: OwnedList,
    tasks_: Annotated[DeleteMode, Query(alias="tasks", description="What happens to its tasks")],
) -> Response:
    await tasks.delete_list(session, found, tasks=tasks_)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
