"""What the task list page shows, for every route that draws it again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fastapi import Request
from starlette.responses import Response

from todo.core.db import utcnow
from todo.core.deps import SessionDep
from todo.lists import access
from todo.lists import service as lists
from todo.lists.access import Role
from todo.lists.models import TaskList
from todo.tags import service as tags
from todo.tags.models import Tag
from todo.tasks import service as tasks
from todo.tasks.models import Task
from todo.tasks.query import TaskQuery
from todo.web.deps import Me, is_htmx
from todo.web.display import today
from todo.web.listing import (
    FILTERS,
    SCOPES,
    SORTS,
    ListView,
    count_tasks,
    count_view,
    pages_of,
)
from todo.web.render import render
from todo.web.security import local_path, safe_next
from todo.web.sharing import share_context


async def shown_list(session: SessionDep, me: Me, view: ListView) -> TaskList | None:
    if view.scope == "inbox":
        return await lists.inbox(session, me.user.id)
    if view.list_id is not None:
        return await access.list_for(session, me.scope, view.list_id, Role.viewer)
    return None


async def view_query(
    session: SessionDep, me: Me, view: ListView
) -> tuple[ListView, TaskQuery, str]:
    """The view as shown (a list without a sort in the URL takes the one last chosen for
    it), what it asks the task service for, and its heading."""
    list_id, tag, heading = None, None, SCOPES.get(view.scope or "", "All tasks")
    shown = await shown_list(session, me, view)
    if shown is not None:
        list_id = shown.id
        heading = heading if view.scope == "inbox" else shown.name
        if not view.sort_given and shown.sort in SORTS:
            view = replace(view, sort=shown.sort)
    elif view.tag_id is not None:
        tag = (await owned_tag(session, me, view.tag_id)).name
        heading = f"#{tag}"
    query = view.query(today=today(me.user.timezone), list_id=list_id, tag=tag, user_id=me.user.id)
    return view, query, heading


async def counts_context(
    session: SessionDep, me: Me, view: ListView, query: TaskQuery
) -> dict[str, Any]:
    """Every number on the page: the view's own by status, the sidebar's for the account."""
    with_counts = await tasks.lists_with_counts(session, me.scope)
    return {
        "user": me.user,
        "view": view,
        # Subtasks count too, though a nested list asks for its top-level tasks.
        "counts": await count_view(session, me.scope, replace(query, parent=None)),
        "totals": await count_tasks(session, me.scope),
        "filters": FILTERS,
        "lists": with_counts,
        "inbox_count": sum(number for shown, number in with_counts if shown.is_inbox),
        "tags": await tasks.tags_with_counts(session, me.user.id),
        # Lists shared with the person or by them, marked in the sidebar.
        "shared_ids": {
            list_id
            for list_id, people in (
                await access.member_counts(session, [each.id for each, _ in with_counts if each.id])
            ).items()
            if people > 1
        },
    }


async def changed_counts(session: SessionDep, me: Me, view: ListView) -> dict[str, Any]:
    view, query, _ = await view_query(session, me, view)
    return await counts_context(session, me, view, query)


async def list_context(session: SessionDep, me: Me, view: ListView) -> dict[str, Any]:
    view, query, heading = await view_query(session, me, view)
    numbers = await counts_context(session, me, view, query)
    page = await tasks.list_tasks(session, me.scope, query)
    shown = await shown_list(session, me, view)
    role = me.scope.role_on(shown.user_id, shown.id) if shown and shown.id else None
    return {
        **numbers,
        **await share_context(session, me, shown),
        # The list whose .ics the page offers, and whether its file may be imported here.
        "ics_list_id": shown.id if shown else None,
        "ics_import": role is not None and role >= Role.editor,
        "heading": heading,
        "page": page,
        **await tree_context(session, view, page.items, status=query.status),
        "sorts": SORTS,
        "scopes": SCOPES,
        "shown_tag": next(((t, n) for t, n in numbers["tags"] if t.id == view.tag_id), None),
        "list_errors": {},
        "tag_errors": {},
        "tag_name": None,
        "reminders": await tasks.due_reminders(session, me.user.id, now=utcnow()),
        # Where the previous page ended: Upcoming's appended rows continue its last day.
        "day_before": query.after[0] if view.scope == "upcoming" and query.after else None,
    }


async def tree_context(
    session: SessionDep, view: ListView, shown: Sequence[Task], *, status: str
) -> dict[str, Any]:
    """The rows as a tree where the view nests (each with its depth), and every shown
    task's subtask progress ("2/5")."""
    if view.nests:
        rows = await tasks.with_subtasks(session, shown, status=status)
    else:
        rows = [tasks.TreeRow(task, 0, None, None) for task in shown]
    return {"rows": rows, "progress": await tasks.progress_of(session, [r.task for r in rows])}


def list_view(request: Request, form: dict[str, str]) -> ListView:
    """The list the person is looking at: htmx says which URL it shows, a plain form says
    where to go back to."""
    if is_htmx(request):
        view = ListView.from_url(local_path(request.headers.get("hx-current-url")))
        # The pages Load more added stay when a change draws the list again (app.js).
        return replace(view, pages=pages_of(request.headers.get("x-todo-pages")))
    return ListView.from_url(safe_next(form.get("next")))


async def owned_tag(session: SessionDep, me: Me, tag_id: int) -> Tag:
    return await tags.get_tag(session, me.user.id, tag_id)


async def form_failed(
    request: Request, session: SessionDep, me: Me, view: ListView, **shown: Any
) -> Response:
    """The list page again, at 422, with a sidebar form's errors (`shown`) beside it."""
    context = await list_context(session, me, view)
    context.update(shown)
    return render(
        request,
        "tasks/list.html",
        {**context, "flash": None, "title": "", "errors": {}},
        status_code=422,
    )
