"""The signed-in browser's event stream: the same as the API's, on the session cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from todo.accounts import service as accounts
from todo.activity.routes import LastEventIdHeader, LastEventIdQuery, stream_for
from todo.core.db import Database
from todo.core.deps import SessionDep
from todo.web.common import web_router
from todo.web.deps import Me
from todo.web.security import session_token

router = web_router()


@router.get("/events", response_class=EventSourceResponse)
async def event_stream(
    request: Request,
    session: SessionDep,
    me: Me,
    last_event_id: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> AsyncIterator[ServerSentEvent]:
    user_id = me.user.id
    # Reads go through the stream's own short sessions; this one would hold a connection.
    await session.close()
    db: Database = request.app.state.db
    cookie = session_token(request) or ""

    async def still_allowed() -> bool:
        # Signed out (here, everywhere, or by a password change) ends the stream too.
        async with db.session(write=False) as check:
            found = await accounts.resolve_web_session(check, cookie)
        return found is not None and found.user.id == user_id

    async for message in stream_for(
        request, user_id, last_event_id, last_event_id_query, still_allowed
    ):
        yield message
