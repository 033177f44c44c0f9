"""The calendar: a month or a week of the dated tasks a person sees, and moving one to
another day (a drag, Alt+arrow keys, or the plain "Move to" form of the day's list)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from starlette.responses import Response

from todo.core.deps import SessionDep
from todo.core.errors import Unprocessable
from todo.tasks import service as tasks
from todo.tasks.deps import IfMatch
from todo.web import calendar_view
from todo.web.calendar_view import URL, VIEWS, WEEKDAYS, CalendarView, lay_out, parse_day
from todo.web.common import clock_of, flash_and_redirect, web_router
from todo.web.deps import Me, OwnedTask, is_htmx, wants_fragment
from todo.web.display import today
from todo.web.forms import read_form
from todo.web.listing import ListView
from todo.web.page import changed_counts
from todo.web.render import render
from todo.web.security import local_path, safe_next

router = web_router()

_Param = Annotated[str | None, Query(max_length=20)]


async def _calendar_context(session: SessionDep, me: Me, view: CalendarView) -> dict[str, Any]:
    found = await tasks.list_tasks(session, me.scope, view.query())
    zone = clock_of(me).tz
    return {
        "user": me.user,
        "cal": lay_out(view, found.items, zone, truncated=found.next_cursor is not None),
        "zone": zone,
        "local_time": calendar_view.local_time,
        "views": VIEWS,
        "weekdays": WEEKDAYS,
        "max_tasks": calendar_view.MAX_TASKS,
    }


@router.get(URL)
async def calendar_page(
    request: Request,
    session: SessionDep,
    me: Me,
    view: Annotated[str | None, Query(max_length=20)] = None,
    month: _Param = None,
    week: _Param = None,
    day: _Param = None,
) -> Response:
    shown = CalendarView.parse(
        today=today(me.user.timezone), view=view, month=month, week=week, day=day
    )
    context = await _calendar_context(session, me, shown)
    if wants_fragment(request):
        return render(request, "calendar/_calendar.html", context)
    # The sidebar as on any other page, with Calendar as the place shown.
    sidebar = await changed_counts(session, me, ListView())
    return render(
        request,
        "calendar/page.html",
        {**sidebar, **context, "place": URL, "flash": me.flash, "list_errors": {}},
    )


@router.post("/tasks/{task_id:int}/reschedule")
async def reschedule_task(
    request: Request, session: SessionDep, me: Me, task: OwnedTask, if_match: IfMatch
) -> Response:
    """Due on another day, its time of day kept. The calendar sends the version it drew
    (If-Match): a task changed meanwhile is refused (412) and drawn again as it is now."""
    form = await read_form(request)
    day = parse_day(form.get("date", "").strip())
    if day is None:
        raise Unprocessable(
            "Choose the day to move the task to, as YYYY-MM-DD.",
            errors=[{"field": "date", "in": "body", "reason": "must be a date as YYYY-MM-DD"}],
        )
    moved = await tasks.reschedule(
        session, task, day, clock_=clock_of(me), scope=me.scope, if_match=if_match
    )
    if is_htmx(request):
        # The calendar the person is looking at, drawn again around the moved task.
        seen = CalendarView.from_url(
            local_path(request.headers.get("hx-current-url")), today=today(me.user.timezone)
        )
        context = await _calendar_context(session, me, seen)
        return render(request, "calendar/_calendar.html", context)
    target = safe_next(form.get("next"))
    message = f"Moved “{moved.title}” to {day:%a} {day.day} {day:%b} {day.year}."
    return await flash_and_redirect(session, me, message, target)
