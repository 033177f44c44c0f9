"""The floor: the SQL an endpoint runs, issued straight through the driver.

`capture` sends real requests to the app in-process and records, with SQLAlchemy's
`before_cursor_execute` event, every statement and parameter tuple exactly as the driver
receives them, plus the connection checkouts and transaction boundaries around them.
`replay` (a separate process, `python -m bench.floor`) issues those statements with asyncpg
or aiosqlite at a given concurrency for a given time, with no HTTP, no auth, no ORM and no
serialization: reads as bare statements, writes inside one transaction (BEGIN ... COMMIT,
BEGIN IMMEDIATE on SQLite as the app does), since that much is the job itself.

Reads are replayed verbatim from many captured requests (different users, different
rows). A write changes what it touches, so it is captured once and turned into a template:
parameters equal to the user's id (U), the task's id (T), the Inbox id (L) or the id the
INSERT returned (R) become slots, filled at replay from fresh scratch tasks, one per write,
so each replayed UPDATE or DELETE finds its row in the state the captured one found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
import httpx
import uvloop
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine

from todo.core import hot

Params = list[Any]
SLOTS = ("U", "T", "L", "R")


@dataclass
class Statement:
    sql: str
    params: Params
    many: bool = False

    @property
    def returns_id(self) -> bool:
        return self.sql.lstrip().upper().startswith("INSERT") and " RETURNING " in self.sql.upper()


@dataclass
class Trace:
    """What one request did at the database."""

    statements: list[Statement] = field(default_factory=list)
    checkouts: int = 0
    # BEGINs sent (each closed by a COMMIT or ROLLBACK: two round trips); an autocommit
    # connection sends none.
    transactions: int = 0
    # Checkouts that pinged first: with asyncpg, BEGIN, ";" and ROLLBACK.
    pings: int = 0

    @property
    def round_trips(self) -> int:
        return len(self.statements) + 2 * self.transactions + 3 * self.pings


class Recorder:
    """Statements, checkouts and BEGINs on an engine, grouped per request."""

    def __init__(self, engine: Engine, pre_ping: bool) -> None:
        self.trace = Trace()
        self.pre_ping = pre_ping
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine.pool, "checkout", self._checkout)

    def _statement(
        self, _conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, many: bool
    ) -> None:
        values = [list(p) for p in params] if many else list(params or ())
        self.trace.statements.append(Statement(sql, values, many))

    def hot_statement(self, sql: str, arguments: Sequence[Any]) -> None:
        self.trace.statements.append(Statement(sql, list(arguments), False))

    def _begin(self, conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.trace.transactions += 1

    def _checkout(self, *_args: Any) -> None:
        self.trace.checkouts += 1
        if self.pre_ping:
            self.trace.pings += 1

    @contextmanager
    def request(self) -> Iterator[Trace]:
        self.trace = Trace()
        yield self.trace


@dataclass(frozen=True)
class Probe:
    """One request to capture: what to send, and for a write the values to make slots of."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    slots: dict[str, Any] | None = None


async def capture(app: FastAPI, probes: list[Probe]) -> list[tuple[Trace, httpx.Response]]:
    """Send each probe through the app (its lifespan running) and record what it ran."""
    engine = app.state.db.engine.sync_engine
    recorder = Recorder(engine, pre_ping=bool(getattr(engine.pool, "_pre_ping", False)))
    traces = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        # The hot statements run on the driver's connection, unseen by the engine's events.
        with hot.observed(recorder.hot_statement):
            for probe in probes:
                with recorder.request() as trace:
                    response = await client.request(
                        probe.method, probe.path, headers=probe.headers, json=probe.body
                    )
                traces.append((trace, response))
    event.remove(engine, "before_cursor_execute", recorder._statement)
    event.remove(engine, "begin", recorder._begin)
    event.remove(engine.pool, "checkout", recorder._checkout)
    return traces


def templated(trace: Trace, values: dict[str, Any]) -> list[Statement]:
    """The trace's statements with every parameter equal to a slot's value made that slot."""
    by_value = {(type(v), v): name for name, v in values.items() if v is not None}

    def slot(value: Any) -> Any:
        name = by_value.get((type(value), value))
        return {"slot": name} if name else value

    out = []
    for statement in trace.statements:
        if statement.many:
            params: Params = [[slot(v) for v in row] for row in statement.params]
        else:
            params = [slot(v) for v in statement.params]
        out.append(Statement(statement.sql, params, statement.many))
    return out


# --- the plan file: JSON with tagged dates ---------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        return value
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def statements_to_json(statements: list[Statement]) -> list[dict[str, Any]]:
    return [{"sql": s.sql, "params": _encode(s.params), "many": s.many} for s in statements]


def statements_from_json(raw: list[dict[str, Any]]) -> list[Statement]:
    return [Statement(s["sql"], _decode(s["params"]), s["many"]) for s in raw]


@dataclass
class FloorPlan:
    """What the floor of one endpoint replays: sequences (reads) or a template and its slots."""

    endpoint: str
    write: bool
    sequences: list[list[Statement]] = field(default_factory=list)
    template: list[Statement] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)
    # Slots may be used again (a create only needs a user); else each is used once.
    cycle: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "write": self.write,
            "sequences": [statements_to_json(s) for s in self.sequences],
            "template": statements_to_json(self.template),
            "slots": self.slots,
            "cycle": self.cycle,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FloorPlan:
        return cls(
            endpoint=raw["endpoint"],
            write=raw["write"],
            sequences=[statements_from_json(s) for s in raw["sequences"]],
            template=statements_from_json(raw["template"]),
            slots=raw["slots"],
            cycle=raw["cycle"],
        )


