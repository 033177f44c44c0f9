"""`python -m bench.caldav_sync`: what a CalDAV client's syncs cost the server.

1. First sync of a list of `--first` tasks (default 10,000): PROPFIND Depth 1 for every
   object's etag, then calendar-multiget of every object (`--batch` hrefs a request).
2. Incremental sync-collection (RFC 6578) after `--changes` edits (default 10) in a list of
   `--among` tasks (default 100,000), beside the same in a list of `--reference` tasks
   (default 1,000): it must cost what the changes cost, not what the list holds.

Each scenario runs in process (httpx on the ASGI app, the production settings), on a
database of its own made by the migrations, tasks bulk-loaded into one user's Inbox. It
counts the SQL statements the app sends (SQLAlchemy's before_cursor_execute) and times each
request; the incremental REPORT is repeated `--repeat` times and the median kept.
`--db sqlite|postgres` (default both). Results: bench/results/caldav_sync.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from fastapi import FastAPI
from sqlalchemy import event, insert

from bench.config import POSTGRES_ADMIN_URL, RESULTS_DIR, SECRET
from bench.dataset import position_at
from todo import migrations
from todo.app import create_app
from todo.core.config import Settings, load_settings
from todo.tasks.models import Task

PASSWORD = "bench password 1"
LOAD_BATCH = 5000
_HREF = re.compile(r"<d:href>([^<]+\.ics)</d:href>")
_TOKEN = re.compile(r"<d:sync-token>([^<]+)</d:sync-token>")

ETAGS = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>"""
TOKEN = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>"""


def multiget(hrefs: list[str]) -> bytes:
    links = "".join(f"<d:href>{each}</d:href>" for each in hrefs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{links}</c:calendar-multiget>"
    ).encode()


def sync_collection(token: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:">'
        f"<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/></d:prop></d:sync-collection>"
    ).encode()


@dataclass
class Step:
    name: str
    requests: int = 0
    statements: int = 0
    seconds: float = 0.0
    bytes_out: int = 0
    responses: int = 0
    samples: list[float] = field(default_factory=list)


class Counter:
    """SQL statements sent by the app's engine while counting."""

    def __init__(self) -> None:
        self.count = 0
        self.on = False

    def __call__(self, *_args: Any) -> None:
        if self.on:
            self.count += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.count, self.on = 0, True
        try:
            yield
        finally:
            self.on = False


@dataclass
class Server:
    app: FastAPI
    http: httpx.AsyncClient
    counter: Counter


@asynccontextmanager
async def database(backend: str, workdir: Path) -> AsyncIterator[Settings]:
    name = f"todo_bench_caldav_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{workdir / (name + '.db')}"
    else:
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
    settings = load_settings(
        database_url=url,
        data_dir=workdir,
        auth_secret=SECRET,
        app_env="production",
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
        log_level="warning",
    )
    await asyncio.to_thread(migrations.upgrade, settings)
    try:
        yield settings
    finally:
        if backend == "postgres":
            admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Server]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        counter = Counter()
        event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", counter)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=600
        ) as http:
            yield Server(app, http, counter)


@dataclass
class Owner:
    user_id: str
    headers: dict[str, str]
    auth: tuple[str, str]
    inbox: int

    @property
    def calendar(self) -> str:
        return f"/dav/calendars/{self.user_id}/{self.inbox}/"


