"""The MCP server at /mcp: tools over the same services and owner checks as the REST API.

Stateless streamable HTTP: every POST carries its own bearer token and is answered in
JSON, so no session lives on the server between requests, any worker can answer any
request, and a revoked token fails on the very next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.routing import Route

from todo.core.db import Database
from todo.core.errors import AppError
from todo.core.health import APP_NAME, VERSION
from todo.core.ids import RowId
from todo.core.schemas import NO_CONTROLS, CalendarDate, Instant
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.lists.schemas import ListRead
from todo.mcp.auth import SCOPE_KEY, McpCaller, RequireToken
from todo.tasks import service as tasks
from todo.tasks.query import RELEVANCE, TaskQuery, search_terms
from todo.tasks.schemas import (
    DESCRIPTION_MAX,
    PAGE_MAX,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    ChildrenMode,
    PriorityName,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)

PATH = "/mcp"
LIMIT_DEFAULT = 50
# As the web app's Upcoming view: today and the six days after.
UPCOMING_DAYS = 7
SEARCH_MAX = 200
QUICK_ADD_MAX = 500

View = Literal["today", "upcoming", "all", "completed"]

# The scope each tool needs of a personal access token (a log-in may call every tool).
TOOL_SCOPES: dict[str, str] = {
    "search_tasks": "tasks:read",
    "list_tasks": "tasks:read",
    "create_task": "tasks:write",
    "update_task": "tasks:write",
    "complete_task": "tasks:write",
    "move_task": "tasks:write",
    "list_lists": "lists:read",
}


class TaskList(BaseModel):
    """Tasks, in the order asked for."""

    tasks: list[TaskRead]


class ListList(BaseModel):
    """Lists, the Inbox first, with their open-task counts."""

    lists: list[ListRead]


TaskId = Annotated[RowId, Field(description="The task's id")]
ListId = Annotated[RowId, Field(description="A list's id (see list_lists)")]
Limit = Annotated[int, Field(ge=1, le=PAGE_MAX, description="At most this many tasks")]
TagName = Annotated[str, Field(max_length=TAG_MAX), NO_CONTROLS]
Children = Annotated[
    ChildrenMode | None,
    Field(
        description="When the task has open subtasks and is being completed: complete "
        "completes them too, keep leaves them open. Left out, completing such a task is "
        "refused (open_children, with their number), so that you can ask the user first"
    ),
]

_T = TypeVar("_T")


def _field_problems(error: ValidationError) -> str:
    """Which fields were refused and why, without echoing what was sent."""
    parts = []
    for item in error.errors():
        field = ".".join(str(part) for part in item.get("loc", ())) or "arguments"
        reason = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{field}: {reason}")
    return "validation_error: " + "; ".join(parts)


def _tool_error(error: AppError) -> ToolError:
    """An API error as a tool error the assistant can read: its stable code, its sentence
    and the fields it names."""
    fields = [str(item.get("field")) for item in error.errors or () if item.get("field")]
    named = f" (fields: {', '.join(fields)})" if fields else ""
    return ToolError(f"{error.code}: {error.detail}{named}")


def _caller(ctx: Context, tool: str) -> McpCaller:
    request = ctx.request_context.request
    caller = getattr(request, "scope", {}).get(SCOPE_KEY)
    if not isinstance(caller, McpCaller):
        # Only reachable if the SDK were served without RequireToken in front of it.
        raise ToolError("not_authenticated: this server needs a bearer token")
    needed = TOOL_SCOPES[tool]
    if caller.lacks(needed):
        raise ToolError(
            f"insufficient_scope: this token lacks the scope {needed}, which {tool} needs; "
            "make a token with it on the account page"
        )
    return caller


class _Tools:
    """The tools of one app: they open sessions on that app's database."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def run(
        self,
        ctx: Context,
        tool: str,
        work: Callable[[AsyncSession, Scope, tasks.Clock], Awaitable[_T]],
        *,
        write: bool,
    ) -> _T:
        caller = _caller(ctx, tool)
        db: Database = self.app.state.db
        try:
            async with db.session(write=write) as session:
                # Read once per call, as per request in the API: a removal counts at once.
                scope = await access.scope_of(session, caller.user_id)
                return await work(session, scope, tasks.Clock.of(caller.timezone))
        except AppError as error:
            raise _tool_error(error) from error
        except ValidationError as error:
            raise ToolError(_field_problems(error)) from error


def _rows(items: list[dict[str, Any]]) -> TaskList:
    return TaskList(tasks=[TaskRead.model_validate(item) for item in items])


def _view_query(view: View, *, today: date, limit: int) -> TaskQuery:
    """The web app's sidebar views, asked of the same task service."""
    if view == "today":
        # Today's view holds what is overdue too: undone and due today or before.
        return TaskQuery(status="pending", sort="due_date", order="asc", limit=limit, due_to=today)
    if view == "upcoming":
        return TaskQuery(
            status="pending",
            sort="due_date",
            order="asc",
            limit=limit,
            due_from=today,
            due_to=today + timedelta(days=UPCOMING_DAYS - 1),
        )
    if view == "completed":
        return TaskQuery(status="completed", sort="completed", order="desc", limit=limit)
    return TaskQuery(status="all", sort="created", order="desc", limit=limit)


