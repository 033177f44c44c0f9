"""`make bench ARGS="--compare REF"`: a second checkout served next to this one.

The smoke test compares HEAD against HEAD on a tiny PostgreSQL seed with a real uv install,
real servers and real wrk: the same code on both sides must cost about the same per request.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from bench.compare import CompareError, check_migrations, checkout, compare_backend, resolve
from bench.config import FULL_PLAN, SeedSpec
from bench.run import Clock
from bench.seed import Target

TINY = SeedSpec("compare-smoke", users=4, tasks_per_user=60, heavy_tasks=120)


def _versions(root: Path, files: dict[str, str]) -> Path:
    versions = root / "src" / "todo" / "migrations" / "versions"
    versions.mkdir(parents=True)
    for name, text in files.items():
        (versions / name).write_text(text)
    return root


def test_a_ref_with_other_migrations_is_refused_naming_them(tmp_path: Path) -> None:
    here = _versions(tmp_path / "here", {"0001_a.py": "a", "0002_b.py": "b", "0003_c.py": "c"})
    same = _versions(tmp_path / "same", {"0001_a.py": "a", "0002_b.py": "b", "0003_c.py": "c"})
    check_migrations("same", same, here)

    other = _versions(tmp_path / "other", {"0001_a.py": "a", "0002_b.py": "B", "0004_d.py": "d"})
    with pytest.raises(CompareError) as refused:
        check_migrations("v1", other, here)
    message = str(refused.value)
    assert "--compare v1: its migrations differ" in message
    assert "only in v1: 0004_d.py" in message
    assert "only in this checkout: 0003_c.py" in message
    assert "different: 0002_b.py" in message


def test_an_unknown_ref_is_refused() -> None:
    with pytest.raises(CompareError, match="not a commit"):
        resolve("no-such-ref-for-the-bench")


def test_head_against_head_costs_the_same() -> None:
    # Synchronous: the checkout and its install block, as `make bench` runs them.
    assert shutil.which("wrk"), "the comparer drives its load with wrk: apt-get install wrk"
    plan = replace(
        FULL_PLAN.quick(),
        seed=TINY,
        duration=1.0,
        concurrency=4,
        token_users=4,
        scratch_tasks=400,
        deep_pages=1,
    )
    with checkout("HEAD") as ref:
        assert Path(ref.python).exists()
        result = asyncio.run(
            compare_backend(
                "postgres",
                plan,
                ref,
                1,
                Clock(),
                endpoints=["list", "toggle"],
                rounds=2,
                target=Target("postgres", TINY),
            )
        )
    assert not ref.path.exists()
    for name in ("list", "toggle"):
        endpoint = result["endpoints"][name]
        for side in ("old", "new"):
            assert endpoint[side]["requests"] > 0, (name, side)
            assert endpoint[side]["errors"] == 0, (name, side)
            assert len(endpoint[side]["runs"]) == 2
        # The same code: CPU per request is steady enough for a tight bound, req/s is not.
        assert 0.6 < endpoint["cpu_new_over_old"] < 1.6, (name, endpoint)
        assert 0.3 < endpoint["rps_new_over_old"] < 3, (name, endpoint)
