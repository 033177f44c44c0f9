"""The daily upkeep jobs: the trash's 30 days and the change history's retention are kept
by the job queue, not only by commands someone must remember to run."""

from __future__ import annotations

import importlib
from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.conftest import Account
from todo import upkeep
from todo.core.db import utcnow
from todo.core.jobs import job_name
from todo.worker import JOB_MODULES, queue


def test_the_worker_schedules_both_daily() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)
    assert "todo.upkeep" in JOB_MODULES
    assert upkeep.purge_old_trash.__module__ == upkeep.prune_old_events.__module__ == "todo.upkeep"
    assert job_name(upkeep.purge_old_trash) != job_name(upkeep.prune_old_events)


async def _trashed(client: httpx.AsyncClient, alice: Account) -> int:
    made = await client.post("/api/me/tasks", headers=alice.headers, json={"title": "gone"})
    assert made.status_code == 201
    task_id = int(made.json()["id"])
    assert (
        await client.delete(f"/api/me/tasks/{task_id}", headers=alice.headers)
    ).status_code == 204
    return task_id


async def test_the_purge_takes_only_what_the_30_days_let_go(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    await _trashed(client, alice)
    assert await upkeep.purge_trash(app.state.db, utcnow() + timedelta(days=29)) == 0
    assert len((await client.get("/api/me/trash", headers=alice.headers)).json()) == 1
    assert await upkeep.purge_trash(app.state.db, utcnow() + timedelta(days=31)) == 1


async def test_the_jobs_run_on_the_queue(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """Run as the worker runs them: the young trash and history stay."""
    await _trashed(client, alice)
    jobs = queue(app.state.settings, app.state.db)
    await jobs.open()
    try:
        await upkeep.purge_old_trash(jobs, timestamp=0)
        await upkeep.prune_old_events(jobs, timestamp=0)
    finally:
        await jobs.close()
    assert len((await client.get("/api/me/trash", headers=alice.headers)).json()) == 1
    assert await upkeep.prune_history(app.state.db, utcnow() + timedelta(days=400), days=30) > 0