def build(app: FastAPI) -> MCPServer:
    server: MCPServer = MCPServer(
        name=APP_NAME,
        version=VERSION,
        instructions="Tasks and lists of the account whose token you hold. Dates are ISO "
        "8601; ids come from earlier answers. create_task's `text` takes one line the way "
        "the web app's quick add does: 'Pay rent every month on the 1st #home !high +Bills'.",
    )
    tools = _Tools(app)
    reading = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    changing = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

    @server.tool(annotations=reading)
    async def search_tasks(
        ctx: Context,
        query: Annotated[
            str,
            Field(min_length=1, max_length=SEARCH_MAX, description="Words to look for"),
            NO_CONTROLS,
        ],
        limit: Limit = LIMIT_DEFAULT,
    ) -> TaskList:
        """Search your tasks' titles and descriptions, best matches first (needs tasks:read)."""

        async def work(session: AsyncSession, scope: Scope, clock: tasks.Clock) -> TaskList:
            terms = search_terms(query)
            if not terms:
                raise ToolError("validation_error: query: has no word to search for")
            found = TaskQuery(
                sort=RELEVANCE,
                order="desc",
                limit=limit,
                q=query,
                search_terms=terms,
                today=clock.today,
                now=clock.now,
            )
            return _rows((await tasks.list_task_rows(session, scope, found)).items)

        return await tools.run(ctx, "search_tasks", work, write=False)

    @server.tool(annotations=reading)
    async def list_tasks(
        ctx: Context,
        view: Annotated[
            View,
            Field(
                description="today: open and due today or overdue; upcoming: open and due "
                "in the next 7 days; all: every task, newest first; completed: most "
                "recently completed first"
            ),
        ] = "all",
        list_id: Annotated[RowId | None, Field(description="Only this list's tasks")] = None,
        tag: Annotated[TagName | None, Field(description="Only tasks with this tag")] = None,
        limit: Limit = LIMIT_DEFAULT,
    ) -> TaskList:
        """List your tasks as the web app's views show them (needs tasks:read)."""

        async def work(session: AsyncSession, scope: Scope, clock: tasks.Clock) -> TaskList:
            base = _view_query(view, today=clock.today, limit=limit)
            query = TaskQuery(
                status=base.status,
                sort=base.sort,
                order=base.order,
                limit=base.limit,
                due_from=base.due_from,
                due_to=base.due_to,
                list_id=list_id,
                tags=(tag.removeprefix("#"),) if tag else (),
                today=clock.today,
                now=clock.now,
            )
            return _rows((await tasks.list_task_rows(session, scope, query)).items)

        return await tools.run(ctx, "list_tasks", work, write=False)

    @server.tool(annotations=changing)
    async def create_task(
        ctx: Context,
        title: Annotated[
            str | None,
            Field(max_length=TITLE_MAX, description="The title, taken as written"),
            NO_CONTROLS,
        ] = None,
        text: Annotated[
            str | None,
            Field(
                max_length=QUICK_ADD_MAX,
                description="Instead of title: one line read like the web app's quick "
                "add, e.g. 'Call Sam tomorrow 5pm #work !high +Clients every week'",
            ),
            NO_CONTROLS,
        ] = None,
        description: Annotated[
            str | None, Field(max_length=DESCRIPTION_MAX, description="Notes"), NO_CONTROLS
        ] = None,
        list_id: Annotated[
            RowId | None, Field(description="The list; default the Inbox (or the text's +List)")
        ] = None,
        priority: Annotated[PriorityName | None, Field(description="Default none")] = None,
        tags: Annotated[
            list[TagName] | None, Field(max_length=TAGS_MAX, description="Tag names")
        ] = None,
        due_date: Annotated[
            CalendarDate | None, Field(description="Due on this day (YYYY-MM-DD)")
        ] = None,
        due_at: Annotated[
            Instant | None, Field(description="Due at this moment, with its offset")
        ] = None,
        remind_at: Annotated[
            Instant | None, Field(description="Remind at this moment, with its offset")
        ] = None,
        rrule: Annotated[
            str | None,
            Field(max_length=500, description="Repeat: an RFC 5545 RRULE such as FREQ=WEEKLY"),
            NO_CONTROLS,
        ] = None,
    ) -> TaskRead:
        """Create a task from a title and fields, or from one line of quick-add text
        (needs tasks:write)."""
        if (title is None) == (text is None):
            raise ToolError("validation_error: title, text: give exactly one of them")

        async def work(session: AsyncSession, scope: Scope, clock: tasks.Clock) -> TaskRead:
            if text is not None:
                extra = {
                    name
                    for name, value in (
                        ("description", description),
                        ("priority", priority),
                        ("due_at", due_at),
                        ("remind_at", remind_at),
                        ("rrule", rrule),
                    )
                    if value is not None
                }
                if extra:
                    raise ToolError(
                        f"validation_error: {', '.join(sorted(extra))}: quick-add text takes "
                        "only list_id, tags and due_date besides; say the rest in the text"
                    )
                if not text.strip():
                    raise ToolError("validation_error: text: must not be empty")
                created = await tasks.quick_add(
                    session,
                    scope,
                    text,
                    clock_=clock,
                    list_id=list_id,
                    tags=TaskCreate(title="x", tags=tags or []).tags,
                    due_date=due_date,
                )
            else:
                fields = {
                    "title": title,
                    "description": description,
                    "list_id": list_id,
                    "priority": priority,
                    "tags": tags,
                    "due_date": due_date,
                    "due_at": due_at,
                    "remind_at": remind_at,
                    "rrule": rrule,
                }
                data = TaskCreate.model_validate(
                    {name: value for name, value in fields.items() if value is not None}
                )
                created = await tasks.create_task(session, scope, data, clock_=clock)
            return TaskRead.model_validate(created)

        return await tools.run(ctx, "create_task", work, write=True)

    @server.tool(annotations=changing)
    async def update_task(
        ctx: Context,
        id: TaskId,
        changes: Annotated[
            TaskUpdate,
            Field(
                description="Only the fields to change; null clears a field (a list_id of "
                "null moves the task to the Inbox)"
            ),
        ],
        children: Children = None,
    ) -> TaskRead:
        """Change some of a task's fields (needs tasks:write)."""

        async def work(session: AsyncSession, scope: Scope, clock: tasks.Clock) -> TaskRead:
            task = await tasks.task_for(session, scope, id, Role.editor)
            return TaskRead.model_validate(
                await tasks.update_task(
                    session, task, changes, clock_=clock, scope=scope, children=children
                )
            )

        return await tools.run(ctx, "update_task", work, write=True)

    @server.tool(annotations=changing)
    async def complete_task(
        ctx: Context,
        id: TaskId,
        completed: Annotated[
            bool, Field(strict=True, description="false reopens a completed task")
        ] = True,
        children: Children = None,
    ) -> TaskRead:
        """Complete a task, or reopen it; completing a repeating task makes its next one
        (needs tasks:write). As the API's ?children=complete|keep."""

        async def work(session: AsyncSession, scope: Scope, clock: tasks.Clock) -> TaskRead:
            task = await tasks.task_for(session, scope, id, Role.editor)
            return TaskRead.model_validate(
                await tasks.set_completed(session, task, completed, clock_=clock, children=children)
            )

        return await tools.run(ctx, "complete_task", work, write=True)

    @server.tool(annotations=changing)
    async def move_task(
        ctx: Context,
        id: TaskId,
        list_id: Annotated[
            RowId | None, Field(description="Move to this list; left out: stays in its list")
        ] = None,
        after_id: Annotated[
            RowId | None,
            Field(description="Place right after this task of the list; left out: first"),
        ] = None,
    ) -> TaskRead:
        """Move a task to another list, or reorder it within its list (needs tasks:write)."""

        async def work(session: AsyncSession, scope: Scope, clock: tasks.Clock) -> TaskRead:
            task = await tasks.task_for(session, scope, id, Role.editor)
            return TaskRead.model_validate(
                await tasks.move_task(
                    session, task, scope=scope, list_id=list_id, after_id=after_id
                )
            )

        return await tools.run(ctx, "move_task", work, write=True)

    @server.tool(annotations=reading)
    async def list_lists(ctx: Context) -> ListList:
        """Your lists, the Inbox first, with open-task counts (needs lists:read)."""

        async def work(session: AsyncSession, scope: Scope, clock: tasks.Clock) -> ListList:
            found = await tasks.lists_with_counts(session, scope)
            return ListList(
                lists=[
                    ListRead.model_validate(each).model_copy(update={"open_tasks": n})
                    for each, n in found
                ]
            )

        return await tools.run(ctx, "list_lists", work, write=False)

    return server


def install(app: FastAPI) -> Callable[[], Any]:
    """Serve the MCP server at /mcp; returns what the app's lifespan must run around its
    life (the SDK's session manager, which owns the tasks answering requests)."""
    server = build(app)
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        # The SDK's DNS-rebinding guard stands in for authentication on servers that have
        # none; this one needs a bearer token, which a rebinding page does not have, and
        # the guard would refuse every Host the operator serves under.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    handler = RequireToken(StreamableHTTPASGIApp(server.session_manager), state=app.state)
    app.router.routes.append(
        # POST only: stateless, there is no session to DELETE and no stream to GET (the
        # SDK would refuse those too, as JSON-RPC; Starlette's 405 names the allowed method).
        Route(PATH, endpoint=handler, methods=["POST"], include_in_schema=False)
    )

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        # The session manager's task group must be left in the task that entered it, and
        # an app's lifespan may end in another task than it began (pytest's fixtures do):
        # it lives in a task of its own, told when to stop.
        started, stop = asyncio.Event(), asyncio.Event()

        async def serve() -> None:
            async with server.session_manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(serve())
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiting.cancel()
            task.result()
        try:
            yield
        finally:
            stop.set()
            await task

    return running
