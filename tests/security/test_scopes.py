"""The scope matrix: every API route of the app, called with a personal access token that lacks
the scope the route needs, is a 403 `insufficient_scope` naming it; with exactly that scope it
is not refused. Routes only a log-in may call refuse a token holding every scope.

The routes come from the application itself: an API route that declares no scope (and is not
in PUBLIC) fails `test_every_api_route_declares_its_scopes`, so it cannot ship unchecked.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, routing

from tests.accounts.test_access_tokens import make_token
from tests.conftest import SignUp
from tests.security.support import bearer
from tests.security.test_bola import ID_ROUTES, OWNER_ROUTES, Call, _victim_with_everything
from todo.accounts.deps import CurrentUser, ScopeRule, scope_rule
from todo.accounts.schemas import SCOPES

# Routes anyone may call: they are how one gets a token in the first place.
PUBLIC = {
    ("POST", "/api/auth/signup"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/token"),
    # A calendar feed: its secret address is the credential (checked in tests/caldav).
    ("GET", "/api/feeds/{secret}.ics"),
}
ACCOUNT_ROUTES: dict[tuple[str, str], Call] = {
    ("GET", "/api/auth/me"): Call(),
    ("PATCH", "/api/auth/me"): Call(json={"name": "Renamed"}),
    ("GET", "/api/auth/me/export"): Call(),
    ("DELETE", "/api/auth/me"): Call(),
    ("POST", "/api/auth/logout-all"): Call(),
    ("POST", "/api/auth/tokens"): Call(json={"name": "another", "scopes": ["tasks:read"]}),
    ("GET", "/api/auth/tokens"): Call(),
    ("DELETE", "/api/auth/tokens/{token_id}"): Call(),
    ("POST", "/api/auth/app-passwords"): Call(json={"name": "Phone"}),
    ("GET", "/api/auth/app-passwords"): Call(),
    ("DELETE", "/api/auth/app-passwords/{password_id}"): Call(),
    ("POST", "/api/auth/feeds"): Call(json={"name": "Calendar"}),
    ("GET", "/api/auth/feeds"): Call(),
    ("DELETE", "/api/auth/feeds/{feed_id}"): Call(),
}
# How long a stream that was let in runs before the matrix leaves it.
STREAM_OPEN_SECONDS = 1.0
CALLS = {**ID_ROUTES, **OWNER_ROUTES, **ACCOUNT_ROUTES}
_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


def _rules(route: Any) -> list[ScopeRule]:
    found = []
    stack = [route.dependant]
    while stack:
        current = stack.pop()
        stack.extend(current.dependencies)
        rule = scope_rule(current.call) if current.call is not None else None
        if rule is not None:
            found.append(rule)
    return found


def api_routes(app: FastAPI) -> dict[tuple[str, str], list[ScopeRule]]:
    """Every (method, path) under /api, as the OpenAPI document names it, with its rules."""
    found = {}
    for route in routing.iter_route_contexts(app.routes):
        if route.methods is None or not route.path.startswith("/api/"):
            continue
        path = _PARAMETER.sub(lambda match: "{" + match.group(1) + "}", route.path)
        for method in route.methods - {"HEAD"}:
            found[(method, path)] = _rules(route)
    return found


def _undeclared(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        route for route, rules in api_routes(app).items() if not rules and route not in PUBLIC
    )


def test_every_api_route_declares_its_scopes(app: FastAPI) -> None:
    routes = api_routes(app)
    assert not _undeclared(app), f"API routes without a scope rule: {_undeclared(app)}"
    twice = sorted(route for route, rules in routes.items() if len(rules) > 1)
    assert not twice, f"routes with more than one scope rule: {twice}"
    assert all(not routes[route] for route in PUBLIC), "a public route checks scopes"
    assert routes.keys() >= PUBLIC, "PUBLIC names routes the app no longer has"
    uncalled = sorted(routes.keys() - CALLS.keys() - PUBLIC)
    assert not uncalled, f"add a call for these routes to the matrix: {uncalled}"


def test_a_route_without_a_rule_is_caught() -> None:
    """The check above can fail: a route that only asks for the user is reported."""
    router = APIRouter(prefix="/api/{user_id}/things")

    @router.get("")
    async def things(user: CurrentUser) -> list[str]:
        return []

    app = FastAPI()
    app.include_router(router)
    assert _undeclared(app) == [("GET", "/api/{user_id}/things")]


def test_reading_methods_need_read_scopes_and_the_others_write_scopes(app: FastAPI) -> None:
    for (method, path), (rule,) in ((k, v) for k, v in api_routes(app).items() if v):
        needed = rule.needed(method)
        if needed is None:
            continue
        assert needed, (method, path)
        kind = "read" if method == "GET" else "write"
        assert all(scope.endswith(f":{kind}") for scope in needed), (method, path, needed)


def _fill(path: str, ids: dict[str, int]) -> str:
    return _PARAMETER.sub(lambda m: "me" if m.group(1) == "user_id" else str(ids[m.group(1)]), path)


async def test_the_scope_matrix(client: httpx.AsyncClient, app: FastAPI, sign_up: SignUp) -> None:
    failures: list[str] = []
    for (method, path), rules in sorted(api_routes(app).items()):
        if (method, path) in PUBLIC:
            continue
        (rule,) = rules
        call = CALLS[(method, path)]
        # A user of its own for each route: some calls end the account or its tokens.
        owner = await sign_up()
        victim = await _victim_with_everything(client, owner)
        ids = {**victim.ids, "token_id": 0}
        needed = rule.needed(method)

        async def send(
            headers: dict[str, str],
            method: str = method,
            url: str = path,
            call: Call = call,
            ids: dict[str, int] = ids,
        ) -> httpx.Response:
            return await client.request(
                method,
                _fill(url, ids),
                headers=call.headers(headers),
                params=call.params,
                **call.body(),
            )

        where = f"{method} {path}"
        if needed is None:
            every = await make_token(client, owner, list(SCOPES))
            refused = await send(bearer(every["token"]))
            if refused.status_code != 403 or refused.json()["code"] != "login_required":
                failures.append(f"{where} with every scope: {refused.status_code} {refused.text}")
            ids["token_id"] = every["id"]
            allowed = await send(owner.headers)
            if allowed.status_code in (401, 403):
                failures.append(f"{where} with a log-in: {allowed.status_code} {allowed.text}")
            continue
        others = [scope for scope in SCOPES if scope not in needed]
        for missing in needed:
            lacking = await make_token(
                client, owner, [*others, *(s for s in needed if s != missing)]
            )
            refused = await send(bearer(lacking["token"]))
            _expect_insufficient(failures, where, refused, needed)
        exact = await make_token(client, owner, list(needed))
        if call.streams:
            # A refusal is answered at once; a stream that is let in runs until it is left.
            try:
                async with asyncio.timeout(STREAM_OPEN_SECONDS):
                    allowed = await send(bearer(exact["token"]))
            except TimeoutError:
                continue
            failures.append(f"{where} with {needed}: {allowed.status_code} {allowed.text}")
            continue
        allowed = await send(bearer(exact["token"]))
        if allowed.status_code in (401, 403):
            failures.append(f"{where} with {needed}: {allowed.status_code} {allowed.text}")
    assert not failures, "\n".join(failures)


def _expect_insufficient(
    failures: list[str], where: str, response: httpx.Response, needed: tuple[str, ...]
) -> None:
    body: dict[str, Any] = response.json()
    header = response.headers.get("www-authenticate", "")
    expected = f'Bearer error="insufficient_scope", scope="{" ".join(needed)}"'
    if (
        response.status_code != 403
        or response.headers["content-type"] != "application/problem+json"
        or body.get("code") != "insufficient_scope"
        or not all(scope in body.get("detail", "") for scope in needed)
        or header != expected
    ):
        failures.append(f"{where} without {needed}: {response.status_code} {header} {body}")
