from __future__ import annotations

from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from todo.core.db import Database
from todo.core.handlers import problem
from todo.core.schemas import problem_responses

router = APIRouter(tags=["health"])
APP_NAME = "TODO API"
VERSION = version("todo")


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, Any]:
    return {"status": "ok", "app": APP_NAME, "version": VERSION}


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
