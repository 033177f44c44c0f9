"""Liveness and readiness probes.

`/health` is what a load balancer polls to decide whether the process is alive, so it must
answer while the worker is saturated. Through the whole stack (Starlette's middleware,
ours, routing, FastAPI's endpoint machinery) its answer waits for several turns of a busy
event loop, each behind every other request's work; `HealthShortcut`, outermost, answers it
in the first turn of the request's own task with bytes made once. The route stays for the
OpenAPI document and for requests the shortcut leaves to the app (see its docstring).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from todo.core.db import Database
from todo.core.handlers import problem
from todo.core.schemas import problem_responses

router = APIRouter(tags=["health"])
APP_NAME = "TODO API"
VERSION = version("todo")


def liveness() -> dict[str, Any]:
    return {"status": "ok", "app": APP_NAME, "version": VERSION}


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, Any]:
    return liveness()


class HealthShortcut:
    """Answers `GET /health` before everything else, as the route and the middleware would.

    `headers`: what the middleware adds to every response (security headers), given by the
    app so that the two cannot drift apart. A request with an `Origin` goes to the app, whose
    CORS layer decides what to add; so does every other method (405 from the router).
    """

    def __init__(self, app: ASGIApp, *, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        body = json.dumps(liveness(), ensure_ascii=False, separators=(",", ":")).encode()
        self.body = body
        self.headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            *headers,
        ]
        self.https_headers = [*self.headers, (b"strict-transport-security", b"max-age=31536000")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/health"
            or scope["method"] != "GET"
            or any(name == b"origin" for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        headers = self.https_headers if scope.get("scheme") == "https" else self.headers
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


@router.get(
    "/health/ready",
    summary="Readiness: the database answers",
    responses=problem_responses(503),
)
async def ready(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return problem(
            503,
            "Service unavailable",
            "The database is not reachable.",
            "database_unavailable",
            headers={"Retry-After": "1"},
        )
    return JSONResponse({"status": "ok", "database": "ok"})
