"""Every endpoint and dependency is a coroutine: FastAPI runs a plain `def` in its thread pool,
a thread hop per request (and a queue behind 40 threads under load) for work that never waits.
Found by the benchmark: the If-Match and clock dependencies were plain functions."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from fastapi import routing
from fastapi.dependencies.models import Dependant

from tests.conftest import make_settings
from todo.app import create_app


def _runs_on_the_loop(call: Any) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    method = getattr(call, "__call__", None)  # noqa: B004  (a callable instance, e.g. a scheme)
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


def _sync_calls(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    for sub in dependant.dependencies:
        if sub.call is not None and not _runs_on_the_loop(sub.call):
            found.add(getattr(sub.call, "__qualname__", repr(sub.call)))
        found |= _sync_calls(sub)
    return found


def test_no_endpoint_or_dependency_runs_in_the_thread_pool(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", tmp_path))
    offenders: dict[str, set[str]] = {}
    checked = 0
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, routing.APIRoute):
            continue
        checked += 1
        found = _sync_calls(route.dependant)
        if not _runs_on_the_loop(route.endpoint):
            found.add(f"endpoint {route.endpoint.__qualname__}")
        if found:
            offenders[f"{sorted(route.methods)} {route.path}"] = found
    assert checked > 40
    assert offenders == {}
