"""`make bench`: load the service as production runs it, next to the floor of its own SQL.

For each database (PostgreSQL, then SQLite): seed or reuse the data set, capture the SQL of
every endpoint, start `python -m todo serve --workers N`, then per endpoint measure the
maximum rate at fixed concurrency (wrk), the latency at a fixed arrival rate of 75% of that
maximum (bench.openloop), and the floor (bench.floor); then latency against data size, and
memory. Results go to bench/results/ and, for a full run, into the README.

    python -m bench.run [--workers 2] [--db postgres,sqlite] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench import report
from bench.ceiling import PATH as CEILING_PATH
from bench.ceiling import CeilingServer
from bench.config import FULL_PLAN, ROOT, SEED_DIR, SMALL, Plan
from bench.dataset import HEAVY_EMAIL
from bench.floor import FloorPlan, Trace, capture, templated
from bench.seed import Target, ensure
from bench.server import Server
from bench.store import Account, Store
from bench.workload import (
    ON_SCRATCH,
    READS,
    WEB,
    WRITES,
    Context,
    line,
    read_lines,
    read_probes,
    scratch_lines,
    write_lines,
    write_probe,
)
from todo.app import create_app

WORK = SEED_DIR / "run"
LUA = ROOT / "wrk" / "requests.lua"
SCALE_RATE = 50.0  # requests per second: low enough that nothing queues
# Above the longest wait in the server's line (DB_POOL_TIMEOUT, 20 s), so that such waits
# show in p99 and max instead of vanishing as client timeouts (wrk's default is 2 s).
CLIENT_TIMEOUT_S = 30
# One worker under a list load: the connection counts of the issue, and /health probed at
# this rate meanwhile. Runs last at least this long, past the longest wait in line
# (DB_POOL_TIMEOUT, 20 s): a shorter run would end before any request could time out there.
SATURATION_CONNECTIONS = (32, 256)
HEALTH_RATE = 20.0
SATURATION_MIN_S = 24.0
# After a saturation run, the server counts as idle once it uses under 5% of a core.
SETTLE_TICK_S = 0.25
SETTLE_MAX_S = 60.0


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)


async def _json_from(command: list[str]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        said = (out + err).decode()[-2000:]
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {said}")
    last = out.decode().strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(last)
    return result


async def wrk(
    url: str,
    lines: Path,
    *,
    concurrency: int,
    duration: float,
    cpu_of: Server | None = None,
) -> dict[str, Any]:
    """wrk's maximum rate; with `cpu_of`, that server's CPU per request answered too."""
    threads = min(2, concurrency)
    # wrk takes whole seconds.
    seconds = f"{max(1, round(duration))}s"
    command = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", seconds]
    command += ["--timeout", f"{CLIENT_TIMEOUT_S}s", "-s", str(LUA), url]
    command += ["--", str(lines), str(threads)]
    cpu_before = cpu_of.cpu_seconds() if cpu_of else 0.0
    raw = await _json_from(command)
    cpu = cpu_of.cpu_seconds() - cpu_before if cpu_of else None
    seconds = raw["duration_us"] / 1e6
    errors = raw["errors"]
    latency = raw["latency_us"]
    result = {
        "concurrency": concurrency,
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds,
        "duration_s": seconds,
        "errors": sum(errors.values()),
        "error_kinds": {k: v for k, v in errors.items() if v},
        "status_5xx": raw["status_5xx"],
        "status_4xx": raw["status_4xx"],
        "latency_ms": {k: latency[k] / 1000 for k in ("p50", "p90", "p95", "p99", "max")},
    }
    if cpu is not None:
        result.update(_cpu_share(cpu, raw["requests"]))
    return result


def _cpu_share(cpu_s: float, requests: int) -> dict[str, float | None]:
    return {
        "server_cpu_s": cpu_s,
        "cpu_ms_per_request": cpu_s * 1000 / requests if requests else None,
    }


async def openloop(
    url: str, lines: Path, *, rate: float, duration: float, cpu_of: Server | None = None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.openloop", "--url", url, "--requests", str(lines)]
    command += ["--rate", f"{rate:.1f}", "--duration", str(duration)]
    command += ["--timeout", str(CLIENT_TIMEOUT_S)]
    cpu_before = cpu_of.cpu_seconds() if cpu_of else 0.0
    result = await _json_from(command)
    if cpu_of is not None:
        result.update(_cpu_share(cpu_of.cpu_seconds() - cpu_before, result["completed"]))
    return result


async def floor(
    plan: FloorPlan, target: Target, *, concurrency: int, duration: float, parts: int
) -> dict[str, Any]:
    """The plan replayed by `parts` processes at `concurrency` connections in all."""
    path = WORK / f"floor-{target.backend}-{plan.endpoint}.json"
    path.write_text(json.dumps(plan.to_json()))
    database = target.database
    commands = []
    for part in range(parts):
        share = concurrency // parts + (1 if part < concurrency % parts else 0)
        command = [sys.executable, "-m", "bench.floor", "--plan", str(path)]
        command += ["--backend", target.backend, "--database", database]
        command += ["--concurrency", str(share), "--duration", str(duration)]
        command += ["--part", str(part), "--parts", str(parts)]
        commands.append(command)
    results = await asyncio.gather(*(_json_from(c) for c in commands))
    latencies = sorted(v for r in results for v in r["latencies_ms"])
    cpu_s = sum(r["cpu_s"] for r in results)
    errors: dict[str, int] = {}
    for result in results:
        for kind, n in result["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
    return {
        "concurrency": concurrency,
        "processes": parts,
        "operations": len(latencies),
        "rps": sum(r["operations"] / r["elapsed_s"] for r in results if r["elapsed_s"]),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "latency_ms": report.percentiles(latencies),
        "statements": len(plan.template or (plan.sequences[0] if plan.sequences else [])),
        "cpu_s": cpu_s,
        # The client's CPU per statement set: what the SQL costs a process that only sends it.
        "cpu_ms_per_op": cpu_s * 1000 / len(latencies) if latencies else None,
    }


async def capture_plans(
    target: Target, ctx: Context, store: Store, probes_per_read: int, reads: tuple[str, ...]
) -> tuple[dict[str, FloorPlan], dict[str, dict[str, int]]]:
    """Each endpoint's SQL, recorded from real requests to the app in this process."""
    app = create_app(target.settings())
    plans: dict[str, FloorPlan] = {}
    trips: dict[str, dict[str, int]] = {}
    async with app.router.lifespan_context(app):
        for name in reads:
            traces = await capture(app, read_probes(name, ctx, probes_per_read))
            for _, response in traces:
                if response.status_code != 200:
                    raise RuntimeError(f"capture of {name}: {response.status_code} {response.text}")
            sequences = [_data_statements(t.statements) for t, _ in traces]
            plans[name] = FloorPlan(name, write=False, sequences=sequences)
            trips[name] = _round_trips(traces[0][0], sequences[0], write=False)
        owner = ctx.accounts[0]
        scratch = await store.add_scratch([owner], len(ON_SCRATCH))
        targets = dict(zip(ON_SCRATCH, (task_id for _, task_id in scratch), strict=True))
        for name in WRITES:
            probe = write_probe(name, ctx, owner, targets.get(name))
            [(trace, response)] = await capture(app, [probe])
            if response.status_code >= 300:
                raise RuntimeError(f"capture of {name}: {response.status_code} {response.text}")
            values = dict(probe.slots or {})
            if name == "create":
                values["R"] = response.json()["id"]
            trace.statements = _data_statements(trace.statements)
            plans[name] = FloorPlan(name, write=True, template=templated(trace, values))
            trips[name] = _round_trips(trace, trace.statements, write=True)
    return plans, trips


