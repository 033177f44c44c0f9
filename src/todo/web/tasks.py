"""The task list and a task's own page: add, complete, edit, move, delete (to the trash)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import ValidationError
from sqlalchemy import inspect
from starlette.responses import JSONResponse, Response

from todo.activity import service as activity
from todo.comments import service as comments
from todo.core import idempotency
from todo.core.db import utcnow
from todo.core.deps import SessionDep
from todo.core.errors import BadRequest, Conflict, Unprocessable
from todo.core.idempotency import BeforeCommit, IdempotencyKeyHeader
from todo.core.ids import parse_row_id
from todo.core.schemas import NO_CONTROLS
from todo.lists import access
from todo.lists import service as lists
from todo.lists.access import Role
from todo.lists.models import TaskList
from todo.sharing import service as sharing
from todo.tasks import service as tasks
from todo.tasks.models import Task
from todo.tasks.schemas import ChildrenMode, TaskUpdate
from todo.web import taskform
from todo.web.common import LABELS, clock_of, flash_and_redirect, redirect, web_router
from todo.web.deps import Flash, Me, OwnedTask, is_htmx, wants_fragment
from todo.web.display import today
from todo.web.forms import (
    QUICK_ADD_MAX,
    FieldErrors,
    QuickAddLine,
    app_field_errors,
    field_errors,
    read_form,
)
from todo.web.listing import SEARCH_MAX, ListView
from todo.web.page import changed_counts, list_context, list_view, owned_tag, shown_list
from todo.web.render import render
from todo.web.security import local_path, safe_next

router = web_router()
# The task page's "Activity": its latest changes (the API pages through all of them).
HISTORY_SHOWN = 10
# The task page's comments, oldest first (the API pages through all of them).
COMMENTS_SHOWN = 200


@router.get("/")
async def task_list(
    request: Request,
    session: SessionDep,
    me: Me,
    show: Annotated[str | None, Query(alias="filter", max_length=20)] = None,
    sort: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    scope: Annotated[str | None, Query(alias="view", max_length=20)] = None,
    list_id: Annotated[str | None, Query(alias="list", max_length=20)] = None,
    tag_id: Annotated[str | None, Query(alias="tag", max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=SEARCH_MAX), NO_CONTROLS] = None,
    pages: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    view = ListView.parse(
        show, sort, cursor, scope=scope, list_id=list_id, tag_id=tag_id, q=q, pages=pages
    )
    context = await list_context(session, me, view)
    if wants_fragment(request):
        more = request.headers.get("hx-target") == "task-list"
        return render(request, "tasks/_more.html" if more else "tasks/_region_update.html", context)
    return render(
        request,
        "tasks/list.html",
        {**context, "flash": me.flash, "title": "", "errors": {}},
    )


@router.post("/sort")
async def choose_sort(request: Request, session: SessionDep, me: Me) -> Response:
    """The order a list is shown in, kept with the list so it opens that way next time."""
    form = await read_form(request)
    view = ListView.parse(
        form.get("filter"),
        form.get("sort"),
        scope=form.get("view"),
        list_id=form.get("list"),
        tag_id=form.get("tag"),
        q=form.get("q"),
    )
    if not view.sort_given:
        raise BadRequest("Choose one of the offered orders.", code="bad_sort")
    shown = await shown_list(session, me, view)
    if shown is not None and shown.user_id == me.user.id:
        # The order a list opens in is its owner's choice; a member's sort lasts the view.
        await lists.remember_sort(session, shown, view.sort)
    if is_htmx(request):
        context = await list_context(session, me, view)
        return render(
            request, "tasks/_region_update.html", context, headers={"HX-Push-Url": view.url()}
        )
    return redirect(view.url())


@router.post("/tasks")
async def create_task(
    request: Request,
    session: SessionDep,
    me: Me,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    form = await read_form(request)
    view = list_view(request, form)
    text = form.get("title", "")
    errors: FieldErrors = {}
    created: Task | None = None
    try:
        # Quick add reads dates, recurrence, !priority, #tags and +list out of the line.
        QuickAddLine.model_validate({"title": text})
        defaults = await _view_defaults(session, me, view)

        async def add(hook: BeforeCommit[Task] | None) -> Task:
            nonlocal created
            created = await tasks.quick_add(
                session, me.scope, text, clock_=clock_of(me), before_commit=hook, **defaults
            )
            return created

        # A task queued offline is sent again until an answer arrives (static/pwa.js): the
        # same key is one task. What a repeat gets is the view as it is now.
        await idempotency.run_once(
            session,
            user_id=me.user.id,
            key=idempotency_key,
            request_fingerprint=idempotency.fingerprint(
                "web_create_task", {"title": text, "view": view.url()}
            ),
            create=add,
            respond=_created_id,
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unprocessable as error:
        # A reused key is about the request, not the line typed: its own sentence says so.
        reused = error.code == "idempotency_key_reused"
        errors = {"title": error.detail if reused else _reason(error)}
    if errors:
        invalid = {"title": text, "errors": errors}
        if is_htmx(request):
            return render(
                request,
                "tasks/_new_task.html",
                {"view": view, **invalid},
                status_code=422,
                headers={"HX-Retarget": "#new-task", "HX-Reswap": "outerHTML"},
            )
        context = await list_context(session, me, view)
        return render(request, "tasks/list.html", {**context, **invalid}, status_code=422)
    context = await list_context(session, me, view)
    # A task this view cannot show (a search, Completed) must not vanish without a word.
    elsewhere = None
    if created is not None and all(task.id != created.id for task in context["page"].items):
        where = (await access.list_for(session, me.scope, created.list_id, Role.viewer)).name
        elsewhere = f"Added “{created.title}” to {where}; this view does not show it."
    if is_htmx(request):
        toast = Flash(elsewhere) if elsewhere else None
        return render(
            request,
            "tasks/_created.html",
            {**context, "title": "", "errors": {}, "toast": toast},
        )
    if elsewhere:
        return await flash_and_redirect(session, me, elsewhere, view.url())
    return redirect(view.url())


async def _created_id(created: Task) -> Response:
    """What an Idempotency-Key keeps of a task added here: which task it made."""
    return JSONResponse({"id": created.id}, status_code=201)


async def _view_defaults(session: SessionDep, me: Me, view: ListView) -> dict[str, Any]:
    """What a task typed in this view gets so that it shows there: the view's list, tag or
    day (what the line itself says still wins)."""
    if view.list_id is not None:
        return {"list_id": (await access.list_for(session, me.scope, view.list_id, Role.viewer)).id}
    if view.tag_id is not None:
        return {"tags": [(await owned_tag(session, me, view.tag_id)).name]}
    if view.scope in ("today", "upcoming"):
        return {"due_date": today(me.user.timezone)}
    return {}


def _reason(error: Unprocessable) -> str:
    """The service's reason as a sentence for a person."""
    reasons = [str(entry.get("reason")) for entry in error.errors or [] if entry.get("reason")]
    if not reasons:
        return error.detail
    reason = reasons[0]
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")


