"""The list of tags. It lives with tasks, not in tags/, because each tag's count leaves out
the tasks in the trash: tags sit below tasks in the layers and know nothing of the trash."""

from __future__ import annotations

from fastapi import APIRouter

from todo.accounts.deps import PathUser, domain_scopes
from todo.core.deps import SessionDep
from todo.core.schemas import problem_responses
from todo.tags.schemas import TagRead
from todo.tasks import service as tasks

router = APIRouter(
    prefix="/api/{user_id}/tags", tags=["tags"], dependencies=[domain_scopes("tags")]
)


@router.get(
    "", summary="Your tags, with how many tasks carry each", responses=problem_responses(401, 403)
)
async def list_tags(session: SessionDep, user: PathUser) -> list[TagRead]:
    return [
        TagRead(id=tag.id or 0, name=tag.name, tasks=n)
        for tag, n in await tasks.tags_with_counts(session, user.id)
    ]
