"""The lists' API. It lives with tasks, not in lists/, because its answers count a list's
tasks and its delete moves or deletes them: lists sit below tasks in the layers, and a list
on its own knows nothing of what it holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts.deps import PathUser, domain_scopes
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.lists import access
from todo.lists import service as lists
from todo.lists.access import Role, Scope
from todo.lists.models import TaskList
from todo.lists.schemas import DeleteMode, ListCreate, ListRead, ListUpdate
from todo.tasks import service as tasks
from todo.tasks.deps import CallerScope, need_for

router = APIRouter(
    prefix="/api/{user_id}/lists", tags=["lists"], dependencies=[domain_scopes("lists")]
)


async def list_in_scope(
    request: Request,
    session: SessionDep,
    scope: CallerScope,
    list_id: Annotated[RowId, Path(description="The list's id")],
) -> TaskList:
    return await access.list_for(session, scope, list_id, need_for(request, Role.admin))


ScopedList = Annotated[TaskList, Depends(list_in_scope)]


def _read(found: TaskList, scope: Scope, open_tasks: int = 0, members: int = 1) -> ListRead:
    assert found.id is not None
    role = scope.role_on(found.user_id, found.id) or Role.owner
    return ListRead.model_validate(found).model_copy(
        update={"open_tasks": open_tasks, "role": role.name, "member_count": members}
    )


async def _read_one(session: AsyncSession, found: TaskList, scope: Scope) -> ListRead:
    assert found.id is not None
    members = await access.member_counts(session, [found.id])
    return _read(found, scope, members=members[found.id])


@router.get(
    "",
    summary="Your lists, the Inbox first, with open-task counts",
    responses=problem_responses(401, 403),
)
async def list_lists(session: SessionDep, scope: CallerScope) -> list[ListRead]:
    found = await tasks.lists_with_counts(session, scope)
    members = await access.member_counts(session, [each.id for each, _ in found if each.id])
    return [_read(each, scope, n, members.get(each.id or 0, 1)) for each, n in found]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a list",
    responses=problem_responses(401, 403, 409, 422),
)
async def create_list(
    session: SessionDep, user: PathUser, scope: CallerScope, body: ListCreate
) -> ListRead:
    created = await lists.create_list(session, user.id, name=body.name, color=body.color)
    return _read(created, scope)


@router.get("/{list_id}", summary="Get a list", responses=problem_responses(401, 403, 404, 422))
async def get_list(session: SessionDep, found: ScopedList, scope: CallerScope) -> ListRead:
    return await _read_one(session, found, scope)


@router.patch(
    "/{list_id}",
    summary="Rename, recolour or reorder a list",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_list(
    session: SessionDep, found: ScopedList, scope: CallerScope, body: ListUpdate
) -> ListRead:
    if body.after_id is not None or body.first:
        # The order of lists is the owner's own: a member places nothing among them.
        access.check_role(scope.role_on(found.user_id, found.id or 0) or Role.owner, Role.owner)
    changes = body.model_dump(exclude_unset=True, include={"name", "color"})
    updated = await lists.update_list(
        session, found, changes=changes, after_id=body.after_id, first=body.first
    )
    return await _read_one(session, updated, scope)


@router.delete(
    "/{list_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a list",
    description="`tasks=move` moves its tasks to the Inbox; `tasks=delete` deletes them with it.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_list(
    session: SessionDep,
    found: ScopedList,
    tasks_: Annotated[DeleteMode, Query(alias="tasks", description="What happens to its tasks")],
) -> Response:
    await tasks.delete_list(session, found, tasks=tasks_)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
