"""The browser app: thin routes over the account and task services, drawn with Jinja2.

Every action is a plain form that posts and redirects, so it all works without JavaScript.
htmx sends the same forms in the background (HX-Request) and gets back only the part of the
page that changed. The routes live by domain (accounts, tasks, lists, tags); this module puts
them together.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from starlette.responses import Response

from todo.web import (
    accounts,
    calendar,
    comments,
    icalendar,
    lists,
    live,
    notifications,
    pwa,
    sharing,
    tags,
    tasks,
    trash,
    webhooks,
)
from todo.web.assets import static_app
from todo.web.common import redirect
from todo.web.deps import LoginRequired, is_htmx
from todo.web.render import assets
from todo.web.security import SESSION_COOKIE, delete_cookie, local_path, session_token

ROUTERS = (
    accounts.router,
    tasks.router,
    calendar.router,
    icalendar.router,
    comments.router,
    trash.router,
    lists.router,
    tags.router,
    sharing.router,
    notifications.router,
    live.router,
    pwa.router,
    webhooks.router,
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
        else redirect(target)
    )
    if session_token(request) is not None:
        delete_cookie(response, request, SESSION_COOKIE)
    return response


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", static_app(assets), name="static")
    app.add_exception_handler(LoginRequired, _to_login)
