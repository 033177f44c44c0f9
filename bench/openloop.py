"""Open-loop load at a fixed arrival rate, timed from each request's scheduled start.

A closed-loop tool (wrk) sends the next request only when a connection is free again, so a
stalled server also stalls the clock and the wait never shows in the latency: coordinated
omission. Here request i is due at start + i / rate whatever happened before; it goes out
on an idle keep-alive connection or a new one, and its latency runs from the due time, so
queueing in the server (or in this client) counts. `send_lag_ms` reports how late this
generator itself sent: when it is not small, the figures are the client's, not the server's.

    python -m bench.openloop --url http://127.0.0.1:8000 --requests FILE --rate 500 --duration 5

Prints one JSON object. The request file has the format of bench/wrk/requests.lua.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop


def encode_requests(path: Path, host: str) -> list[bytes]:
    encoded = []
    for line in path.read_text().splitlines():
        method, target, header, body = line.split("\t", 3)
        head = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        if header:
            head.append(header)
        payload = body.encode()
        if payload:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        encoded.append(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    return encoded


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Send one request, read its whole response: (status, connection reusable)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        return status, headers.get("connection") != "close"

    def close(self) -> None:
        self.writer.close()


@dataclass
class Pool:
    host: str
    port: int
    limit: int
    idle: deque[Connection] = field(default_factory=deque)
    opened: int = 0
    live: int = 0
    waiters: deque[asyncio.Future[Connection]] = field(default_factory=deque)

    async def acquire(self) -> Connection:
        if self.idle:
            return self.idle.pop()
        if self.live < self.limit:
            self.live += 1
            self.opened += 1
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                self.live -= 1
                raise
            return Connection(reader, writer)
        waiter: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return await waiter

    def release(self, connection: Connection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self.idle.append(connection)

    def discard(self, connection: Connection) -> None:
        connection.close()
        self.live -= 1


async def run(
    url: str, requests: list[bytes], rate: float, duration: float, limit: int, patience: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    pool = Pool(parts.hostname or "127.0.0.1", parts.port or 80, limit)
    # Not loop.time(): uvloop's clock ticks in whole milliseconds.
    clock = time.perf_counter
    latencies: list[float] = []
    lags: list[float] = []
    statuses: Counter[str] = Counter()
    total = max(1, int(rate * duration))
    start = clock() + 0.05

    async def one(request: bytes, due: float) -> None:
        lags.append(clock() - due)
        connection = None
        try:
            async with asyncio.timeout(patience):
                connection = await pool.acquire()
                status, reusable = await connection.exchange(request)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
            statuses[type(error).__name__] += 1
            if connection is not None:
                pool.discard(connection)
            return
        latencies.append(clock() - due)
        statuses[str(status)] += 1
        if reusable:
            pool.release(connection)
        else:
            pool.discard(connection)

    pending = []
    for i in range(total):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(one(requests[i % len(requests)], due)))
    await asyncio.gather(*pending)
    elapsed = clock() - start
    for connection in pool.idle:
        connection.close()

    ordered = sorted(latencies)
    ok = sum(n for status, n in statuses.items() if status.isdigit() and int(status) < 400)
    lags.sort()
    return {
        "rate": rate,
        "scheduled": total,
        "completed": len(latencies),
        "ok": ok,
        "errors": total - ok,
        "statuses": dict(statuses),
        "achieved_rps": len(latencies) / elapsed if elapsed else 0.0,
        "latency_ms": {
            "p50": percentile(ordered, 0.50) * 1000,
            "p90": percentile(ordered, 0.90) * 1000,
            "p95": percentile(ordered, 0.95) * 1000,
            "p99": percentile(ordered, 0.99) * 1000,
            "max": (ordered[-1] if ordered else 0.0) * 1000,
        },
        "send_lag_ms": {"p50": percentile(lags, 0.5) * 1000, "p99": percentile(lags, 0.99) * 1000},
        "connections_opened": pool.opened,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--max-connections", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    host = urlsplit(args.url).netloc
    requests = encode_requests(args.requests, host)
    started = time.monotonic()
    result = uvloop.run(
        run(args.url, requests, args.rate, args.duration, args.max_connections, args.timeout)
    )
    result["wall_s"] = time.monotonic() - started
    print(json.dumps(result))


if __name__ == "__main__":
    main()