@router.get("/tasks/preview")
async def quick_add_preview(
    request: Request,
    me: Me,
    title: Annotated[str, Query(max_length=QUICK_ADD_MAX), NO_CONTROLS] = "",
) -> Response:
    """The parts of a quick-add line the server recognises, as chips under the input."""
    if not wants_fragment(request):
        return redirect("/")
    found: tasks.Preview | None = None
    problem = None
    if title.strip():
        try:
            found = tasks.preview(title, clock_=clock_of(me))
        except Unprocessable as error:
            problem = _reason(error)
    return render(
        request,
        "tasks/_preview.html",
        {"found": found, "problem": problem, "user": me.user},
    )


def _replacing_row(task_id: int | None) -> dict[str, str]:
    return {"HX-Retarget": f"#task-{task_id}", "HX-Reswap": "outerHTML"}


async def _row_changed(request: Request, session: SessionDep, me: Me, task: Task) -> Response:
    view = list_view(request, {})
    context = await changed_counts(session, me, view)
    # Its parent's row too, out of band: its progress ("2/5") changed with it.
    parent = None
    if task.parent_id is not None and view.nests:
        found = await tasks.get_task(session, me.scope, task.parent_id)
        parent = await tasks.place_of(session, found)
    row = await tasks.place_of(session, task) if view.nests else None
    shown = [task] if parent is None else [task, parent.task]
    return render(
        request,
        "tasks/_row_changed.html",
        {
            **context,
            "task": task,
            "row": row,
            "parent_row": parent,
            "progress": await tasks.progress_of(session, shown),
        },
        headers=_replacing_row(task.id),
    )


@router.post("/tasks/{task_id:int}/complete")
async def complete_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    form = await read_form(request)
    wanted = {"true": True, "false": False}.get(form.get("completed", ""))
    children = _CHILDREN.get(form.get("children", ""))
    try:
        task = await tasks.set_completed(
            session, task, wanted, clock_=clock_of(me), children=children
        )
    except Conflict as error:
        if error.code != "open_children":
            raise
        return await _ask_children(request, session, me, task, form)
    if is_htmx(request) and task.parent_id is not None and task.completed and not task.rrule:
        # Its parent's progress changed too: the list draws both rows again.
        context = await list_context(session, me, list_view(request, form))
        headers = {"HX-Retarget": "#tasks", "HX-Reswap": "outerHTML"}
        return render(request, "tasks/_region_update.html", context, headers=headers)
    if inspect(me.user).expired_attributes:
        # A parallel request set the same state first and the service rolled its own write
        # back, expiring everything this request had loaded: the page needs the user again.
        await session.refresh(me.user)
    if is_htmx(request) and (task.rrule or children == "complete") and task.completed:
        # Completing one of a series made the next: the whole list shows it.
        context = await list_context(session, me, list_view(request, form))
        headers = {"HX-Retarget": "#tasks", "HX-Reswap": "outerHTML"}
        return render(request, "tasks/_region_update.html", context, headers=headers)
    if is_htmx(request):
        view = list_view(request, form)
        if not view.shows(completed=task.completed):
            # A filtered view lets the row go, as a reload would; the counts still change.
            context = await changed_counts(session, me, view)
            return render(
                request, "tasks/_counts_oob.html", context, headers=_replacing_row(task.id)
            )
        return await _row_changed(request, session, me, task)
    return redirect(safe_next(form.get("next")))


