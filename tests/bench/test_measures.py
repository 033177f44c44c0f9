"""What the report's new columns rest on: wrk's 5xx count, CPU read from /proc, the CPU
ratio and its targets, and the profile's attribution of samples to layers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from bench.profile import NATIVE, OTHER, parse_raw, summarise
from bench.run import wrk
from bench.server import cpu_seconds, descendants

from bench import report


class _Statuses(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = {"/fail": 503, "/missing": 404}.get(self.path, 200)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def statuses() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Statuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_wrk_counts_5xx_apart_from_4xx(statuses: str, tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    # Per thread of two: one of each kind in turn.
    lines.write_text("".join(f"GET\t{p}\t\t\n" for p in ("/ok", "/fail", "/missing") * 2 * 2))
    result = asyncio.run(wrk(statuses, lines, concurrency=2, duration=1.0))
    assert result["requests"] > 30
    third = result["requests"] / 3
    assert abs(result["status_5xx"] - third) <= 3
    assert abs(result["status_4xx"] - third) <= 3
    assert result["errors"] >= result["status_5xx"] + result["status_4xx"] - 3


def test_cpu_seconds_of_a_process_and_its_children() -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; "
            f"subprocess.run([sys.executable, '-c', {spin!r}]); "
            "import time; time.sleep(5)",
        ]
    )
    try:
        deadline = time.monotonic() + 10
        children: list[int] = []
        while time.monotonic() < deadline and not children:
            children = descendants(parent.pid)
            time.sleep(0.02)
        assert children, "the child started"
        child = children[0]
        while time.monotonic() < deadline and os.path.exists(f"/proc/{child}"):
            used = cpu_seconds(child)
            time.sleep(0.02)
        assert used >= 0.2
        assert cpu_seconds(parent.pid) < 1.0
    finally:
        parent.kill()
        parent.wait()
    assert cpu_seconds(parent.pid) == 0.0  # gone: nothing, not an error


def _endpoint(cpu: float, floor_cpu: float) -> dict[str, Any]:
    latency = {"p50": 1.0, "p90": 2.0, "p95": 3.0, "p99": 4.0, "max": 5.0}
    probe = {"rps": 100.0, "errors": 0, "latency_ms": latency, "rate": 75.0}
    return {
        "closed": probe,
        "open": probe,
        "cpu_ms_per_request": cpu,
        "peak_rss_mb": 100.0,
        "floor": {"rps": 1000.0, "cpu_ms_per_op": floor_cpu},
    }


def test_report_gives_cpu_per_request_its_ratio_and_the_targets() -> None:
    probe = {"rate": 20.0, "errors": 0, "scheduled": 130}
    run = {"status_5xx": 3, "status_4xx": 0, "errors": 3, "rps": 90.0, "cpu_ms_per_request": 6.0}
    run["latency_ms"] = {"p50": 10.0, "p99": 5100.0, "max": 5300.0}
    run["health"] = {**probe, "latency_ms": {"p50": 2.0, "p99": 40.0, "max": 60.0}}
    quiet = {**run, "status_5xx": 0, "errors": 0}
    quiet["health"] = {**probe, "latency_ms": {"p50": 3.0, "p99": 50.0, "max": 120.0}}
    backend = {
        "backend": "postgres",
        "workers": 2,
        "concurrency": 16,
        "duration_s": 4,
        "startup_s": 1.0,
        "endpoints": {"list": _endpoint(7.5, 0.7), "get": _endpoint(1.0, 0.5)},
        "peak_rss_mb": 100.0,
        "rss_after_mb": {"1": 90.0},
        "saturation": {
            "workers": 1,
            "duration_s": 8,
            "runs": {"32": run, "256": quiet},
        },
    }
    text = report.table(backend)
    row = next(line for line in text.splitlines() if line.startswith("| list, first page of 50"))
    assert "| 7.50 | 0.70 | 10.7x |" in row
    assert "| 32 | 90 | 3 | 0 | 10.0 | 5100 | 5300 | 6.00 | 2.0 / 40.0 / 60.0 | 0 of 130 |" in text
    # The worst /health of any run is the one held to the target.
    assert "| 256 | 90 | 0 | 0 | 10.0 | 5100 | 5300 | 6.00 | 3.0 / 50.0 / 120 | 0 of 130 |" in text
    met = {name: ok for name, _, ok in report.targets(backend)}
    assert met["list: server CPU/request <= 2.5x floor's"] is False
    assert met["get: server CPU/request <= 2.5x floor's"] is True
    assert met["no 5xx at 32 connections, 1 worker"] is False
    assert met["no 5xx at 256 connections, 1 worker"] is True
    assert met["/health within 100 ms under a list load (max)"] is False


def test_profile_charges_each_sample_to_its_innermost_known_layer() -> None:
    raw = [
        "<module> (todo/__main__.py:3);run (uvicorn/server.py:1);handle (todo/tasks/routes.py:5);"
        "execute (sqlalchemy/engine/base.py:9);fetch (asyncpg/connection.py:3) 6",
        "<module> (todo/__main__.py:3);run (uvicorn/server.py:1);handle (todo/tasks/routes.py:5);"
        "validate (pydantic/main.py:2);__instancecheck__ (typing.py:7) 3",
        "<module> (todo/__main__.py:3);run (uvicorn/server.py:1) 1",
        "<module> (<string>:1) 2",
        " 4",
        "Session.get (sqlalchemy/orm/session.py:3934);execute (asyncpg/connection.py:3) 5",
    ]
    summary = summarise(parse_raw(raw))
    assert summary["self"]["driver (asyncpg / aiosqlite)"] == 6 + 5
    # typing is no layer: the sample is pydantic's, which called it.
    assert summary["self"]["pydantic (validation, serialisation)"] == 3
    assert summary["self"]["HTTP server (uvicorn, httptools)"] == 1
    assert summary["self"][OTHER] == 2
    assert summary["anywhere"]["app code (todo)"] == 6 + 3 + 1
    assert summary["app"]["handle (todo/tasks/routes.py)"] == 9
    assert summary["self"][NATIVE] == 4
    phase = summary["phase"]
    assert phase["endpoint: route and service, their SQL"] == 9
    assert phase["SQLAlchemy's greenlet, from Session.get (its caller not on the stack)"] == 5
    assert phase[NATIVE] == 4
