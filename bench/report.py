"""Results: the JSON of a run, its Markdown tables, the targets, and the README's copy."""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path
from typing import Any

from bench.config import RESULTS_DIR, ROOT

README = ROOT.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LABELS = {
    "list": "list, first page of 50",
    "list_200": "list, first page of 200",
    "list_deep": "list, page 201 (heavy user)",
    "get": "get one",
    "search": "search `q=`",
    "create": "create",
    "update": "update (PUT)",
    "toggle": "toggle complete",
    "delete": "delete",
    "login": "login (Argon2)",
    "web": "web app list page `GET /`",
}
BACKENDS = {"postgres": "PostgreSQL 15 (asyncpg)", "sqlite": "SQLite (aiosqlite, WAL)"}


def percentiles(ordered: list[float]) -> dict[str, float]:
    def at(share: float) -> float:
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]

    return {"p50": at(0.5), "p90": at(0.9), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_at_start": round(load, 2),
    }


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def ratio_of(endpoint: dict[str, Any]) -> float | None:
    floor = endpoint.get("floor")
    if not floor or not floor["rps"]:
        return None
    return float(endpoint["closed"]["rps"] / floor["rps"])


def cpu_ratio(endpoint: dict[str, Any]) -> float | None:
    """Server CPU per request over the floor's client CPU per statement set."""
    floor = endpoint.get("floor") or {}
    server, client = endpoint.get("cpu_ms_per_request"), floor.get("cpu_ms_per_op")
    if not server or not client:
        return None
    return float(server / client)


# Issue 11: server CPU per request at most this many times the floor's, on PostgreSQL.
CPU_RATIO_TARGET = 2.5
CPU_TARGETED = ("list", "list_200", "get", "create", "update", "toggle", "delete")
HEALTH_P99_TARGET_MS = 100.0