_CHILDREN: dict[str, ChildrenMode] = {"complete": "complete", "keep": "keep"}


async def _ask_children(
    request: Request, session: SessionDep, me: Me, task: Task, form: dict[str, str]
) -> Response:
    """Ask what happens to the open subtasks: in a dialog over the list (htmx), or on a
    page of its own without scripts. Nothing changed yet: the answer posts it again."""
    open_, _ = await tasks.children_of(session, task)
    context = {
        "user": me.user,
        "task": task,
        "open_children": open_,
        "next": safe_next(form.get("next")),
    }
    if is_htmx(request):
        headers = {"HX-Retarget": "#ask-slot", "HX-Reswap": "innerHTML"}
        return render(request, "tasks/_ask.html", context, headers=headers)
    return render(request, "tasks/confirm_complete.html", context, status_code=409)


def comment_rights(me: Me, task: Task) -> dict[str, bool]:
    """What the caller may do with the task's comments, as its page draws them."""
    role = me.scope.role_on(task.user_id, task.list_id) or Role.viewer
    return {"can_comment": role >= Role.editor, "can_delete_any": role >= Role.admin}


async def _detail_context(
    session: SessionDep, me: Me, task: Task, values: dict[str, Any]
) -> dict[str, Any]:
    assert task.id is not None
    history = await activity.activity(
        session, me.user.id, task_id=task.id, before=None, limit=HISTORY_SHOWN
    )
    found = await session.get(TaskList, task.list_id)
    assert found is not None
    people = await sharing.members(session, found)
    thread = await comments.comments(session, task, after=None, limit=COMMENTS_SHOWN)
    return {
        # A select of the list's people, only where there is someone to choose between.
        "members": people if len(people) > 1 else [],
        "comments": thread.items,
        "more_comments": thread.next_after is not None,
        **comment_rights(me, task),
        # The comment whose edit form the page shows in its place (a page without scripts).
        "comment_editing": None,
        "user": me.user,
        "task": task,
        "values": values,
        "history": history.items,
        "subtasks": await tasks.with_subtasks(session, await tasks.subtasks_of(session, task)),
        "lists": await tasks.lists_with_counts(session, me.scope),
        "repeats": taskform.REPEATS,
        "recurrence_modes": taskform.RECURRENCE_MODES,
        "day_names": taskform.DAY_NAMES,
    }