def _data_statements(statements: list[Any]) -> list[Any]:
    # The SQLite engine opens its transactions with a BEGIN of its own (core/db.py).
    return [s for s in statements if s.sql not in ("BEGIN", "BEGIN IMMEDIATE")]


def _round_trips(trace: Trace, data: list[Any], *, write: bool) -> dict[str, int]:
    return {
        "statements": len(data),
        "transactions": trace.transactions,
        "checkouts": trace.checkouts,
        "pings": trace.pings,
        "service": len(data) + 2 * trace.transactions + 3 * trace.pings,
        "floor": len(data) + (2 if write else 0),
    }


async def measure(
    name: str,
    *,
    server: Server,
    store: Store,
    ctx: Context,
    seed_max: int,
    plan: Plan,
    floor_plan: FloorPlan | None,
    target: Target,
    workers: int,
    concurrency: int,
) -> dict[str, Any]:
    server.new_phase()
    duration = plan.duration
    if name in ON_SCRATCH:
        scratch = await store.add_scratch(ctx.accounts, plan.scratch_tasks)
        lines = scratch_lines(name, ctx, scratch)
        half = len(lines) // 2
        closed_lines = write_lines(WORK / f"{name}-closed.txt", lines[:half])
        open_lines = write_lines(WORK / f"{name}-open.txt", lines[half:])
    else:
        closed_lines = open_lines = write_lines(WORK / f"{name}.txt", read_lines(name, ctx))
    closed = await wrk(
        server.url, closed_lines, concurrency=concurrency, duration=duration, cpu_of=server
    )
    rate = max(1.0, 0.75 * closed["rps"])
    opened = await openloop(server.url, open_lines, rate=rate, duration=duration, cpu_of=server)
    result: dict[str, Any] = {
        "closed": closed,
        "open": opened,
        "cpu_ms_per_request": closed.get("cpu_ms_per_request"),
        "peak_rss_mb": server.phase_peak_rss / 2**20,
    }
    if name in WRITES:
        await store.reset(seed_max)
    if floor_plan is not None:
        if name in ON_SCRATCH:
            fresh = await store.add_scratch(ctx.accounts, plan.scratch_tasks)
            floor_plan.slots = [{"U": a.id, "L": a.inbox_id, "T": t} for a, t in fresh]
        elif name == "create":
            floor_plan.slots = [{"U": a.id, "L": a.inbox_id} for a in ctx.accounts]
            floor_plan.cycle = True
        result["floor"] = await floor(
            floor_plan, target, concurrency=concurrency, duration=duration, parts=workers
        )
        result["cpu_ratio"] = report.cpu_ratio(result)
        if name in WRITES:
            await store.reset(seed_max)
    return result


