"""Races: writes fired in parallel, each on its own database connection and transaction,
answer no 5xx and leave no lost or duplicated rows behind.

The requests run through the ASGI app concurrently (asyncio.gather), so every one holds a
transaction of its own while the others run: on PostgreSQL they really interleave; on
SQLite writers take turns (BEGIN IMMEDIATE), which the same assertions must survive.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, routing

from tests.conftest import Account, SignUp

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


# The sweep: every write route of the API, fired PARALLEL times at once against one
# resource. A new write route without a scenario here fails `test_every_write_route_races`.

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Burst:
    """The requests of one scenario, and the answers each may get besides a 5xx-free 2xx."""

    calls: list[tuple[str, str, dict[str, Any]]]
    refusals: dict[int, set[str]] = field(default_factory=dict)
    exactly_one_success: bool = False


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


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", "/api/auth/signup"): _signup,
    ("POST", "/api/auth/login"): _login,
    ("POST", "/api/auth/token"): _token,
    ("PATCH", "/api/auth/me"): _update_me,
    ("DELETE", "/api/auth/me"): _delete_me,
    ("POST", "/api/auth/logout-all"): _logout_all,
    ("POST", "/api/{user_id}/tasks"): _create_task,
    ("POST", "/api/{user_id}/tasks/quick"): _quick_add,
    ("PUT", "/api/{user_id}/tasks/{task_id}"): _update_task,
    ("PATCH", "/api/{user_id}/tasks/{task_id}/complete"): _complete,
    ("POST", "/api/{user_id}/tasks/{task_id}/move"): _move,
    ("DELETE", "/api/{user_id}/tasks/{task_id}"): _delete_task,
    ("POST", "/api/{user_id}/reminders/{task_id}/dismiss"): _dismiss,
    ("POST", "/api/{user_id}/lists"): _create_list,
    ("PATCH", "/api/{user_id}/lists/{list_id}"): _update_list,
    ("DELETE", "/api/{user_id}/lists/{list_id}"): _delete_list,
    ("PATCH", "/api/{user_id}/tags/{tag_id}"): _rename_tag,
    ("DELETE", "/api/{user_id}/tags/{tag_id}"): _delete_tag,
}


def _write_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in routing.iter_route_contexts(app.routes)
        if route.methods is not None and route.path.startswith("/api/")
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


@pytest.mark.parametrize("route", sorted(SCENARIOS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_every_write_route_races(
    client: httpx.AsyncClient, sign_up: SignUp, route: tuple[str, str]
) -> None:
    ctx = Ctx(client, await sign_up())
    await _prepare(ctx)
    before = {t["id"] for t in await _all_tasks(ctx)}
    burst = await SCENARIOS[route](ctx)
    assert len(burst.calls) >= PARALLEL
    answers = list(
        await asyncio.gather(
            *(
                client.request(method, url, headers=ctx.who.headers, **kwargs)
                for method, url, kwargs in burst.calls
            )
        )
    )
    _no_5xx(answers)
    acknowledged, deleted = set(before), set()
    for answer in answers:
        if answer.is_success:
            body = answer.json() if answer.content else None
            if answer.request.url.path.startswith("/api/me/tasks") and body:
                acknowledged.add(body["id"])
            if answer.request.method == "DELETE" and "/tasks/" in answer.request.url.path:
                deleted.add(int(answer.request.url.path.rsplit("/", 1)[1]))
            continue
        allowed = burst.refusals.get(answer.status_code)
        assert allowed is not None, f"{answer.request.url}: {answer.status_code} {answer.text}"
        _clean_refusal(answer, {answer.status_code}, allowed)
    if burst.exactly_one_success:
        assert sum(a.is_success for a in answers) == 1, [a.status_code for a in answers]
    if route == ("DELETE", "/api/auth/me"):
        gone = await client.post(
            "/api/auth/login", json={"email": ctx.who.email, "password": ctx.who.password}
        )
        assert gone.status_code == 401
        return
    if route == ("POST", "/api/auth/logout-all"):
        ctx.who.token = (
            await client.post(
                "/api/auth/login", json={"email": ctx.who.email, "password": ctx.who.password}
            )
        ).json()["access_token"]
    await _invariants(ctx, acknowledged, deleted)
