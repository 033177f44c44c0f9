"""The jobs that send webhooks.

What must be sent lives in the database, not in the queue (on SQLite the queue is in
memory): every 5 seconds `dispatch_webhooks` turns the events committed since each
webhook's cursors into delivery rows, then enqueues one `deliver_webhook` per delivery
whose attempt is due, under a queueing lock. A delivery is taken for its attempt by moving
its next attempt past a lease, so two workers never send it at once, and a worker that dies
mid-send leaves it to be taken again when the lease ends: at least once, never lost.
"""

from __future__ import annotations

from todo.core.db import utcnow
from todo.core.jobs import JobQueue, job
from todo.webhooks import service as webhooks
from todo.webhooks.service import LEASE_MARGIN_S

DUE_BATCH = 500


async def dispatch_all(queue: JobQueue) -> int:
    """One dispatcher pass over every enabled webhook; how many deliveries it made."""
    async with queue.db.session(write=False) as session:
        ids = await webhooks.enabled_webhook_ids(session)
    made = 0
    for webhook_id in ids:
        async with queue.db.session(write=True) as session:
            made += await webhooks.dispatch(session, webhook_id)
    return made


@job(every="* * * * * */5")
async def dispatch_webhooks(queue: JobQueue, *, timestamp: int) -> None:
    await dispatch_all(queue)
    async with queue.db.session(write=False) as session:
        due = await webhooks.due_deliveries(session, utcnow(), limit=DUE_BATCH)
    for delivery_id in due:
        await queue.defer(
            deliver_webhook,
            queueing_lock=f"webhook-delivery:{delivery_id}",
            delivery_id=delivery_id,
        )


# One attempt per run: the schedule of retries is the delivery's own (next_attempt_at).
@job(attempts=1)
async def deliver_webhook(queue: JobQueue, *, delivery_id: int) -> None:
    settings = queue.settings
    async with queue.db.session(write=True) as session:
        claimed = await webhooks.claim(
            session, delivery_id, lease_s=settings.webhook_timeout + LEASE_MARGIN_S, ping=False
        )
    if claimed is None:
        return
    outcome = await webhooks.send(settings, claimed)
    async with queue.db.session(write=True) as session:
        await webhooks.record(session, settings, claimed, outcome, ping=False)
