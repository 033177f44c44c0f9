from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from todo.accounts.deps import PathUser, domain_scopes
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.tags import service as tags
from todo.tags.models import Tag
from todo.tags.schemas import TagRead, TagUpdate

# The list of tags with their task counts is in tasks/tags_routes.py: counting leaves out
# the tasks in the trash, which only tasks knows.
router = APIRouter(
    prefix="/api/{user_id}/tags", tags=["tags"], dependencies=[domain_scopes("tags")]
)


async def _owned_tag(
    session: SessionDep,
    user: PathUser,
    tag_id: Annotated[RowId, Path(description="The tag's id")],
) -> Tag:
    return await tags.get_tag(session, user.id, tag_id)


OwnedTag = Annotated[Tag, Depends(_owned_tag)]


@router.get("/{tag_id}", summary="Get a tag", responses=problem_responses(401, 403, 404, 422))
async def get_tag(tag: OwnedTag) -> TagRead:
    return TagRead.model_validate(tag)


@router.patch(
    "/{tag_id}",
    summary="Rename a tag everywhere (onto an existing name: merge)",
    responses=problem_responses(401, 403, 404, 422),
)
async def rename_tag(session: SessionDep, tag: OwnedTag, body: TagUpdate) -> TagRead:
    return TagRead.model_validate(await tags.rename(session, tag, body.name))


@router.delete(
    "/{tag_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a tag (the tasks stay)",
    responses=problem_responses(401, 403, 404),
)
async def delete_tag(session: SessionDep, tag: OwnedTag) -> Response:
    await tags.delete_tag(session, tag)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