def targets(backend: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the issue that this run measured."""
    endpoints = backend["endpoints"]
    rows: list[tuple[str, str, bool]] = []
    listing = endpoints.get("list")
    if listing is not None:
        ratio = ratio_of(listing) or 0.0
        rows.append(("list: throughput >= 40% of floor", f"{ratio:.0%}", ratio >= 0.40))
        p99 = listing["open"]["latency_ms"]["p99"]
        rate = listing["open"]["rate"]
        rows.append((f"list: p99 < 50 ms at 75% of max ({rate:.0f}/s)", f"{p99:.1f} ms", p99 < 50))
        errors = listing["closed"]["errors"] + listing["open"]["errors"]
        rows.append(("list: zero errors", str(errors), errors == 0))
    for name in ("create", "toggle"):
        if name in endpoints:
            share = ratio_of(endpoints[name]) or 0.0
            rows.append((f"{name}: throughput >= 35% of floor", f"{share:.0%}", share >= 0.35))
    if backend["backend"] == "postgres":
        for name in CPU_TARGETED:
            cpu_share = cpu_ratio(endpoints[name]) if name in endpoints else None
            if cpu_share is not None:
                rows.append(
                    (
                        f"{name}: server CPU/request <= {CPU_RATIO_TARGET}x floor's",
                        f"{cpu_share:.1f}x",
                        cpu_share <= CPU_RATIO_TARGET,
                    )
                )
    saturated = backend.get("saturation")
    if saturated:
        for connections, run in saturated["runs"].items():
            fives = run["status_5xx"]
            rows.append((f"no 5xx at {connections} connections, 1 worker", str(fives), not fives))
        health = max(run["health"]["latency_ms"]["max"] for run in saturated["runs"].values())
        rows.append(
            (
                f"/health within {HEALTH_P99_TARGET_MS:.0f} ms under a list load (max)",
                f"{health:.0f} ms",
                health <= HEALTH_P99_TARGET_MS,
            )
        )
    scale = backend.get("scale")
    if scale:
        heavy, light = scale["search_heavy"], scale["search_1k"]
        search = heavy["latency_ms"]["p50"] / light["latency_ms"]["p50"]
        rows.append(("search p50, heavy user <= 3x 1k-task user", f"{search:.2f}x", search <= 3))
        grow = scale["list_1m"]["latency_ms"]["p50"] / scale["list_1k"]["latency_ms"]["p50"]
        rows.append(("list p50 at 1M tasks <= 1.3x at 1k", f"{grow:.2f}x", grow <= 1.3))
    worst = max(backend["rss_after_mb"].values())
    rows.append(("RSS per worker after the run < 150 MB", f"{worst:.0f} MB", worst < 150))
    startup = backend["startup_s"]
    rows.append(("start-up to first 200 on /health < 2 s", f"{startup:.2f} s", startup < 2))
    return rows


def table(backend: dict[str, Any], ceiling: dict[str, Any] | None = None) -> str:
    lines = [
        f"**{BACKENDS[backend['backend']]}**, {backend['workers']} workers, "
        f"wrk at {backend['concurrency']} connections for {backend['duration_s']:g} s per "
        f"endpoint; open loop at 75% of that maximum; start-up {backend['startup_s']:.2f} s",
        "",
        "| endpoint | req/s | p50 ms | p95 ms | p99 ms | errors | open loop: rate, p50 / p99 ms "
        "| floor req/s | service / floor | ceiling / floor | round trips service / floor "
        "| server CPU ms/req | floor CPU ms/set | CPU ratio | peak RSS MB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    trips = backend.get("round_trips", {})
    for name, endpoint in backend["endpoints"].items():
        closed, opened = endpoint["closed"], endpoint["open"]
        lat = closed["latency_ms"]
        errors = closed["errors"] + opened["errors"]
        floor = endpoint.get("floor")
        ratio = ratio_of(endpoint)
        trip = trips.get(name)
        floor_rps = f"{floor['rps']:,.0f}" if floor else "-"
        share = f"{ratio:.0%}" if ratio is not None else "-"
        bound = f"{ceiling['rps'] / floor['rps']:.0%}" if floor and ceiling else "-"
        trip_text = f"{trip['service']} / {trip['floor']}" if trip else "-"
        cpu = _opt(endpoint.get("cpu_ms_per_request"), "{:.2f}")
        floor_cpu = _opt(floor.get("cpu_ms_per_op") if floor else None, "{:.2f}")
        cpu_share = _opt(cpu_ratio(endpoint), "{:.1f}x")
        lines.append(
            f"| {LABELS.get(name, name)} | {closed['rps']:,.0f} | {_ms(lat['p50'])} "
            f"| {_ms(lat['p95'])} | {_ms(lat['p99'])} | {errors} "
            f"| {opened['rate']:,.0f}/s: {_ms(opened['latency_ms']['p50'])} / "
            f"{_ms(opened['latency_ms']['p99'])} "
            f"| {floor_rps} | {share} | {bound} | {trip_text} | {cpu} | {floor_cpu} "
            f"| {cpu_share} | {endpoint['peak_rss_mb']:.0f} |"
        )
    if backend.get("saturation"):
        lines += ["", *_saturation_lines(backend["saturation"])]
    if backend.get("scale"):
        lines += ["", *_scale_lines(backend["scale"])]
    lines += [
        "",
        f"Memory: peak {backend['peak_rss_mb']:.0f} MB over all workers; after the run "
        + ", ".join(f"{v:.0f}" for v in backend["rss_after_mb"].values())
        + " MB per worker.",
    ]
    if "web" in backend:
        lines += ["", f"Web list page: {backend['web']}."]
    lines += ["", "| target | measured | met |", "|---|--:|:-:|"]
    for name, measured, met in targets(backend):
        lines.append(f"| {name} | {measured} | {'yes' if met else '**no**'} |")
    return "\n".join(lines)


def _opt(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def _saturation_lines(saturated: dict[str, Any]) -> list[str]:
    rate = next(iter(saturated["runs"].values()))["health"]["rate"]
    lines = [
        f"One worker under the list load (wrk, {saturated['duration_s']:g} s per run, "
        f"client timeout 30 s, far above any wait the server imposes), `/health` probed at "
        f"{rate:.0f} req/s meanwhile:",
        "",
        "| connections | req/s | 5xx | other errors | p50 ms | p99 ms | max ms "
        "| server CPU ms/req | /health p50 / p99 / max ms | /health errors |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for connections, run in saturated["runs"].items():
        other = run["errors"] - run["status_5xx"] - run["status_4xx"]
        run_lat = run["latency_ms"]
        health = run["health"]
        lat = health["latency_ms"]
        lines.append(
            f"| {connections} | {run['rps']:,.0f} | {run['status_5xx']} | {other} "
            f"| {_ms(run_lat['p50'])} | {_ms(run_lat['p99'])} | {_ms(run_lat['max'])} "
            f"| {_opt(run.get('cpu_ms_per_request'), '{:.2f}')} "
            f"| {_ms(lat['p50'])} / {_ms(lat['p99'])} / {_ms(lat['max'])} "
            f"| {health['errors']} of {health['scheduled']} |"
        )
    return lines


def _scale_lines(scale: dict[str, Any]) -> list[str]:
    def p50(key: str) -> float:
        return float(scale[key]["latency_ms"]["p50"])

    lines = [
        f"Latency against data size (p50 / p99 ms at {scale['list_1m']['rate']:.0f} req/s):",
        "",
        "| request | 1,000 tasks in all | 1,000,000 tasks, user of 1,000 | heavy user, 100,000 "
        "| 1M / 1k | heavy / 1k |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, small, big, heavy in (
        ("list, first page", "list_1k", "list_1m", "list_heavy"),
        ("search", "search_1k", "search_1m", "search_heavy"),
    ):
        lines.append(
            f"| {name} | {_pair(scale[small])} | {_pair(scale[big])} | {_pair(scale[heavy])} "
            f"| {p50(big) / p50(small):.2f}x | {p50(heavy) / p50(small):.2f}x |"
        )
    deep = p50("list_heavy_deep") / p50("list_heavy")
    lines += [
        "",
        f"Keyset pagination, heavy user: page {scale['deep_pages'] + 1} "
        f"{_pair(scale['list_heavy_deep'])} ms against the first page "
        f"{_pair(scale['list_heavy'])} ms (p50 ratio {deep:.2f}x).",
    ]
    return lines


def _pair(probe: dict[str, Any]) -> str:
    lat = probe["latency_ms"]
    return f"{_ms(lat['p50'])} / {_ms(lat['p99'])}"


def markdown(results: dict[str, Any]) -> str:
    box = results["machine"]
    head = (
        f"Run of {results['started']} ({results['mode']}, {results['wall_s'] / 60:.1f} min): "
        f"{box['cpus']} cores ({box['cpu']}), Python {box['python']}, "
        f"load average {box['load_at_start']} at the start."
    )
    parts = [head]
    ceiling = results.get("ceiling")
    if ceiling:
        lat = ceiling["latency_ms"]
        parts += [
            "",
            f"Stack ceiling: a bare FastAPI endpoint returning one task's JSON, under the same "
            f"uvicorn set-up and no database, answers {ceiling['rps']:,.0f} req/s (p50 "
            f"{_ms(lat['p50'])} ms, p99 {_ms(lat['p99'])} ms) at the same concurrency. No "
            "endpoint can beat it, so `ceiling / floor` is the most `service / floor` could be.",
        ]
    for backend in results["backends"].values():
        parts += ["", table(backend, ceiling)]
    return "\n".join(parts) + "\n"


def write(results: dict[str, Any], *, quick: bool, partial: bool = False) -> list[Path]:
    """The results of a full run go to latest.* and the README; others to their own files."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = "partial" if partial else "quick" if quick else "latest"
    as_json = RESULTS_DIR / f"{stem}.json"
    as_md = RESULTS_DIR / f"{stem}.md"
    as_json.write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results)
    as_md.write_text(text)
    written = [as_json, as_md]
    if stem == "latest" and README.exists():
        readme = README.read_text()
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
        if pattern.search(readme):
            README.write_text(pattern.sub(lambda _: f"{START}\n{text}{END}", readme))
            written.append(README)
    return written


