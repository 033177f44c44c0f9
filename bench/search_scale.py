"""Search latency against the searcher's own task count, on one database of its own.

    python -m bench.search_scale --db postgres|sqlite [--requests 100]
        [--python OTHER_CHECKOUT/.venv/bin/python]

The data: one user with 1,000 tasks and the heavy user with 100,000 in one database
(`todo_bench_search` / `.seed/search.db`, seeded once and reused), each search word
matching about 5% of a user's tasks. One server worker (`--python`: another checkout's
interpreter, to measure its code on the same data), one search at a time (the words in
turn) for each user, the 1k user again at the end; prints p50 and p99 of each and the
heavy / 1k p50 ratio, the issue's target being at most 3x. Faster than the full run's scale probes,
which need the million-task seed, and it isolates what the searcher's own data costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import httpx

from bench.config import FULL_PLAN, SeedSpec
from bench.dataset import HEAVY_EMAIL, SEARCH_WORDS
from bench.run import WORK
from bench.seed import Target, ensure
from bench.server import Server
from bench.store import Account, Store
from bench.workload import Context, search_path

SEARCH = SeedSpec("search", users=1, tasks_per_user=1000, heavy_tasks=100_000)


async def measure(backend: str, requests: int, python: str) -> dict[str, Any]:
    target = Target(backend, SEARCH)
    seed_max = await ensure(target)
    store = Store.of(target)
    await store.reset(seed_max)
    light = (await store.accounts(1))[0]
    heavy = await store.account(HEAVY_EMAIL)
    assert heavy is not None, "the seed has a heavy user"
    WORK.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"backend": backend, "requests": requests}
    log = WORK / f"server-search-{backend}.log"
    with Server(target, workers=1, log=log, python=python) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            for name, account in (("1k", light), ("heavy", heavy), ("1k_again", light)):
                ctx = Context(FULL_PLAN, [account], [], None, None)
                out[name] = await _one_at_a_time(http, ctx, account, requests)
    first = out["1k"]["latency_ms"]["p50"]
    out["heavy_over_1k_p50"] = out["heavy"]["latency_ms"]["p50"] / first if first else None
    return out


async def _one_at_a_time(
    http: httpx.AsyncClient, ctx: Context, account: Account, requests: int
) -> dict[str, Any]:
    """Latency of each search sent alone (after ten to warm up): on a machine shared with
    other work a fixed arrival rate measures the queue more than the search."""
    times: list[float] = []
    for word in [SEARCH_WORDS[i % len(SEARCH_WORDS)] for i in range(requests + 10)]:
        started = time.perf_counter()
        response = await http.get(
            search_path(word, FULL_PLAN.page_size), headers=ctx.headers(account)
        )
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    ordered = sorted(times[10:])
    return {
        "requests": len(ordered),
        "latency_ms": {
            "p50": statistics.median(ordered) * 1000,
            "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--python", default=sys.executable, help="the server's interpreter")
    args = parser.parse_args()
    result = asyncio.run(measure(args.db, args.requests, args.python))
    for name in ("1k", "heavy", "1k_again"):
        latency = result[name]["latency_ms"]
        print(f"{args.db} {name}: p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms")
    print(f"{args.db} heavy / 1k p50: {result['heavy_over_1k_p50']:.2f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
