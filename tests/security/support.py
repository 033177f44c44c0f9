"""Helpers for the security tests: an app with settings of the test's own over the shared
test database, and clients that come from a chosen address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from todo.app import create_app
from todo.core.config import Settings


@asynccontextmanager
async def running(settings: Settings, **overrides: Any) -> AsyncIterator[FastAPI]:
    """Another app instance (as another process would be) on the same database."""
    application = create_app(settings.model_copy(update=overrides))
    async with application.router.lifespan_context(application):
        yield application


def client_for(
    app: FastAPI, address: str = "203.0.113.10", base_url: str = "http://test"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