@router.get("/tasks/{task_id:int}")
async def task_page(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    return await render_task_page(request, session, me, task)


async def render_task_page(
    request: Request,
    session: SessionDep,
    me: Me,
    task: Task,
    *,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The task's page as saved, with `extra` over its context (a comment being edited)."""
    back = local_path(request.headers.get("referer")) or "/"
    values = taskform.values_of(task, clock_of(me).tz)
    return render(
        request,
        "tasks/detail.html",
        {
            **await _detail_context(session, me, task, values),
            "flash": me.flash,
            "errors": {},
            "next": back if back == "/" or back.startswith("/?") else "/",
            **(extra or {}),
        },
        status_code=status_code,
    )


@router.get("/tasks/{task_id:int}/edit")
async def edit_row(request: Request, task: OwnedTask) -> Response:
    if not wants_fragment(request):
        return redirect(f"/tasks/{task.id}")
    context = {"task": task, "value": task.title, "errors": {}}
    return render(request, "tasks/_edit_row.html", context)


@router.get("/tasks/{task_id:int}/row")
async def task_row(request: Request, me: Me, task: OwnedTask) -> Response:
    if not wants_fragment(request):
        return redirect("/")
    context = {"task": task, "user": me.user, "view": list_view(request, {})}
    return render(request, "tasks/_row.html", context)


@router.post("/tasks/{task_id:int}")
async def update_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    form = await read_form(request)
    days = [day for day in (await request.form()).getlist("repeat_days") if isinstance(day, str)]
    target = safe_next(form.get("next"))
    clock = clock_of(me)
    errors: FieldErrors
    try:
        data = TaskUpdate.model_validate(taskform.changes_of(form, days, clock.tz))
        task = await tasks.update_task(session, task, data, clock_=clock, scope=me.scope)
    except taskform.FormProblem as problem:
        errors = {problem.field: problem.message}
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unprocessable as error:
        errors = app_field_errors(error, "due_date")
    else:
        if is_htmx(request):
            return await _row_changed(request, session, me, task)
        return await flash_and_redirect(session, me, f"Saved “{task.title}”.", target)
    if is_htmx(request):
        context = {"task": task, "value": form.get("title", ""), "errors": errors}
        return render(request, "tasks/_edit_row.html", context, status_code=422)
    values = taskform.resubmitted(task, clock.tz, form, days)
    return render(
        request,
        "tasks/detail.html",
        {**await _detail_context(session, me, task, values), "errors": errors, "next": target},
        status_code=422,
    )


@router.get("/reminders")
async def reminders(request: Request, session: SessionDep, me: Me) -> Response:
    """Reminders that are due, polled by the page to show them as they fall due."""
    if not wants_fragment(request):
        return redirect("/")
    due = await tasks.due_reminders(session, me.user.id, now=utcnow())
    return render(request, "tasks/_reminders.html", {"reminders": due})


@router.post("/tasks/{task_id:int}/reminder/dismiss")
async def dismiss_reminder(request: Request, session: SessionDep, task: OwnedTask) -> Response:
    form = await read_form(request)
    await tasks.dismiss_reminder(session, task)
    if is_htmx(request):
        return Response(status_code=200)
    return redirect(safe_next(form.get("next")))


@router.post("/tasks/{task_id:int}/move")
async def move_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    """Drag and drop, or Alt+Arrow: place the task right after another of its list."""
    form = await read_form(request)
    after = form.get("after", "")
    after_id = parse_row_id(after) if after else None
    if after and after_id is None:
        raise BadRequest("Say after which task this one goes.", code="bad_position")
    await tasks.move_task(session, task, scope=me.scope, list_id=None, after_id=after_id)
    if is_htmx(request):
        return Response(status_code=204)
    return redirect(safe_next(form.get("next")))


@router.post("/tasks/{task_id:int}/delete")
async def delete_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    """Move the task to the trash; the toast's Undo brings it back from there."""
    form = await read_form(request)
    title, task_id = task.title, task.id
    await tasks.delete_task(session, task)
    message = f"Deleted “{title}”."
    if is_htmx(request):
        view = list_view(request, form)
        return render(
            request,
            "tasks/_deleted.html",
            {**await changed_counts(session, me, view), "toast": Flash(message, task_id)},
            headers=_replacing_row(task_id),
        )
    return await flash_and_redirect(session, me, message, safe_next(form.get("next")), undo=task_id)


@router.post("/tasks/{task_id:int}/parent")
async def set_parent(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    """Indent (the task above becomes its parent) or outdent (its parent's parent does, or
    none): Tab and Shift+Tab on a focused row, or the row's buttons."""
    form = await read_form(request)
    raw = form.get("parent", "")
    parent_id = parse_row_id(raw) if raw else None
    if raw and parent_id is None:
        raise BadRequest("Say which task this one goes under.", code="bad_parent")
    await tasks.update_task(
        session, task, TaskUpdate(parent_id=parent_id), clock_=clock_of(me), scope=me.scope
    )
    if is_htmx(request):
        # The tree changed shape around the row: the list is drawn again, focus kept on it.
        context = await list_context(session, me, list_view(request, form))
        headers = {"HX-Retarget": "#tasks", "HX-Reswap": "outerHTML"}
        return render(request, "tasks/_region_update.html", context, headers=headers)
    return redirect(safe_next(form.get("next")))


@router.post("/tasks/{task_id:int}/subtasks")
async def add_subtask(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    """The task page's "Add subtask": a quick-add line, in the task's list, under it."""
    form = await read_form(request)
    text = form.get("title", "")
    try:
        QuickAddLine.model_validate({"title": text})
        created = await tasks.quick_add(
            session,
            me.scope,
            text,
            clock_=clock_of(me),
            list_id=task.list_id,
            parent_id=task.id,
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unprocessable as error:
        errors = {"title": _reason(error)}
    else:
        back = f"/tasks/{task.id}"
        answer = await flash_and_redirect(
            session, me, f"Added the subtask “{created.title}”.", back
        )
        # htmx follows a redirect inside the page: it is told to load the task page instead.
        return Response(headers={"HX-Redirect": back}) if is_htmx(request) else answer
    values = taskform.values_of(task, clock_of(me).tz)
    return render(
        request,
        "tasks/detail.html",
        {
            **await _detail_context(session, me, task, values),
            "flash": None,
            "errors": {},
            "subtask_errors": errors,
            "subtask_title": text,
            "next": "/",
        },
        status_code=422,
    )
