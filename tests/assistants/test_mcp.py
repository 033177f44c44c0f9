"""The MCP server at /mcp, driven by the official SDK's own client against a live `todo serve`
on each database: tokens and scopes, every tool, other users' tasks and hostile input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import pytest
from mcp import MCPError
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from tests.conftest import NewDatabase
from tests.reliability.live import serving_migrated
from todo.mcp.server import TOOL_SCOPES

ALL_SCOPES = ["tasks:read", "tasks:write", "lists:read"]


@dataclass(frozen=True)
class Server:
    url: str


@dataclass(frozen=True)
class User:
    id: str
    login: str
    """The log-in's token (every scope)."""


@pytest.fixture(scope="session")
def mcp_server(
    backend: str, new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"mcp-{backend}")
    url = new_database.url()
    with serving_migrated(url, data_dir) as server:
        yield Server(url=server.base_url)


@pytest.fixture
async def api(mcp_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mcp_server.url, timeout=30) as http:
        yield http


async def _sign_up(api: httpx.AsyncClient) -> User:
    email = f"mcp-{uuid.uuid4().hex[:10]}@example.com"
    answer = await api.post(
        "/api/auth/signup", json={"email": email, "password": "correct horse 1", "name": "M"}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return User(id=body["user"]["id"], login=body["access_token"])


async def _pat(api: httpx.AsyncClient, user: User, scopes: list[str]) -> tuple[int, str]:
    answer = await api.post(
        "/api/auth/tokens",
        json={"name": f"assistant {uuid.uuid4().hex[:6]}", "scopes": scopes},
        headers={"Authorization": f"Bearer {user.login}"},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], answer.json()["token"]


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> User:
    return await _sign_up(api)


@pytest.fixture
async def bob(api: httpx.AsyncClient) -> User:
    return await _sign_up(api)


@asynccontextmanager
async def connect(server: Server, token: str) -> AsyncIterator[ClientSession]:
    """The SDK's own client over streamable HTTP, with the token on every request."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    async with (
        http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _text(result: CallToolResult) -> str:
    return " ".join(part.text for part in result.content if isinstance(part, TextContent))


async def _ok(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, _text(result)
    assert result.structured_content is not None
    return result.structured_content


async def _refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result
    return _text(result)


async def test_initialize_and_list_tools(
    mcp_server: Server, api: httpx.AsyncClient, alice: User
) -> None:
    _, token = await _pat(api, alice, ["tasks:read"])
    async with connect(mcp_server, token) as session:
        listed = await session.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    # Every tool is listed whatever the token's scopes: a call names the scope it lacks.
    assert set(tools) == set(TOOL_SCOPES)
    create = tools["create_task"].input_schema
    assert {"title", "text", "due_date", "tags"} <= set(create["properties"])
    assert create["properties"]["text"].get("description")
    assert tools["search_tasks"].input_schema["required"] == ["query"]
    assert tools["list_tasks"].annotations is not None
    assert tools["list_tasks"].annotations.read_only_hint is True
    # Structured answers carry the REST API's TaskRead fields.
    assert "tasks" in (tools["list_tasks"].output_schema or {}).get("properties", {})


async def test_every_tool_works_with_a_token_holding_its_scopes(
    mcp_server: Server, api: httpx.AsyncClient, alice: User
):
    _, token = await _pat(api, alice, ALL_SCOPES)
    async with connect(mcp_server, token) as session:
        lists = (await _ok(session, "list_lists"))["lists"]
        assert [each["name"] for each in lists] == ["Inbox"]
        inbox = lists[0]["id"]

        plain = await _ok(
            session,
            "create_task",
            title="Buy milk",
            tags=["errands"],
            priority="high",
            due_date="2030-01-05",
        )
        assert plain["title"] == "Buy milk"
        assert plain["tags"] == ["errands"]
        assert plain["priority"] == "high"
        assert plain["list_id"] == inbox
        assert plain["user_id"] == alice.id

        quick = await _ok(session, "create_task", text="Pay rent tomorrow #home !urgent +Bills")
        assert quick["title"] == "Pay rent"
        assert quick["tags"] == ["home"]
        assert quick["priority"] == "urgent"
        assert quick["due_date"] is not None
        bills = {each["name"]: each for each in (await _ok(session, "list_lists"))["lists"]}
        assert quick["list_id"] == bills["Bills"]["id"]
        assert bills["Bills"]["open_tasks"] == 1

        found = (await _ok(session, "search_tasks", query="milk"))["tasks"]
        assert [task["id"] for task in found] == [plain["id"]]

        plants = await _ok(session, "create_task", text="Water plants today")
        today = (await _ok(session, "list_tasks", view="today"))["tasks"]
        assert [task["id"] for task in today] == [plants["id"]]
        upcoming = (await _ok(session, "list_tasks", view="upcoming"))["tasks"]
        assert [task["id"] for task in upcoming] == [plants["id"], quick["id"]]
        await _ok(session, "complete_task", id=plants["id"])
        tagged = (await _ok(session, "list_tasks", tag="errands"))["tasks"]
        assert [task["id"] for task in tagged] == [plain["id"]]
        in_bills = (await _ok(session, "list_tasks", list_id=bills["Bills"]["id"]))["tasks"]
        assert [task["id"] for task in in_bills] == [quick["id"]]

        updated = await _ok(
            session,
            "update_task",
            id=plain["id"],
            changes={"title": "Buy oat milk", "tags": None, "description": "2 litres"},
        )
        assert updated["title"] == "Buy oat milk"
        assert updated["tags"] == []
        assert updated["description"] == "2 litres"
        assert updated["priority"] == "high"  # left out: unchanged

        done = await _ok(session, "complete_task", id=plain["id"])
        assert done["completed"] is True
        assert done["completed_at"] is not None
        completed = (await _ok(session, "list_tasks", view="completed"))["tasks"]
        assert [task["id"] for task in completed] == [plain["id"], plants["id"]]
        reopened = await _ok(session, "complete_task", id=plain["id"], completed=False)
        assert reopened["completed"] is False

        moved = await _ok(session, "move_task", id=plain["id"], list_id=bills["Bills"]["id"])
        assert moved["list_id"] == bills["Bills"]["id"]
        after = await _ok(session, "move_task", id=quick["id"], after_id=plain["id"])
        assert after["position"] > moved["position"]

    # What the tools did is what the REST API reads back.
    answer = await api.get(
        f"/api/me/tasks/{plain['id']}", headers={"Authorization": f"Bearer {alice.login}"}
    )
    assert answer.json()["title"] == "Buy oat milk"
    assert answer.json()["list_id"] == bills["Bills"]["id"]


async def test_a_log_in_token_may_call_every_tool(
    mcp_server: Server, api: httpx.AsyncClient, alice: User
):
    async with connect(mcp_server, alice.login) as session:
        created = await _ok(session, "create_task", title="From a log-in")
        assert (await _ok(session, "list_lists"))["lists"][0]["open_tasks"] == 1
        assert (await _ok(session, "list_tasks"))["tasks"][0]["id"] == created["id"]


@pytest.mark.parametrize(
    ("held", "tool", "arguments", "needed"),
    [
        (["lists:read"], "search_tasks", {"query": "x"}, "tasks:read"),
        (["lists:read"], "list_tasks", {}, "tasks:read"),
        (["tasks:read"], "create_task", {"title": "x"}, "tasks:write"),
        (["tasks:read"], "update_task", {"id": 1, "changes": {"title": "x"}}, "tasks:write"),
        (["tasks:read"], "complete_task", {"id": 1}, "tasks:write"),
        (["tasks:read"], "move_task", {"id": 1}, "tasks:write"),
        (["tasks:read", "tasks:write"], "list_lists", {}, "lists:read"),
    ],
)
async def test_a_tool_without_its_scope_is_refused_naming_it(
    mcp_server: Server,
    api: httpx.AsyncClient,
    alice: User,
    held: list[str],
    tool: str,
    arguments: dict[str, Any],
    needed: str,
):
    assert TOOL_SCOPES[tool] == needed
    _, token = await _pat(api, alice, held)
    async with connect(mcp_server, token) as session:
        message = await _refused(session, tool, **arguments)
    assert "insufficient_scope" in message
    assert needed in message
    # Nothing was written by a refused call.
    answer = await api.get("/api/me/tasks", headers={"Authorization": f"Bearer {alice.login}"})
    assert answer.json() == []


async def test_no_token_or_a_bad_one_is_401_with_the_bearer_challenge(mcp_server: Server):
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=mcp_server.url, timeout=30) as http:
        for auth in ({}, {"Authorization": "Bearer todo_pat_nope"}, {"Authorization": "Basic x"}):
            answer = await http.post("/mcp", json=initialize, headers={**headers, **auth})
            assert answer.status_code == 401, answer.text
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            assert answer.headers["content-type"] == "application/problem+json"


async def test_a_revoked_token_stops_at_once(
    mcp_server: Server, api: httpx.AsyncClient, alice: User
):
    token_id, token = await _pat(api, alice, ALL_SCOPES)
    async with connect(mcp_server, token) as session:
        await _ok(session, "list_lists")
        revoked = await api.delete(
            f"/api/auth/tokens/{token_id}", headers={"Authorization": f"Bearer {alice.login}"}
        )
        assert revoked.status_code == 204
        # The very next request of the same client is refused (the SDK reports the
        # HTTP error as a failed request)...
        with pytest.raises(MCPError):
            await session.call_tool("list_lists", {})
    # ... which is the 401 of a token no longer known.
    answer = await api.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_token"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_another_users_task_is_not_found_and_unchanged(
    mcp_server: Server, api: httpx.AsyncClient, alice: User, bob: User
):
    async with connect(mcp_server, bob.login) as session:
        bobs = await _ok(session, "create_task", title="Bob's secret plan")
        bobs_list = (await _ok(session, "list_lists"))["lists"][0]["id"]
    _, token = await _pat(api, alice, ALL_SCOPES)
    async with connect(mcp_server, token) as session:
        mine = await _ok(session, "create_task", title="Mine")
        for tool, arguments in [
            ("update_task", {"id": bobs["id"], "changes": {"title": "stolen"}}),
            ("complete_task", {"id": bobs["id"]}),
            ("move_task", {"id": bobs["id"]}),
            ("move_task", {"id": mine["id"], "list_id": bobs_list}),
            ("move_task", {"id": mine["id"], "after_id": bobs["id"]}),
            ("create_task", {"title": "into Bob's list", "list_id": bobs_list}),
            ("list_tasks", {"list_id": bobs_list}),
        ]:
            result = await session.call_tool(tool, arguments)
            text = _text(result)
            assert "secret" not in text
            if tool == "list_tasks":
                # Filtering by someone else's list finds nothing of theirs.
                assert result.structured_content == {"tasks": []}
            else:
                assert result.is_error, (tool, text)
                assert "not_found" in text or "not found" in text, (tool, text)
        searched = (await _ok(session, "search_tasks", query="secret"))["tasks"]
        assert searched == []
    answer = await api.get(
        f"/api/me/tasks/{bobs['id']}", headers={"Authorization": f"Bearer {bob.login}"}
    )
    assert answer.json()["title"] == "Bob's secret plan"
    assert answer.json()["completed"] is False


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("create_task", {"title": "x" * 100_000}, "title"),
        ("create_task", {"title": "bell\x07"}, "title"),
        ("create_task", {"title": "   "}, "title"),
        ("create_task", {}, "title"),
        ("create_task", {"title": "a", "text": "b"}, "text"),
        ("create_task", {"text": "x" * 501}, "text"),
        ("create_task", {"text": "#only +tags"}, "text"),
        ("create_task", {"text": "a", "priority": "high"}, "priority"),
        ("create_task", {"title": "a", "due_date": "tomorrow"}, "due_date"),
        ("create_task", {"title": "a", "due_at": "2030-01-01T10:00:00"}, "due_at"),
        ("create_task", {"title": "a", "rrule": "FREQ=SOMETIMES"}, "rrule"),
        ("create_task", {"title": "a", "rrule": "FREQ=DAILY"}, "rrule"),
        ("create_task", {"title": "a", "tags": ["t\x00"]}, "tags"),
        ("create_task", {"title": "a", "tags": [str(i) for i in range(50)]}, "tags"),
        ("create_task", {"title": "a", "priority": "whenever"}, "priority"),
        ("create_task", {"title": "a", "list_id": 0}, "list_id"),
        ("create_task", {"title": "a", "list_id": 2**70}, "list_id"),
        ("create_task", {"title": "a", "list_id": 999_999}, "list"),
        ("update_task", {"id": -1, "changes": {}}, "id"),
        ("update_task", {"id": "1; DROP TABLE tasks", "changes": {}}, "id"),
        ("update_task", {"id": 999_999, "changes": {"title": "x"}}, "not found"),
        ("update_task", {"id": 1, "changes": {"nonsense": 1}}, "nonsense"),
        ("update_task", {"id": 1, "changes": "all of them"}, "changes"),
        ("complete_task", {"id": 1.5}, "id"),
        ("complete_task", {"id": 1, "completed": "yes"}, "completed"),
        ("move_task", {"id": 2**63}, "id"),
        ("search_tasks", {"query": ""}, "query"),
        ("search_tasks", {"query": "q" * 10_000}, "query"),
        ("search_tasks", {"query": "nul\x00byte"}, "query"),
        ("search_tasks", {"query": "!!! ???"}, "query"),
        ("search_tasks", {"query": "x", "limit": 0}, "limit"),
        ("list_tasks", {"view": "tomorrow"}, "view"),
        ("list_tasks", {"limit": 10_000}, "limit"),
        ("list_tasks", {"tag": "t" * 51}, "tag"),
    ],
)
async def test_hostile_input_is_a_tool_error_naming_the_field(
    mcp_server: Server,
    api: httpx.AsyncClient,
    alice: User,
    tool: str,
    arguments: dict[str, Any],
    field: str,
):
    async with connect(mcp_server, alice.login) as session:
        message = await _refused(session, tool, **arguments)
        # The server is still fine afterwards.
        await _ok(session, "list_lists")
    assert field in message, message
    assert len(message) < 2_000, "a refusal must not echo a huge input back"
    assert "Traceback" not in message
    answer = await api.get("/api/me/tasks", headers={"Authorization": f"Bearer {alice.login}"})
    assert answer.json() == []


async def test_hostile_requests_to_the_endpoint_are_4xx(
    mcp_server: Server, api: httpx.AsyncClient, alice: User
) -> None:
    headers = {"Authorization": f"Bearer {alice.login}", "Accept": "application/json"}
    sent = [
        {"content": b"not json", "headers": {**headers, "Content-Type": "application/json"}},
        {"content": b"\x00\xff" * 10, "headers": {**headers, "Content-Type": "text/plain"}},
        {"json": {"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}, "headers": headers},
        {"json": [1, 2, 3], "headers": headers},
        {"content": b"x" * 3_000_000, "headers": {**headers, "Content-Type": "application/json"}},
        {"json": {"jsonrpc": "2.0", "id": 1, "method": "initialize"}, "headers": {}},
    ]
    for each in sent:
        answer = await api.post("/mcp", **each)
        assert answer.status_code < 500, answer.text
        if answer.status_code == 200:
            assert "error" in answer.json(), answer.text
    for method in ("GET", "DELETE", "PUT"):
        refused = await api.request(method, "/mcp", headers=headers)
        assert refused.status_code == 405
        assert refused.headers["Allow"] == "POST"


async def test_completing_a_parent_takes_the_children_option_of_the_api(
    mcp_server: Server, api: httpx.AsyncClient, alice: User
) -> None:
    headers = {"Authorization": f"Bearer {alice.login}"}

    async def family(name: str) -> tuple[int, list[int]]:
        parent = await api.post("/api/me/tasks", json={"title": name}, headers=headers)
        assert parent.status_code == 201, parent.text
        kids = []
        for i in range(2):
            child = await api.post(
                "/api/me/tasks",
                json={"title": f"{name} {i}", "parent_id": parent.json()["id"]},
                headers=headers,
            )
            assert child.status_code == 201, child.text
            kids.append(child.json()["id"])
        return parent.json()["id"], kids

    async def completed(task_id: int) -> bool:
        found = await api.get(f"/api/me/tasks/{task_id}", headers=headers)
        return bool(found.json()["completed"])

    asked, asked_kids = await family("Ask first")
    kept, kept_kids = await family("Keep them")
    done, done_kids = await family("All of it")
    _, token = await _pat(api, alice, ["tasks:write"])
    async with connect(mcp_server, token) as session:
        refused = await _refused(session, "complete_task", id=asked)
        assert f"open_children: Task {asked} has 2 open subtasks" in refused, refused
        assert "children=complete" in refused
        assert "(fields: children)" in refused
        bad = await _refused(session, "complete_task", id=asked, children="sometimes")
        assert "children" in bad
        assert "validation_error" in bad or "Input should be" in bad, bad
        keep = await _ok(session, "complete_task", id=kept, children="keep")
        assert keep["completed"] is True
        everything = await _ok(session, "complete_task", id=done, children="complete")
        assert everything["completed"] is True
        # update_task completes through its changes, and takes the same option.
        changes = {"completed": True}
        refused = await _refused(session, "update_task", id=asked, changes=changes)
        assert "open_children" in refused, refused
        updated = await _ok(session, "update_task", id=asked, changes=changes, children="keep")
        assert updated["completed"] is True
    assert [await completed(i) for i in (asked, *asked_kids)] == [True, False, False]
    assert [await completed(i) for i in (kept, *kept_kids)] == [True, False, False]
    assert [await completed(i) for i in (done, *done_kids)] == [True, True, True]