async def scale_probe(server: Server, name: str, lines: list[str], count: int) -> dict[str, Any]:
    path = write_lines(WORK / f"scale-{name}.txt", lines)
    return await openloop(server.url, path, rate=SCALE_RATE, duration=count / SCALE_RATE)


async def prepare(target: Target, plan: Plan, *, web: bool) -> tuple[Store, int, Context]:
    """The seeded database (made or reused), as the seed left it, and who the load acts as."""
    seed_max = await ensure(target)
    store = Store.of(target)
    await store.reset(seed_max, web=True)
    accounts = await store.accounts(plan.token_users)
    heavy = await store.account(HEAVY_EMAIL)
    assert heavy is not None, "the seed has a heavy user"
    samples = await store.sample_tasks(accounts[:100], 5, seed_max)
    deep = await store.deep_cursor(heavy, plan.deep_pages * plan.page_size, plan.page_size)
    ctx = Context(plan, accounts, samples, heavy, deep)
    if web:
        ctx.cookies = await store.web_sessions(accounts[:100])
    return store, seed_max, ctx


async def bench_backend(
    backend: str, plan: Plan, workers: int, clock: Clock, *, only: set[str], web: bool
) -> dict[str, Any]:
    """Every measurement on one database; `only` limits the endpoints (and skips the rest)."""
    target, small = Target(backend, plan.seed), Target(backend, SMALL)
    clock.say(f"{backend}: seed")
    store, seed_max, ctx = await prepare(target, plan, web=web)
    small_max = await ensure(small)
    small_store = Store.of(small)
    leftovers = await small_store.reset(small_max, web=True)
    if leftovers:
        clock.say(f"{backend}: removed {leftovers} tasks left by an interrupted run")
    reads = (*READS, WEB) if web else READS

    clock.say(f"{backend}: capture the SQL of each endpoint")
    # Only what is measured: a partial run must not depend on the other endpoints.
    captured = tuple(name for name in reads if name in only)
    plans, trips = await capture_plans(target, ctx, store, 100, captured)
    await store.reset(seed_max)

    out: dict[str, Any] = {
        "backend": backend,
        "workers": workers,
        "concurrency": plan.concurrency,
        "duration_s": plan.duration,
        "seed": asdict(plan.seed),
        "round_trips": trips,
        "endpoints": {},
    }
    log = WORK / f"server-{backend}.log"
    with Server(target, workers=workers, log=log) as server:
        out["startup_s"] = server.startup_s
        clock.say(f"{backend}: server up in {server.startup_s:.2f} s ({workers} workers)")
        warm = write_lines(WORK / "warm.txt", read_lines("list", ctx, 2000))
        await wrk(server.url, warm, concurrency=plan.concurrency, duration=2.0)
        for name in (*reads, *WRITES, "login"):
            if name not in only:
                continue
            clock.say(f"{backend}: {name}")
            out["endpoints"][name] = await measure(
                name,
                server=server,
                store=store,
                ctx=ctx,
                seed_max=seed_max,
                plan=plan,
                floor_plan=plans.get(name),
                target=target,
                workers=workers,
                concurrency=plan.login_concurrency if name == "login" else plan.concurrency,
            )
        if not web:
            out["web"] = "not measured: the web app has no list page (src/todo/web)"
        if "scale" in only:
            clock.say(f"{backend}: latency against data size")
            assert ctx.heavy is not None
            assert ctx.deep_cursor is not None
            out["scale"] = await scale_large(server, plan, ctx, ctx.heavy, ctx.deep_cursor)
        out["rss_after_mb"] = {
            str(pid): rss / 2**20 for pid, rss in sorted(server.worker_rss().items())
        }
        out["peak_rss_mb"] = server.peak_rss / 2**20
    await store.reset(seed_max, web=True)
    clock.say(f"{backend}: vacuum what the writes left behind")
    await store.vacuum()
    if "scale" in only:
        out["scale"].update(await scale_small(small, small_store, plan, workers, log))
    if "saturation" in only:
        clock.say(f"{backend}: one worker under a list load, 32 and 256 connections")
        out["saturation"] = await saturation(target, plan, ctx, log)
    return out


