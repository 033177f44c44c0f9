"""The browser app: thin routes over the account and task services, drawn with Jinja2.

Every action is a plain form that posts and redirects, so it all works without JavaScript.
htmx sends the same forms in the background (HX-Request) and gets back only the part of the
page that changed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import SecretStr, ValidationError
from sqlalchemy import inspect
from starlette.responses import JSONResponse, RedirectResponse, Response

from todo import backup
from todo.accounts import service as accounts
from todo.accounts.deps import PasswordsDep
from todo.accounts.schemas import LoginRequest, SignupRequest, UserUpdate
from todo.core.db import utcnow
from todo.core.deps import SessionDep
from todo.core.errors import BadRequest, Conflict, RateLimited, Unauthorized, Unprocessable
from todo.core.ids import parse_row_id
from todo.core.ratelimit import check_auth_attempt
from todo.core.schemas import NO_CONTROLS
from todo.core.security import Passwords
from todo.lists import service as lists
from todo.lists.models import TaskList
from todo.lists.schemas import DeleteMode, ListCreate
from todo.tags import service as tags
from todo.tags.models import Tag
from todo.tags.schemas import TagUpdate
from todo.tasks import service as tasks
from todo.tasks.models import Task
from todo.tasks.query import TaskQuery
from todo.tasks.schemas import TaskCreate, TaskRead, TaskUpdate
from todo.web import taskform
from todo.web.assets import static_app
from todo.web.deps import (
    Flash,
    LoginRequired,
    MaybeSignedIn,
    Me,
    OwnedTask,
    is_htmx,
    verify_csrf,
    wants_fragment,
)
from todo.web.display import today
from todo.web.forms import (
    QUICK_ADD_MAX,
    FieldErrors,
    QuickAddLine,
    app_field_errors,
    field_errors,
    read_form,
)
from todo.web.listing import (
    FILTERS,
    SCOPES,
    SEARCH_MAX,
    SORTS,
    ListView,
    count_tasks,
    count_view,
)
from todo.web.render import assets, render
from todo.web.security import (
    SESSION_COOKIE,
    VISITOR_COOKIE,
    delete_cookie,
    local_path,
    safe_next,
    session_token,
    set_cookie,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])

LABELS = {
    "email": "Email",
    "password": "Password",
    "name": "Name",
    "title": "Title",
    "description": "Notes",
    "current_password": "Current password",
    "new_password": "New password",
    "confirm_email": "Your email address",
    "timezone": "Time zone",
    "tags": "Tags",
    "priority": "Priority",
    "rrule": "Repeat",
    "recurrence_mode": "Count the next date from",
    "remind_at": "Reminder",
}
LOGIN_NOTICES = {
    "signed_out": "You are logged out.",
    "everywhere": "You are logged out on every device.",
    "deleted": "Your account and all of its tasks were deleted.",
}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _with_session(request: Request, target: str, token: str) -> RedirectResponse:
    response = _redirect(target)
    max_age = int(accounts.WEB_SESSION_MAX.total_seconds())
    set_cookie(response, request, SESSION_COOKIE, token, max_age=max_age)
    delete_cookie(response, request, VISITOR_COOKIE)
    return response


def _signed_out(request: Request, notice: str) -> RedirectResponse:
    response = _redirect(f"/login?notice={notice}")
    delete_cookie(response, request, SESSION_COOKIE)
    return response


def _too_many(request: Request, error: RateLimited, template: str, **context: Any) -> Response:
    return render(
        request,
        template,
        {"email": "", "values": {}, "notice": None, **context, "errors": {"form": error.detail}},
        status_code=error.status,
        headers=error.headers,
    )


def _clock(me: Me) -> tasks.Clock:
    return tasks.Clock.of(me.user.timezone)


# Accounts


@router.get("/login")
async def login_page(
    request: Request,
    signed_in: MaybeSignedIn,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    notice: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if signed_in is not None:
        return _redirect(safe_next(next))
    return render(
        request,
        "accounts/login.html",
        {
            "next": safe_next(next),
            "email": "",
            "errors": {},
            "notice": LOGIN_NOTICES.get(notice or ""),
        },
    )


@router.post("/login")
async def login(request: Request, session: SessionDep, passwords: PasswordsDep) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    errors: FieldErrors
    status_code = 422
    try:
        body = LoginRequest.model_validate(
            {"email": form.get("email", ""), "password": form.get("password", "")}
        )
        await check_auth_attempt(request, "login", body.email)
        result = await accounts.web_login(
            session,
            passwords=passwords,
            email=body.email,
            password=body.password.get_secret_value(),
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unauthorized as error:
        errors, status_code = {"form": error.detail}, 401
    except RateLimited as error:
        return _too_many(
            request, error, "accounts/login.html", next=target, email=form.get("email", "")
        )
    else:
        return _with_session(request, target, result.token)
    return render(
        request,
        "accounts/login.html",
        {"next": target, "email": form.get("email", ""), "errors": errors, "notice": None},
        status_code=status_code,
    )


@router.get("/signup")
async def signup_page(
    request: Request,
    signed_in: MaybeSignedIn,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    if signed_in is not None:
        return _redirect(safe_next(next))
    return render(
        request,
        "accounts/signup.html",
        {"next": safe_next(next), "values": {}, "errors": {}},
    )


@router.post("/signup")
async def signup(request: Request, session: SessionDep, passwords: PasswordsDep) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    values = {"email": form.get("email", ""), "name": form.get("name", "")}
    errors: FieldErrors
    try:
        body = SignupRequest.model_validate({**values, "password": form.get("password", "")})
        await check_auth_attempt(request, "signup", body.email)
        result = await accounts.web_signup(
            session,
            passwords=passwords,
            email=body.email,
            password=body.password.get_secret_value(),
            name=body.name,
            timezone=_browser_zone(form.get("timezone", "")),
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Conflict as error:
        errors = {"email": error.detail}
    except RateLimited as error:
        return _too_many(request, error, "accounts/signup.html", next=target, values=values)
    else:
        return _with_session(request, target, result.token)
    return render(
        request,
        "accounts/signup.html",
        {"next": target, "values": values, "errors": errors},
        status_code=422,
    )


def _browser_zone(raw: str) -> str:
    """The time zone the browser reported at sign-up; anything unknown (or a browser
    without JavaScript) gets UTC rather than a refused sign-up."""
    try:
        zone = UserUpdate.model_validate({"timezone": raw.strip()}).timezone
    except ValidationError:
        return "UTC"
    return zone or "UTC"


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    token = session_token(request)
    if token is not None:
        await accounts.end_web_session(session, token)
    return _signed_out(request, "signed_out")


def _account_page(
    request: Request,
    me: Me,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "accounts/account.html",
        {
            "user": me.user,
            "flash": me.flash,
            "errors": errors or {},
            "values": {
                "name": me.user.name,
                "timezone": me.user.timezone,
                "confirm_email": "",
                **(values or {}),
            },
        },
        status_code=status_code,
        headers=headers,
    )


@router.get("/account")
async def account_page(request: Request, me: Me) -> Response:
    return _account_page(request, me)


@router.get("/account/export")
async def download_my_data(session: SessionDep, me: Me) -> Response:
    """The same document as GET /api/auth/me/export and `todo export --user`."""
    document = await backup.export_user(session, me.user.id)
    return JSONResponse(
        document,
        headers={"Content-Disposition": 'attachment; filename="todo-export.json"'},
    )


async def _flash_and_redirect(
    session: SessionDep, me: Me, message: str, target: str, *, undo: str | None = None
) -> Response:
    await accounts.set_flash(session, me.session_id, Flash(message, undo).dump())
    return _redirect(target)


async def _save_profile_field(
    request: Request,
    session: SessionDep,
    passwords: Passwords,
    me: Me,
    field: str,
    saved: str,
) -> Response:
    """One field of the account page's own small forms: saved, or shown again with why."""
    typed = (await read_form(request)).get(field, "")
    try:
        body = UserUpdate.model_validate({field: typed})
    except ValidationError as error:
        return _account_page(
            request,
            me,
            errors=field_errors(error, LABELS),
            values={field: typed},
            status_code=422,
        )
    await accounts.update_profile(
        session, me.user, passwords=passwords, **{field: getattr(body, field)}
    )
    return await _flash_and_redirect(session, me, saved, "/account")


