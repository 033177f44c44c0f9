"""The signed-in browser's event stream: the same as the API's, on the session cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from todo.activity.routes import LastEventIdHeader, LastEventIdQuery
from todo.core import live
from todo.core.deps import SessionDep
from todo.web.common import web_router
from todo.web.deps import Me

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
    async for message in live.stream(
        request.app.state.db,
        request.app.state.hub,
        user_id,
        last_event_id=last_event_id if last_event_id is not None else last_event_id_query,
    ):
        yield message
