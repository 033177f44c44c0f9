"""The stack ceiling of the benchmark: a real uvicorn serving the bare endpoint, and the
report's use of it."""

from __future__ import annotations

from pathlib import Path

import httpx
from bench.ceiling import PATH, CeilingServer

from bench import report


def test_ceiling_server_answers_a_task_shaped_object(tmp_path: Path) -> None:
    with CeilingServer(workers=1, log=tmp_path / "ceiling.log") as server:
        response = httpx.get(server.url + PATH)
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Pay invoice before Friday"
    assert body["tags"] == ["home"]
    assert server.process is not None
    assert server.process.poll() is not None  # stopped on leaving


def _probe(rps: float) -> dict[str, object]:
    latency = {"p50": 1.0, "p90": 2.0, "p95": 3.0, "p99": 4.0, "max": 5.0}
    return {"rps": rps, "errors": 0, "latency_ms": latency, "rate": rps * 0.75}


def test_report_bounds_each_ratio_by_the_ceiling() -> None:
    endpoint = {"closed": _probe(400.0), "open": _probe(300.0), "peak_rss_mb": 100.0}
    endpoint["floor"] = {"rps": 2000.0}
    results = {
        "started": "now",
        "mode": "quick",
        "wall_s": 60.0,
        "machine": {"cpus": 2, "cpu": "x", "python": "3.11", "load_at_start": 0.1},
        "ceiling": _probe(5000.0),
        "backends": {
            "postgres": {
                "backend": "postgres",
                "workers": 2,
                "concurrency": 16,
                "duration_s": 4,
                "startup_s": 1.0,
                "endpoints": {"get": endpoint},
                "peak_rss_mb": 100.0,
                "rss_after_mb": {"1": 90.0},
            }
        },
    }
    text = report.markdown(results)
    assert "answers 5,000 req/s" in text
    row = next(line for line in text.splitlines() if line.startswith("| get one"))
    # service / floor 20%, ceiling / floor 250%
    assert "| 20% | 250% |" in row
