"""The application factory: everything is built from the settings it is given."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from todo.accounts.routes import router as accounts_router
from todo.activity.routes import router as activity_router
from todo.backup.routes import router as backup_router
from todo.caldav import routes as caldav
from todo.caldav.api import feeds_router, public_router
from todo.caldav.api import router as ical_router
from todo.comments.routes import router as comments_router
from todo.core import handlers
from todo.core.config import Settings, load_settings
from todo.core.db import Database
from todo.core.health import APP_NAME, VERSION, HealthShortcut
from todo.core.health import router as health_router
from todo.core.live import Hub
from todo.core.middleware import BodyLimit, CatchAll, SecurityHeaders, security_headers
from todo.core.ratelimit import RateLimiter
from todo.core.schemas import honest_problems
from todo.core.security import Passwords
from todo.core.tokens import TokenService
from todo.mcp import server as mcp_server
from todo.notifications import push
from todo.notifications.routes import router as notifications_router
from todo.sharing.routes import router as sharing_router
from todo.tags.routes import router as tags_router
from todo.tasks.lists_routes import router as lists_router
from todo.tasks.routes import reminders_router, trash_router
from todo.tasks.routes import router as tasks_router
from todo.tasks.tags_routes import router as tag_list_router
from todo.web import routes as web
from todo.web.render import CONTENT_SECURITY_POLICY, error_page
from todo.webhooks.routes import router as webhooks_router
from todo.worker import Background

DESCRIPTION = """
A multi-user task manager. Authenticate with `POST /api/auth/signup` or `/api/auth/login`
and send the token as `Authorization: Bearer <token>`; in the paths, `{user_id}` is your
id or simply `me`. Errors are `application/problem+json` with a stable `code`.
"""


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        hub = Hub(settings)
        app.state.db = Database(settings, info=hub.session_info())
        hub.attach(app.state.db)
        app.state.hub = hub
        app.state.passwords = Passwords(settings)
        secret = settings.auth_secret
        assert secret is not None, "load_settings() settles the secret"
        app.state.tokens = TokenService(
            secret=secret.get_secret_value(),
            ttl=settings.access_token_ttl,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            jwks_url=settings.auth_jwks_url,
            jwks_cache_ttl=settings.auth_jwks_cache_ttl,
        )
        app.state.ratelimiter = RateLimiter.from_settings(settings)
        # The Web Push key, loaded on first use and kept for the life of the process.
        app.state.keys = {}
        warming = asyncio.create_task(push.warm(app.state.db, settings, app.state.keys))
        app.state.jobs = Background(settings, app.state.db)
        await app.state.jobs.start()
        try:
            async with mcp_running():
                yield
        finally:
            warming.cancel()
            await app.state.jobs.stop()
            await hub.aclose()
            await app.state.ratelimiter.aclose()
            await app.state.tokens.aclose()
            await app.state.db.dispose()

    app = FastAPI(
        title=APP_NAME,
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        # The stock pages load their scripts from a CDN; ours are served from /static.
        docs_url=None,
        redoc_url=None,
    )
    handlers.install(app, error_page=error_page)
    _document_problems(app)
    _mount_docs(app)
    app.include_router(health_router)
    app.include_router(accounts_router)
    app.include_router(backup_router)
    app.include_router(tasks_router)
    app.include_router(comments_router)
    app.include_router(reminders_router)
    app.include_router(trash_router)
    app.include_router(lists_router)
    app.include_router(tag_list_router)
    app.include_router(tags_router)
    app.include_router(notifications_router)
    app.include_router(activity_router)
    app.include_router(sharing_router)
    app.include_router(webhooks_router)
    app.include_router(ical_router)
    app.include_router(feeds_router)
    app.include_router(public_router)
    web.install(app)
    caldav.install(app)
    mcp_running = mcp_server.install(app)

    # Added innermost first: CatchAll sits inside CORS so even a 500 carries CORS headers.
    app.add_middleware(CatchAll, error_page=error_page)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
        expose_headers=["ETag", "Link", "Location", "Retry-After"],
    )
    app.add_middleware(SecurityHeaders, content_security_policy=CONTENT_SECURITY_POLICY)
    app.add_middleware(HealthShortcut, headers=security_headers(CONTENT_SECURITY_POLICY))
    return app


def _allow_own_inline_scripts(page: HTMLResponse) -> HTMLResponse:
    """Swagger UI's pages start themselves with an inline script: allow exactly those scripts
    (by hash) and its inline styles on these two pages, and keep the strict policy elsewhere."""
    scripts = re.findall(rb"<script>(.*?)</script>", page.body, re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in scripts
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return page


def _document_problems(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = honest_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _mount_docs(app: FastAPI) -> None:
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return _allow_own_inline_scripts(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{APP_NAME} - API documentation",
                swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                swagger_css_url="/static/vendor/swagger-ui.css",
                swagger_favicon_url="/static/favicon.svg",
                oauth2_redirect_url=oauth2_redirect,
            )
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def docs_redirect() -> HTMLResponse:
        return _allow_own_inline_scripts(get_swagger_ui_oauth2_redirect_html())


def app_from_environment() -> FastAPI:
    """Entry point for `uvicorn --factory`: each worker reads the same settings."""
    return create_app(load_settings())
