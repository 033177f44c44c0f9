"""`--compare REF`: the service at another revision against this checkout, on the same data.

A change is judged against its parent on one noisy machine, so both run in the same minutes:
REF is checked out in a temporary git worktree and installed with the same uv into its own
.venv (`uv sync --locked`); both servers serve the same seeded database side by side, and
each endpoint's load alternates between them (old, new, old, new...) so that whatever else
the machine does weighs on both alike. What is compared per endpoint: server CPU per request
(utime+stime of the server's processes over the runs / requests answered) and req/s.

The data was migrated by this checkout's migrations (`seed.ensure`); REF must have the very
same ones, or its server would run on a schema it does not know: such a REF is refused.

    python -m bench.run --compare REF [--db postgres] [--quick] [--only list,get]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import ROOT, SEED_DIR, Plan
from bench.run import (
    SATURATION_CONNECTIONS,
    Clock,
    prepare,
    saturate,
    saturation_files,
    saturation_seconds,
    wrk,
)
from bench.seed import Target
from bench.server import Server
from bench.store import Store
from bench.workload import ON_SCRATCH, WRITES, Context, read_lines, scratch_lines, write_lines

REPO = ROOT.parent
MIGRATIONS = Path("src/todo/migrations/versions")
WORK = SEED_DIR / "compare"
SIDES = ("old", "new")
SATURATION = "saturation"


class CompareError(Exception):
    """A comparison that cannot be made as asked; the message says why."""


def find_uv() -> str:
    """The uv that installed this checkout: $BENCH_UV (the Makefile's), on PATH, or bootstrap."""
    for candidate in (
        os.environ.get("BENCH_UV"),
        shutil.which("uv"),
        str(REPO / ".bootstrap" / "bin" / "uv"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise CompareError("--compare needs uv: set BENCH_UV or put uv on PATH")


def resolve(ref: str) -> str:
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        raise CompareError(f"--compare {ref}: not a commit of this repository")
    return found.stdout.strip()


def migration_digests(root: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / MIGRATIONS).glob("*.py"))
    }


def check_migrations(ref: str, other: Path, here: Path = REPO) -> None:
    """Refuse a REF whose migrations are not, file for file, the ones the data went through."""
    theirs, ours = migration_digests(other), migration_digests(here)
    if theirs == ours:
        return
    problems = []
    if only_ref := sorted(theirs.keys() - ours.keys()):
        problems.append(f"only in {ref}: {', '.join(only_ref)}")
    if only_here := sorted(ours.keys() - theirs.keys()):
        problems.append(f"only in this checkout: {', '.join(only_here)}")
    if changed := sorted(n for n in theirs.keys() & ours.keys() if theirs[n] != ours[n]):
        problems.append(f"different: {', '.join(changed)}")
    raise CompareError(
        f"--compare {ref}: its migrations differ from those the benchmark data was migrated "
        f"with ({'; '.join(problems)}); compare against a revision with the same schema"
    )


def describe_here() -> dict[str, Any]:
    """This checkout: its HEAD, and whether uncommitted changes are part of what runs."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    status = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no", "--", "src"],
        capture_output=True,
        text=True,
    )
    return {"ref": "this checkout", "commit": head.stdout.strip(), "dirty": bool(status.stdout)}


@dataclass(frozen=True)
class Checkout:
    ref: str
    commit: str
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / ".venv" / "bin" / "python")


@contextmanager
def checkout(ref: str) -> Iterator[Checkout]:
    """REF in a temporary worktree with its own .venv; removed, worktree and all, on leaving."""
    commit = resolve(ref)
    uv = find_uv()
    parent = Path(tempfile.mkdtemp(prefix="todo-bench-compare-"))
    path = parent / "ref"
    git = ["git", "-C", str(REPO)]
    subprocess.run([*git, "worktree", "add", "--detach", "--quiet", str(path), commit], check=True)
    try:
        check_migrations(ref, path)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.pop("UV_PROJECT_ENVIRONMENT", None)
        # Only what the server needs, compiled as `make` compiles this checkout's.
        installed = subprocess.run(
            [uv, "sync", "--locked", "--quiet", "--no-dev", "--compile-bytecode"],
            cwd=path,
            env=env,
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            raise CompareError(f"--compare {ref}: uv sync failed: {installed.stderr[-2000:]}")
        yield Checkout(ref, commit, path)
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(path)], check=False)
        shutil.rmtree(parent, ignore_errors=True)
        subprocess.run([*git, "worktree", "prune"], check=False)


async def _lines(name: str, ctx: Context, store: Store, plan: Plan, reads: dict[str, Path]) -> Path:
    """The requests of one run: the same file for a read; fresh scratch tasks for a write."""
    if name in ON_SCRATCH:
        scratch = await store.add_scratch(ctx.accounts, plan.scratch_tasks // 2)
        return write_lines(WORK / f"{name}.txt", scratch_lines(name, ctx, scratch))
    if name not in reads:
        reads[name] = write_lines(WORK / f"{name}.txt", read_lines(name, ctx))
    return reads[name]


async def compare_endpoint(
    name: str,
    servers: dict[str, Server],
    *,
    store: Store,
    ctx: Context,
    seed_max: int,
    plan: Plan,
    rounds: int,
) -> dict[str, Any]:
    """`rounds` runs on each side, interleaved old, new, old, new..., on the same data."""
    reads: dict[str, Path] = {}
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in servers}
    for _ in range(rounds):
        for side, server in servers.items():
            lines = await _lines(name, ctx, store, plan, reads)
            concurrency = plan.login_concurrency if name == "login" else plan.concurrency
            runs[side].append(
                await wrk(
                    server.url,
                    lines,
                    concurrency=concurrency,
                    duration=plan.duration,
                    cpu_of=server,
                )
            )
            if name in WRITES:
                # Each run starts from the seed as the other side's did.
                await store.reset(seed_max)
    out: dict[str, Any] = {side: _summary(side_runs) for side, side_runs in runs.items()}
    old, new = out["old"], out["new"]
    out["rps_new_over_old"] = new["rps"] / old["rps"] if old["rps"] else None
    if old["cpu_ms_per_request"] and new["cpu_ms_per_request"]:
        out["cpu_new_over_old"] = new["cpu_ms_per_request"] / old["cpu_ms_per_request"]
    else:
        out["cpu_new_over_old"] = None
    return out


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["duration_s"] for r in runs)
    cpu = sum(r["server_cpu_s"] for r in runs)
    return {
        "requests": requests,
        "rps": requests / seconds if seconds else 0.0,
        "cpu_ms_per_request": cpu * 1000 / requests if requests else None,
        "status_5xx": sum(r["status_5xx"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "runs": [{"rps": r["rps"], "cpu_ms_per_request": r["cpu_ms_per_request"]} for r in runs],
    }


async def compare_backend(
    backend: str,
    plan: Plan,
    ref: Checkout,
    workers: int,
    clock: Clock,
    *,
    endpoints: list[str],
    rounds: int,
    target: Target | None = None,
) -> dict[str, Any]:
    """Both servers on one seeded database, each endpoint compared in turn."""
    target = target or Target(backend, plan.seed)
    clock.say(f"{backend}: seed")
    store, seed_max, ctx = await prepare(target, plan, web=False)
    WORK.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "backend": backend,
        "workers": workers,
        "concurrency": plan.concurrency,
        "duration_s": plan.duration,
        "rounds": rounds,
        "endpoints": {},
    }
    named = [name for name in endpoints if name != SATURATION]
    if named:
        with _servers(target, ref, workers) as servers:
            clock.say(f"{backend}: both servers up")
            warm = write_lines(WORK / "warm.txt", read_lines("list", ctx, 2000))
            for server in servers.values():
                await wrk(server.url, warm, concurrency=plan.concurrency, duration=1.0)
            for name in named:
                clock.say(f"{backend}: {name}, old and new interleaved")
                out["endpoints"][name] = await compare_endpoint(
                    name, servers, store=store, ctx=ctx, seed_max=seed_max, plan=plan, rounds=rounds
                )
    if SATURATION in endpoints:
        clock.say(f"{backend}: one worker each under the list load, old and new interleaved")
        out[SATURATION] = await compare_saturation(target, ref, ctx, plan=plan, rounds=rounds)
    await store.reset(seed_max)
    return out


@contextmanager
def _servers(target: Target, ref: Checkout, workers: int) -> Iterator[dict[str, Server]]:
    with ExitStack() as stack:
        yield {
            "old": stack.enter_context(
                Server(target, workers=workers, log=WORK / "server-old.log", python=ref.python)
            ),
            "new": stack.enter_context(
                Server(target, workers=workers, log=WORK / "server-new.log")
            ),
        }


async def compare_saturation(
    target: Target, ref: Checkout, ctx: Context, *, plan: Plan, rounds: int
) -> dict[str, Any]:
    """The saturation runs of `make bench` (one worker, 32 and 256 connections, `/health`
    probed meanwhile) on both sides, interleaved: for each round and connection count,
    old then new."""
    duration = saturation_seconds(plan)
    lines, health = saturation_files(ctx)
    counts = [str(connections) for connections in SATURATION_CONNECTIONS]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        side: {count: [] for count in counts} for side in SIDES
    }
    with _servers(target, ref, 1) as servers:
        for _ in range(rounds):
            for count in counts:
                for side, server in servers.items():
                    runs[side][count].append(
                        await saturate(
                            server, lines, health, connections=int(count), duration=duration
                        )
                    )
    return {
        "workers": 1,
        "duration_s": duration,
        "rounds": rounds,
        "runs": {
            count: {side: _saturation_summary(runs[side][count]) for side in SIDES}
            for count in counts
        },
    }


def _saturation_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts summed over the runs; latencies the worst run's (max, p99) or the median p50."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["duration_s"] for r in runs)
    cpu = sum(r["server_cpu_s"] for r in runs)
    p50s = sorted(r["latency_ms"]["p50"] for r in runs)
    return {
        "requests": requests,
        "rps": requests / seconds if seconds else 0.0,
        "cpu_ms_per_request": cpu * 1000 / requests if requests else None,
        "status_5xx": sum(r["status_5xx"] for r in runs),
        "other_errors": sum(r["errors"] - r["status_5xx"] - r["status_4xx"] for r in runs),
        "p50_ms": p50s[len(p50s) // 2],
        "p99_ms": max(r["latency_ms"]["p99"] for r in runs),
        "max_ms": max(r["latency_ms"]["max"] for r in runs),
        "health_p99_ms": max(r["health"]["latency_ms"]["p99"] for r in runs),
        "health_max_ms": max(r["health"]["latency_ms"]["max"] for r in runs),
        "health_errors": sum(r["health"]["errors"] for r in runs),
        "runs": runs,
    }
