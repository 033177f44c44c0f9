"""Where the jobs run: `todo worker` (a process of its own) or inside `todo serve`."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib
import logging
import os
from typing import IO

from todo.core.config import Settings
from todo.core.db import Database
from todo.core.jobs import InProcessWorker, JobQueue

log = logging.getLogger("todo.jobs")

# Every module that defines jobs; a worker imports them all before it starts.
JOB_MODULES = (
    "todo.core.idempotency",
    "todo.notifications.jobs",
    "todo.upkeep",
    "todo.webhooks.jobs",
)
# How often an app process that found another one running the SQLite jobs tries again
# (the other one may have stopped).
SQLITE_RETRY_S = 30.0


def quiet_queue_logs(settings: Settings) -> None:
    # procrastinate logs every job start and end at INFO: two lines per scan, each 30 s.
    if settings.log_level != "debug":
        logging.getLogger("procrastinate").setLevel(logging.WARNING)


def load_jobs() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)


def queue(settings: Settings, db: Database) -> JobQueue:
    load_jobs()
    return JobQueue(settings, db)


async def run(settings: Settings, *, concurrency: int) -> None:
    """`todo worker`: run jobs until SIGINT or SIGTERM (jobs in flight finish first)."""
    quiet_queue_logs(settings)
    db = Database(settings)
    lock = _SqliteLock(settings)
    while not lock.take():
        # On SQLite the queue is in memory: only one process may run the jobs.
        log.info("jobs: another process runs the SQLite jobs; waiting for it to stop")
        await asyncio.sleep(SQLITE_RETRY_S)
    jobs = queue(settings, db)
    await jobs.open()
    log.info("jobs: worker started (%d at once)", concurrency)
    try:
        await jobs.run_worker(
            concurrency=concurrency, name=f"todo-worker-{os.getpid()}", install_signal_handlers=True
        )
    finally:
        await jobs.close()
        await db.dispose()
        lock.release()


class _SqliteLock:
    """An advisory lock on a file beside the SQLite database: held by the one process that
    runs its jobs, and released by the OS should that process die."""

    def __init__(self, settings: Settings) -> None:
        path = settings.database.sqlite_path
        self.path = None if path is None else path.with_name(path.name + ".jobs-lock")
        self._handle: IO[bytes] | None = None

    def take(self) -> bool:
        if self.path is None or self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class Background:
    """The jobs of a `todo serve` process, when it runs them (see `start`)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.queue: JobQueue | None = None
        self._worker: InProcessWorker | None = None
        self._waiting: asyncio.Task[None] | None = None
        self._lock = _SqliteLock(settings)

    async def start(self) -> None:
        """Decide in the background: the server answers while the queue library loads
        (about a third of a second of imports, done in a thread)."""
        if self.settings.jobs_in_process == "never":
            return
        quiet_queue_logs(self.settings)
        self._waiting = asyncio.create_task(self._start(), name="todo-jobs-start")

    async def _start(self) -> None:
        try:
            await asyncio.to_thread(load_jobs)
            await asyncio.to_thread(importlib.import_module, "procrastinate.testing")
            if self.db.is_sqlite:
                # The in-memory queue is per process: with several app processes on one
                # SQLite file, the one holding this lock runs the jobs, so none runs twice.
                while True:
                    if self._lock.take():
                        break
                    # Another process runs them; it may stop, and then this one takes over.
                    await asyncio.sleep(SQLITE_RETRY_S)
                await self._start_worker()
                return
            jobs = queue(self.settings, self.db)
            if self.settings.jobs_in_process == "auto":
                try:
                    others = await jobs.live_workers()
                except Exception as error:  # no schema yet, database down: decide without
                    log.warning("could not look for running job workers: %s", error)
                    others = 0
                if others:
                    log.info("jobs: %d worker(s) already running; none runs here", others)
                    return
            await self._start_worker(jobs)
        except Exception:
            log.exception("the in-process job worker did not start")

    async def _start_worker(self, jobs: JobQueue | None = None) -> None:
        self.queue = jobs or queue(self.settings, self.db)
        await self.queue.open()
        self._worker = InProcessWorker(self.queue)
        self._worker.start()

    async def stop(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._waiting
        if self._worker is not None:
            await self._worker.stop()
        if self.queue is not None:
            await self.queue.close()
        self._lock.release()
