"""Where a request's CPU goes inside the app, without the HTTP server or the machine's queue.

    python -m bench.profile_inprocess [--endpoint list_200] [--requests 300] [--db postgres]

The app is built from the settings `todo serve` would use on the quick seed and called
through httpx's ASGI transport, one request at a time after 30 to warm up, under
pyinstrument (statistical, 1 ms). Prints the CPU per request (`time.process_time`) and
the functions with the largest self time, as shares of the profiled time. It leaves out
uvicorn and httptools (a few per cent in `bench.profile`) and includes the httpx client's
own work; on a machine crowded with other work it still shows where the app's own CPU
goes, where `bench.profile` (py-spy on a loaded server) shows the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import Counter
from typing import Any

import httpx
from pyinstrument import Profiler

from bench.config import FULL_PLAN
from bench.run import prepare
from bench.seed import Target
from bench.workload import LONG_PAGE, Context, list_path
from todo.app import create_app

PATHS = {"list_200": list_path(LONG_PAGE), "list": list_path(FULL_PLAN.page_size)}
WARM = 30


def _self_times(frame: Any, out: Counter[str], parent: str = "") -> None:
    children = frame.children
    # pyinstrument's synthetic "[self]" / "[await]" frames belong to the function above them.
    synthetic = frame.function.startswith("[")
    name = parent if synthetic and parent else f"{frame.function} ({frame.file_path_short})"
    out[name] += frame.time - sum(child.time for child in children)
    for child in children:
        _self_times(child, out, name)


async def run(backend: str, endpoint: str, requests: int, top: int) -> None:
    # The client's own line per request would be profiled as the app's.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    plan = FULL_PLAN.quick()
    target = Target(backend, plan.seed)
    _, _, ctx = await prepare(target, plan, web=False)
    accounts = ctx.accounts[:50]
    context = Context(plan, accounts, [], None, None)
    app = create_app(target.settings())
    path = PATHS[endpoint]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for i in range(WARM):
                account = accounts[i % len(accounts)]
                await http.get(path, headers=context.headers(account))
            profiler = Profiler(interval=0.001, async_mode="enabled")
            cpu = time.process_time()
            profiler.start()
            for i in range(requests):
                account = accounts[i % len(accounts)]
                response = await http.get(path, headers=context.headers(account))
                assert response.status_code == 200, response.text
            profiler.stop()
            cpu = time.process_time() - cpu
    session = profiler.last_session
    assert session is not None
    root = session.root_frame()
    assert root is not None
    totals: Counter[str] = Counter()
    _self_times(root, totals)
    whole = root.time
    print(f"{endpoint} on {backend}: {requests} requests, {cpu * 1000 / requests:.2f} ms CPU each")
    print("| function (self time) | share |\n|---|--:|")
    for name, spent in totals.most_common(top):
        print(f"| {name} | {spent / whole:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", choices=sorted(PATHS), default="list_200")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.endpoint, args.requests, args.top))


if __name__ == "__main__":
    main()
