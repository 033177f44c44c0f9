"""Races: writes fired in parallel, each on its own database connection and transaction,
answer no 5xx and leave no lost or duplicated rows behind.

The requests run through the ASGI app concurrently (asyncio.gather), so every one holds a
transaction of its own while the others run: on PostgreSQL they really interleave; on
SQLite writers take turns (BEGIN IMMEDIATE), which the same assertions must survive.
The web app's forms are raced the same way, from one signed-in browser session.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, routing

from tests.conftest import WEBHOOK_URL, Account, SignUp
from tests.security.support import bearer
from todo.accounts.schemas import APP_PASSWORDS_PER_USER_MAX, TOKENS_PER_USER_MAX
from todo.caldav.schemas import FEEDS_PER_USER_MAX
from todo.webhooks.schemas import WEBHOOKS_PER_USER_MAX

PARALLEL = 20
NOT_FOUND_CODES = {"list_not_found"}


def _no_5xx(answers: list[httpx.Response]) -> None:
    failed = [f"{a.request.method} {a.request.url}: {a.status_code} {a.text}" for a in answers]
    assert not [f for a, f in zip(answers, failed, strict=True) if a.status_code >= 500], failed


def _clean_refusal(answer: httpx.Response, statuses: set[int], codes: set[str]) -> None:
    assert answer.status_code in statuses, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] in codes, answer.text


async def _post(client: httpx.AsyncClient, who: Account, url: str, body: Any) -> Any:
    answer = await client.post(url, headers=who.headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_deleting_a_list_loses_no_task_moved_or_created_into_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    for _ in range(4):
        doomed = await _post(client, alice, "/api/me/lists", {"name": "Doomed"})
        lid = doomed["id"]
        movers = [await _post(client, alice, "/api/me/tasks", {"title": f"m{i}"}) for i in range(6)]
        putters = [
            await _post(client, alice, "/api/me/tasks", {"title": f"p{i}"}) for i in range(6)
        ]
        calls = [
            *(
                client.post(f"/api/me/tasks/{t['id']}/move", headers=h, json={"list_id": lid})
                for t in movers
            ),
            *(
                client.put(f"/api/me/tasks/{t['id']}", headers=h, json={"list_id": lid})
                for t in putters
            ),
            *(
                client.post("/api/me/tasks", headers=h, json={"title": f"c{i}", "list_id": lid})
                for i in range(6)
            ),
        ]
        calls.insert(len(calls) // 2, client.delete(f"/api/me/lists/{lid}?tasks=move", headers=h))
        answers = list(await asyncio.gather(*calls))
        _no_5xx(answers)
        deleted = next(a for a in answers if a.request.method == "DELETE")
        assert deleted.status_code == 204, deleted.text
        acknowledged = []
        for answer in answers:
            if answer.request.method == "DELETE":
                continue
            if answer.status_code in (200, 201):
                acknowledged.append(answer.json()["id"])
            else:
                _clean_refusal(answer, {404}, NOT_FOUND_CODES)
        for task_id in acknowledged:
            found = await client.get(f"/api/me/tasks/{task_id}", headers=h)
            assert found.status_code == 200, f"task {task_id} was acknowledged, then lost"
        # Refused moves and updates left their task where it was, so nothing is gone at all.
        for task in movers + putters:
            assert (await client.get(f"/api/me/tasks/{task['id']}", headers=h)).status_code == 200


async def test_parallel_completes_of_a_recurring_task_make_one_next_occurrence(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    for round_ in range(3):
        task = await _post(
            client,
            alice,
            "/api/me/tasks",
            {"title": f"water plants {round_}", "due_date": "2030-01-01", "rrule": "FREQ=DAILY"},
        )
        url = f"/api/me/tasks/{task['id']}/complete"
        answers = list(
            await asyncio.gather(
                *(client.patch(url, headers=h, json={"completed": True}) for _ in range(PARALLEL))
            )
        )
        _no_5xx(answers)
        # Setting a state is idempotent: the requests that lost the race still get a 200.
        assert [a.status_code for a in answers] == [200] * PARALLEL, [a.text for a in answers]
        assert all(a.json()["completed"] is True for a in answers)
        series = [
            t
            for t in (await client.get("/api/me/tasks?limit=200", headers=h)).json()
            if t["title"] == f"water plants {round_}"
        ]
        assert sorted((t["due_date"], t["completed"]) for t in series) == [
            ("2030-01-01", True),
            ("2030-01-02", False),
        ]


async def test_parallel_creates_with_one_new_tag_share_one_tag(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    answers = list(
        await asyncio.gather(
            *(
                client.post("/api/me/tasks", headers=h, json={"title": f"t{i}", "tags": ["Fresh"]})
                for i in range(PARALLEL)
            )
        )
    )
    _no_5xx(answers)
    assert {a.status_code for a in answers} == {201}
    tags = (await client.get("/api/me/tags", headers=h)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("Fresh", PARALLEL)]


async def test_parallel_renames_of_tags_onto_one_name_merge_them(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    for i in range(PARALLEL):
        await _post(client, alice, "/api/me/tasks", {"title": f"t{i}", "tags": [f"tag{i}"]})
    ids = [t["id"] for t in (await client.get("/api/me/tags", headers=h)).json()]
    answers = list(
        await asyncio.gather(
            *(client.patch(f"/api/me/tags/{i}", headers=h, json={"name": "Same"}) for i in ids)
        )
    )
    _no_5xx(answers)
    for answer in answers:
        if answer.status_code != 200:
            _clean_refusal(answer, {404}, {"tag_not_found"})
    tags = (await client.get("/api/me/tags", headers=h)).json()
    assert [(t["name"], t["tasks"]) for t in tags] == [("Same", PARALLEL)]


async def test_parallel_renames_of_lists_onto_one_name_leave_one(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    ids = [
        (await _post(client, alice, "/api/me/lists", {"name": f"list {i}"}))["id"]
        for i in range(PARALLEL)
    ]
    answers = list(
        await asyncio.gather(
            *(client.patch(f"/api/me/lists/{i}", headers=h, json={"name": "Same"}) for i in ids)
        )
    )
    _no_5xx(answers)
    assert [a.status_code for a in answers].count(200) == 1
    for answer in answers:
        if answer.status_code != 200:
            _clean_refusal(answer, {409}, {"list_name_taken"})
    names = Counter(
        x["name"].lower() for x in (await client.get("/api/me/lists", headers=h)).json()
    )
    assert names["same"] == 1


async def test_parallel_quick_adds_into_a_new_list_make_one_list(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    answers = list(
        await asyncio.gather(
            *(
                client.post("/api/me/tasks/quick", headers=h, json={"text": f"job {i} +NewList"})
                for i in range(PARALLEL)
            )
        )
    )
    _no_5xx(answers)
    assert {a.status_code for a in answers} == {201}
    found = [x for x in (await client.get("/api/me/lists", headers=h)).json() if not x["is_inbox"]]
    assert [(x["name"], x["open_tasks"]) for x in found] == [("NewList", PARALLEL)]
    assert {a.json()["list_id"] for a in answers} == {found[0]["id"]}


async def test_parallel_password_changes_acknowledge_only_the_one_that_took(
    client: httpx.AsyncClient, alice: Account
) -> None:
    new = [f"new password {i}" for i in range(PARALLEL)]
    answers = list(
        await asyncio.gather(
            *(
                client.patch(
                    "/api/auth/me",
                    headers=alice.headers,
                    json={"current_password": alice.password, "new_password": password},
                )
                for password in new
            )
        )
    )
    _no_5xx(answers)
    # Each change was checked against the same current password: one replaces it, the
    # others find it gone. Before, all 20 answered 200 and 19 of the new passwords failed.
    winners = [p for p, a in zip(new, answers, strict=True) if a.status_code == 200]
    assert len(winners) == 1, f"{len(winners)} changes of one password were acknowledged"
    for answer in answers:
        if answer.status_code != 200:
            # A change that reads the token after the winner's commit finds it ended by it.
            _clean_refusal(answer, {401, 422}, {"wrong_password", "token_revoked"})
    for password in [alice.password, *new]:
        login = await client.post(
            "/api/auth/login", json={"email": alice.email, "password": password}
        )
        assert login.status_code == (200 if password in winners else 401), password


# The sweep: every write route, the API's and the web app's forms, fired PARALLEL times at
# once against one resource. A new write route without a scenario here fails
# `test_every_write_route_has_a_race_scenario`.

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Burst:
    """The requests of one scenario, and the answers each may get besides a 5xx-free 2xx."""

    calls: list[tuple[str, str, dict[str, Any]]]
    refusals: dict[int, set[str]] = field(default_factory=dict)
    exactly_one_success: bool = False
    # Web forms: a 422 page showing the form again with why is a clean refusal.
    forms: bool = False
    # Web forms: a racing request ended the session, so this one goes to the log-in page.
    signed_out: bool = False
    # The task a web form deleted (its answer carries no id).
    deletes: int | None = None
    check: Callable[[Ctx, list[httpx.Response]], Awaitable[None]] | None = None


@dataclass
class Ctx:
    client: httpx.AsyncClient
    who: Account
    ids: dict[str, int] = field(default_factory=dict)

    async def post(self, url: str, body: Any) -> Any:
        return await _post(self.client, self.who, url, body)


Scenario = Callable[[Ctx], Awaitable[Burst]]
EDIT = {409: {"edit_conflict"}}


async def _signup(ctx: Ctx) -> Burst:
    body = {"email": f"race-{uuid.uuid4().hex[:10]}@example.com", "password": "long enough 1"}
    return Burst(
        [("POST", "/api/auth/signup", {"json": body})] * PARALLEL,
        {409: {"email_taken"}},
        exactly_one_success=True,
    )


async def _login(ctx: Ctx) -> Burst:
    body = {"email": ctx.who.email, "password": ctx.who.password}
    return Burst([("POST", "/api/auth/login", {"json": body})] * PARALLEL)


async def _token(ctx: Ctx) -> Burst:
    form = {"username": ctx.who.email, "password": ctx.who.password}
    return Burst([("POST", "/api/auth/token", {"data": form})] * PARALLEL)


async def _update_me(ctx: Ctx) -> Burst:
    return Burst(
        [("PATCH", "/api/auth/me", {"json": {"name": f"Name {i}"}}) for i in range(PARALLEL)]
    )


async def _delete_me(ctx: Ctx) -> Burst:
    return Burst(
        [("DELETE", "/api/auth/me", {})] * PARALLEL,
        {401: {"user_gone", "token_revoked", "invalid_token"}, 404: {"user_not_found"}},
    )


async def _logout_all(ctx: Ctx) -> Burst:
    return Burst(
        [("POST", "/api/auth/logout-all", {})] * PARALLEL,
        {401: {"token_revoked", "invalid_token", "unauthorized"}},
    )


async def _create_token(ctx: Ctx) -> Burst:
    # Room for half of them: each creation must count the others' tokens.
    room = PARALLEL // 2
    for i in range(TOKENS_PER_USER_MAX - room):
        await ctx.post("/api/auth/tokens", {"name": f"old {i}", "scopes": ["tasks:read"]})

    async def the_cap_holds(ctx: Ctx, answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers].count(201) == room
        tokens = await ctx.client.get("/api/auth/tokens", headers=ctx.who.headers)
        assert len(tokens.json()) == TOKENS_PER_USER_MAX

    body = {"name": "parallel", "scopes": ["tasks:read", "tasks:write"]}
    return Burst(
        [("POST", "/api/auth/tokens", {"json": body})] * PARALLEL,
        {409: {"too_many_tokens"}},
        check=the_cap_holds,
    )


async def _revoke_token(ctx: Ctx) -> Burst:
    token = await ctx.post("/api/auth/tokens", {"name": "doomed", "scopes": ["tasks:read"]})

    async def revoked(ctx: Ctx, answers: list[httpx.Response]) -> None:
        used = await ctx.client.get("/api/me/tasks", headers=bearer(token["token"]))
        assert used.status_code == 401, used.text

    return Burst(
        [("DELETE", f"/api/auth/tokens/{token['id']}", {})] * PARALLEL,
        {404: {"token_not_found"}},
        exactly_one_success=True,
        check=revoked,
    )


async def _create_app_password(ctx: Ctx) -> Burst:
    room = PARALLEL // 2
    for i in range(APP_PASSWORDS_PER_USER_MAX - room):
        await ctx.post("/api/auth/app-passwords", {"name": f"old {i}"})

    async def the_cap_holds(ctx: Ctx, answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers].count(201) == room
        made = await ctx.client.get("/api/auth/app-passwords", headers=ctx.who.headers)
        assert len(made.json()) == APP_PASSWORDS_PER_USER_MAX

    return Burst(
        [("POST", "/api/auth/app-passwords", {"json": {"name": "parallel"}})] * PARALLEL,
        {409: {"too_many_app_passwords"}},
        check=the_cap_holds,
    )


async def _revoke_app_password(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/auth/app-passwords", {"name": "doomed"})

    async def revoked(ctx: Ctx, answers: list[httpx.Response]) -> None:
        used = await ctx.client.request("PROPFIND", "/dav/", auth=(ctx.who.email, made["password"]))
        assert used.status_code == 401, used.text

    return Burst(
        [("DELETE", f"/api/auth/app-passwords/{made['id']}", {})] * PARALLEL,
        {404: {"app_password_not_found"}},
        exactly_one_success=True,
        check=revoked,
    )


async def _create_task(ctx: Ctx) -> Burst:
    # New tags in opposite orders: the inserts must not wait on each other in a circle.
    names = ["brand-new", "Shared", "also-new", "third-new"]
    return Burst(
        [
            (
                "POST",
                "/api/me/tasks",
                {
                    "json": {
                        "title": "same",
                        "list_id": ctx.ids["list"],
                        "tags": names[:: -1 if i % 2 else 1],
                    }
                },
            )
            for i in range(PARALLEL)
        ]
    )


async def _quick_add(ctx: Ctx) -> Burst:
    return Burst(
        [
            ("POST", "/api/me/tasks/quick", {"json": {"text": f"job {i} +Fresh #fresh"}})
            for i in range(PARALLEL)
        ]
    )


async def _update_task(ctx: Ctx) -> Burst:
    url = f"/api/me/tasks/{ctx.ids['task']}"
    bodies: list[dict[str, Any]] = [
        {"title": f"edit {i}"}
        if i % 3 == 0
        else {"list_id": ctx.ids["list"]}
        if i % 3 == 1
        else {"tags": [f"edit{i}"], "completed": True}
        for i in range(PARALLEL)
    ]
    return Burst([("PUT", url, {"json": b}) for b in bodies], EDIT)


async def _complete(ctx: Ctx) -> Burst:
    url = f"/api/me/tasks/{ctx.ids['recurring']}/complete"
    return Burst([("PATCH", url, {"json": {"completed": True}})] * PARALLEL, EDIT)


def _mcp_call(tool: str, arguments: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """One MCP tool call as the stateless transport takes it: a JSON-RPC POST to /mcp."""
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    return ("POST", "/mcp", {"json": message, "headers": {"Accept": "application/json"}})


async def _mcp(ctx: Ctx) -> Burst:
    # The MCP tools run the API's services: the same races, through another door. Half
    # complete one recurring task (one next occurrence), half quick-add into one new list.
    calls = [_mcp_call("complete_task", {"id": ctx.ids["recurring"]})] * (PARALLEL // 2)
    calls += [_mcp_call("create_task", {"text": f"mcp {i} +Assistant"}) for i in range(PARALLEL)]

    async def each_call_answered(ctx: Ctx, answers: list[httpx.Response]) -> None:
        for answer in answers:
            result = answer.json()["result"]
            if result.get("isError"):
                # A tool's refusal is a tool error naming the API's code, never a crash.
                assert result["content"][0]["text"].startswith("edit_conflict"), result
        lists = (await ctx.client.get("/api/me/lists", headers=ctx.who.headers)).json()
        assert [x["name"] for x in lists].count("Assistant") == 1

    return Burst(calls, check=each_call_answered)


async def _move(ctx: Ctx) -> Burst:
    anchor = ctx.ids["anchor"]
    movers = [(await ctx.post("/api/me/tasks", {"title": f"mover {i}"}))["id"] for i in range(10)]
    calls = [
        ("POST", f"/api/me/tasks/{m}/move", {"json": {"list_id": ctx.ids["list"], "after_id": a}})
        for m in movers
        for a in (anchor, None)
    ]
    return Burst(calls, EDIT)


async def _delete_task(ctx: Ctx) -> Burst:
    url = f"/api/me/tasks/{ctx.ids['task']}"
    return Burst(
        [("DELETE", url, {})] * PARALLEL,
        {404: {"task_not_found"}, **EDIT},
        exactly_one_success=True,
    )


async def _dismiss(ctx: Ctx) -> Burst:
    url = f"/api/me/reminders/{ctx.ids['reminding']}/dismiss"
    return Burst([("POST", url, {})] * PARALLEL, EDIT)


async def _create_list(ctx: Ctx) -> Burst:
    return Burst(
        [("POST", "/api/me/lists", {"json": {"name": "Twins"}})] * PARALLEL,
        {409: {"list_name_taken"}},
        exactly_one_success=True,
    )


async def _update_list(ctx: Ctx) -> Burst:
    others = [(await ctx.post("/api/me/lists", {"name": f"other {i}"}))["id"] for i in range(10)]
    calls = [("PATCH", f"/api/me/lists/{o}", {"json": {"name": "Target"}}) for o in others]
    calls += [
        ("PATCH", f"/api/me/lists/{ctx.ids['list']}", {"json": {"after_id": o}}) for o in others
    ]
    return Burst(calls, {409: {"list_name_taken"}})


async def _delete_list(ctx: Ctx) -> Burst:
    lid = ctx.ids["list"]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("DELETE", f"/api/me/lists/{lid}", {"params": {"tasks": "move"}})
    ] * (PARALLEL // 2)
    calls += [
        ("POST", "/api/me/tasks", {"json": {"title": f"late {i}", "list_id": lid}})
        for i in range(PARALLEL // 2)
    ]
    return Burst(calls, {404: {"list_not_found"}})


async def _rename_tag(ctx: Ctx) -> Burst:
    tags = {
        t["name"]: t["id"]
        for t in (await ctx.client.get("/api/me/tags", headers=ctx.who.headers)).json()
    }
    calls = [
        ("PATCH", f"/api/me/tags/{tag_id}", {"json": {"name": "shared"}})
        for name, tag_id in tags.items()
        if name != "Shared"
    ]
    # Each tag renamed by several requests at once: the later ones find it merged away.
    return Burst((calls * PARALLEL)[:PARALLEL], {404: {"tag_not_found"}})


async def _delete_tag(ctx: Ctx) -> Burst:
    tag_id = next(
        t["id"]
        for t in (await ctx.client.get("/api/me/tags", headers=ctx.who.headers)).json()
        if t["name"] == "Shared"
    )
    calls: list[tuple[str, str, dict[str, Any]]] = [("DELETE", f"/api/me/tags/{tag_id}", {})] * (
        PARALLEL // 2
    )
    calls += [
        ("POST", "/api/me/tasks", {"json": {"title": f"tagged {i}", "tags": ["Shared"]}})
        for i in range(PARALLEL // 2)
    ]
    return Burst(calls, {404: {"tag_not_found"}})


async def _notification_settings(ctx: Ctx) -> Burst:
    # The first change of a user makes the row: parallel ones meet in its primary key.
    bodies = [
        {"email_reminders": i % 2 == 0, "digest_hour": i % 24}
        if i % 3
        else {"push_reminders": False}
        for i in range(PARALLEL)
    ]

    async def check(ctx: Ctx, answers: list[httpx.Response]) -> None:
        final = await ctx.client.get("/api/me/notification-settings", headers=ctx.who.headers)
        chosen = final.json()
        assert chosen["push_reminders"] is False
        assert chosen["digest_hour"] in {b.get("digest_hour") for b in bodies}

    return Burst(
        [("PATCH", "/api/me/notification-settings", {"json": b}) for b in bodies], check=check
    )


_BROWSER = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/race",
    "keys": {"p256dh": "BNc" + "A" * 84, "auth": "c2VjcmV0c2VjcmV0MTI"},
}


async def _subscribe(ctx: Ctx) -> Burst:
    # Half the same browser (one row, its keys updated), half browsers of their own.
    bodies = [
        _BROWSER if i % 2 else {**_BROWSER, "endpoint": f"{_BROWSER['endpoint']}-{i}"}
        for i in range(PARALLEL)
    ]

    async def check(ctx: Ctx, answers: list[httpx.Response]) -> None:
        listed = await ctx.client.get("/api/me/push-subscriptions", headers=ctx.who.headers)
        endpoints = [s["endpoint"] for s in listed.json()]
        assert sorted(endpoints) == sorted({b["endpoint"] for b in bodies})
        assert {a.json()["id"] for a in answers if a.json()["endpoint"] == _BROWSER["endpoint"]}

    return Burst([("POST", "/api/me/push-subscriptions", {"json": b}) for b in bodies], check=check)


async def _test_push(ctx: Ctx) -> Burst:
    # No browser subscribed: nothing leaves the machine, and every call answers 200.
    return Burst([("POST", "/api/me/push-subscriptions/test", {})] * PARALLEL)


async def _unsubscribe(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/push-subscriptions", _BROWSER)
    return Burst(
        [("DELETE", f"/api/me/push-subscriptions/{made['id']}", {})] * PARALLEL,
        {404: {"push_subscription_not_found"}},
        exactly_one_success=True,
    )


# The web app's forms: a browser session (cookie and CSRF token) posting each form
# PARALLEL times at once. A form answers 303 (or, for htmx, 200/204) when it did its work,
# shows itself again with a 422 page when it refuses what was typed, and sends a browser
# whose session a racing request ended back to the log-in page.

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://test/"}
FORM_SHOWN_AGAIN = 422


def _form(data: dict[str, str], *, htmx: bool = False) -> dict[str, Any]:
    return {"data": data, "headers": HTMX if htmx else {}}


def _same(url: str, data: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """One form posted PARALLEL times, half of them as htmx sends it."""
    return [("POST", url, _form(data, htmx=i % 2 == 1)) for i in range(PARALLEL)]


async def _web_tasks(ctx: Ctx, title: str) -> list[dict[str, Any]]:
    return [t for t in await _all_tasks(ctx) if t["title"] == title]


async def _web_login(ctx: Ctx) -> Burst:
    body = {"email": ctx.who.email, "password": ctx.who.password}
    return Burst([("POST", "/login", _form(body))] * PARALLEL)


async def _web_signup(ctx: Ctx) -> Burst:
    email = f"race-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": "long enough 1", "name": "Twin"}

    async def one_account(ctx: Ctx, answers: list[httpx.Response]) -> None:
        login = await ctx.client.post(
            "/api/auth/login", json={"email": email, "password": "long enough 1"}
        )
        assert login.status_code == 200, login.text

    return Burst(
        [("POST", "/signup", _form(body))] * PARALLEL,
        forms=True,
        exactly_one_success=True,
        check=one_account,
    )


async def _web_logout(ctx: Ctx) -> Burst:
    async def signed_out(ctx: Ctx, answers: list[httpx.Response]) -> None:
        page = await ctx.client.get("/")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")

    return Burst(_same("/logout", {}), check=signed_out)


async def _web_logout_everywhere(ctx: Ctx) -> Burst:
    return Burst(_same("/account/logout-everywhere", {}), signed_out=True)


async def _web_delete_account(ctx: Ctx) -> Burst:
    return Burst(
        _same("/account/delete", {"confirm_email": ctx.who.email}),
        {404: {"user_not_found"}},
        signed_out=True,
        exactly_one_success=True,
    )


async def _web_name(ctx: Ctx) -> Burst:
    names = {f"Name {i}" for i in range(PARALLEL)}

    async def one_of_them(ctx: Ctx, answers: list[httpx.Response]) -> None:
        me = (await ctx.client.get("/api/auth/me", headers=ctx.who.headers)).json()
        assert me["name"] in names

    calls = [("POST", "/account/name", _form({"name": name})) for name in sorted(names)]
    return Burst(calls, check=one_of_them)


async def _web_timezone(ctx: Ctx) -> Burst:
    zones = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]
    calls = [
        ("POST", "/account/timezone", _form({"timezone": zones[i % len(zones)]}))
        for i in range(PARALLEL)
    ]

    async def one_of_them(ctx: Ctx, answers: list[httpx.Response]) -> None:
        me = (await ctx.client.get("/api/auth/me", headers=ctx.who.headers)).json()
        assert me["timezone"] in zones

    return Burst(calls, check=one_of_them)


async def _web_password(ctx: Ctx) -> Burst:
    new = [f"new password {i}" for i in range(PARALLEL)]
    calls = [
        (
            "POST",
            "/account/password",
            _form({"current_password": ctx.who.password, "new_password": password}),
        )
        for password in new
    ]

    async def the_acknowledged_one_works(ctx: Ctx, answers: list[httpx.Response]) -> None:
        # Each change checks the current password: one wins, the others find it changed.
        winners = [p for p, a in zip(new, answers, strict=True) if a.status_code == 303]
        assert len(winners) == 1, f"{len(winners)} changes of one password were acknowledged"
        (won,) = winners
        for password in [ctx.who.password, *new]:
            login = await ctx.client.post(
                "/api/auth/login", json={"email": ctx.who.email, "password": password}
            )
            assert login.status_code == (200 if password == won else 401), (password, won)
            if password == won:
                ctx.who.token, ctx.who.password = login.json()["access_token"], won

    return Burst(calls, forms=True, check=the_acknowledged_one_works)


async def _web_sort(ctx: Ctx) -> Burst:
    lid = ctx.ids["list"]
    # Not the default order ("newest"): the list opening in one of these shows a write landed.
    sorts = ["oldest", "updated", "title", "manual"]
    calls = [
        ("POST", "/sort", _form({"list": str(lid), "sort": sorts[i % 4]}, htmx=i % 2 == 1))
        for i in range(PARALLEL)
    ]

    async def one_of_them(ctx: Ctx, answers: list[httpx.Response]) -> None:
        page = await ctx.client.get(f"/?list={lid}")
        assert page.status_code == 200
        chosen = re.findall(r'<option value="(\w+)" selected>', page.text)
        assert len(chosen) == 1, chosen
        assert chosen[0] in sorts, chosen

    return Burst(calls, check=one_of_them)


async def _web_create_task(ctx: Ctx) -> Burst:
    lid = ctx.ids["list"]
    calls = [
        (
            "POST",
            "/tasks",
            _form(
                {"title": f"web job {i} +Fresh #fresh #Shared", "next": f"/?list={lid}"},
                htmx=i % 2 == 1,
            ),
        )
        for i in range(PARALLEL)
    ]

    async def every_one_made(ctx: Ctx, answers: list[httpx.Response]) -> None:
        made = [t for t in await _all_tasks(ctx) if t["title"].startswith("web job ")]
        assert len(made) == PARALLEL, [t["title"] for t in made]
        listed = (await ctx.client.get("/api/me/lists", headers=ctx.who.headers)).json()
        (fresh_list,) = [x for x in listed if x["name"] == "Fresh"]
        assert {t["list_id"] for t in made} == {fresh_list["id"]}

    return Burst(calls, check=every_one_made)


async def _web_complete(ctx: Ctx) -> Burst:
    url = f"/tasks/{ctx.ids['recurring']}/complete"
    return Burst(_same(url, {"completed": "true"}), EDIT)


async def _web_update_task(ctx: Ctx) -> Burst:
    url = f"/tasks/{ctx.ids['task']}"
    forms: list[dict[str, str]] = [
        {"title": f"edit {i}"}
        if i % 3 == 0
        else {"list_id": str(ctx.ids["list"])}
        if i % 3 == 1
        else {"tags": f"edit{i}, Shared", "completed": "true"}
        for i in range(PARALLEL)
    ]
    calls = [("POST", url, _form(f, htmx=i % 2 == 1)) for i, f in enumerate(forms)]
    return Burst(calls, EDIT)


async def _web_dismiss(ctx: Ctx) -> Burst:
    url = f"/tasks/{ctx.ids['reminding']}/reminder/dismiss"

    async def dismissed(ctx: Ctx, answers: list[httpx.Response]) -> None:
        due = await ctx.client.get("/api/me/reminders/due", headers=ctx.who.headers)
        assert due.status_code == 200, due.text
        assert ctx.ids["reminding"] not in {t["id"] for t in due.json()}

    return Burst(_same(url, {}), EDIT, check=dismissed)


async def _web_move(ctx: Ctx) -> Burst:
    lid, anchor = ctx.ids["list"], ctx.ids["anchor"]
    movers = [
        (await ctx.post("/api/me/tasks", {"title": f"mover {i}", "list_id": lid}))["id"]
        for i in range(10)
    ]
    calls = [
        ("POST", f"/tasks/{m}/move", _form({"after": str(a) if a else ""}, htmx=a is None))
        for m in movers
        for a in (anchor, None)
    ]
    return Burst(calls, EDIT)


async def _web_reschedule(ctx: Ctx) -> Burst:
    """One timed task dragged to twenty days at once on the calendar, half of the moves
    sending the version the calendar drew (the first of those to land wins, the rest 412)."""
    made = await ctx.post("/api/me/tasks", {"title": "dragged", "due_at": "2031-04-01T10:00:00Z"})
    task_id = made["id"]
    read = await ctx.client.get(f"/api/me/tasks/{task_id}", headers=ctx.who.headers)
    version = read.headers["etag"]
    days = [(date(2031, 5, 1) + timedelta(days=i)).isoformat() for i in range(PARALLEL)]
    calls = [
        (
            "POST",
            f"/tasks/{task_id}/reschedule",
            {
                "data": {"date": day},
                "headers": {**HTMX, "If-Match": version} if i % 2 else HTMX,
            },
        )
        for i, day in enumerate(days)
    ]

    async def moved(ctx: Ctx, answers: list[httpx.Response]) -> None:
        after = (await ctx.client.get(f"/api/me/tasks/{task_id}", headers=ctx.who.headers)).json()
        assert after["due_date"] in days
        # The time of day stays whoever wins (UTC, as the test's account lives there).
        assert after["due_at"] == f"{after['due_date']}T10:00:00Z"

    return Burst(calls, {**EDIT, 412: {"version_mismatch"}}, check=moved)


async def _web_parent(ctx: Ctx) -> Burst:
    """Indents around a ring of tasks: each alone is fine, together they would close loops."""
    lid = ctx.ids["list"]
    ring = [
        (await ctx.post("/api/me/tasks", {"title": f"ring {i}", "list_id": lid}))["id"]
        for i in range(5)
    ]
    calls = [
        (
            "POST",
            f"/tasks/{ring[i % 5]}/parent",
            _form({"parent": str(ring[(i + 1 + i // 5) % 5])}, htmx=i % 2 == 1),
        )
        for i in range(PARALLEL)
        if ring[i % 5] != ring[(i + 1 + i // 5) % 5]
    ]
    calls += calls[: PARALLEL - len(calls)]

    async def no_cycle(ctx: Ctx, answers: list[httpx.Response]) -> None:
        parents = {t["id"]: t["parent_id"] for t in await _all_tasks(ctx)}
        for start in ring:
            seen: set[int] = set()
            at = start
            while at is not None:
                assert at not in seen, f"a cycle through {at}: {parents}"
                seen.add(at)
                at = parents.get(at)

    return Burst(calls, {**EDIT, 422: {"validation_error"}}, check=no_cycle)


async def _web_add_subtask(ctx: Ctx) -> Burst:
    parent = ctx.ids["task"]

    async def all_there(ctx: Ctx, answers: list[httpx.Response]) -> None:
        found = await ctx.client.get(f"/api/me/tasks/{parent}", headers=ctx.who.headers)
        assert found.json()["children_total"] == PARALLEL

    calls = [
        ("POST", f"/tasks/{parent}/subtasks", _form({"title": f"sub {i}"}, htmx=i % 2 == 1))
        for i in range(PARALLEL)
    ]
    return Burst(calls, check=all_there)


async def _web_delete_task(ctx: Ctx) -> Burst:
    return Burst(
        _same(f"/tasks/{ctx.ids['task']}/delete", {}),
        {404: {"task_not_found"}, **EDIT},
        exactly_one_success=True,
        deletes=ctx.ids["task"],
    )


async def _trashed(ctx: Ctx, title: str) -> int:
    """A task made and deleted inside the scenario (after the sweep noted the tasks there
    were), with tags and a list, so a restore has something to bring back."""
    body = {"title": title, "list_id": ctx.ids["list"], "tags": ["Shared", "back"]}
    task_id = int((await ctx.post("/api/me/tasks", body))["id"])
    gone = await ctx.client.delete(f"/api/me/tasks/{task_id}", headers=ctx.who.headers)
    assert gone.status_code == 204, gone.text
    return task_id


async def _trash_ids(ctx: Ctx) -> list[int]:
    answer = await ctx.client.get("/api/me/trash?limit=500", headers=ctx.who.headers)
    assert answer.status_code == 200, answer.text
    return [t["id"] for t in answer.json()]


def _restored_once(
    task_id: int, title: str
) -> Callable[[Ctx, list[httpx.Response]], Awaitable[None]]:
    async def check(ctx: Ctx, answers: list[httpx.Response]) -> None:
        # The one task came back, under its own id, with its list and tags: no copies.
        back = await _web_tasks(ctx, title)
        assert [(t["id"], t["list_id"], sorted(t["tags"])) for t in back] == [
            (task_id, ctx.ids["list"], ["Shared", "back"])
        ], back
        assert task_id not in await _trash_ids(ctx)

    return check


def _gone_for_good(task_id: int) -> Callable[[Ctx, list[httpx.Response]], Awaitable[None]]:
    async def check(ctx: Ctx, answers: list[httpx.Response]) -> None:
        assert task_id not in await _trash_ids(ctx)
        found = await ctx.client.get(f"/api/me/tasks/{task_id}", headers=ctx.who.headers)
        assert found.status_code == 404

    return check


async def _restore(ctx: Ctx) -> Burst:
    task_id = await _trashed(ctx, "brought back")
    return Burst(
        [("POST", f"/api/me/tasks/{task_id}/restore", {})] * PARALLEL,
        {404: {"task_not_found"}},
        exactly_one_success=True,
        check=_restored_once(task_id, "brought back"),
    )


async def _delete_forever(ctx: Ctx) -> Burst:
    task_id = await _trashed(ctx, "for good")
    return Burst(
        [("DELETE", f"/api/me/trash/{task_id}", {})] * PARALLEL,
        {404: {"task_not_found"}},
        exactly_one_success=True,
        check=_gone_for_good(task_id),
    )


async def _empty_trash(ctx: Ctx) -> Burst:
    trashed = [await _trashed(ctx, f"emptied {i}") for i in range(PARALLEL // 2)]
    calls: list[tuple[str, str, dict[str, Any]]] = [("DELETE", "/api/me/trash", {})] * (
        PARALLEL // 2
    )
    calls += [("POST", f"/api/me/tasks/{t}/restore", {}) for t in trashed]

    async def each_task_restored_or_gone(ctx: Ctx, answers: list[httpx.Response]) -> None:
        assert await _trash_ids(ctx) == []
        restored = {a.json()["id"] for a in answers if a.status_code == 200}
        live = {t["id"] for t in await _all_tasks(ctx)}
        assert live & set(trashed) == restored

    return Burst(calls, {404: {"task_not_found"}}, check=each_task_restored_or_gone)


async def _web_restore(ctx: Ctx) -> Burst:
    # 20 clicks on one Undo: before the trash each made a copy of the task.
    task_id = await _trashed(ctx, "brought back")
    return Burst(
        _same(f"/tasks/{task_id}/restore", {"next": "/"}),
        {404: {"task_not_found"}},
        exactly_one_success=True,
        check=_restored_once(task_id, "brought back"),
    )


async def _web_delete_forever(ctx: Ctx) -> Burst:
    task_id = await _trashed(ctx, "for good")
    return Burst(
        _same(f"/trash/{task_id}/delete", {}),
        {404: {"task_not_found"}},
        exactly_one_success=True,
        check=_gone_for_good(task_id),
    )


async def _web_empty_trash(ctx: Ctx) -> Burst:
    for i in range(3):
        await _trashed(ctx, f"emptied {i}")

    async def emptied(ctx: Ctx, answers: list[httpx.Response]) -> None:
        assert await _trash_ids(ctx) == []

    return Burst(_same("/trash/empty", {"confirm": "yes"}), check=emptied)


async def _web_create_list(ctx: Ctx) -> Burst:
    return Burst(
        [("POST", "/lists", _form({"name": "Twins"}))] * PARALLEL,
        forms=True,
        exactly_one_success=True,
    )


async def _web_rename_list(ctx: Ctx) -> Burst:
    # Renames onto one name, each list also renamed otherwise at once: a rename that waits
    # on its row lets others pass the name check too, so they meet the unique index, and
    # the loser's page must still render from its transaction.
    others = [(await ctx.post("/api/me/lists", {"name": f"other {i}"}))["id"] for i in range(10)]
    calls = [
        ("POST", f"/lists/{o}", _form({"name": name}))
        for o in others
        for name in (f"Renamed {o}", "Target")
    ]
    # A list may take the name after another was renamed away from it: the invariants'
    # "one list per name" is the check, not a count of answers.
    return Burst(calls, forms=True)


async def _web_delete_list(ctx: Ctx) -> Burst:
    lid = ctx.ids["list"]
    calls = [("POST", f"/lists/{lid}/delete", _form({"tasks": "move"}))] * (PARALLEL // 2)
    calls += [
        ("POST", "/tasks", _form({"title": f"late {i}", "next": f"/?list={lid}"}))
        for i in range(PARALLEL // 2)
    ]

    async def list_gone(ctx: Ctx, answers: list[httpx.Response]) -> None:
        deletes = [a for a in answers if a.request.url.path.endswith("/delete")]
        assert sum(a.status_code == 303 for a in deletes) == 1, [a.status_code for a in deletes]
        made = [t for t in await _all_tasks(ctx) if t["title"].startswith("late ")]
        added = [a for a in answers if a.request.url.path == "/tasks"]
        assert len(made) == sum(a.status_code == 303 for a in added)

    return Burst(calls, {404: {"list_not_found"}}, check=list_gone)


async def _web_rename_tag(ctx: Ctx) -> Burst:
    tags = {
        t["name"]: t["id"]
        for t in (await ctx.client.get("/api/me/tags", headers=ctx.who.headers)).json()
    }
    calls = [
        ("POST", f"/tags/{tag_id}", _form({"name": "shared"}))
        for name, tag_id in tags.items()
        if name != "Shared"
    ]
    return Burst((calls * PARALLEL)[:PARALLEL], {404: {"tag_not_found"}})


async def _web_delete_tag(ctx: Ctx) -> Burst:
    tag_id = next(
        t["id"]
        for t in (await ctx.client.get("/api/me/tags", headers=ctx.who.headers)).json()
        if t["name"] == "Shared"
    )
    calls = [("POST", f"/tags/{tag_id}/delete", _form({"confirm": "yes"}))] * (PARALLEL // 2)
    calls += [
        ("POST", "/tasks", _form({"title": f"tagged late {i} #Shared"}, htmx=i % 2 == 1))
        for i in range(PARALLEL // 2)
    ]
    return Burst(calls, {404: {"tag_not_found"}})


async def _web_create_token(ctx: Ctx) -> Burst:
    room = PARALLEL // 2
    for i in range(TOKENS_PER_USER_MAX - room):
        await ctx.post("/api/auth/tokens", {"name": f"old {i}", "scopes": ["tasks:read"]})

    async def the_cap_holds(ctx: Ctx, answers: list[httpx.Response]) -> None:
        # Made ones show their page with the secret; the others show the form again.
        assert [a.status_code for a in answers].count(200) == room
        tokens = await ctx.client.get("/api/auth/tokens", headers=ctx.who.headers)
        assert len(tokens.json()) == TOKENS_PER_USER_MAX

    form = {"token_name": "parallel", "scopes": "tasks:read", "expires": "30"}
    return Burst(
        [("POST", "/account/tokens", _form(form))] * PARALLEL, forms=True, check=the_cap_holds
    )


async def _web_revoke_token(ctx: Ctx) -> Burst:
    token = await ctx.post("/api/auth/tokens", {"name": "doomed", "scopes": ["tasks:read"]})

    async def revoked(ctx: Ctx, answers: list[httpx.Response]) -> None:
        used = await ctx.client.get("/api/me/tasks", headers=bearer(token["token"]))
        assert used.status_code == 401, used.text

    return Burst(
        [("POST", f"/account/tokens/{token['id']}/delete", _form({}))] * PARALLEL,
        {404: {"token_not_found"}},
        exactly_one_success=True,
        check=revoked,
    )


async def _web_notifications(ctx: Ctx) -> Burst:
    async def saved(ctx: Ctx, answers: list[httpx.Response]) -> None:
        chosen = await ctx.client.get("/api/me/notification-settings", headers=ctx.who.headers)
        assert chosen.json()["digest_hour"] == 7
        assert chosen.json()["push_reminders"] is False

    return Burst(
        _same("/account/notifications", {"email_reminders": "on", "digest_hour": "7"}),
        check=saved,
    )


async def _web_subscribe(ctx: Ctx) -> Burst:
    async def one_browser(ctx: Ctx, answers: list[httpx.Response]) -> None:
        listed = await ctx.client.get("/api/me/push-subscriptions", headers=ctx.who.headers)
        assert [s["endpoint"] for s in listed.json()] == [_BROWSER["endpoint"]]

    return Burst(
        [("POST", "/account/push-subscriptions", {"json": _BROWSER})] * PARALLEL, check=one_browser
    )


async def _web_unsubscribe(ctx: Ctx) -> Burst:
    await ctx.post("/api/me/push-subscriptions", _BROWSER)

    async def none_left(ctx: Ctx, answers: list[httpx.Response]) -> None:
        listed = await ctx.client.get("/api/me/push-subscriptions", headers=ctx.who.headers)
        assert listed.json() == []

    body = {"endpoint": _BROWSER["endpoint"]}
    return Burst(
        [("POST", "/account/push-subscriptions/delete", {"json": body})] * PARALLEL,
        check=none_left,
    )


async def _web_push_test(ctx: Ctx) -> Burst:
    # No browser subscribed: nothing leaves the machine.
    return Burst(_same("/account/push-test", {}))


# Sharing: the sweep's account owns the list; the other people sign up through the API.


async def _someone(ctx: Ctx) -> Account:
    email = f"race-{uuid.uuid4().hex[:10]}@example.com"
    answer = await ctx.client.post(
        "/api/auth/signup", json={"email": email, "password": "long enough 1"}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return Account(body["user"]["id"], email, "long enough 1", body["access_token"])


async def _member(ctx: Ctx, role: str = "editor") -> Account:
    person = await _someone(ctx)
    await ctx.post(
        f"/api/me/lists/{ctx.ids['list']}/members", {"email": person.email, "role": role}
    )
    return person


async def _members(ctx: Ctx) -> list[dict[str, Any]]:
    answer = await ctx.client.get(
        f"/api/me/lists/{ctx.ids['list']}/members", headers=ctx.who.headers
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def _links(ctx: Ctx) -> list[dict[str, Any]]:
    answer = await ctx.client.get(f"/api/me/lists/{ctx.ids['list']}/links", headers=ctx.who.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def _one_member_more(ctx: Ctx, _answers: list[httpx.Response]) -> None:
    assert len(await _members(ctx)) == 2


async def _add_member(ctx: Ctx) -> Burst:
    person = await _someone(ctx)
    url = f"/api/me/lists/{ctx.ids['list']}/members"
    return Burst(
        [("POST", url, {"json": {"email": person.email, "role": "viewer"}})] * PARALLEL,
        {409: {"already_member"}},
        exactly_one_success=True,
        check=_one_member_more,
    )


async def _change_role(ctx: Ctx) -> Burst:
    person = await _member(ctx)
    url = f"/api/me/lists/{ctx.ids['list']}/members/{person.id}"
    roles = ("viewer", "editor", "admin")
    return Burst([("PATCH", url, {"json": {"role": roles[i % 3]}}) for i in range(PARALLEL)])


async def _remove_member(ctx: Ctx) -> Burst:
    """Removals of a member racing with that member's writes into the list."""
    person = await _member(ctx)
    url = f"/api/me/lists/{ctx.ids['list']}/members/{person.id}"
    calls: list[tuple[str, str, dict[str, Any]]] = [("DELETE", url, {})] * (PARALLEL // 2)
    calls += [
        (
            "POST",
            "/api/me/tasks",
            {
                "json": {"title": f"member {i}", "list_id": ctx.ids["list"]},
                "headers": person.headers,
            },
        )
        for i in range(PARALLEL // 2)
    ]

    async def removed_once(ctx: Ctx, answers: list[httpx.Response]) -> None:
        removals = [a for a in answers if a.request.method == "DELETE"]
        assert sum(a.status_code == 204 for a in removals) == 1
        assert len(await _members(ctx)) == 1
        late = await ctx.client.post(
            "/api/me/tasks",
            headers=person.headers,
            json={"title": "late", "list_id": ctx.ids["list"]},
        )
        assert late.status_code == 404

    return Burst(calls, {404: {"member_not_found", "list_not_found"}}, check=removed_once)


async def _comment(ctx: Ctx) -> Burst:
    """Comments and assignments by a member racing with that member's removal: every
    acknowledged comment is kept, and nobody is left assigned who cannot see the list."""
    person = await _member(ctx)
    list_id = ctx.ids["list"]
    tasks = [
        (await ctx.post("/api/me/tasks", {"title": f"shared {i}", "list_id": list_id}))["id"]
        for i in range(4)
    ]
    url = f"/api/me/tasks/{ctx.ids['anchor']}/comments"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", url, {"json": {"body": f"by the member {i}"}, "headers": person.headers})
        for i in range(PARALLEL // 2)
    ]
    calls += [("POST", url, {"json": {"body": f"by the owner {i}"}}) for i in range(PARALLEL // 2)]
    calls += [("PUT", f"/api/me/tasks/{t}", {"json": {"assignee_id": person.id}}) for t in tasks]
    calls.append(("DELETE", f"/api/me/lists/{list_id}/members/{person.id}", {}))

    async def kept_and_cleared(ctx: Ctx, answers: list[httpx.Response]) -> None:
        posted = {
            a.json()["id"] for a in answers if a.request.method == "POST" and a.status_code == 201
        }
        listed = await ctx.client.get(url, headers=ctx.who.headers, params={"limit": 200})
        assert {c["id"] for c in listed.json()} == posted
        assert len(await _members(ctx)) == 1
        left = await ctx.client.get(
            "/api/me/tasks", headers=ctx.who.headers, params={"assignee": person.id}
        )
        assert left.json() == [], "a removed member is still assigned"

    return Burst(
        calls,
        {
            404: {"task_not_found", "list_not_found"},
            409: {"edit_conflict"},
            422: {"validation_error"},
        },
        check=kept_and_cleared,
    )


async def _edit_comment(ctx: Ctx) -> Burst:
    base = f"/api/me/tasks/{ctx.ids['anchor']}/comments"
    comment = await ctx.post(base, {"body": "first"})
    url = f"{base}/{comment['id']}"

    async def one_text(ctx: Ctx, answers: list[httpx.Response]) -> None:
        listed = (await ctx.client.get(base, headers=ctx.who.headers)).json()
        assert [c["body"] for c in listed] in [[f"edit {i}"] for i in range(PARALLEL)]

    return Burst(
        [("PATCH", url, {"json": {"body": f"edit {i}"}}) for i in range(PARALLEL)],
        check=one_text,
    )


async def _delete_comment(ctx: Ctx) -> Burst:
    base = f"/api/me/tasks/{ctx.ids['anchor']}/comments"
    comment = await ctx.post(base, {"body": "doomed"})
    return Burst(
        [("DELETE", f"{base}/{comment['id']}", {})] * PARALLEL,
        {404: {"comment_not_found"}},
        exactly_one_success=True,
    )


async def _make_owner(ctx: Ctx) -> Burst:
    person = await _member(ctx)
    url = f"/api/me/lists/{ctx.ids['list']}/members/{person.id}/make-owner"

    async def handed_over(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        members = await _members(ctx)
        assert [(m["user"]["id"], m["role"]) for m in members] == [
            (person.id, "owner"),
            (ctx.who.id, "admin"),
        ]
        moved = await ctx.client.get(
            "/api/me/tasks", headers=person.headers, params={"list_id": ctx.ids["list"]}
        )
        assert {t["user_id"] for t in moved.json()} == {person.id}

    return Burst(
        [("POST", url, {})] * PARALLEL,
        {
            403: {"forbidden_role"},
            404: {"member_not_found", "list_not_found"},
            409: {"already_owner"},
        },
        exactly_one_success=True,
        check=handed_over,
    )


async def _create_link(ctx: Ctx) -> Burst:
    url = f"/api/me/lists/{ctx.ids['list']}/links"

    async def within_the_limit(ctx: Ctx, answers: list[httpx.Response]) -> None:
        assert len(await _links(ctx)) == sum(a.status_code == 201 for a in answers) <= 20

    return Burst(
        [("POST", url, {"json": {"role": "viewer"}})] * PARALLEL,
        {409: {"too_many_links"}},
        check=within_the_limit,
    )


async def _revoke_link(ctx: Ctx) -> Burst:
    link = await ctx.post(f"/api/me/lists/{ctx.ids['list']}/links", {"role": "viewer"})
    url = f"/api/me/lists/{ctx.ids['list']}/links/{link['id']}"
    return Burst(
        [("DELETE", url, {})] * PARALLEL, {404: {"link_not_found"}}, exactly_one_success=True
    )


async def _cancel_invitation(ctx: Ctx) -> Burst:
    invited = await ctx.client.post(
        f"/api/me/lists/{ctx.ids['list']}/members",
        headers=ctx.who.headers,
        json={"email": f"i-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
    )
    assert invited.status_code == 202, invited.text
    url = f"/api/me/lists/{ctx.ids['list']}/invitations/{invited.json()['id']}"
    return Burst(
        [("DELETE", url, {})] * PARALLEL,
        {404: {"invitation_not_found"}},
        exactly_one_success=True,
    )


async def _join(ctx: Ctx) -> Burst:
    link = await ctx.post(f"/api/me/lists/{ctx.ids['list']}/links", {"role": "editor"})
    secret = link["url"].rsplit("/", 1)[1]
    person = await _someone(ctx)
    return Burst(
        [("POST", f"/api/me/links/{secret}/join", {"headers": person.headers})] * PARALLEL,
        check=_one_member_more,
    )


async def _web_add_member(ctx: Ctx) -> Burst:
    person = await _someone(ctx)
    url = f"/lists/{ctx.ids['list']}/members"
    return Burst(_same(url, {"email": person.email, "role": "editor"}), check=_one_member_more)


async def _web_change_role(ctx: Ctx) -> Burst:
    person = await _member(ctx)
    url = f"/lists/{ctx.ids['list']}/members/{person.id}"
    roles = ("viewer", "editor", "admin")
    return Burst([("POST", url, _form({"role": roles[i % 3]})) for i in range(PARALLEL)])


async def _web_remove_member(ctx: Ctx) -> Burst:
    person = await _member(ctx)

    async def gone(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        assert len(await _members(ctx)) == 1

    return Burst(_same(f"/lists/{ctx.ids['list']}/members/{person.id}/remove", {}), check=gone)


async def _web_create_link(ctx: Ctx) -> Burst:
    async def within_the_limit(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        assert 1 <= len(await _links(ctx)) <= 20

    return Burst(
        _same(f"/lists/{ctx.ids['list']}/links", {"role": "viewer"}), check=within_the_limit
    )


async def _web_cancel_invitation(ctx: Ctx) -> Burst:
    invited = await ctx.client.post(
        f"/api/me/lists/{ctx.ids['list']}/members",
        headers=ctx.who.headers,
        json={"email": f"i-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
    )
    assert invited.status_code == 202, invited.text

    async def cancelled(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        left = await ctx.client.get(
            f"/api/me/lists/{ctx.ids['list']}/invitations", headers=ctx.who.headers
        )
        assert left.json() == []

    url = f"/lists/{ctx.ids['list']}/invitations/{invited.json()['id']}/cancel"
    return Burst(_same(url, {}), check=cancelled)


async def _web_make_owner(ctx: Ctx) -> Burst:
    person = await _member(ctx)

    async def handed_over(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        members = await _members(ctx)
        assert [(m["user"]["id"], m["role"]) for m in members] == [
            (person.id, "owner"),
            (ctx.who.id, "admin"),
        ]

    url = f"/lists/{ctx.ids['list']}/members/{person.id}/owner"
    return Burst(_same(url, {"confirm": "yes"}), check=handed_over)


async def _web_revoke_link(ctx: Ctx) -> Burst:
    link = await ctx.post(f"/api/me/lists/{ctx.ids['list']}/links", {"role": "viewer"})

    async def revoked(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        assert await _links(ctx) == []

    return Burst(_same(f"/lists/{ctx.ids['list']}/links/{link['id']}/revoke", {}), check=revoked)


async def _web_comment(ctx: Ctx) -> Burst:
    url = f"/tasks/{ctx.ids['anchor']}/comments"

    async def all_kept(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        listed = await ctx.client.get(f"/api/me{url}", headers=ctx.who.headers)
        assert len(listed.json()) == PARALLEL

    return Burst(_same(url, {"body": "from the page"}), check=all_kept)


async def _web_delete_comment(ctx: Ctx) -> Burst:
    base = f"/tasks/{ctx.ids['anchor']}/comments"
    comment = await ctx.post(f"/api/me{base}", {"body": "doomed"})
    return Burst(
        _same(f"{base}/{comment['id']}/delete", {}),
        {404: {"comment_not_found"}},
        exactly_one_success=True,
    )


async def _web_edit_comment(ctx: Ctx) -> Burst:
    """The author saves 20 texts of one comment at once: one of them is its text."""
    base = f"/tasks/{ctx.ids['anchor']}/comments"
    comment = await ctx.post(f"/api/me{base}", {"body": "first"})
    texts = [f"edit {i}" for i in range(PARALLEL)]

    async def one_text(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        listed = (await ctx.client.get(f"/api/me{base}", headers=ctx.who.headers)).json()
        assert [c["id"] for c in listed] == [comment["id"]]
        assert listed[0]["body"] in texts

    return Burst(
        [
            ("POST", f"{base}/{comment['id']}", _form({"body": text}, htmx=i % 2 == 1))
            for i, text in enumerate(texts)
        ],
        check=one_text,
    )


async def _web_join(ctx: Ctx) -> Burst:
    """The sweep's browser joins someone else's list through a link, 20 times at once."""
    other = await _someone(ctx)
    theirs = await _post(ctx.client, other, "/api/me/lists", {"name": "Theirs"})
    link = await _post(ctx.client, other, f"/api/me/lists/{theirs['id']}/links", {"role": "viewer"})

    async def joined_once(ctx: Ctx, _answers: list[httpx.Response]) -> None:
        members = await ctx.client.get(
            f"/api/me/lists/{theirs['id']}/members", headers=other.headers
        )
        assert [m["user"]["id"] for m in members.json()] == [other.id, ctx.who.id]

    secret = link["url"].rsplit("/", 1)[1]
    return Burst(_same(f"/join/{secret}", {}), check=joined_once)


async def _web_create_app_password(ctx: Ctx) -> Burst:
    room = PARALLEL // 2
    for i in range(APP_PASSWORDS_PER_USER_MAX - room):
        await ctx.post("/api/auth/app-passwords", {"name": f"old {i}"})

    async def the_cap_holds(ctx: Ctx, answers: list[httpx.Response]) -> None:
        # Made ones show the page with the password; the others show the form again.
        assert [a.status_code for a in answers].count(200) == room
        made = await ctx.client.get("/api/auth/app-passwords", headers=ctx.who.headers)
        assert len(made.json()) == APP_PASSWORDS_PER_USER_MAX

    return Burst(
        [("POST", "/account/app-passwords", _form({"app_password_name": "parallel"}))] * PARALLEL,
        forms=True,
        check=the_cap_holds,
    )


async def _web_revoke_app_password(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/auth/app-passwords", {"name": "doomed"})

    async def revoked(ctx: Ctx, answers: list[httpx.Response]) -> None:
        used = await ctx.client.request("PROPFIND", "/dav/", auth=(ctx.who.email, made["password"]))
        assert used.status_code == 401, used.text

    return Burst(
        [("POST", f"/account/app-passwords/{made['id']}/delete", _form({}))] * PARALLEL,
        {404: {"app_password_not_found"}},
        exactly_one_success=True,
        check=revoked,
    )


async def _fill_feeds(ctx: Ctx, room: int) -> None:
    for i in range(FEEDS_PER_USER_MAX - room):
        await ctx.post("/api/auth/feeds", {"name": f"old {i}"})


async def _feeds_capped(ctx: Ctx, answers: list[httpx.Response]) -> None:
    held = await ctx.client.get("/api/auth/feeds", headers=ctx.who.headers)
    assert len(held.json()) == FEEDS_PER_USER_MAX


async def _create_feed(ctx: Ctx) -> Burst:
    await _fill_feeds(ctx, PARALLEL // 2)
    return Burst(
        [("POST", "/api/auth/feeds", {"json": {"name": "parallel"}})] * PARALLEL,
        {409: {"too_many_feeds"}},
        check=_feeds_capped,
    )


async def _web_create_feed(ctx: Ctx) -> Burst:
    await _fill_feeds(ctx, PARALLEL // 2)
    form = {"feed_name": "parallel", "feed_list": str(ctx.ids["list"]), "feed_component": "VTODO"}
    return Burst(
        [("POST", "/account/feeds", _form(form))] * PARALLEL, forms=True, check=_feeds_capped
    )


async def _feed_gone(ctx: Ctx, key: str) -> None:
    feed = await ctx.client.get(f"/api/feeds/{key}.ics")
    assert feed.status_code == 404, feed.text


async def _delete_feed(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/auth/feeds", {"name": "doomed"})
    key = made["url"].rsplit("/", 1)[1].removesuffix(".ics")
    return Burst(
        [("DELETE", f"/api/auth/feeds/{made['id']}", {})] * PARALLEL,
        {404: {"feed_not_found"}},
        exactly_one_success=True,
        check=lambda ctx, _answers: _feed_gone(ctx, key),
    )


async def _web_delete_feed(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/auth/feeds", {"name": "doomed"})
    key = made["url"].rsplit("/", 1)[1].removesuffix(".ics")
    return Burst(
        [("POST", f"/account/feeds/{made['id']}/delete", _form({}))] * PARALLEL,
        {404: {"feed_not_found"}},
        exactly_one_success=True,
        check=lambda ctx, _answers: _feed_gone(ctx, key),
    )


def _ics_file(tag: str) -> bytes:
    """A parent and its child, the child first: parallel imports of it store each UID once."""
    todos = "".join(
        f"BEGIN:VTODO\r\nUID:{tag}-{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{tag} {uid}\r\n"
        + (f"RELATED-TO:{tag}-parent\r\n" if uid == "child" else "")
        + "END:VTODO\r\n"
        for uid in ("child", "parent")
    )
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//race//EN\r\n{todos}END:VCALENDAR\r\n".encode()
    )


def _imported_once(tag: str) -> Callable[[Ctx, list[httpx.Response]], Awaitable[None]]:
    async def check(ctx: Ctx, answers: list[httpx.Response]) -> None:
        made = [t for t in await _all_tasks(ctx) if t["title"].startswith(f"{tag} ")]
        titles = sorted(t["title"] for t in made)
        assert titles == [f"{tag} child", f"{tag} parent"], titles
        by_title = {t["title"]: t for t in made}
        assert by_title[f"{tag} child"]["parent_id"] == by_title[f"{tag} parent"]["id"]

    return check


async def _import_ics(ctx: Ctx) -> Burst:
    body = _ics_file("api-import")
    call = {"content": body, "headers": {"Content-Type": "text/calendar"}}
    url = f"/api/me/lists/{ctx.ids['list']}/tasks.ics"
    return Burst([("POST", url, call)] * PARALLEL, check=_imported_once("api-import"))


async def _web_import_ics(ctx: Ctx) -> Burst:
    body = _ics_file("web-import")
    call = {**_form({}), "files": {"file": ("tasks.ics", body, "text/calendar")}}
    url = f"/lists/{ctx.ids['list']}/import"
    return Burst([("POST", url, call)] * PARALLEL, check=_imported_once("web-import"))


_HOOK = {"url": WEBHOOK_URL, "events": ["*"]}


async def _create_webhook(ctx: Ctx) -> Burst:
    # More than the cap at once: the cap holds, the rest are refused cleanly.
    async def capped(ctx: Ctx, answers: list[httpx.Response]) -> None:
        listed = await ctx.client.get("/api/me/webhooks", headers=ctx.who.headers)
        assert len(listed.json()) == WEBHOOKS_PER_USER_MAX
        assert sum(a.status_code == 201 for a in answers) == WEBHOOKS_PER_USER_MAX

    return Burst(
        [("POST", "/api/me/webhooks", {"json": _HOOK})] * (WEBHOOKS_PER_USER_MAX + 5),
        {409: {"too_many_webhooks"}},
        check=capped,
    )


async def _update_webhook(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)
    bodies = [
        {"enabled": bool(i % 2), "events": ["task.*"] if i % 3 else ["*"]} for i in range(PARALLEL)
    ]

    async def consistent(ctx: Ctx, answers: list[httpx.Response]) -> None:
        found = await ctx.client.get(f"/api/me/webhooks/{made['id']}", headers=ctx.who.headers)
        body = found.json()
        assert (body["disabled_reason"] is None) == body["enabled"]
        assert body["events"] in (["task.*"], ["*"])

    return Burst(
        [("PATCH", f"/api/me/webhooks/{made['id']}", {"json": b}) for b in bodies],
        check=consistent,
    )


async def _delete_webhook(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)
    return Burst(
        [("DELETE", f"/api/me/webhooks/{made['id']}", {})] * PARALLEL,
        {404: {"webhook_not_found"}},
        exactly_one_success=True,
    )


async def _rotate_webhook_secret(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)

    async def distinct(ctx: Ctx, answers: list[httpx.Response]) -> None:
        assert len({a.json()["secret"] for a in answers}) == PARALLEL

    return Burst(
        [("POST", f"/api/me/webhooks/{made['id']}/rotate-secret", {})] * PARALLEL,
        check=distinct,
    )


async def _test_webhook(ctx: Ctx) -> Burst:
    # The target never resolves: every ping fails at once, and nothing leaves the machine.
    made = await ctx.post("/api/me/webhooks", _HOOK)

    async def logged(ctx: Ctx, answers: list[httpx.Response]) -> None:
        log = await ctx.client.get(
            f"/api/me/webhooks/{made['id']}/deliveries", headers=ctx.who.headers
        )
        assert sorted(d["id"] for d in log.json()) == sorted(a.json()["id"] for a in answers)
        assert {d["attempts"] for d in log.json()} == {1}

    return Burst([("POST", f"/api/me/webhooks/{made['id']}/test", {})] * PARALLEL, check=logged)


async def _retry_delivery(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)
    answer = await ctx.client.post(f"/api/me/webhooks/{made['id']}/test", headers=ctx.who.headers)
    assert answer.status_code == 200, answer.text
    pinged = answer.json()
    return Burst(
        [("POST", f"/api/me/webhooks/{made['id']}/deliveries/{pinged['id']}/retry", {})] * PARALLEL,
        {409: {"delivery_pending"}},
        exactly_one_success=True,
    )


async def _web_create_webhook(ctx: Ctx) -> Burst:
    # More than the cap at once from the page: the cap holds, the rest see the form again.
    async def capped(ctx: Ctx, answers: list[httpx.Response]) -> None:
        listed = await ctx.client.get("/api/me/webhooks", headers=ctx.who.headers)
        assert len(listed.json()) == WEBHOOKS_PER_USER_MAX
        assert sum(a.status_code == 200 for a in answers) == WEBHOOKS_PER_USER_MAX

    form = {"url": WEBHOOK_URL, "mode": "all"}
    return Burst(
        [("POST", "/account/webhooks", _form(form))] * (WEBHOOKS_PER_USER_MAX + 5),
        forms=True,
        check=capped,
    )


async def _web_switch_webhook(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)
    url = f"/account/webhooks/{made['id']}/enabled"

    async def consistent(ctx: Ctx, answers: list[httpx.Response]) -> None:
        found = await ctx.client.get(f"/api/me/webhooks/{made['id']}", headers=ctx.who.headers)
        body = found.json()
        assert (body["disabled_reason"] is None) == body["enabled"]

    calls = [
        ("POST", url, _form({"enabled": "true" if i % 2 else "false"})) for i in range(PARALLEL)
    ]
    return Burst(calls, check=consistent)


async def _web_test_webhook(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)

    async def logged(ctx: Ctx, answers: list[httpx.Response]) -> None:
        log = await ctx.client.get(
            f"/api/me/webhooks/{made['id']}/deliveries", headers=ctx.who.headers
        )
        assert len(log.json()) == PARALLEL
        assert {d["attempts"] for d in log.json()} == {1}

    return Burst(_same(f"/account/webhooks/{made['id']}/test", {}), check=logged)


async def _web_rotate_webhook_secret(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)
    secret = re.compile(r'id="new-webhook-secret"[^>]*value="(whsec_[^"]+)"')

    async def distinct(ctx: Ctx, answers: list[httpx.Response]) -> None:
        shown = {found.group(1) for a in answers if (found := secret.search(a.text))}
        assert len(shown) == PARALLEL
        assert made["secret"] not in shown

    return Burst(_same(f"/account/webhooks/{made['id']}/rotate-secret", {}), check=distinct)


async def _web_retry_delivery(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)
    answer = await ctx.client.post(f"/api/me/webhooks/{made['id']}/test", headers=ctx.who.headers)
    assert answer.status_code == 200, answer.text
    pinged = answer.json()

    async def once_more(ctx: Ctx, answers: list[httpx.Response]) -> None:
        # Every form answers with the page; one of them put the delivery back in line.
        (found,) = (
            await ctx.client.get(
                f"/api/me/webhooks/{made['id']}/deliveries", headers=ctx.who.headers
            )
        ).json()
        assert found["status"] == "pending"
        assert found["attempts"] == 1

    url = f"/account/webhooks/{made['id']}/deliveries/{pinged['id']}/retry"
    return Burst(_same(url, {}), check=once_more)


async def _web_delete_webhook(ctx: Ctx) -> Burst:
    made = await ctx.post("/api/me/webhooks", _HOOK)

    async def gone(ctx: Ctx, answers: list[httpx.Response]) -> None:
        found = await ctx.client.get(f"/api/me/webhooks/{made['id']}", headers=ctx.who.headers)
        assert found.status_code == 404

    return Burst(
        _same(f"/account/webhooks/{made['id']}/delete", {}),
        {404: {"webhook_not_found"}},
        exactly_one_success=True,
        check=gone,
    )


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", "/api/auth/signup"): _signup,
    ("POST", "/api/auth/login"): _login,
    ("POST", "/api/auth/feeds"): _create_feed,
    ("DELETE", "/api/auth/feeds/{feed_id}"): _delete_feed,
    ("POST", "/api/{user_id}/lists/{list_id}/tasks.ics"): _import_ics,
    ("POST", "/api/auth/token"): _token,
    ("PATCH", "/api/auth/me"): _update_me,
    ("DELETE", "/api/auth/me"): _delete_me,
    ("POST", "/api/auth/logout-all"): _logout_all,
    ("POST", "/api/auth/tokens"): _create_token,
    ("DELETE", "/api/auth/tokens/{token_id}"): _revoke_token,
    ("POST", "/api/auth/app-passwords"): _create_app_password,
    ("DELETE", "/api/auth/app-passwords/{password_id}"): _revoke_app_password,
    ("POST", "/api/{user_id}/tasks"): _create_task,
    ("POST", "/api/{user_id}/tasks/quick"): _quick_add,
    ("PUT", "/api/{user_id}/tasks/{task_id:int}"): _update_task,
    ("PATCH", "/api/{user_id}/tasks/{task_id:int}/complete"): _complete,
    ("POST", "/api/{user_id}/tasks/{task_id:int}/move"): _move,
    ("DELETE", "/api/{user_id}/tasks/{task_id:int}"): _delete_task,
    ("POST", "/api/{user_id}/tasks/{task_id:int}/restore"): _restore,
    ("DELETE", "/api/{user_id}/trash/{task_id:int}"): _delete_forever,
    ("DELETE", "/api/{user_id}/trash"): _empty_trash,
    ("POST", "/api/{user_id}/reminders/{task_id:int}/dismiss"): _dismiss,
    ("POST", "/api/{user_id}/lists"): _create_list,
    ("PATCH", "/api/{user_id}/lists/{list_id}"): _update_list,
    ("DELETE", "/api/{user_id}/lists/{list_id}"): _delete_list,
    ("PATCH", "/api/{user_id}/tags/{tag_id}"): _rename_tag,
    ("DELETE", "/api/{user_id}/tags/{tag_id}"): _delete_tag,
    ("PATCH", "/api/{user_id}/notification-settings"): _notification_settings,
    ("POST", "/api/{user_id}/push-subscriptions"): _subscribe,
    ("POST", "/api/{user_id}/push-subscriptions/test"): _test_push,
    ("DELETE", "/api/{user_id}/push-subscriptions/{subscription_id:int}"): _unsubscribe,
    ("POST", "/login"): _web_login,
    ("POST", "/signup"): _web_signup,
    ("POST", "/logout"): _web_logout,
    ("POST", "/account/name"): _web_name,
    ("POST", "/account/timezone"): _web_timezone,
    ("POST", "/account/password"): _web_password,
    ("POST", "/account/logout-everywhere"): _web_logout_everywhere,
    ("POST", "/account/delete"): _web_delete_account,
    ("POST", "/sort"): _web_sort,
    ("POST", "/tasks"): _web_create_task,
    ("POST", "/tasks/{task_id:int}/complete"): _web_complete,
    ("POST", "/tasks/{task_id:int}"): _web_update_task,
    ("POST", "/tasks/{task_id:int}/reminder/dismiss"): _web_dismiss,
    ("POST", "/tasks/{task_id:int}/move"): _web_move,
    ("POST", "/tasks/{task_id:int}/reschedule"): _web_reschedule,
    ("POST", "/tasks/{task_id:int}/parent"): _web_parent,
    ("POST", "/tasks/{task_id:int}/subtasks"): _web_add_subtask,
    ("POST", "/tasks/{task_id:int}/delete"): _web_delete_task,
    ("POST", "/tasks/{task_id:int}/restore"): _web_restore,
    ("POST", "/trash/{task_id:int}/delete"): _web_delete_forever,
    ("POST", "/trash/empty"): _web_empty_trash,
    ("POST", "/lists"): _web_create_list,
    ("POST", "/lists/{list_id}"): _web_rename_list,
    ("POST", "/lists/{list_id}/delete"): _web_delete_list,
    ("POST", "/tags/{tag_id}"): _web_rename_tag,
    ("POST", "/tags/{tag_id}/delete"): _web_delete_tag,
    ("POST", "/account/tokens"): _web_create_token,
    ("POST", "/account/tokens/{token_id:int}/delete"): _web_revoke_token,
    ("POST", "/account/app-passwords"): _web_create_app_password,
    ("POST", "/account/feeds"): _web_create_feed,
    ("POST", "/account/feeds/{feed_id:int}/delete"): _web_delete_feed,
    ("POST", "/lists/{list_id:int}/import"): _web_import_ics,
    ("POST", "/account/webhooks"): _web_create_webhook,
    ("POST", "/account/webhooks/{webhook_id:int}/enabled"): _web_switch_webhook,
    ("POST", "/account/webhooks/{webhook_id:int}/test"): _web_test_webhook,
    ("POST", "/account/webhooks/{webhook_id:int}/rotate-secret"): _web_rotate_webhook_secret,
    ("POST", "/account/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}/retry"): (
        _web_retry_delivery
    ),
    ("POST", "/account/webhooks/{webhook_id:int}/delete"): _web_delete_webhook,
    ("POST", "/account/app-passwords/{password_id:int}/delete"): _web_revoke_app_password,
    ("POST", "/account/notifications"): _web_notifications,
    ("POST", "/account/push-subscriptions"): _web_subscribe,
    ("POST", "/account/push-subscriptions/delete"): _web_unsubscribe,
    ("POST", "/account/push-test"): _web_push_test,
    ("POST", "/mcp"): _mcp,
    ("POST", "/api/{user_id}/lists/{list_id}/members"): _add_member,
    ("PATCH", "/api/{user_id}/lists/{list_id}/members/{member_user_id}"): _change_role,
    ("DELETE", "/api/{user_id}/lists/{list_id}/members/{member_user_id}"): _remove_member,
    ("POST", "/api/{user_id}/lists/{list_id}/members/{member_user_id}/make-owner"): _make_owner,
    ("POST", "/api/{user_id}/lists/{list_id}/links"): _create_link,
    ("DELETE", "/api/{user_id}/lists/{list_id}/links/{link_id}"): _revoke_link,
    ("DELETE", "/api/{user_id}/lists/{list_id}/invitations/{invitation_id}"): _cancel_invitation,
    ("POST", "/api/{user_id}/links/{secret}/join"): _join,
    ("POST", "/api/{user_id}/webhooks"): _create_webhook,
    ("PATCH", "/api/{user_id}/webhooks/{webhook_id}"): _update_webhook,
    ("DELETE", "/api/{user_id}/webhooks/{webhook_id}"): _delete_webhook,
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/rotate-secret"): _rotate_webhook_secret,
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/test"): _test_webhook,
    ("POST", "/api/{user_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): (
        _retry_delivery
    ),
    ("POST", "/lists/{list_id}/members"): _web_add_member,
    ("POST", "/lists/{list_id}/members/{member_user_id}"): _web_change_role,
    ("POST", "/lists/{list_id}/members/{member_user_id}/remove"): _web_remove_member,
    ("POST", "/lists/{list_id}/links"): _web_create_link,
    ("POST", "/lists/{list_id}/links/{link_id}/revoke"): _web_revoke_link,
    ("POST", "/lists/{list_id}/invitations/{invitation_id}/cancel"): _web_cancel_invitation,
    ("POST", "/lists/{list_id}/members/{member_user_id}/owner"): _web_make_owner,
    ("POST", "/join/{secret}"): _web_join,
    ("POST", "/tasks/{task_id:int}/comments"): _web_comment,
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}/delete"): _web_delete_comment,
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}"): _web_edit_comment,
    ("POST", "/api/{user_id}/tasks/{task_id:int}/comments"): _comment,
    ("PATCH", "/api/{user_id}/tasks/{task_id:int}/comments/{comment_id:int}"): _edit_comment,
    ("DELETE", "/api/{user_id}/tasks/{task_id:int}/comments/{comment_id:int}"): _delete_comment,
}


def _write_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in routing.iter_route_contexts(app.routes)
        # CalDAV (HTTP Basic) is raced in tests/caldav/test_races.py.
        if route.methods is not None and not route.path.startswith(("/static", "/dav"))
        for method in route.methods & WRITE_METHODS
    }


def test_every_write_route_has_a_race_scenario(app: FastAPI) -> None:
    routes = _write_routes(app)
    assert not routes - SCENARIOS.keys(), f"add to SCENARIOS: {sorted(routes - SCENARIOS.keys())}"
    assert not SCENARIOS.keys() - routes, "SCENARIOS names routes the app no longer has"


async def _prepare(ctx: Ctx) -> None:
    ctx.ids["list"] = (await ctx.post("/api/me/lists", {"name": "Work"}))["id"]
    ctx.ids["anchor"] = (
        await ctx.post("/api/me/tasks", {"title": "anchor", "list_id": ctx.ids["list"]})
    )["id"]
    ctx.ids["task"] = (await ctx.post("/api/me/tasks", {"title": "plain", "tags": ["Shared"]}))[
        "id"
    ]
    for i in range(5):
        await ctx.post("/api/me/tasks", {"title": f"in work {i}", "list_id": ctx.ids["list"]})
        await ctx.post("/api/me/tasks", {"title": f"tagged {i}", "tags": [f"t{i}", "shared"]})
    ctx.ids["recurring"] = (
        await ctx.post(
            "/api/me/tasks",
            {"title": "daily", "due_date": "2030-01-01", "rrule": "FREQ=DAILY", "tags": ["home"]},
        )
    )["id"]
    ctx.ids["reminding"] = (
        await ctx.post("/api/me/tasks", {"title": "ring", "remind_at": "2020-01-01T09:00:00Z"})
    )["id"]


async def _all_tasks(ctx: Ctx, status: str = "all") -> list[dict[str, Any]]:
    answer = await ctx.client.get(
        "/api/me/tasks", headers=ctx.who.headers, params={"status": status, "limit": 500}
    )
    assert answer.status_code == 200, answer.text
    assert "link" not in answer.headers, "the sweep's user outgrew one page"
    return list(answer.json())


async def _invariants(ctx: Ctx, acknowledged: set[int], deleted: set[int]) -> None:
    h = ctx.who.headers
    tasks = await _all_tasks(ctx)
    by_id = {t["id"]: t for t in tasks}
    missing = acknowledged - deleted - by_id.keys()
    assert not missing, f"tasks acknowledged with a 2xx and then lost: {sorted(missing)}"
    listed = (await ctx.client.get("/api/me/lists", headers=h)).json()
    names = Counter(x["name"].lower() for x in listed)
    assert max(names.values()) == 1, f"two lists of one name: {names}"
    list_ids = {x["id"] for x in listed}
    assert {t["list_id"] for t in tasks} <= list_ids, "a task in a list that is gone"
    open_tasks = [t for t in tasks if not t["completed"]]
    assert sum(x["open_tasks"] for x in listed) == len(open_tasks)
    tags = (await ctx.client.get("/api/me/tags", headers=h)).json()
    tag_names = Counter(t["name"].lower() for t in tags)
    assert not tag_names or max(tag_names.values()) == 1, f"two tags of one name: {tag_names}"
    carried = Counter(name.lower() for t in tasks for name in t["tags"])
    assert {t["name"].lower(): t["tasks"] for t in tags if t["tasks"]} == dict(carried)
    series: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        if task["series_id"]:
            series.setdefault(task["series_id"], []).append(task)
    for members in series.values():
        dues = Counter(m["due_date"] for m in members)
        assert max(dues.values()) == 1, f"one occurrence made twice: {members}"
        assert sum(not m["completed"] for m in members) <= 1, f"two open occurrences: {members}"


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, f"{page.request.url} has no CSRF field"
    return found.group(1)


async def _sign_in_on_the_web(ctx: Ctx) -> str:
    """Log the sweep's account in to the web app; its forms' CSRF token."""
    client = ctx.client
    body = {"email": ctx.who.email, "password": ctx.who.password}
    login = await client.post(
        "/login", data={**body, "csrf_token": _csrf(await client.get("/login"))}
    )
    assert login.status_code == 303, login.text
    return _csrf(await client.get("/"))


def _signed_out(answer: httpx.Response) -> bool:
    """Sent to the log-in page because the session was gone (a form that ends the session
    itself goes there too, with a notice saying it did)."""
    if answer.status_code == 401 and "hx-redirect" in answer.headers:
        return answer.headers["hx-redirect"].startswith("/login")
    target = answer.headers.get("location", "")
    return answer.status_code == 303 and target.startswith("/login") and "notice=" not in target


def _web_done(answer: httpx.Response) -> bool:
    return answer.status_code in (200, 204, 303) and not _signed_out(answer)


def _api(path: str) -> bool:
    """Called with the account's token, as the API is (the MCP server too)."""
    return path.startswith("/api/") or path == "/mcp"


def _request(ctx: Ctx, token: str | None, method: str, url: str, kwargs: dict[str, Any]) -> Any:
    if _api(url):
        headers = {**ctx.who.headers, **kwargs.get("headers", {})}
        rest = {name: value for name, value in kwargs.items() if name != "headers"}
        return ctx.client.request(method, url, headers=headers, **rest)
    assert token is not None
    if "json" in kwargs:
        # The account page's script posts JSON with the token in a header.
        headers = {**kwargs.get("headers", {}), "X-CSRF-Token": token}
        return ctx.client.request(method, url, json=kwargs["json"], headers=headers)
    data = {**kwargs["data"], "csrf_token": token}
    return ctx.client.request(
        method, url, data=data, files=kwargs.get("files"), headers=kwargs["headers"]
    )


def _web_answer(burst: Burst, answer: httpx.Response) -> bool:
    """Whether a form's answer says it did its work; fails on an answer it may not give."""
    if _web_done(answer):
        return True
    if burst.signed_out and _signed_out(answer):
        return False
    if burst.forms and answer.status_code == FORM_SHOWN_AGAIN:
        assert answer.headers["content-type"].startswith("text/html"), answer.text
        return False
    allowed = burst.refusals.get(answer.status_code)
    assert allowed is not None, f"{answer.request.url}: {answer.status_code} {answer.text}"
    _clean_refusal(answer, {answer.status_code}, allowed)
    return False


@pytest.mark.parametrize("route", sorted(SCENARIOS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_every_write_route_races(
    client: httpx.AsyncClient, sign_up: SignUp, route: tuple[str, str]
) -> None:
    ctx = Ctx(client, await sign_up())
    await _prepare(ctx)
    token = None if _api(route[1]) else await _sign_in_on_the_web(ctx)
    before = {t["id"] for t in await _all_tasks(ctx)}
    burst = await SCENARIOS[route](ctx)
    assert len(burst.calls) >= PARALLEL
    answers = list(await asyncio.gather(*(_request(ctx, token, *call) for call in burst.calls)))
    _no_5xx(answers)
    acknowledged, deleted = set(before), set()
    successes = 0
    for answer in answers:
        if not _api(answer.request.url.path):
            successes += _web_answer(burst, answer)
            continue
        if answer.is_success:
            successes += 1
            body = answer.json() if answer.content else None
            # A comment's answer carries the comment's id, not a task's.
            a_task = "/comments" not in answer.request.url.path
            if answer.request.url.path.startswith("/api/me/tasks") and body and a_task:
                acknowledged.add(body["id"])
            if (
                answer.request.method == "DELETE"
                and "/tasks/" in answer.request.url.path
                and a_task
            ):
                deleted.add(int(answer.request.url.path.rsplit("/", 1)[1]))
            continue
        allowed = burst.refusals.get(answer.status_code)
        assert allowed is not None, f"{answer.request.url}: {answer.status_code} {answer.text}"
        _clean_refusal(answer, {answer.status_code}, allowed)
    if burst.exactly_one_success:
        assert successes == 1, [a.status_code for a in answers]
    if burst.deletes is not None:
        deleted.add(burst.deletes)
    if route in (("DELETE", "/api/auth/me"), ("POST", "/account/delete")):
        gone = await client.post(
            "/api/auth/login", json={"email": ctx.who.email, "password": ctx.who.password}
        )
        assert gone.status_code == 401
        return
    if route in (("POST", "/api/auth/logout-all"), ("POST", "/account/logout-everywhere")):
        ctx.who.token = (
            await client.post(
                "/api/auth/login", json={"email": ctx.who.email, "password": ctx.who.password}
            )
        ).json()["access_token"]
    if burst.check is not None:
        await burst.check(ctx, answers)
    await _invariants(ctx, acknowledged, deleted)
