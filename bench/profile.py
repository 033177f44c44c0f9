"""Where a request's CPU goes: one endpoint's load on one worker, sampled by py-spy.

    python -m bench.profile --endpoint list [--db postgres] [--seconds 10] [--quick]

Starts `todo serve` with one worker on the benchmark's seeded data (made or reused), drives
the endpoint with wrk at the benchmark's concurrency, so the worker is never idle, and has
`py-spy record --nonblocking` (it reads the stacks without stopping the process, so the
profile does not slow what it measures) sample it meanwhile. Each sample is charged to the
layer of its innermost frame that belongs to a known layer (the driver, SQLAlchemy, pydantic,
auth, middleware, routing, the HTTP server, logging, the event loop, the app's own code);
frames of the standard library in between (typing, enum, re, ...) count for the caller
that called them. Writes the summary to bench/results/profile-<db>-<endpoint>.md and the
raw stacks (flamegraph input) next to the seed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from bench.config import FULL_PLAN, RESULTS_DIR, SEED_DIR, Plan
from bench.run import prepare, wrk
from bench.seed import Target
from bench.server import Server
from bench.store import Store
from bench.workload import (
    ON_SCRATCH,
    READS,
    WRITES,
    Context,
    read_lines,
    scratch_lines,
    write_lines,
)

WORK = SEED_DIR / "profile"
SAMPLE_RATE = 250  # per second

# Innermost match wins; each is (layer, pattern on the frame's file path).
LAYERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("driver (asyncpg / aiosqlite)", r"(^|/)(asyncpg|aiosqlite|sqlite3)/"),
        ("SQLAlchemy / SQLModel", r"(^|/)(sqlalchemy|sqlmodel)/"),
        ("pydantic (validation, serialisation)", r"(^|/)(pydantic|pydantic_core)/"),
        ("JSON encoding", r"(^|/)(json|orjson)/|fastapi/encoders\.py"),
        (
            "auth (tokens, sessions)",
            r"(^|/)(jwt|pwdlib|argon2)/|todo/accounts/|todo/core/(security|tokens)",
        ),
        # FastAPI's OpenTelemetry hooks: they look up a tracer provider on every request.
        ("telemetry (FastAPI's OpenTelemetry hooks)", r"fastapi/telemetry/|(^|/)trace/"),
        ("middleware", r"middleware"),
        ("routing, dependencies, responses (FastAPI / Starlette)", r"(^|/)(fastapi|starlette)/"),
        ("HTTP server (uvicorn, httptools)", r"(^|/)(uvicorn|httptools|h11)/"),
        ("logging", r"(^|/)logging/"),
        ("event loop (asyncio, uvloop)", r"(^|/)(asyncio|uvloop)/"),
        ("app code (todo)", r"(^|/)todo/"),
    )
)
OTHER = "other (standard library, start-up)"
# The part of the request a sample falls in, by the innermost of the app's frames on its
# stack: what the auth dependency costs with its own SQL, what the endpoint does, and what
# happens around them.
PHASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("auth dependency (token check and its SQL)", r"todo/accounts/(deps|service)\.py"),
        ("session dependency (checkout, commit, close)", r"todo/core/(deps|db)\.py"),
        ("endpoint: route and service, their SQL", r"todo/[a-z_]+/(routes|service|query)\.py"),
        ("around the endpoint: routing, validation, response", r"todo/core/middleware\.py"),
    )
)
OUTSIDE = "outside the app's frames: HTTP server, event loop"
NATIVE = "no Python frame: uvloop, Cython (asyncpg's protocol, httptools)"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(:\d+)?\)$")


def parse_raw(lines: Iterable[str]) -> list[tuple[list[tuple[str, str]], int]]:
    """py-spy's raw output: one `root;...;leaf count` per line, frames `function (file:line)`;
    a sample taken while no Python frame ran has an empty stack."""
    stacks = []
    for line in lines:
        if not line.strip():
            continue
        stack, _, count = line.rstrip().rpartition(" ")
        stack = stack.strip()
        frames = []
        for frame in stack.split(";"):
            found = FRAME.match(frame)
            frames.append((found["function"], found["file"]) if found else (frame, ""))
        stacks.append((frames, int(count)))
    return stacks


def layer_of(path: str) -> str | None:
    for name, pattern in LAYERS:
        if pattern.search(path):
            return name
    return None


def summarise(stacks: list[tuple[list[tuple[str, str]], int]]) -> dict[str, Counter[str]]:
    """Samples by layer (each once, by its innermost known frame), by layer seen anywhere
    on the stack, and by innermost function."""
    self_layer: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    app: Counter[str] = Counter()
    phase: Counter[str] = Counter()
    for frames, count in stacks:
        phase[_phase(frames)] += count
        layers = [layer_of(path) for _, path in frames]
        known = [name for name in layers if name is not None]
        if frames == [("", "")]:
            self_layer[NATIVE] += count
        else:
            self_layer[known[-1] if known else OTHER] += count
        for name in set(known):
            anywhere[name] += count
        function, path = frames[-1]
        leaf[f"{function} ({path})"] += count
        for function, path in {f for f in frames if "todo/" in f[1]}:
            app[f"{function} ({path})"] += count
    return {"self": self_layer, "anywhere": anywhere, "leaf": leaf, "app": app, "phase": phase}


def _phase(frames: list[tuple[str, str]]) -> str:
    if frames == [("", "")]:
        return NATIVE
    root_function, root_path = frames[0]
    if not any(path.endswith(("todo/cli.py", "todo/__main__.py")) for _, path in frames):
        # SQLAlchemy's asyncio layer runs its sync code in a greenlet: the sampler sees that
        # stack alone, without the request's frames that awaited it.
        if "sqlalchemy/" in root_path:
            return f"SQLAlchemy's greenlet, from {root_function} (its caller not on the stack)"
        return f"a stack that starts at {root_function} ({root_path})"
    for _, path in reversed(frames):
        for name, pattern in PHASES:
            if pattern.search(path):
                return name
    return OUTSIDE


def markdown(
    endpoint: str, backend: str, summary: dict[str, Counter[str]], load: dict[str, object]
) -> str:
    total = sum(summary["self"].values()) or 1

    def rows(counter: Counter[str], limit: int) -> list[str]:
        return [f"| {name} | {n / total:.1%} |" for name, n in counter.most_common(limit)]

    cpu = load.get("cpu_ms_per_request")
    lines = [
        f"# Profile: {endpoint} on {backend}",
        "",
        f"One worker under wrk at {load['concurrency']} connections: {load['rps']:.0f} req/s, "
        f"server CPU {cpu if cpu is None else f'{cpu:.2f}'} ms per request; "
        f"{total:,} py-spy samples of the busy worker ({SAMPLE_RATE}/s, idle excluded).",
        "",
        "Each sample charged once, to the innermost frame of a known layer:",
        "",
        "| layer | share of samples |",
        "|---|--:|",
        *rows(summary["self"], 20),
        "",
        "By part of the request (the innermost of the app's frames on the stack):",
        "",
        "| part | share |",
        "|---|--:|",
        *rows(summary["phase"], 12),
        "",
        "Share of samples with the layer anywhere on the stack (they overlap):",
        "",
        "| layer | share |",
        "|---|--:|",
        *rows(summary["anywhere"], 20),
        "",
        "Innermost functions:",
        "",
        "| function | share |",
        "|---|--:|",
        *rows(summary["leaf"], 20),
        "",
        "The app's own functions, inclusive (time in them and what they call):",
        "",
        "| function | share |",
        "|---|--:|",
        *rows(summary["app"], 20),
    ]
    return "\n".join(lines) + "\n"


def py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        sys.exit("py-spy is not installed (it is a dev dependency: make .venv/.synced)")
    return found


async def _lines(name: str, ctx: Context, store: Store, plan: Plan) -> Path:
    if name in ON_SCRATCH:
        scratch = await store.add_scratch(ctx.accounts, plan.scratch_tasks)
        return write_lines(WORK / f"{name}.txt", scratch_lines(name, ctx, scratch))
    return write_lines(WORK / f"{name}.txt", read_lines(name, ctx))


async def profile(backend: str, endpoint: str, plan: Plan, seconds: float) -> Path:
    target = Target(backend, plan.seed)
    store, seed_max, ctx = await prepare(target, plan, web=False)
    WORK.mkdir(parents=True, exist_ok=True)
    raw = WORK / f"{backend}-{endpoint}.raw.txt"
    try:
        lines = await _lines(endpoint, ctx, store, plan)
        with Server(target, workers=1, log=WORK / "server.log") as server:
            warm = write_lines(WORK / "warm.txt", read_lines("list", ctx, 2000))
            await wrk(server.url, warm, concurrency=plan.concurrency, duration=1.0)
            assert server.process is not None
            command = [py_spy(), "record", "--pid", str(server.process.pid), "--format", "raw"]
            command += ["--rate", str(SAMPLE_RATE), "--duration", str(round(seconds))]
            command += ["--nonblocking", "--output", str(raw)]
            sampler = await asyncio.create_subprocess_exec(
                *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            # The load covers the whole sampling, a second either side.
            load = await wrk(
                server.url, lines, concurrency=plan.concurrency, duration=seconds + 2, cpu_of=server
            )
            _, said = await sampler.communicate()
            if sampler.returncode != 0:
                sys.exit(f"py-spy failed: {said.decode()[-1000:]}")
    finally:
        if endpoint in WRITES:
            await store.reset(seed_max)
    summary = summarise(parse_raw(raw.read_text().splitlines()))
    out = RESULTS_DIR / f"profile-{backend}-{endpoint}.md"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(endpoint, backend, summary, load))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", choices=(*READS, *WRITES), default="list")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        help="the quick seed (BENCH_QUICK=1)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    plan = FULL_PLAN.quick() if args.quick else FULL_PLAN
    plan = replace(plan, duration=args.seconds)
    out = asyncio.run(profile(args.db, args.endpoint, plan, args.seconds))
    print(out.read_text())


if __name__ == "__main__":
    main()
