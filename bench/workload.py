"""The requests of each measured endpoint, as lines for wrk's script and the open-loop client.

A line is METHOD, path, one header and a JSON body (or nothing), tab-separated. The load is
spread over many users, each with a token minted by the app's TokenService with the
server's secret (session version 0, as the seed stores).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.config import PASSWORD, SECRET, Plan
from bench.dataset import SEARCH_WORDS
from bench.floor import Probe
from bench.store import Account
from todo.core.tokens import TokenService

READS = ("list", "list_200", "list_deep", "get", "search")
# The long page of the issue's measurements, next to the default one of the plan (50).
LONG_PAGE = 200
WEB = "web"
SESSION_COOKIE = "todo_session"
WRITES = ("create", "update", "toggle", "delete")
# Writes that act on an existing task, given fresh scratch tasks each time they are measured.
ON_SCRATCH = ("update", "toggle", "delete")
LINES = 20_000


@dataclass
class Context:
    """Who the load acts as, and on what."""

    plan: Plan
    accounts: list[Account]
    samples: list[tuple[Account, int]]  # seeded (owner, task id) pairs for reads of one task
    heavy: Account | None
    deep_cursor: str | None
    tokens: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)  # web log-ins, by user id
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __post_init__(self) -> None:
        service = TokenService(secret=SECRET, ttl=timedelta(hours=2))
        everyone = [*self.accounts, *([self.heavy] if self.heavy else [])]
        for account in everyone:
            self.tokens[account.id] = service.issue(account.id, session_version=0)[0]

    def bearer(self, account: Account) -> str:
        return f"Authorization: Bearer {self.tokens[account.id]}"

    def headers(self, account: Account) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[account.id]}"}

    def cookie(self, account: Account) -> str:
        return f"{SESSION_COOKIE}={self.cookies[account.id]}"


def line(method: str, path: str, header: str, body: dict[str, Any] | None = None) -> str:
    return "\t".join((method, path, header, json.dumps(body) if body is not None else ""))


# Bodies of the writes: a new task with a due day and a priority; a real change of title.
def create_body(n: int) -> dict[str, Any]:
    return {"title": f"Bench task {n}", "due_date": "2026-12-01", "priority": "high"}


def update_body(n: int) -> dict[str, Any]:
    return {"title": f"Edited bench task {n}", "priority": "low"}


def list_path(limit: int) -> str:
    return f"/api/me/tasks?limit={limit}"


def deep_path(ctx: Context) -> str:
    return f"/api/me/tasks?limit={ctx.plan.page_size}&cursor={ctx.deep_cursor}"


def search_path(word: str, limit: int) -> str:
    return f"/api/me/tasks?q={word}&limit={limit}"


def read_lines(name: str, ctx: Context, count: int = LINES) -> list[str]:
    size = ctx.plan.page_size
    builders: dict[str, Callable[[int], str]] = {
        "list": lambda n: line("GET", list_path(size), ctx.bearer(ctx.rng.choice(ctx.accounts))),
        "list_200": lambda n: line(
            "GET", list_path(LONG_PAGE), ctx.bearer(ctx.rng.choice(ctx.accounts))
        ),
        "get": lambda n: _get_line(ctx),
        "search": lambda n: line(
            "GET",
            search_path(ctx.rng.choice(SEARCH_WORDS), size),
            ctx.bearer(ctx.rng.choice(ctx.accounts)),
        ),
        WEB: lambda n: line(
            "GET", "/", "Cookie: " + ctx.cookie(ctx.rng.choice(ctx.accounts[: len(ctx.cookies)]))
        ),
        "create": lambda n: line(
            "POST", "/api/me/tasks", ctx.bearer(ctx.rng.choice(ctx.accounts)), create_body(n)
        ),
        "login": lambda n: line(
            "POST",
            "/api/auth/login",
            "",
            {"email": ctx.rng.choice(ctx.accounts).email, "password": PASSWORD},
        ),
    }
    if name == "list_deep":
        assert ctx.heavy is not None
        return [line("GET", deep_path(ctx), ctx.bearer(ctx.heavy))] * min(count, 1000)
    return [builders[name](n) for n in range(count)]


def _get_line(ctx: Context) -> str:
    owner, task_id = ctx.rng.choice(ctx.samples)
    return line("GET", f"/api/me/tasks/{task_id}", ctx.bearer(owner))


def scratch_lines(name: str, ctx: Context, scratch: list[tuple[Account, int]]) -> list[str]:
    """One request per scratch task, in a shuffled order."""
    order = list(scratch)
    ctx.rng.shuffle(order)
    out = []
    for n, (owner, task_id) in enumerate(order):
        path = f"/api/me/tasks/{task_id}"
        if name == "update":
            out.append(line("PUT", path, ctx.bearer(owner), update_body(n)))
        elif name == "toggle":
            out.append(line("PATCH", f"{path}/complete", ctx.bearer(owner)))
        else:
            out.append(line("DELETE", path, ctx.bearer(owner)))
    return out


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_probes(name: str, ctx: Context, count: int) -> list[Probe]:
    """Requests whose SQL the floor replays verbatim."""
    size = ctx.plan.page_size
    probes = []
    for n in range(count):
        account = ctx.accounts[n % len(ctx.accounts)]
        if name == "list":
            probes.append(Probe("GET", list_path(size), ctx.headers(account)))
        elif name == "list_200":
            probes.append(Probe("GET", list_path(LONG_PAGE), ctx.headers(account)))
        elif name == "search":
            word = SEARCH_WORDS[n % len(SEARCH_WORDS)]
            probes.append(Probe("GET", search_path(word, size), ctx.headers(account)))
        elif name == "get":
            owner, task_id = ctx.samples[n * 7 % len(ctx.samples)]
            probes.append(Probe("GET", f"/api/me/tasks/{task_id}", ctx.headers(owner)))
        elif name == "list_deep":
            assert ctx.heavy is not None
            probes.append(Probe("GET", deep_path(ctx), ctx.headers(ctx.heavy)))
        elif name == WEB:
            owner = ctx.accounts[n % len(ctx.cookies)]
            probes.append(Probe("GET", "/", {"Cookie": ctx.cookie(owner)}))
    return probes


def write_probe(name: str, ctx: Context, owner: Account, task_id: int | None) -> Probe:
    """One write to template; its slot values name the user, the Inbox and the task."""
    slots: dict[str, Any] = {"U": owner.id, "L": owner.inbox_id}
    headers = ctx.headers(owner)
    if name == "create":
        return Probe("POST", "/api/me/tasks", headers, create_body(0), slots)
    assert task_id is not None
    slots["T"] = task_id
    path = f"/api/me/tasks/{task_id}"
    if name == "update":
        return Probe("PUT", path, headers, update_body(0), slots)
    if name == "toggle":
        return Probe("PATCH", f"{path}/complete", headers, None, slots)
    return Probe("DELETE", path, headers, None, slots)
