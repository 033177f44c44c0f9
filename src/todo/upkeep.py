"""Upkeep: the daily deletions the job queue runs, and `todo trash purge` / `todo events
prune` run by hand. Each works in short transactions, so on SQLite the app's writers are
never kept waiting long."""

from __future__ import annotations

from datetime import datetime, timedelta

from todo.core.db import Database, utcnow
from todo.core.events import prune_events
from todo.core.jobs import JobQueue, job
from todo.services import tasks
from todo.tasks.schemas import PURGE_BATCH
from todo.webhooks import service as webhooks
from todo.webhooks.schemas import DELIVERIES_KEPT_DAYS


async def purge_trash(db: Database, now: datetime) -> int:
    """Delete for good the tasks in the trash for more than its 30 days; how many."""
    purged = 0
    while True:
        async with db.session(write=True) as session:
            deleted = await tasks.purge_trash(session, now)
        purged += deleted
        if deleted < PURGE_BATCH:
            return purged


async def prune_history(db: Database, now: datetime, *, days: int) -> int:
    """Delete the events older than `days` (activity, live-stream resume points)."""
    async with db.session(write=True) as session:
        return await prune_events(session, now - timedelta(days=days))


@job(every="41 4 * * *")
async def purge_old_trash(queue: JobQueue, *, timestamp: int) -> None:
    await purge_trash(queue.db, utcnow())


@job(every="53 4 * * *")
async def prune_old_events(queue: JobQueue, *, timestamp: int) -> None:
    await prune_history(queue.db, utcnow(), days=queue.settings.events_retention_days)


async def prune_webhook_log(db: Database, now: datetime) -> int:
    """Delete the webhook deliveries older than their 30 days (no attempt waits on them)."""
    async with db.session(write=True) as session:
        return await webhooks.prune_deliveries(session, now - timedelta(days=DELIVERIES_KEPT_DAYS))


@job(every="7 5 * * *")
async def prune_old_webhook_deliveries(queue: JobQueue, *, timestamp: int) -> None:
    await prune_webhook_log(queue.db, utcnow())
