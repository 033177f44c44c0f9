"""Background jobs on procrastinate: a job is one async function with a decorator.

On PostgreSQL the queue lives in the same database (procrastinate's tables, installed by
our migration 0010): durable, at-least-once, retried with exponential backoff, shared by
any number of workers in any number of processes. On SQLite the same jobs run in the
serving process on procrastinate's in-memory connector: nothing to set up, but nothing
survives a restart, which is why every job that matters is re-derived from the database
by a periodic scan instead of being trusted to the queue.

    @job(attempts=5)
    async def deliver(queue: JobQueue, *, task_id: int) -> None: ...

    @job(every="*/10 * * * *")          # cron; a sixth field counts seconds
    async def sweep(queue: JobQueue, *, timestamp: int) -> None: ...

Jobs are registered when their module is imported; `todo.worker.JOB_MODULES` lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from todo.core.config import Settings
from todo.core.db import Database

if TYPE_CHECKING:
    import procrastinate

log = logging.getLogger("todo.jobs")

JobFunction = Callable[..., Awaitable[None]]
F = TypeVar("F", bound=JobFunction)

# Seconds: 2, 4, 8, 16... between attempts of a failing job.
BACKOFF_BASE_S = 2
# A worker that has not beaten its heart for this long is taken for dead (procrastinate
# then hands its jobs to others); `todo serve` looks for live ones at start-up.
HEARTBEAT_S = 10.0
STALLED_S = 30.0


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    attempts: int
    cron: str | None


_REGISTRY: dict[str, JobSpec] = {}


def job(*, attempts: int = 5, every: str | None = None) -> Callable[[F], F]:
    """Register an async function `f(queue, **kwargs)` as a job named after the function.

    `attempts` bounds the retries of a failing run; `every` (cron) makes it periodic, and
    it then gets the scheduled `timestamp` (Unix seconds) as a keyword argument.
    """

    def register(function: F) -> F:
        name = f"{function.__module__.removeprefix('todo.')}.{function.__name__}"
        _REGISTRY[name] = JobSpec(name=name, function=function, attempts=attempts, cron=every)
        return function

    return register


def job_name(function: JobFunction) -> str:
    return f"{function.__module__.removeprefix('todo.')}.{function.__name__}"


def psycopg_conninfo(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The database URL in libpq's own spelling (psycopg reads sslmode and the rest itself)."""
    raw = settings.database_url.strip()
    _scheme, _, rest = raw.partition("://")
    url = urlunsplit(urlsplit(f"postgresql://{rest}"))
    options: dict[str, Any] = {}
    if "-pooler" in (urlsplit(url).hostname or ""):
        # PgBouncer in transaction mode keeps no prepared statement between transactions.
        options["prepare_threshold"] = None
    return url, options


class JobQueue:
    """The procrastinate app of one process, with the settings and database jobs use."""

    def __init__(self, settings: Settings, db: Database) -> None:
        import procrastinate
        from procrastinate.testing import InMemoryConnector

        self.settings = settings
        self.db = db
        # Per-process state a job family wants to keep between runs (keys, clients).
        self.cache: dict[str, Any] = {}
        self.in_memory = db.is_sqlite
        connector: procrastinate.BaseConnector
        if self.in_memory:
            connector = InMemoryConnector()
            self._listen = False
        else:
            conninfo, options = psycopg_conninfo(settings)
            self._listen = "prepare_threshold" not in options
            connector = procrastinate.PsycopgConnector(
                conninfo=conninfo,
                min_size=1,
                max_size=settings.jobs_concurrency + 2,
                kwargs=options,
            )
        self.app = procrastinate.App(connector=connector)
        for spec in _REGISTRY.values():
            self._register(spec)

    def _register(self, spec: JobSpec) -> None:
        import procrastinate

        queue = self

        async def run(_context: procrastinate.JobContext, /, **kwargs: Any) -> None:
            await spec.function(queue, **kwargs)

        task: Any = self.app.task(
            name=spec.name,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=spec.attempts, exponential_wait=BACKOFF_BASE_S
            ),
        )(run)
        if spec.cron is not None:
            # One periodic task per name: its defers are deduplicated across workers.
            self.app.periodic(cron=spec.cron, queueing_lock=spec.name)(task)

    async def open(self) -> None:
        await self.app.open_async()

    async def close(self) -> None:
        await self.app.close_async()

    async def defer(
        self, function: JobFunction, *, queueing_lock: str | None = None, **kwargs: Any
    ) -> bool:
        """Enqueue a run of `function`; False when one with the same lock is already waiting."""
        from procrastinate.exceptions import AlreadyEnqueued

        deferrer = self.app.configure_task(job_name(function), queueing_lock=queueing_lock)
        try:
            await deferrer.defer_async(**kwargs)
        except AlreadyEnqueued:
            return False
        return True

    async def run_worker(
        self, *, concurrency: int, name: str, install_signal_handlers: bool, wait: bool = True
    ) -> None:
        await self.app.run_worker_async(
            concurrency=concurrency,
            name=name,
            wait=wait,
            install_signal_handlers=install_signal_handlers,
            listen_notify=self._listen,
            # Successful runs leave no row behind; failed ones stay for inspection.
            delete_jobs="successful",
            update_heartbeat_interval=HEARTBEAT_S,
            stalled_worker_timeout=STALLED_S,
            # Polling is the fallback of LISTEN/NOTIFY, and the only way in memory.
            fetch_job_polling_interval=1.0 if self.in_memory else 5.0,
            # A stopping server waits this long for jobs in flight; the scan redoes the rest.
            shutdown_graceful_timeout=10.0,
        )

    async def live_workers(self) -> int:
        """Workers of any process whose heartbeat is recent (0 in memory)."""
        if self.in_memory:
            return 0
        from sqlalchemy import text

        async with self.db.session(write=False) as session:
            connection = await session.connection()
            found = await connection.execute(
                text(
                    "SELECT count(*) FROM procrastinate_workers "
                    "WHERE last_heartbeat > now() - make_interval(secs => :stalled)"
                ),
                {"stalled": STALLED_S},
            )
            return int(found.scalar_one())


class InProcessWorker:
    """The worker `todo serve` runs beside the app when no separate one is configured."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="todo-jobs")

    async def _run(self) -> None:
        try:
            await self.queue.run_worker(
                concurrency=self.queue.settings.jobs_concurrency,
                name="todo-serve",
                install_signal_handlers=False,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the in-process job worker stopped")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
