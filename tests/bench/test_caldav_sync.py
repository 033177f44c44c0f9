"""bench/caldav_sync.py on a tiny data set: it runs, fetches every object, and shows what
the full run is for: an incremental sync costs the same statements whatever the list holds,
and a first sync's multiget does not send a statement per object."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.caldav_sync import first_sync, incremental

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_caldav_sync_bench_small(backend: str, tmp_path: Path) -> None:
    listing, fetch = await first_sync(backend, tmp_path, 120, 50)
    assert (listing.responses, fetch.responses, fetch.requests) == (121, 120, 3)
    assert fetch.statements / fetch.requests < 20
    small, large = await incremental(backend, tmp_path, [20, 400], 10, 2)
    assert small.responses == large.responses == 20
    assert small.statements == large.statements