# --- replay ------------------------------------------------------------------------------------


def _fill(value: Any, slots: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "slot" in value:
        return slots[value["slot"]]
    return value


class Client:
    """One connection issuing one operation at a time."""

    write_begin = "BEGIN"

    async def run(self, statements: list[Statement], slots: dict[str, Any] | None) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _fetch(self, sql: str, params: list[Any]) -> list[Any]:
        """Run one statement and return its rows."""
        raise NotImplementedError

    async def _executemany(self, sql: str, rows: list[list[Any]]) -> None:
        raise NotImplementedError

    async def _each(self, statements: list[Statement], slots: dict[str, Any] | None) -> None:
        """The statements in order, slots filled, the id a statement returns as slot R."""
        filled = dict(slots or {})
        for statement in statements:
            if statement.many:
                rows = [[_fill(v, filled) for v in row] for row in statement.params]
                await self._executemany(statement.sql, rows)
                continue
            result = await self._fetch(statement.sql, [_fill(v, filled) for v in statement.params])
            if statement.returns_id:
                filled["R"] = result[0][0]


class PostgresClient(Client):
    def __init__(self, connection: asyncpg.Connection, write: bool) -> None:
        self.connection, self.write = connection, write

    @classmethod
    async def open(cls, dsn: str, write: bool) -> PostgresClient:
        return cls(await asyncpg.connect(dsn), write)

    async def run(self, statements: list[Statement], slots: dict[str, Any] | None) -> None:
        if self.write:
            async with self.connection.transaction():
                await self._each(statements, slots)
        else:
            await self._each(statements, slots)

    async def _fetch(self, sql: str, params: list[Any]) -> list[Any]:
        return list(await self.connection.fetch(sql, *params))

    async def _executemany(self, sql: str, rows: list[list[Any]]) -> None:
        await self.connection.executemany(sql, rows)

    async def close(self) -> None:
        await self.connection.close()


class SqliteClient(Client):
    def __init__(self, connection: aiosqlite.Connection, write: bool) -> None:
        self.connection, self.write = connection, write

    @classmethod
    async def open(cls, path: str, write: bool) -> SqliteClient:
        connection = await aiosqlite.connect(path, isolation_level=None)
        # The app's connection settings (core/db.py).
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            await connection.execute(f"PRAGMA {pragma}")
        return cls(connection, write)

    async def run(self, statements: list[Statement], slots: dict[str, Any] | None) -> None:
        if not self.write:
            await self._each(statements, slots)
            return
        await self.connection.execute("BEGIN IMMEDIATE")
        try:
            await self._each(statements, slots)
        except BaseException:
            await self.connection.execute("ROLLBACK")
            raise
        await self.connection.execute("COMMIT")

    async def _fetch(self, sql: str, params: list[Any]) -> list[Any]:
        cursor = await self.connection.execute(sql, params)
        rows = list(await cursor.fetchall())
        await cursor.close()
        return rows

    async def _executemany(self, sql: str, rows: list[list[Any]]) -> None:
        await self.connection.executemany(sql, rows)

    async def close(self) -> None:
        await self.connection.close()


async def replay(
    plan: FloorPlan,
    open_client: Callable[[bool], Awaitable[Client]],
    *,
    concurrency: int,
    duration: float,
    part: int,
    parts: int,
) -> dict[str, Any]:
    """Run the plan with `concurrency` clients until `duration` passes or slots run out."""
    clients = [await open_client(plan.write) for _ in range(concurrency)]
    my_slots = plan.slots[part::parts]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    next_slot = 0
    # The client's CPU for the statement sets alone (connecting is left out, as the server's
    # pool keeps its connections): every thread of the process, aiosqlite's included.
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + duration

    def work() -> tuple[list[Statement], dict[str, Any] | None] | None:
        nonlocal next_slot
        if plan.template:
            if next_slot >= len(my_slots):
                if not plan.cycle:
                    return None
                next_slot = 0
            next_slot += 1
            return plan.template, my_slots[next_slot - 1]
        next_slot += 1
        return plan.sequences[(part + next_slot * parts) % len(plan.sequences)], None

    async def loop(client: Client) -> None:
        while time.perf_counter() < deadline:
            job = work()
            if job is None:
                return
            began = time.perf_counter()
            try:
                await client.run(*job)
            except (asyncpg.PostgresError, aiosqlite.Error, IndexError) as error:
                errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                continue
            latencies.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(*(loop(c) for c in clients))
    elapsed = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    for client in clients:
        await client.close()
    return {
        "operations": len(latencies),
        "errors": errors,
        "elapsed_s": elapsed,
        "cpu_s": cpu_s,
        "latencies_ms": [round(v, 3) for v in latencies],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay an endpoint's SQL through the driver.")
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--backend", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--database", required=True, help="asyncpg DSN or SQLite file path")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--part", type=int, default=0)
    parser.add_argument("--parts", type=int, default=1)
    args = parser.parse_args()
    plan = FloorPlan.from_json(json.loads(args.plan.read_text()))

    async def open_client(write: bool) -> Client:
        if args.backend == "postgres":
            return await PostgresClient.open(args.database, write)
        return await SqliteClient.open(args.database, write)

    result = uvloop.run(
        replay(
            plan,
            open_client,
            concurrency=args.concurrency,
            duration=args.duration,
            part=args.part,
            parts=args.parts,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
