"""Who sends an MCP request: the same bearer tokens as the API, checked on every request.

The MCP transport is a plain ASGI app, not FastAPI routes, so the API's dependencies do not
run for it; this wrapper resolves the token with the same account service the API's
`Caller` dependency uses, before the SDK sees the request, and leaves the answer in the
ASGI scope, where a tool finds it through the SDK's request context.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from todo.accounts import service as accounts
from todo.core.db import Database
from todo.core.errors import AppError, Unauthorized
from todo.core.handlers import render_app_error
from todo.core.tokens import TokenService

SCOPE_KEY = "todo.mcp.caller"


@dataclass(frozen=True)
class McpCaller:
    """What a tool needs of the caller: plain values, read while the request's own
    session was open, so no tool touches an object of a closed session."""

    user_id: str
    timezone: str
    scopes: frozenset[str] | None
    """A personal access token's scopes; None for a log-in, which may do everything."""

    def lacks(self, scope: str) -> bool:
        return self.scopes is not None and scope not in self.scopes


def _bearer(headers: Headers) -> str | None:
    value = headers.get("authorization", "")
    kind, _, token = value.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def resolve(db: Database, tokens: TokenService, token: str) -> McpCaller:
    """The caller a token speaks for, or Unauthorized (unknown, expired, revoked)."""
    async with db.session(write=False) as session:
        if accounts.is_access_token(token):
            use = await accounts.resolve_access_token(session, token)
            caller = McpCaller(use.user.id, use.user.timezone, use.scopes)
            touch = use.token_id if use.touch_due else None
        else:
            user = await accounts.resolve_token(session, await tokens.verify(token))
            caller = McpCaller(user.id, user.timezone, None)
            touch = None
    if touch is not None:
        # The last use, on a writer session of its own as the API's reading requests do.
        async with db.session(write=True) as writer:
            await accounts.touch_access_token(writer, touch)
    return caller


class RequireToken:
    """Refuses a request without a valid token with 401 and `WWW-Authenticate: Bearer`
    (as problem+json, like every API error), and hands the caller to the SDK otherwise."""

    def __init__(self, app: ASGIApp, *, state: object) -> None:
        self.app = app
        # The FastAPI app's state: its database and token service exist from its lifespan on.
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _bearer(Headers(scope=scope))
        try:
            if token is None:
                raise Unauthorized(
                    "Authentication is required: send 'Authorization: Bearer <token>' "
                    "with a personal access token.",
                    code="not_authenticated",
                )
            caller = await resolve(self.state.db, self.state.tokens, token)  # type: ignore[attr-defined]
        except AppError as error:
            await render_app_error(error)(scope, receive, send)
            return
        scope[SCOPE_KEY] = caller
        await self.app(scope, receive, send)