async def owner(server: Server, tasks: int) -> Owner:
    """A user with `tasks` tasks in their Inbox, loaded in bulk as the API would store them."""
    email = f"caldav-{uuid.uuid4().hex[:10]}@bench.example.com"
    made = await server.http.post(
        "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Bench"}
    )
    made.raise_for_status()
    body = made.json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    app_password = await server.http.post(
        "/api/auth/app-passwords", json={"name": "bench"}, headers=headers
    )
    app_password.raise_for_status()
    lists = (await server.http.get("/api/me/lists", headers=headers)).json()
    inbox = next(each["id"] for each in lists if each["is_inbox"])
    user_id = body["user"]["id"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with server.app.state.db.engine.begin() as connection:
        for first in range(0, tasks, LOAD_BATCH):
            rows = []
            for n in range(first, min(tasks, first + LOAD_BATCH)):
                made_at = start + timedelta(seconds=n)
                rows.append(
                    {
                        "user_id": user_id,
                        "title": f"Task {n} of the bench",
                        "description": "Some words about it." if n % 3 == 0 else "",
                        "completed": n % 4 == 0,
                        "completed_at": made_at if n % 4 == 0 else None,
                        "list_id": inbox,
                        "position": position_at(made_at),
                        "priority": n % 5,
                        "due_date": date(2026, 12, 1) + timedelta(days=n % 60) if n % 2 else None,
                        "reminder_dismissed": False,
                        "recurrence_mode": "due",
                        "occurrence": 1,
                        "created_at": made_at,
                        "updated_at": made_at,
                        "version": 1,
                    }
                )
            await connection.execute(insert(Task.__table__), rows)  # type: ignore[arg-type]
    who = Owner(user_id, headers, (email, app_password.json()["password"]), inbox)
    # Not measured: the first DAV request of a process builds what later ones reuse.
    await dav(server, Step("warm-up"), who, "PROPFIND", who.calendar, TOKEN, "0")
    return who


async def dav(
    server: Server, step: Step, who: Owner, method: str, path: str, body: bytes, depth: str
) -> str:
    with server.counter.counting():
        started = time.perf_counter()
        answer = await server.http.request(
            method,
            path,
            content=body,
            headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
            auth=who.auth,
        )
        took = time.perf_counter() - started
    assert answer.status_code == 207, answer.text[:500]
    step.requests += 1
    step.statements += server.counter.count
    step.seconds += took
    step.samples.append(took)
    step.bytes_out += len(answer.content)
    step.responses += answer.text.count("<d:response>")
    return answer.text


async def first_sync(backend: str, workdir: Path, tasks: int, batch: int) -> list[Step]:
    async with database(backend, workdir) as settings, serving(settings) as server:
        who = await owner(server, tasks)
        listing = Step(f"PROPFIND Depth 1, {tasks:,} etags")
        text = await dav(server, listing, who, "PROPFIND", who.calendar, ETAGS, "1")
        hrefs = _HREF.findall(text)
        assert len(hrefs) == tasks, (len(hrefs), tasks)
        fetch = Step(f"calendar-multiget of {tasks:,} ({batch:,} a request)")
        for start in range(0, len(hrefs), batch):
            await dav(
                server,
                fetch,
                who,
                "REPORT",
                who.calendar,
                multiget(hrefs[start : start + batch]),
                "1",
            )
        assert fetch.responses == tasks, (fetch.responses, tasks)
        return [listing, fetch]


async def incremental(
    backend: str, workdir: Path, sizes: list[int], changes: int, repeat: int
) -> list[Step]:
    steps = []
    async with database(backend, workdir) as settings, serving(settings) as server:
        for size in sizes:
            who = await owner(server, size)
            token_step = Step("token")
            token = _TOKEN.findall(
                await dav(server, token_step, who, "PROPFIND", who.calendar, TOKEN, "0")
            )[0]
            listed = await server.http.get(
                f"/api/me/tasks?limit={changes}&list_id={who.inbox}", headers=who.headers
            )
            listed.raise_for_status()
            rows = listed.json()
            rows = rows["items"] if isinstance(rows, dict) else rows
            assert len(rows) == changes, len(rows)
            for row in rows:
                edited = await server.http.put(
                    f"/api/me/tasks/{row['id']}",
                    json={"title": f"{row['title']} (edited)"},
                    headers=who.headers,
                )
                edited.raise_for_status()
            step = Step(f"sync-collection: {changes} changes among {size:,}")
            for _ in range(repeat):
                await dav(server, step, who, "REPORT", who.calendar, sync_collection(token), "1")
            assert step.responses == changes * repeat, (step.responses, changes)
            steps.append(step)
    return steps


def row(backend: str, step: Step) -> str:
    per = step.requests or 1
    median = statistics.median(step.samples) if step.samples else 0.0
    return (
        f"| {backend} | {step.name} | {step.requests} | {step.statements / per:,.0f} "
        f"| {median * 1000:,.1f} | {step.seconds:,.2f} | {step.bytes_out / 1e6:,.2f} |"
    )


async def main(args: argparse.Namespace) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results: dict[str, list[dict[str, Any]]] = {}
    lines = [
        f"# CalDAV sync (first {args.first:,}; {args.changes} changes among "
        f"{args.among:,} and {args.reference:,})",
        "",
        "| db | step | requests | SQL statements a request | median ms a request "
        "| total s | MB out |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-caldav-") as tmp:
        workdir = Path(tmp)
        for backend in args.db:
            steps = await first_sync(backend, workdir, args.first, args.batch)
            steps += await incremental(
                backend, workdir, [args.reference, args.among], args.changes, args.repeat
            )
            results[backend] = [asdict(each) for each in steps]
            lines += [row(backend, each) for each in steps]
            print("\n".join(lines[-len(steps) :]), flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"caldav_sync{args.suffix}.json").write_text(json.dumps(results, indent=1))
    (RESULTS_DIR / f"caldav_sync{args.suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--first", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--among", type=int, default=100_000)
    parser.add_argument("--reference", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--suffix", default="", help="results file name suffix, e.g. '.small' for a trial run"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
