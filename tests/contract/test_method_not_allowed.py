"""A 405 names, in `Allow`, every method the path answers (RFC 9110 15.5.6), for every route of
the app, API and web: FastAPI routes one method per route, so Starlette alone names only the
first route's method."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI, routing
from starlette.routing import compile_path

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "me" if m.group(1) == "user_id" else "1", path)


def _paths(app: FastAPI) -> dict[str, set[str]]:
    """Every route's address, with the methods of all the routes that answer it."""
    contexts = [c for c in routing.iter_route_contexts(app.routes) if c.methods]
    found: dict[str, set[str]] = {}
    for context in contexts:
        url = _url(context.path)
        found[url] = {
            method
            for other in contexts
            if compile_path(other.path)[0].fullmatch(url)
            for method in other.methods or ()
        }
    return found


def _allow(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers.get("allow", "").split(",")}


async def test_every_route_names_its_methods_in_a_405(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    paths = _paths(app)
    assert {"/api/me/tasks", "/api/me/tasks/1", "/", "/health"} <= paths.keys()
    checked = 0
    for url, methods in sorted(paths.items()):
        for method in sorted(set(METHODS) - methods):
            response = await client.request(method, url)
            assert response.status_code == 405, (method, url, response.status_code)
            assert _allow(response) == methods, (method, url, response.headers.get("allow"))
            assert response.json()["code"] == "method_not_allowed"
            checked += 1
    assert checked > len(paths)


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
async def test_static_files_allow_get_and_head(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.delete("/static/app.css", headers={"Accept": accept})
    assert response.status_code == 405
    assert _allow(response) == {"GET", "HEAD"}


async def test_a_page_drawn_for_a_browser_keeps_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/", headers={"Accept": "text/html"})
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert _allow(response) == {"GET"}


@pytest.mark.parametrize(("path", "allowed"), [("quick", {"POST"}), ("parse", {"GET"})])
async def test_task_words_are_not_task_ids(
    client: httpx.AsyncClient, path: str, allowed: set[str]
) -> None:
    """/tasks/quick is no task's address: PUT there is an unsupported method, not task 'quick'."""
    for method in ("PUT", "DELETE"):
        response = await client.request(method, f"/api/me/tasks/{path}")
        assert response.status_code == 405
        assert _allow(response) == allowed
