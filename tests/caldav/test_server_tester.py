"""caldav-server-tester against a live server, held to a committed baseline of deviations.

The tester needs the current caldav library, which brings niquests and urllib3-future, so it
lives in its own locked environment (tests/interop/caldav_tester), run through uv. Every
feature it grades other than "full" must be in tests/interop/caldav_tester/baseline.json
with the same grade and a reason, and every baseline entry must still be observed: a fixed
deviation fails this test until the baseline drops it.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.caldav.conftest import DavAccount

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".bootstrap" / "bin" / "uv"
PROJECT = ROOT / "tests" / "interop" / "caldav_tester"
BASELINE = json.loads((PROJECT / "baseline.json").read_text())


async def run_tester(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    process = await asyncio.create_subprocess_exec(
        str(UV),
        "run",
        "--quiet",
        "--locked",
        "--project",
        str(PROJECT),
        "caldav-server-tester",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode == 0, err.decode(errors="replace")[-5000:]
    return out.decode()


def test_baseline_gives_every_deviation_a_reason() -> None:
    for name, entry in BASELINE["features"].items():
        assert entry["support"] in {"unsupported", "ungraceful", "unknown", "fragile", "broken"}
        assert len(entry["why"]) > 20, name
    assert all(len(why) > 20 for why in BASELINE["skipped_checks"].values())


@pytest.mark.skipif(not UV.exists(), reason="uv is not bootstrapped (make .venv/.synced)")
async def test_caldav_server_tester_against_the_baseline(
    live_url: str, dav_alice: DavAccount
) -> None:
    checks = (await run_tester("--list-checks")).split()
    assert "CheckSyncToken" in checks
    chosen = [name for name in checks if name not in BASELINE["skipped_checks"]]
    email, password = dav_alice.auth
    report: dict[str, Any] = json.loads(
        await run_tester(
            "--caldav-url",
            f"{live_url}/dav/",
            "--caldav-username",
            email,
            "--caldav-password",
            password,
            "--format",
            "json",
            *(arg for name in chosen for arg in ("--run-checks", name)),
        )
    )
    observed = {
        name: graded["support"]
        for name, graded in report["features"].items()
        if graded["support"] != "full"
    }
    expected = {name: entry["support"] for name, entry in BASELINE["features"].items()}
    new = {name: grade for name, grade in observed.items() if expected.get(name) != grade}
    assert not new, f"deviations off the baseline: {json.dumps(report['features'], indent=1)}"
    gone = sorted(set(expected) - set(observed))
    assert not gone, f"fixed or no longer graded, drop them from the baseline: {gone}"
