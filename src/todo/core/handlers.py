"""Every error leaves as application/problem+json, rendered in one place.

A person whose browser asks for a page (not the API) gets the same error as an HTML page
instead, drawn by the web app: see `install(error_page=...)`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount

from todo.core.errors import AppError

PROBLEM = "application/problem+json"
_HTTP_CODES = {
    400: ("Bad request", "bad_request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not found", "not_found"),
    405: ("Method not allowed", "method_not_allowed"),
    406: ("Not acceptable", "not_acceptable"),
    413: ("Payload too large", "payload_too_large"),
    415: ("Unsupported media type", "unsupported_media_type"),
}


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM)


def render_app_error(error: AppError) -> JSONResponse:
    return problem(
        error.status,
        error.title,
        error.detail,
        error.code,
        errors=error.errors,
        headers=error.headers,
    )


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    fields = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        where = location[0] if location else "body"
        name = ".".join(location[1:]) or where
        reason = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            reason = "is not a known field"
        fields.append({"field": name, "in": where, "reason": reason})
    return fields


async def _on_validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return problem(400, "Bad request", "The request body is not valid JSON.", "malformed_json")
    fields = _field_errors(error)
    summary = "; ".join(f"{f['field']}: {f['reason']}" for f in fields[:3])
    return problem(
        422,
        "Unprocessable content",
        f"The request is not valid: {summary}.",
        "validation_error",
        errors=fields,
    )


async def _on_app_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return render_app_error(error)


async def _on_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    title, code = _HTTP_CODES.get(error.status_code, ("Error", f"http_{error.status_code}"))
    detail = error.detail if isinstance(error.detail, str) else title
    if error.status_code == 404 and detail == "Not Found":
        detail = "There is nothing at this address."
    headers = dict(error.headers or {})
    if error.status_code == 405:
        detail = "This method is not allowed here."
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem(error.status_code, title, detail, code, headers=headers or None)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The WebDAV and CalDAV methods of the /dav door and its well-known address.
_DAV_METHODS = ("PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path. FastAPI keeps one route per method, and
    Starlette's 405 names only the methods of the first route whose path matched."""
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS + _DAV_METHODS:
        scope = {**request.scope, "method": method}
        for route in routes:
            match, _ = route.matches(scope)
            # A mount (the static files) matches any method and answers its own 405.
            if match is Match.FULL and not isinstance(route, Mount):
                allowed.append(method)
                break
    return allowed


_DISK_FULL_SQLSTATE = "53100"


def is_storage_full(error: BaseException) -> bool:
    """The database refused a write for want of space (SQLite's SQLITE_FULL, PostgreSQL 53100)."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) == _DISK_FULL_SQLSTATE:
        return True
    return "database or disk is full" in str(original)


# Connection exceptions (class 08), the server shutting down or starting up (57P01-57P03)
# and too many connections (53300): the request may succeed once the server is back.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# SQLite's file cannot be reached, or another writer held it past the busy timeout.
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked")


def is_database_unavailable(error: BaseException) -> bool:
    """The connection to the database is lost or cannot be had: retrying later may work.

    Only that: any other database error (a bad statement, a constraint, a timeout of our own
    query) is a bug to be logged with its traceback as a 500, not hidden behind a 503.
    """
    if isinstance(error, PoolTimeout):
        return True
    if isinstance(error, DBAPIError):
        # SQLAlchemy's dialects know which of their driver's errors mean a lost connection.
        if error.connection_invalidated:
            return True
        original = error.orig
        sqlstate = getattr(original, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
        if isinstance(error, OperationalError) and any(
            message in str(original) for message in _SQLITE_UNAVAILABLE
        ):
            return True
        return isinstance(original, ConnectionError) or isinstance(
            getattr(original, "__cause__", None), ConnectionError
        )
    # Opening a connection: refused, reset or timed out before the driver wraps anything.
    return isinstance(error, ConnectionError | TimeoutError)


ErrorPage = Callable[[Request, int, str, str], Response]
"""Draws an error for a browser: (request, status, title, detail) -> an HTML response."""
_Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def _quality(accept: str, media_type: str) -> float:
    """How much an Accept header wants a media type: the q of its most specific match."""
    family = media_type.split("/", 1)[0] + "/*"
    best_q, best_rank = 0.0, -1
    for item in accept.split(","):
        kind, *params = (part.strip() for part in item.split(";"))
        rank = {media_type: 2, family: 1, "*/*": 0}.get(kind.lower(), -1)
        if rank <= best_rank:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best_q, best_rank = q, rank
    return best_q


def prefers_html(request: Request) -> bool:
    """A browser navigating to a page, rather than an API client or a script's fetch."""
    path = request.url.path
    if path == "/api" or path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def negotiate(request: Request, problem: JSONResponse, error_page: ErrorPage | None) -> Response:
    """The problem document, or for a browser the same error drawn as a page."""
    if error_page is None or not prefers_html(request):
        return problem
    # The problem document stays the one source of every status, title and sentence.
    body = json.loads(bytes(problem.body))
    page = error_page(request, body["status"], body["title"], body["detail"])
    for name, value in problem.headers.items():
        if name not in ("content-type", "content-length"):
            page.headers.setdefault(name, value)
    return page


def _negotiated(
    handler: _Handler, error_page: ErrorPage
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def negotiated(request: Request, error: Exception) -> Response:
        return negotiate(request, await handler(request, error), error_page)

    return negotiated


def install(app: FastAPI, *, error_page: ErrorPage | None = None) -> None:
    handlers: list[tuple[type[Exception], _Handler]] = [
        (RequestValidationError, _on_validation),
        (AppError, _on_app_error),
        (StarletteHTTPException, _on_http_error),
    ]
    for error_type, handler in handlers:
        app.add_exception_handler(
            error_type, handler if error_page is None else _negotiated(handler, error_page)
        )
