"""Pure ASGI middleware: body size limit, last-resort 500, security headers."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo.core.errors import PayloadTooLarge
from todo.core.handlers import (
    ErrorPage,
    is_database_unavailable,
    is_storage_full,
    negotiate,
    problem,
    render_app_error,
)
from todo.core.ids import parse_int

log = logging.getLogger("todo")


class BodyLimit:
    """Refuse bodies over the limit with 413 before the application reads them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> Any:
        return render_app_error(
            PayloadTooLarge(
                f"The request body is larger than {self.max_bytes} bytes.",
                code="body_too_large",
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if parse_int(declared.decode("latin-1"), high=self.max_bytes) is None:
                await self._too_large()(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # Chunked: read it all (it is small by definition) and replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class CatchAll:
    """Turn an unhandled exception into a problem document inside the CORS layer.

    Starlette's own 500 page is rendered outside every middleware, so a browser on
    another origin could not even read that the request failed.
    """

    def __init__(self, app: ASGIApp, *, error_page: ErrorPage | None = None) -> None:
        self.app = app
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise
            if is_storage_full(error):
                log.error("the database is full: %s", error.__class__.__name__)
                response = problem(
                    507,
                    "Insufficient storage",
                    "The database is full, so nothing was saved; reading still works. "
                    "An operator must free or add space.",
                    "storage_full",
                )
            elif is_database_unavailable(error):
                log.warning("database unavailable: %s", error.__class__.__name__)
                response = problem(
                    503,
                    "Service unavailable",
                    "The database is not reachable right now; retry in a moment.",
                    "database_unavailable",
                    headers={"Retry-After": "1"},
                )
            else:
                log.exception("unhandled error on %s %s", scope["method"], scope["path"])
                response = problem(
                    500,
                    "Internal server error",
                    "Something went wrong on our side; it has been logged.",
                    "internal_error",
                )
            answer: Response = response
            try:
                answer = negotiate(Request(scope), response, self.error_page)
            except Exception:
                # Drawing the page failed too: the problem document still answers.
                log.exception("the error page could not be drawn")
            await answer(scope, receive, send)


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def security_headers(content_security_policy: str | None = None) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (but HSTS, which only HTTPS ones do)."""
    headers = list(_SECURITY_HEADERS)
    if content_security_policy is not None:
        headers.append((b"content-security-policy", content_security_policy.encode()))
    return headers


class SecurityHeaders:
    """Adds the headers every response needs, unless the response already set its own."""

    def __init__(self, app: ASGIApp, *, content_security_policy: str | None = None) -> None:
        self.app = app
        self.defaults = security_headers(content_security_policy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.defaults if n not in present]
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)