@router.post("/account/name")
async def change_name(
    request: Request, session: SessionDep, passwords: PasswordsDep, me: Me
) -> Response:
    return await _save_profile_field(
        request, session, passwords, me, "name", "Your name was saved."
    )


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


@router.post("/account/timezone")
async def change_timezone(
    request: Request, session: SessionDep, passwords: PasswordsDep, me: Me
) -> Response:
    return await _save_profile_field(
        request, session, passwords, me, "timezone", "Your time zone was saved."
    )


@router.post("/account/password")
async def change_password(
    request: Request, session: SessionDep, passwords: PasswordsDep, me: Me
) -> Response:
    form = await read_form(request)
    errors: FieldErrors
    try:
        body = UserUpdate.model_validate(
            {
                "current_password": form.get("current_password", ""),
                "new_password": form.get("new_password", ""),
            }
        )
        await check_auth_attempt(request, "login", me.user.email)
        await accounts.update_profile(
            session,
            me.user,
            passwords=passwords,
            current_password=_secret(body.current_password),
            new_password=_secret(body.new_password),
            keep_web_session=me.session_id,
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unprocessable as error:
        errors = app_field_errors(error, "current_password")
    except RateLimited as error:
        return _account_page(
            request,
            me,
            errors={"current_password": error.detail},
            status_code=error.status,
            headers=error.headers,
        )
    else:
        return await _flash_and_redirect(session, me, "Your password was changed.", "/account")
    return _account_page(request, me, errors=errors, status_code=422)


@router.post("/account/logout-everywhere")
async def logout_everywhere(request: Request, session: SessionDep, me: Me) -> Response:
    await accounts.logout_everywhere(session, me.user)
    return _signed_out(request, "everywhere")


@router.post("/account/delete")
async def delete_account(request: Request, session: SessionDep, me: Me) -> Response:
    form = await read_form(request)
    typed = form.get("confirm_email", "")
    if typed.strip().lower() != me.user.email:
        return _account_page(
            request,
            me,
            errors={"confirm_email": f"Type {me.user.email} to confirm."},
            values={"confirm_email": typed},
            status_code=422,
        )
    await accounts.delete_user(session, me.user.id)
    return _signed_out(request, "deleted")


# Tasks


async def _shown_list(session: SessionDep, me: Me, view: ListView) -> TaskList | None:
    if view.scope == "inbox":
        return await lists.inbox(session, me.user.id)
    if view.list_id is not None:
        return await lists.get_list(session, me.user.id, view.list_id)
    return None


async def _view_query(
    session: SessionDep, me: Me, view: ListView
) -> tuple[ListView, TaskQuery, str]:
    """The view as shown (a list without a sort in the URL takes the one last chosen for
    it), what it asks the task service for, and its heading."""
    list_id, tag, heading = None, None, SCOPES.get(view.scope or "", "All tasks")
    shown = await _shown_list(session, me, view)
    if shown is not None:
        list_id = shown.id
        heading = heading if view.scope == "inbox" else shown.name
        if not view.sort_given and shown.sort in SORTS:
            view = replace(view, sort=shown.sort)
    elif view.tag_id is not None:
        tag = (await _owned_tag(session, me, view.tag_id)).name
        heading = f"#{tag}"
    query = view.query(today=today(me.user.timezone), list_id=list_id, tag=tag)
    return view, query, heading


async def _counts_context(
    session: SessionDep, me: Me, view: ListView, query: TaskQuery
) -> dict[str, Any]:
    """Every number on the page: the view's own by status, the sidebar's for the account."""
    with_counts = await tasks.lists_with_counts(session, me.user.id)
    return {
        "user": me.user,
        "view": view,
        "counts": await count_view(session, me.user.id, query),
        "totals": await count_tasks(session, me.user.id),
        "filters": FILTERS,
        "lists": with_counts,
        "inbox_count": sum(number for shown, number in with_counts if shown.is_inbox),
        "tags": await tags.list_tags(session, me.user.id),
    }


async def _changed_counts(session: SessionDep, me: Me, view: ListView) -> dict[str, Any]:
    view, query, _ = await _view_query(session, me, view)
    return await _counts_context(session, me, view, query)


async def _list_context(session: SessionDep, me: Me, view: ListView) -> dict[str, Any]:
    view, query, heading = await _view_query(session, me, view)
    numbers = await _counts_context(session, me, view, query)
    return {
        **numbers,
        "heading": heading,
        "page": await tasks.list_tasks(session, me.user.id, query),
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


def _list_view(request: Request, form: dict[str, str]) -> ListView:
    """The list the person is looking at: htmx says which URL it shows, a plain form says
    where to go back to."""
    if is_htmx(request):
        return ListView.from_url(local_path(request.headers.get("hx-current-url")))
    return ListView.from_url(safe_next(form.get("next")))


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
) -> Response:
    view = ListView.parse(show, sort, cursor, scope=scope, list_id=list_id, tag_id=tag_id, q=q)
    context = await _list_context(session, me, view)
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
    shown = await _shown_list(session, me, view)
    if shown is not None:
        await lists.remember_sort(session, shown, view.sort)
    if is_htmx(request):
        context = await _list_context(session, me, view)
        return render(
            request, "tasks/_region_update.html", context, headers={"HX-Push-Url": view.url()}
        )
    return _redirect(view.url())


@router.post("/tasks")
async def create_task(request: Request, session: SessionDep, me: Me) -> Response:
    form = await read_form(request)
    view = _list_view(request, form)
    text = form.get("title", "")
    errors: FieldErrors = {}
    try:
        # Quick add reads dates, recurrence, !priority, #tags and +list out of the line.
        QuickAddLine.model_validate({"title": text})
        created = await tasks.quick_add(
            session, me.user.id, text, clock_=_clock(me), **await _view_defaults(session, me, view)
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unprocessable as error:
        errors = {"title": _reason(error)}
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
        context = await _list_context(session, me, view)
        return render(request, "tasks/list.html", {**context, **invalid}, status_code=422)
    context = await _list_context(session, me, view)
    # A task this view cannot show (a search, Completed) must not vanish without a word.
    elsewhere = None
    if all(task.id != created.id for task in context["page"].items):
        where = (await lists.get_list(session, me.user.id, created.list_id)).name
        elsewhere = f"Added “{created.title}” to {where}; this view does not show it."
    if is_htmx(request):
        toast = Flash(elsewhere) if elsewhere else None
        return render(
            request,
            "tasks/_created.html",
            {**context, "title": "", "errors": {}, "toast": toast},
        )
    if elsewhere:
        return await _flash_and_redirect(session, me, elsewhere, view.url())
    return _redirect(view.url())


async def _view_defaults(session: SessionDep, me: Me, view: ListView) -> dict[str, Any]:
    """What a task typed in this view gets so that it shows there: the view's list, tag or
    day (what the line itself says still wins)."""
    if view.list_id is not None:
        return {"list_id": (await lists.get_list(session, me.user.id, view.list_id)).id}
    if view.tag_id is not None:
        return {"tags": [(await _owned_tag(session, me, view.tag_id)).name]}
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
        return _redirect("/")
    found: tasks.Preview | None = None
    problem = None
    if title.strip():
        try:
            found = tasks.preview(title, clock_=_clock(me))
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
    context = await _changed_counts(session, me, _list_view(request, {}))
    return render(
        request,
        "tasks/_row_changed.html",
        {**context, "task": task},
        headers=_replacing_row(task.id),
    )


@router.post("/tasks/{task_id:int}/complete")
async def complete_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    form = await read_form(request)
    wanted = {"true": True, "false": False}.get(form.get("completed", ""))
    task = await tasks.set_completed(session, task, wanted, clock_=_clock(me))
    if inspect(me.user).expired_attributes:
        # A parallel request set the same state first and the service rolled its own write
        # back, expiring everything this request had loaded: the page needs the user again.
        await session.refresh(me.user)
    if is_htmx(request) and task.rrule and task.completed:
        # Completing one of a series made the next: the whole list shows it.
        context = await _list_context(session, me, _list_view(request, form))
        headers = {"HX-Retarget": "#tasks", "HX-Reswap": "outerHTML"}
        return render(request, "tasks/_region_update.html", context, headers=headers)
    if is_htmx(request):
        view = _list_view(request, form)
        if not view.shows(completed=task.completed):
            # A filtered view lets the row go, as a reload would; the counts still change.
            context = await _changed_counts(session, me, view)
            return render(
                request, "tasks/_counts_oob.html", context, headers=_replacing_row(task.id)
            )
        return await _row_changed(request, session, me, task)
    return _redirect(safe_next(form.get("next")))


async def _detail_context(
    session: SessionDep, me: Me, task: Task, values: dict[str, Any]
) -> dict[str, Any]:
    return {
        "user": me.user,
        "task": task,
        "values": values,
        "lists": await tasks.lists_with_counts(session, me.user.id),
        "repeats": taskform.REPEATS,
        "recurrence_modes": taskform.RECURRENCE_MODES,
        "day_names": taskform.DAY_NAMES,
    }


@router.get("/tasks/{task_id:int}")
async def task_page(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    back = local_path(request.headers.get("referer")) or "/"
    values = taskform.values_of(task, _clock(me).tz)
    return render(
        request,
        "tasks/detail.html",
        {
            **await _detail_context(session, me, task, values),
            "flash": me.flash,
            "errors": {},
            "next": back if back == "/" or back.startswith("/?") else "/",
        },
    )


@router.get("/tasks/{task_id:int}/edit")
async def edit_row(request: Request, task: OwnedTask) -> Response:
    if not wants_fragment(request):
        return _redirect(f"/tasks/{task.id}")
    context = {"task": task, "value": task.title, "errors": {}}
    return render(request, "tasks/_edit_row.html", context)


@router.get("/tasks/{task_id:int}/row")
async def task_row(request: Request, me: Me, task: OwnedTask) -> Response:
    if not wants_fragment(request):
        return _redirect("/")
    context = {"task": task, "user": me.user, "view": _list_view(request, {})}
    return render(request, "tasks/_row.html", context)


@router.post("/tasks/{task_id:int}")
async def update_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    form = await read_form(request)
    days = [day for day in (await request.form()).getlist("repeat_days") if isinstance(day, str)]
    target = safe_next(form.get("next"))
    clock = _clock(me)
    errors: FieldErrors
    try:
        data = TaskUpdate.model_validate(taskform.changes_of(form, days, clock.tz))
        task = await tasks.update_task(session, task, data, clock_=clock)
    except taskform.FormProblem as problem:
        errors = {problem.field: problem.message}
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unprocessable as error:
        errors = app_field_errors(error, "due_date")
    else:
        if is_htmx(request):
            return await _row_changed(request, session, me, task)
        return await _flash_and_redirect(session, me, f"Saved “{task.title}”.", target)
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
        return _redirect("/")
    due = await tasks.due_reminders(session, me.user.id, now=utcnow())
    return render(request, "tasks/_reminders.html", {"reminders": due})


@router.post("/tasks/{task_id:int}/reminder/dismiss")
async def dismiss_reminder(request: Request, session: SessionDep, task: OwnedTask) -> Response:
    form = await read_form(request)
    await tasks.dismiss_reminder(session, task)
    if is_htmx(request):
        return Response(status_code=200)
    return _redirect(safe_next(form.get("next")))


@router.post("/tasks/{task_id:int}/move")
async def move_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    """Drag and drop, or Alt+Arrow: place the task right after another of its list."""
    form = await read_form(request)
    after = form.get("after", "")
    after_id = parse_row_id(after) if after else None
    if after and after_id is None:
        raise BadRequest("Say after which task this one goes.", code="bad_position")
    await tasks.move_task(session, task, list_id=None, after_id=after_id)
    if is_htmx(request):
        return Response(status_code=204)
    return _redirect(safe_next(form.get("next")))


def _restorable(task: Task) -> str | None:
    """What an Undo button must post back to bring a deleted task back: the task as the API
    reads it, in the fields a new task takes."""
    read = TaskRead.model_validate(task).model_dump(mode="json")
    fields = {name: read[name] for name in TaskCreate.model_fields if name in read}
    if fields["completed"] and fields.get("rrule"):
        # Completing it already made the next occurrence, which carries the series on.
        fields.pop("rrule")
    try:
        return TaskCreate.model_validate(fields).model_dump_json()
    except ValidationError:
        return None


@router.post("/tasks/{task_id:int}/delete")
async def delete_task(request: Request, session: SessionDep, me: Me, task: OwnedTask) -> Response:
    form = await read_form(request)
    undo = _restorable(task)
    title, task_id = task.title, task.id
    await tasks.delete_task(session, task)
    message = f"Deleted “{title}”."
    if is_htmx(request):
        view = _list_view(request, form)
        return render(
            request,
            "tasks/_deleted.html",
            {**await _changed_counts(session, me, view), "toast": Flash(message, undo)},
            headers=_replacing_row(task_id),
        )
    return await _flash_and_redirect(session, me, message, safe_next(form.get("next")), undo=undo)


@router.post("/tasks/restore")
async def restore_task(request: Request, session: SessionDep, me: Me) -> Response:
    form = await read_form(request)
    try:
        data = TaskCreate.model_validate_json(form.get("task", ""))
    except ValidationError:
        raise BadRequest(
            "This task cannot be brought back any more.", code="restore_failed"
        ) from None
    task = await tasks.create_task(session, me.user.id, data, clock_=_clock(me))
    view = _list_view(request, form)
    if is_htmx(request):
        context = await _list_context(session, me, view)
        return render(request, "tasks/_region_update.html", context)
    return await _flash_and_redirect(session, me, f"Restored “{task.title}”.", view.url())


# Lists


async def _list_form_failed(
    request: Request, session: SessionDep, me: Me, errors: FieldErrors
) -> Response:
    context = await _list_context(session, me, ListView.from_url(request.headers.get("referer")))
    context["list_errors"] = errors
    return render(
        request,
        "tasks/list.html",
        {**context, "flash": None, "title": "", "errors": {}},
        status_code=422,
    )


def _list_name(form: dict[str, str]) -> str:
    return ListCreate.model_validate({"name": form.get("name", "")}).name


@router.post("/lists")
async def create_list(request: Request, session: SessionDep, me: Me) -> Response:
    form = await read_form(request)
    try:
        created = await lists.create_list(session, me.user.id, name=_list_name(form))
    except ValidationError as error:
        return await _list_form_failed(request, session, me, field_errors(error, LABELS))
    except Conflict as error:
        return await _list_form_failed(request, session, me, {"name": error.detail})
    return _redirect(ListView(list_id=created.id).url())


@router.post("/lists/{list_id}")
async def rename_list(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    found = await lists.get_list(session, me.user.id, list_id)
    form = await read_form(request)
    try:
        await lists.update_list(session, found, changes={"name": _list_name(form)})
    except ValidationError as error:
        return await _list_form_failed(request, session, me, field_errors(error, LABELS))
    except Conflict as error:
        return await _list_form_failed(request, session, me, {"name": error.detail})
    return _redirect(ListView(list_id=list_id).url())


@router.post("/lists/{list_id}/delete")
async def delete_list(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    found = await lists.get_list(session, me.user.id, list_id)
    form = await read_form(request)
    modes: dict[str, DeleteMode] = {"move": "move", "delete": "delete"}
    mode = modes.get(form.get("tasks", ""))
    if mode is None:
        return await _list_form_failed(
            request, session, me, {"name": "Choose what happens to the list's tasks."}
        )
    name = found.name
    try:
        await tasks.delete_list(session, found, tasks=mode)
    except Conflict as error:
        return await _list_form_failed(request, session, me, {"name": error.detail})
    return await _flash_and_redirect(session, me, f"Deleted the list “{name}”.", "/")


# Tags


async def _owned_tag(session: SessionDep, me: Me, tag_id: int) -> Tag:
    return await tags.get_tag(session, me.user.id, tag_id)


async def _tag_form_failed(
    request: Request,
    session: SessionDep,
    me: Me,
    tag_id: int,
    errors: FieldErrors,
    *,
    typed: str | None = None,
) -> Response:
    context = await _list_context(session, me, ListView(tag_id=tag_id))
    context.update(tag_errors=errors, tag_name=typed)
    return render(
        request,
        "tasks/list.html",
        {**context, "flash": None, "title": "", "errors": {}},
        status_code=422,
    )


@router.post("/tags/{tag_id}")
async def rename_tag(request: Request, session: SessionDep, me: Me, tag_id: int) -> Response:
    """Rename a tag on every task; a name another tag has merges the two, as the API does."""
    found = await _owned_tag(session, me, tag_id)
    old_name = found.name
    form = await read_form(request)
    typed = form.get("name", "")
    try:
        name = TagUpdate.model_validate({"name": typed}).name
    except ValidationError as error:
        return await _tag_form_failed(
            request, session, me, tag_id, field_errors(error, LABELS), typed=typed
        )
    kept = await tags.rename(session, found, name)
    message = (
        f"Renamed the tag to #{kept.name}."
        if kept.id == tag_id
        else f"Merged #{old_name} into #{kept.name}."
    )
    return await _flash_and_redirect(session, me, message, ListView(tag_id=kept.id).url())


@router.post("/tags/{tag_id}/delete")
async def delete_tag(request: Request, session: SessionDep, me: Me, tag_id: int) -> Response:
    """Delete a tag once the person ticked the box; its tasks stay, without it."""
    found = await _owned_tag(session, me, tag_id)
    form = await read_form(request)
    if form.get("confirm") != "yes":
        errors = {"confirm": "Tick the box to confirm that the tag goes."}
        return await _tag_form_failed(request, session, me, tag_id, errors)
    name = found.name
    await tags.delete_tag(session, found)
    return await _flash_and_redirect(
        session, me, f"Deleted the tag #{name}; its tasks stay.", ListView().url()
    )


async def _to_login(request: Request, _error: Exception) -> Response:
    if is_htmx(request):
        back = local_path(request.headers.get("hx-current-url"))
    elif request.method == "GET":
        back = local_path(str(request.url))
    else:
        back = local_path(request.headers.get("referer"))
    target = "/login" if back in (None, "/") else f"/login?{urlencode({'next': back})}"
    # htmx would swap a redirect's page into the list; this header makes it navigate instead.
    response: Response = (
        Response(status_code=401, headers={"HX-Redirect": target})
        if is_htmx(request)
        else _redirect(target)
    )
    if session_token(request) is not None:
        delete_cookie(response, request, SESSION_COOKIE)
    return response


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", static_app(assets), name="static")
    app.add_exception_handler(LoginRequired, _to_login)