async def saturation(target: Target, plan: Plan, ctx: Context, log: Path) -> dict[str, Any]:
    """One worker under the list load at each connection count: 5xx, p99, max, CPU; and
    `/health`, probed at a low fixed rate while each of those loads saturates it."""
    duration = saturation_seconds(plan)
    lines, health = saturation_files(ctx)
    out: dict[str, Any] = {"workers": 1, "duration_s": duration, "runs": {}}
    with Server(target, workers=1, log=log) as server:
        for connections in SATURATION_CONNECTIONS:
            out["runs"][str(connections)] = await saturate(
                server, lines, health, connections=connections, duration=duration
            )
    return out


def saturation_seconds(plan: Plan) -> float:
    return max(plan.duration, SATURATION_MIN_S)


def saturation_files(ctx: Context) -> tuple[Path, Path]:
    """The list requests of the load, and the `/health` probe."""
    lines = write_lines(WORK / "saturation-list.txt", read_lines("list", ctx))
    health = write_lines(WORK / "health.txt", [line("GET", "/health", "")])
    return lines, health


async def saturate(
    server: Server, lines: Path, health: Path, *, connections: int, duration: float
) -> dict[str, Any]:
    """wrk's list load on `server` at `connections`, with `/health` probed meanwhile."""
    load, probe = await asyncio.gather(
        wrk(server.url, lines, concurrency=connections, duration=duration, cpu_of=server),
        _health_meanwhile(server.url, health, duration),
    )
    await settle(server)
    return {**load, "health": probe}


async def settle(server: Server, *, within: float = SETTLE_MAX_S) -> None:
    """Until the server is idle: requests still in line when wrk stops are served to closed
    connections, and would otherwise weigh on the next run (the other side's, in --compare)."""
    deadline = time.monotonic() + within
    used = server.cpu_seconds()
    while time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_TICK_S)
        now = server.cpu_seconds()
        if now - used < SETTLE_TICK_S * 0.05:
            return
        used = now


async def _health_meanwhile(url: str, lines: Path, duration: float) -> dict[str, Any]:
    # From half a second in (the load has filled the worker) to a second before its end.
    await asyncio.sleep(0.5)
    return await openloop(url, lines, rate=HEALTH_RATE, duration=duration - 1.5)


async def scale_large(
    server: Server, plan: Plan, ctx: Context, heavy: Account, deep: str
) -> dict[str, Any]:
    n = plan.scale_requests
    alone = Context(plan, [heavy], [], heavy, deep)
    return {
        "page_size": plan.page_size,
        "deep_pages": plan.deep_pages,
        "list_1m": await scale_probe(server, "list", read_lines("list", ctx, n), n),
        "search_1m": await scale_probe(server, "search", read_lines("search", ctx, n), n),
        "list_heavy": await scale_probe(server, "list-heavy", read_lines("list", alone, n), n),
        "list_heavy_deep": await scale_probe(server, "deep", read_lines("list_deep", ctx, n), n),
        "search_heavy": await scale_probe(
            server, "search-heavy", read_lines("search", alone, n), n
        ),
    }


async def scale_small(
    small: Target, store: Store, plan: Plan, workers: int, log: Path
) -> dict[str, Any]:
    """The same probes on the database that holds one user's 1,000 tasks and nothing else."""
    n = plan.scale_requests
    ctx = Context(plan, await store.accounts(1), [], None, None)
    with Server(small, workers=workers, log=log) as server:
        warm = write_lines(WORK / "warm-small.txt", read_lines("list", ctx, 200))
        await wrk(server.url, warm, concurrency=4, duration=1.0)
        return {
            "list_1k": await scale_probe(server, "list-small", read_lines("list", ctx, n), n),
            "search_1k": await scale_probe(server, "search-small", read_lines("search", ctx, n), n),
        }


