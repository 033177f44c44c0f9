"""Event streams under load: 200 streams open while the list load runs (about 20 seconds).

`python -m bench.events` (PostgreSQL at BENCH_POSTGRES_URL, a database of its own, dropped
afterwards; `--workers`, `--streams`). Two phases of the same list load (GET /api/me/tasks,
a few requests at a time): first without streams, then with the streams open while one
write a tenth of a second changes a task of a streaming user. Reported: the server's memory
(RSS of its workers) and CPU in each phase, the list load's rate and latency, and how long
each change took from its request to every stream of its user. Results go to
bench/results/events.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench.server import cpu_seconds, descendants, free_port

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).with_name("results") / "events.md"
SECRET = "bench-secret-that-is-long-enough-0123456789"
USERS = 50
TASKS_PER_USER = 10
PHASE_SECONDS = 9.0
LIST_CONCURRENCY = 4
WRITE_EVERY_SECONDS = 0.1


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


@dataclass
class Tree:
    root: int

    def pids(self) -> list[int]:
        return [self.root, *descendants(self.root)]

    def rss(self) -> int:
        return sum(_rss(pid) for pid in self.pids())

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())


@dataclass
class User:
    token: str
    tasks: list[int]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Phase:
    name: str
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0
    rss: int = 0
    seconds: float = 0.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _users(http: httpx.AsyncClient) -> list[User]:
    async def one(n: int) -> User:
        email = f"bench-{n}-{uuid.uuid4().hex[:6]}@example.com"
        signed = await http.post(
            "/api/auth/signup", json={"email": email, "password": "bench password 1"}
        )
        signed.raise_for_status()
        user = User(signed.json()["access_token"], [])
        for i in range(TASKS_PER_USER):
            made = await http.post("/api/me/tasks", headers=user.headers, json={"title": f"t{i}"})
            user.tasks.append(made.json()["id"])
        return user

    # A few at a time: the set-up is not what is measured.
    gate = asyncio.Semaphore(5)

    async def gated(n: int) -> User:
        async with gate:
            return await one(n)

    return list(await asyncio.gather(*(gated(n) for n in range(USERS))))


async def _list_load(http: httpx.AsyncClient, users: list[User], phase: Phase, stop: float) -> None:
    async def worker() -> None:
        while time.monotonic() < stop:
            user = random.choice(users)
            began = time.perf_counter()
            answer = await http.get("/api/me/tasks?limit=50", headers=user.headers)
            phase.latencies.append(time.perf_counter() - began)
            if answer.status_code == 200:
                phase.requests += 1

    await asyncio.gather(*(worker() for _ in range(LIST_CONCURRENCY)))


class Streams:
    """The open streams, and when each change reached each of its user's streams."""

    def __init__(self, url: str, users: list[User], count: int) -> None:
        self.url, self.users, self.count = url, users, count
        self.by_user: dict[int, int] = {}
        self.arrivals: dict[tuple[int, int], list[float]] = {}
        self.ready = 0
        self._all_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def _one(self, http: httpx.AsyncClient, index: int, user: int) -> None:
        headers = self.users[user].headers
        async with http.stream("GET", f"{self.url}/api/me/events", headers=headers) as answer:
            event_id = None
            async for line in answer.aiter_lines():
                if line.startswith("retry:"):
                    self.ready += 1
                    if self.ready == self.count:
                        self._all_ready.set()
                elif line.startswith("data:") and '"resource_id"' in line:
                    resource = int(line.split('"resource_id": ')[1].split(",")[0])
                    key = (resource, event_id or 0)
                    self.arrivals.setdefault(key, []).append(time.perf_counter())
                elif line.startswith("id:"):
                    event_id = int(line.split(":")[1])

    async def open(self, http: httpx.AsyncClient) -> None:
        for index in range(self.count):
            user = index % len(self.users)
            self.by_user[user] = self.by_user.get(user, 0) + 1
            self._tasks.append(asyncio.create_task(self._one(http, index, user)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_ready.wait(), 30)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task


async def _writes(
    http: httpx.AsyncClient, users: list[User], stop: float
) -> list[tuple[int, float, float, int]]:
    """(task id, request start, answer, streaming user) of every change made."""
    made = []
    n = 0
    while time.monotonic() < stop:
        index = n % len(users)
        user = users[index]
        task_id = random.choice(user.tasks)
        began = time.perf_counter()
        answer = await http.put(
            f"/api/me/tasks/{task_id}", headers=user.headers, json={"title": f"w{n}"}
        )
        if answer.status_code == 200:
            made.append((task_id, began, time.perf_counter(), index))
        n += 1
        await asyncio.sleep(WRITE_EVERY_SECONDS)
    return made


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    database: str


def _serve(workers: int) -> Served:
    """A fresh database, migrated, and `todo serve` on it."""
    name = f"todo_bench_events_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    data = Path(tempfile.mkdtemp(prefix="bench-events-"))
    env = {
        **os.environ,
        "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
        "DATA_DIR": str(data),
        "AUTH_SECRET": SECRET,
        "APP_ENV": "production",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "AUTH_RATE_PER_ADDRESS": "1000000",
        "LOG_LEVEL": "warning",
        "DB_POOL_SIZE": "10",
    }
    subprocess.run(
        [sys.executable, "-m", "todo", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    port = free_port()
    print(f"server log: {data / 'server.log'}", file=sys.stderr)
    with (data / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "todo", "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Served(f"http://127.0.0.1:{port}", process, name)


async def _run(served: Served, workers: int, stream_count: int) -> str:
    base = served.base
    limits = httpx.Limits(max_connections=stream_count + 50, max_keepalive_connections=50)
    timeout = httpx.Timeout(10, read=None)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as http:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/health")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
        users = await _users(http)
        tree = Tree(served.process.pid)
        phases = []
        ready = 0
        for with_streams in (False, True):
            phase = Phase(f"{stream_count} streams open" if with_streams else "no streams")
            streams = Streams(base, users, stream_count) if with_streams else None
            idle_rss = tree.rss()
            if streams is not None:
                await streams.open(http)
            cpu_before = tree.cpu()
            began = time.monotonic()
            stop = began + PHASE_SECONDS
            load = _list_load(http, users, phase, stop)
            made: list[tuple[int, float, float, int]] = []
            if streams is not None:
                made, _ = await asyncio.gather(_writes(http, users, stop), load)
                await asyncio.sleep(1.5)  # the last changes still on their way
            else:
                await load
            phase.seconds = time.monotonic() - began
            phase.cpu = tree.cpu() - cpu_before
            phase.rss = tree.rss()
            phases.append((phase, idle_rss, streams, made))
            if streams is not None:
                ready = streams.ready
                await streams.close()
    return _report(phases, workers, stream_count, ready)


def _report(
    phases: list[tuple[Phase, int, Streams | None, list[tuple[int, float, float, int]]]],
    workers: int,
    stream_count: int,
    ready: int,
) -> str:
    lines = [
        "# Event streams under load",
        "",
        f"`python -m bench.events`: PostgreSQL, `todo serve --workers {workers}`, {USERS} users "
        f"with {TASKS_PER_USER} tasks, list load GET /api/me/tasks?limit=50 with "
        f"{LIST_CONCURRENCY} requests at a time, {PHASE_SECONDS:.0f} s per phase; "
        f"{stream_count} streams ({ready} confirmed listening) spread over the users, one "
        f"change (PUT) every {WRITE_EVERY_SECONDS * 1000:.0f} ms. Machine: 2 shared cores.",
        "",
        "| phase | list req/s | list p50 ms | list p99 ms | server CPU s/s | server RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    delivery: list[float] = []
    after_answer: list[float] = []
    expected = delivered = 0
    for phase, idle_rss, streams, made in phases:
        lines.append(
            f"| {phase.name} | {phase.requests / phase.seconds:.0f} | "
            f"{_pct(phase.latencies, 0.5) * 1000:.1f} | {_pct(phase.latencies, 0.99) * 1000:.1f} | "
            f"{phase.cpu / phase.seconds:.2f} | {phase.rss / 2**20:.0f} |"
        )
        if streams is None:
            continue
        arrivals_by_task: dict[int, list[float]] = {}
        for (task_id, _), times in streams.arrivals.items():
            arrivals_by_task.setdefault(task_id, []).extend(times)
        for task_id, began, answered, user in made:
            per_stream = streams.by_user.get(user, 0)
            expected += per_stream
            later = sorted(t for t in arrivals_by_task.get(task_id, []) if t >= began)
            # This change's arrivals are the first `per_stream` after its request began.
            mine = later[:per_stream]
            delivered += len(mine)
            delivery += [t - began for t in mine]
            after_answer += [t - answered for t in mine]
            taken = set(mine)
            arrivals_by_task[task_id] = [
                t for t in arrivals_by_task.get(task_id, []) if t not in taken
            ]
        lines += [
            "",
            f"Memory: {(phase.rss - idle_rss) / 2**20:+.1f} MiB from just before the streams "
            f"opened to the end of the phase "
            f"({(phase.rss - idle_rss) / max(stream_count, 1) / 1024:.1f} KiB per stream).",
        ]
    lines += [
        "",
        f"Delivery (request start to arrival at each stream of the user), {delivered} of "
        f"{expected} expected arrivals: p50 {_pct(delivery, 0.5) * 1000:.0f} ms, p95 "
        f"{_pct(delivery, 0.95) * 1000:.0f} ms, p99 {_pct(delivery, 0.99) * 1000:.0f} ms, max "
        f"{(max(delivery) if delivery else float('nan')) * 1000:.0f} ms; mean "
        f"{(statistics.mean(delivery) if delivery else float('nan')) * 1000:.0f} ms. From the "
        f"write's answer (the commit is before it): p50 {_pct(after_answer, 0.5) * 1000:.0f} "
        f"ms, p95 {_pct(after_answer, 0.95) * 1000:.0f} ms, max "
        f"{(max(after_answer) if after_answer else float('nan')) * 1000:.0f} ms (negative: the "
        "event came before the answer).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--streams", type=int, default=200)
    args = parser.parse_args()
    served = _serve(args.workers)
    try:
        report = asyncio.run(_run(served, args.workers, args.streams))
    finally:
        served.process.terminate()
        try:
            served.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            served.process.kill()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{served.database}" WITH (FORCE)'))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
