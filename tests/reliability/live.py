"""A real server process for the tests that need one: `todo serve` on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET, make_settings
from todo import migrations

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "AUTH_SECRET": TEST_SECRET,
        "APP_ENV": "test",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "AUTH_RATE_PER_ACCOUNT": "1000000",
        "AUTH_RATE_PER_ADDRESS": "1000000",
        "LOG_LEVEL": "warning",
        # No job worker beside the server under test unless a test asks for one.
        "JOBS_IN_PROCESS": "never",
        **extra,
    }


class LiveServer:
    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    def wait_healthy(self, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"the server exited:\n{self.output()}"
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no answer on /health:\n{self.output()}"
            time.sleep(0.05)

    def terminate(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)


@contextmanager
def serving(env: dict[str, str], log_dir: Path, *, workers: int = 1) -> Iterator[LiveServer]:
    """Run `todo serve` until the block ends; the database must already be migrated."""
    port = free_port()
    log = log_dir / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "todo",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-migrate",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", log)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            server.wait(timeout=10)


@contextmanager
def serving_migrated(database_url: str, data_dir: Path) -> Iterator[LiveServer]:
    """Migrate a fresh database, then run `todo serve` on it until the block ends."""
    migrations.upgrade(make_settings(database_url, data_dir))
    with serving(server_env(database_url, data_dir), data_dir) as server:
        yield server
