"""Every error leaves as application/problem+json, rendered in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

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


async def _on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    title, code = _HTTP_CODES.get(error.status_code, ("Error", f"http_{error.status_code}"))
    detail = error.detail if isinstance(error.detail, str) else title
    if error.status_code == 404 and detail == "Not Found":
        detail = "There is nothing at this address."
    elif error.status_code == 405:
        detail = "This method is not allowed here."
    return problem(
        error.status_code, title, detail, code, headers=dict(error.headers or {}) or None
    )


def is_database_unavailable(error: BaseException) -> bool:
    if isinstance(error, PoolTimeout | OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, ConnectionError | TimeoutError | OSError)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(AppError, _on_app_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
