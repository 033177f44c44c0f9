"""Schemathesis over the OpenAPI document, against a live server on each database: every
check it has (`--checks all`: no server error, answers as documented, valid data accepted,
invalid data refused, 405s with Allow, auth not ignored, resources found after creation ...)
and every phase (examples, coverage, fuzzing, stateful), through its own command line.

Where the document cannot know the server's state (a task's version, the current password,
a one-use idempotency key), tests/security/schemathesis_hooks.py and schemathesis.toml say
what is adjusted and why; only the event stream is left out (it never ends: see there).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import NewDatabase, make_settings
from tests.reliability.live import LiveServer, server_env, serving
from todo import migrations

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Cases per operation and phase: about a minute per database on two cores.
EXAMPLES = 10
TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def live_server(
    new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("schemathesis")
    url = new_database.url()
    migrations.upgrade(make_settings(url, Path(data)))
    with serving(server_env(url, data), data) as server:
        yield server


def test_api_conforms_to_its_schema(live_server: LiveServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SCHEMATHESIS_HOOKS": "tests.security.schemathesis_hooks",
        "TODO_FUZZ_BASE_URL": live_server.base_url,
    }
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{live_server.base_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--continue-on-failure",
        "--no-color",
        "--generation-database",
        "none",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(
        command,
        cwd=tmp_path,  # Schemathesis keeps a cache in its working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    output = result.stdout + result.stderr
    failures = output[output.find("=== FAILURES") :] if "=== FAILURES" in output else output
    assert result.returncode == 0, failures[-20_000:]
    assert "Stateful" in output
    assert " passed" in output