def compare_markdown(results: dict[str, Any]) -> str:
    """Old (REF) against new (this checkout), per endpoint: req/s and server CPU per request."""
    box, old, new = results["machine"], results["old"], results["new"]
    here = f"{new['commit'][:10]}" + (" with uncommitted changes in src/" if new["dirty"] else "")
    parts = [
        f"Comparison of {results['started']} ({results['mode']}, "
        f"{results['wall_s'] / 60:.1f} min): old = `{old['ref']}` ({old['commit'][:10]}), "
        f"new = this checkout ({here}). {box['cpus']} cores ({box['cpu']}), load average "
        f"{box['load_at_start']} at the start. Runs interleaved old, new, old, new...; CPU is "
        "the servers' utime+stime over their runs divided by the requests answered."
    ]
    for backend in results["backends"].values():
        parts += [
            "",
            f"**{BACKENDS[backend['backend']]}**, {backend['workers']} workers, wrk at "
            f"{backend['concurrency']} connections, {backend['rounds']} runs of "
            f"{backend['duration_s']:g} s per side and endpoint",
            "",
            "| endpoint | old req/s | new req/s | new / old | old CPU ms/req | new CPU ms/req "
            "| new / old | 5xx old / new |",
            "|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for name, endpoint in backend["endpoints"].items():
            was, now = endpoint["old"], endpoint["new"]
            parts.append(
                f"| {LABELS.get(name, name)} | {was['rps']:,.0f} | {now['rps']:,.0f} "
                f"| {_opt(endpoint['rps_new_over_old'], '{:.2f}')} "
                f"| {_opt(was['cpu_ms_per_request'], '{:.2f}')} "
                f"| {_opt(now['cpu_ms_per_request'], '{:.2f}')} "
                f"| {_opt(endpoint['cpu_new_over_old'], '{:.2f}')} "
                f"| {was['status_5xx']} / {now['status_5xx']} |"
            )
        if backend.get("saturation"):
            parts += ["", *_saturation_compare_lines(backend["saturation"])]
    return "\n".join(parts) + "\n"


def _saturation_compare_lines(saturated: dict[str, Any]) -> list[str]:
    lines = [
        f"One worker each under the list load, {saturated['rounds']} runs of "
        f"{saturated['duration_s']:g} s per side and connection count (wrk's client timeout "
        "30 s); p50 the median run's, p99 and max the worst run's; `/health` probed meanwhile:",
        "",
        "| connections | side | req/s | 5xx | other errors | p50 ms | p99 ms | max ms "
        "| CPU ms/req | /health p99 / max ms |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for connections, sides in saturated["runs"].items():
        for side, run in sides.items():
            lines.append(
                f"| {connections} | {side} | {run['rps']:,.0f} | {run['status_5xx']} "
                f"| {run['other_errors']} | {_ms(run['p50_ms'])} | {_ms(run['p99_ms'])} "
                f"| {_ms(run['max_ms'])} | {_opt(run['cpu_ms_per_request'], '{:.2f}')} "
                f"| {_ms(run['health_p99_ms'])} / {_ms(run['health_max_ms'])} |"
            )
    return lines


def write_compare(results: dict[str, Any]) -> list[Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    as_json, as_md = RESULTS_DIR / "compare.json", RESULTS_DIR / "compare.md"
    as_json.write_text(json.dumps(results, indent=1) + "\n")
    as_md.write_text(compare_markdown(results))
    return [as_json, as_md]