async def ceiling(plan: Plan, workers: int) -> dict[str, Any]:
    """The most any endpoint can reach here: a bare FastAPI endpoint, same server set-up."""
    lines = write_lines(WORK / "ceiling.txt", [f"GET\t{CEILING_PATH}\t\t"] * 1000)
    with CeilingServer(workers=workers, log=WORK / "server-ceiling.log") as server:
        await wrk(server.url, lines, concurrency=plan.concurrency, duration=1.0)
        return await wrk(server.url, lines, concurrency=plan.concurrency, duration=plan.duration)


def _has_web_list_page() -> bool:
    """Whether the web app serves its task list at / (it is being built alongside)."""
    try:
        from todo.web import routes
    except ImportError:
        return False
    # Before the web routes were split by domain, routes.py held one router.
    routers = getattr(routes, "ROUTERS", None) or [getattr(routes, "router", None)]
    return any(getattr(route, "path", None) == "/" for router in routers for route in router.routes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "postgres,sqlite"))
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        help="a smaller seed and shorter runs (BENCH_QUICK=1)",
    )
    parser.add_argument(
        "--only",
        default=os.environ.get("BENCH_ONLY", ""),
        help="comma-separated endpoints, 'scale', 'ceiling' (default: everything); for experiments",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BENCH_DURATION", 0)),
        help="seconds per measurement, instead of the mode's",
    )
    parser.add_argument(
        "--compare",
        metavar="REF",
        default=os.environ.get("BENCH_COMPARE", ""),
        help="run REF (a temporary worktree) and this checkout side by side (BENCH_COMPARE)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", 0)),
        help="with --compare: runs per side and endpoint (default 3, 2 when quick)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    plan = FULL_PLAN.quick() if args.quick else FULL_PLAN
    if args.duration:
        plan = replace(plan, duration=args.duration)
    if args.compare:
        compare_main(args, plan)
        return
    everything = {*READS, WEB, *WRITES, "login", "scale", "ceiling", "saturation"}
    only = set(args.only.split(",")) if args.only else everything
    if only - everything:
        sys.exit(f"unknown in --only: {', '.join(sorted(only - everything))}")
    WORK.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    web = _has_web_list_page()
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "mode": "quick" if args.quick else "full",
        "machine": report.machine(),
        "backends": {},
    }
    if "ceiling" in only:
        clock.say("ceiling: a bare FastAPI endpoint under the same server")
        results["ceiling"] = asyncio.run(ceiling(plan, args.workers))
    for backend in args.db.split(","):
        results["backends"][backend] = asyncio.run(
            bench_backend(backend, plan, args.workers, clock, only=only, web=web)
        )
    results["wall_s"] = time.monotonic() - clock.started
    written = report.write(results, quick=args.quick, partial=only != everything)
    clock.say(f"done: {', '.join(str(p.relative_to(Path.cwd())) for p in written)}")
    print(report.markdown(results))


def compare_main(args: argparse.Namespace, plan: Plan) -> None:
    # Imported here: bench.compare builds on this module.
    from bench import compare

    comparable = [*READS, *WRITES, "login", "saturation"]
    default = [n for n in comparable if n not in ("login", "saturation")]
    endpoints = [n for n in comparable if n in args.only.split(",")] if args.only else default
    if args.only and len(endpoints) != len(args.only.split(",")):
        sys.exit(f"--compare measures only: {', '.join(comparable)}")
    rounds = args.rounds or (2 if args.quick else 3)
    WORK.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "mode": "quick" if args.quick else "full",
        "machine": report.machine(),
        "backends": {},
    }
    try:
        clock.say(f"compare: checking out and installing {args.compare}")
        with compare.checkout(args.compare) as ref:
            results["old"] = {"ref": ref.ref, "commit": ref.commit}
            results["new"] = compare.describe_here()
            for backend in args.db.split(","):
                results["backends"][backend] = asyncio.run(
                    compare.compare_backend(
                        backend,
                        plan,
                        ref,
                        args.workers,
                        clock,
                        endpoints=endpoints,
                        rounds=rounds,
                    )
                )
    except compare.CompareError as error:
        sys.exit(str(error))
    results["wall_s"] = time.monotonic() - clock.started
    written = report.write_compare(results)
    clock.say(f"done: {', '.join(str(p.relative_to(Path.cwd())) for p in written)}")
    print(report.compare_markdown(results))


if __name__ == "__main__":
    main()
