"""Page rendering: the Jinja2 environment, the page response and the HTML error page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from todo.lists.access import Role, Scope
from todo.web.assets import STATIC_DIR, Assets
from todo.web.display import due_label, instant_label, is_overdue, priority_name
from todo.web.security import VISITOR_COOKIE, csrf_token, pending_visitor_secret, set_cookie

# Nothing inline: scripts and styles come from our own files only, so an injected
# <script> or style attribute does nothing even if escaping ever failed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

assets = Assets(STATIC_DIR)


@pass_context
def _csrf_token(context: Context) -> str:
    request: Request = context["request"]
    return csrf_token(request)


@pass_context
def _when(context: Context, moment: datetime) -> str:
    user = context.get("user")
    return instant_label(moment, user.timezone if user is not None else None)


@pass_context
def _read_only(context: Context, task: Any) -> bool:
    """A task the signed-in person sees but may not change: of a list shared with them as a
    viewer. The page shows it without the controls that would only meet a 403."""
    request: Request = context["request"]
    scope: Scope | None = getattr(request.state, "scope", None)
    return scope is not None and scope.role_on(task.user_id, task.list_id) == Role.viewer


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(static=assets.url, csrf_token=_csrf_token)
    environment.globals.update(due_label=due_label, is_overdue=is_overdue)
    environment.globals.update(read_only=_read_only)
    environment.filters["when"] = _when
    environment.filters["priority_name"] = priority_name
    return environment


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        name,
        {"user": None, "flash": None, **(context or {})},
        status_code=status_code,
        headers=headers,
    )
    # Pages show private data: no cache may keep them, and after logging out the Back
    # button must not bring them back from the browser's memory.
    response.headers["Cache-Control"] = "no-store"
    secret = pending_visitor_secret(request)
    if secret is not None:
        set_cookie(response, request, VISITOR_COOKIE, secret, max_age=None)
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )
